"""The assessment pages at province size against a small city, through the real gateway, registry
and assessment service processes:

- the quarter board ``/assessment/quarters/<Q>/board``,
- the review queue ``/assessment/review?quarter=<Q>``,
- the score forecast ``/assessment/forecast?quarter=<Q>``,

each at a province (500 units, 150 items, 20 quarters: 19 locked with their history, the current
one in progress) against a small city (30 units, 40 items, one quarter): large / small must stay
<= 1.5 for every page. Medians of ``BENCH_SAMPLES`` (30) requests each after a warm-up, the two
sides timed in alternation against servers running side by side. The last line is ``ratio X``
with X the worst page's large / small.

The data is written with the service's own functions (catalogue, publish, open quarter) and then
moved to mixed states in bulk (approved, submitted with two files, returned, pending, overdue).
SQLite databases in a temporary directory; ``BENCH_KEEP=1`` keeps them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SAMPLES = int(os.environ.get("BENCH_SAMPLES", "30"))
WARMUP = 4
LIMIT = 1.5
PASSWORD = "bench-pass-123"
CATEGORIES = [
    "体制机制建设",
    "推动源头减量",
    "分类投放",
    "分类收集",
    "分类运输",
    "分类处理",
    "宣传教育",
    "基层治理",
    "公共机构和经营区域",
]
CURRENT = "2026Q4"
# The current quarter's mix: the share of tasks in each state (the rest pending).
CURRENT_MIX = (("approved", 0.4), ("submitted", 0.2), ("returned", 0.1))


def pick_state(roll: float, current: bool) -> str:
    if not current:
        return "approved" if roll < 0.85 else "returned"
    total = 0.0
    for state, share in CURRENT_MIX:
        total += share
        if roll < total:
            return state
    return "pending"


@dataclass(frozen=True)
class City:
    name: str
    units: int
    items: int
    quarters: int
    co_units: int  # co-responsible units per item (besides the lead)


PROVINCE = City("province", units=500, items=150, quarters=20, co_units=5)
SMALL = City("city", units=30, items=40, quarters=1, co_units=2)


def unit_rows(city: City) -> list[dict[str, Any]]:
    rows = []
    for i in range(1, city.units + 1):
        county = i % 5 == 0
        rows.append(
            {
                "code": f"U{i:03d}",
                "name": f"{'第' + str(i) + '县人民政府' if county else '第' + str(i) + '成员单位'}",
                "kind": "county_government" if county else "municipal_bureau",
                "county_code": f"36{i:04d}" if county else None,
            }
        )
    return rows


def catalogue_spec(city: City) -> dict[str, Any]:
    categories: dict[str, list[dict[str, Any]]] = {c: [] for c in CATEGORIES}
    per = city.co_units + 1
    for i in range(city.items):
        category = CATEGORIES[i % len(CATEGORIES)]
        units = [f"U{(i * per + k) % city.units + 1:03d}" for k in range(per)]
        evidence = [
            {"code": "e1", "title": f"第{i + 1}项档案资料", "frequency": "quarterly", "kinds": ["pdf", "image"]}
        ]
        if i % 3 == 0:
            evidence.append({"code": "e2", "title": f"第{i + 1}项工作台账", "frequency": "quarterly", "kinds": ["pdf"]})
        categories[category].append(
            {
                "code": f"{CATEGORIES.index(category) + 1}.{len(categories[category]) + 1}",
                "name": f"评估项目{i + 1}",
                "points": 1,
                "rules": [{"text": "采取有效措施", "points": 1, "method": "all_or_nothing"}],
                "evidence": evidence,
                "lead_unit": units[0],
                "co_units": units[1:],
            }
        )
    return {
        "name": f"基准评估细则（{city.name}）",
        "categories": [{"name": c, "items": v} for c, v in categories.items()],
    }


def quarter_ids(n: int) -> list[str]:
    out, year, q = [], 2026, 4
    for _ in range(n):
        out.append(f"{year}Q{q}")
        year, q = (year - 1, 4) if q == 1 else (year, q - 1)
    return sorted(out)


class Units:
    """The service's registry peer in the bench: the generated units, no coverage figures."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def units(self) -> list[dict[str, Any]]:
        return self.rows

    def coverage(self, as_of: date) -> dict[str, Any]:
        return {"as_of": as_of.isoformat(), "city": {"residential": {"covered": 0, "total": 0, "rate": None}}}


class Weekdays:
    def is_workday(self, d: date) -> bool:
        return d.weekday() < 5

    def add_workdays(self, d: date, n: int) -> date:
        while n > 0:
            d += timedelta(days=1)
            n -= self.is_workday(d)
        return d

    def workdays_between(self, a: date, b: date) -> int:
        return sum(self.is_workday(a + timedelta(days=i)) for i in range(1, (b - a).days + 1)) if b > a else 0


def service_app() -> Any:
    """uvicorn factory of the assessment service with the bench's peers (units from a JSON file)."""
    from services.assessment.app import create_app

    rows = json.loads(Path(os.environ["BENCH_UNITS_FILE"]).read_text(encoding="utf-8"))
    return create_app(registry=Units(rows), calendar=Weekdays)


def build(city: City, data: Path) -> dict[str, str]:
    """The three databases of one city; answers their URLs."""
    from sqlalchemy import insert, update
    from sqlmodel import Session

    from gateway import cli
    from services.assessment import catalogues, quarters
    from services.assessment.config import Settings as AssessmentSettings
    from services.assessment.models import EvidenceFile, NationalResult, Quarter, Submission, Task
    from services.common.auth import Caller
    from services.common.db import make_engine
    from services.common.migrations import upgrade
    from services.registry.models import unit_t

    urls = {name: f"sqlite:///{data / f'{city.name}-{name}.db'}" for name in ("gateway", "registry", "assessment")}
    for name, url in urls.items():
        upgrade(name, url)
    units = unit_rows(city)
    (data / f"{city.name}-units.json").write_text(json.dumps(units, ensure_ascii=False), encoding="utf-8")
    engine = make_engine(urls["registry"])
    with engine.begin() as conn:
        conn.execute(insert(unit_t), [{**u, "contact": None, "phone": None, "duties": None} for u in units])
    engine.dispose()
    engine = make_engine(urls["gateway"])
    cli.seed_demo_users(engine, PASSWORD)
    engine.dispose()

    rng = random.Random(7)
    task_t: Any = Task.__table__  # type: ignore[attr-defined]
    submission_t: Any = Submission.__table__  # type: ignore[attr-defined]
    file_t: Any = EvidenceFile.__table__  # type: ignore[attr-defined]
    quarter_t: Any = Quarter.__table__  # type: ignore[attr-defined]
    office = Caller(sub="user:bench", name="分类办", role="office")
    settings = AssessmentSettings(database_url=urls["assessment"])
    engine = make_engine(urls["assessment"])
    peer = Units(units)
    with Session(engine) as session:
        cat = catalogues.create_from_spec(session, office, catalogue_spec(city))
        assert cat.id is not None
        catalogues.publish(session, office, cat.id)
        session.commit()
        ids = quarter_ids(city.quarters)
        for qid in ids:
            quarters.open_quarter(session, office, settings, peer, Weekdays(), qid, cat.id)
            session.commit()
            tasks: list[Any] = list(session.execute(task_t.select().where(task_t.c.quarter_id == qid)).all())
            current = qid == CURRENT
            states: dict[str, list[int]] = {"approved": [], "submitted": [], "returned": [], "pending": []}
            for t in tasks:
                states[pick_state(rng.random(), current)].append(t.id)
            base = clock_at(qid)
            for state, task_ids in states.items():
                if task_ids:
                    session.execute(
                        update(task_t)
                        .where(task_t.c.id.in_(task_ids))
                        .values(
                            state=state,
                            revision=0 if state == "pending" else 1,
                            last_submitted_at=None if state == "pending" else base,
                        )
                    )
            subs, files = [], []
            for t in tasks:
                if t.id in states["pending"]:
                    continue
                subs.append(
                    {"task_id": t.id, "revision": 1, "effective_date": base.date(), "note": "基准数据",
                     "submitted_by": "user:u", "submitted_by_name": "联络员", "submitted_at": base, "system": False}
                )  # fmt: skip
            if subs:
                session.execute(insert(submission_t), subs)
                wanted = [s["task_id"] for s in subs]
                query = submission_t.select().where(submission_t.c.task_id.in_(wanted))
                rows = session.execute(query).all()
                unit_of = {t.id: t.unit_code for t in tasks}
                for s in rows:
                    for n, (ctype, name) in enumerate((("application/pdf", "材料.pdf"), ("image/jpeg", "现场.jpg"))):
                        files.append(
                            {"submission_id": s.id, "task_id": s.task_id, "unit_code": unit_of[s.task_id],
                             "key": f"bench/{s.id}/{n}", "sha256": "0" * 64, "size": 120_000, "content_type": ctype,
                             "original_name": name, "uploaded_at": base}
                        )  # fmt: skip
                session.execute(insert(file_t), files)
            if current:
                late = [t.id for t in tasks if t.item_code.endswith(".1")]
                session.execute(update(task_t).where(task_t.c.id.in_(late)).values(due_date=date(2026, 11, 20)))
            else:
                locked = update(quarter_t).where(quarter_t.c.id == qid)
                session.execute(locked.values(state="locked", locked_at=base))
                score = round(80 + rng.random() * 15, 1)
                session.add(
                    NationalResult(
                        quarter_id=qid, score=score, rank=rng.randint(1, 30), class_name="大城市", class_size=30,
                        tier="第二档", lost_by_category={"分类投放": 1.5}, entered_at=base,
                    )
                )  # fmt: skip
            session.commit()
    engine.dispose()
    return urls


def clock_at(qid: str) -> Any:
    from datetime import UTC, datetime

    year, q = int(qid[:4]), int(qid[-1])
    return datetime(year, q * 3, 10, 2, 0, tzinfo=UTC)


@contextmanager
def servers(city: City, urls: dict[str, str], data: Path) -> Iterator[tuple[str, str]]:
    from bench.common import free_port, uvicorn

    registry_port, assessment_port, gateway_port = free_port(), free_port(), free_port()
    env = {
        "SORTLINE_DATA_DIR": str(data),
        "SORTLINE_ENV": "development",
        "SORTLINE_REGISTRY_DATABASE_URL": urls["registry"],
        "SORTLINE_ASSESSMENT_DATABASE_URL": urls["assessment"],
        "SORTLINE_ASSESSMENT_RUN_JOBS": "false",
        "SORTLINE_GATEWAY_DATABASE_URL": urls["gateway"],
        "SORTLINE_REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
        "SORTLINE_ASSESSMENT_URL": f"http://127.0.0.1:{assessment_port}",
        "BENCH_UNITS_FILE": str(data / f"{city.name}-units.json"),
    }
    with (
        uvicorn("services.registry.app:create_app", registry_port, env),
        uvicorn("bench.assessment_pages:service_app", assessment_port, env) as service,
        uvicorn("gateway.app:create_app", gateway_port, env) as gateway,
    ):
        yield gateway, service


def login(client: httpx.Client) -> None:
    resp = client.post("/login", data={"username": "office", "password": PASSWORD})
    if resp.status_code != 303:
        raise SystemExit(f"登录失败：{resp.status_code} {resp.text[:300]}")


def timed_pair(small: httpx.Client, large: httpx.Client, path: str, check: str) -> tuple[float, float]:
    from bench.common import median

    samples: tuple[list[float], list[float]] = ([], [])
    for i in range(WARMUP + SAMPLES):
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            client = (small, large)[side]
            t0 = time.perf_counter()
            resp = client.get(path)
            body = resp.content
            elapsed = time.perf_counter() - t0
            if resp.status_code != 200 or check.encode() not in body or "暂不可用".encode() in body:
                raise SystemExit(f"{path} 返回 {resp.status_code}：{body[:300]!r}")
            if i >= WARMUP:
                samples[side].append(elapsed)
    return median(samples[0]), median(samples[1])


# (label, page, text the page must hold, the service's JSON behind it: timed too, to show where
# the time goes)
PAGES = [
    ("quarter board", f"/assessment/quarters/{CURRENT}/board", 'id="heatmap"', f"/quarters/{CURRENT}/board"),
    ("review queue", f"/assessment/review?quarter={CURRENT}", "review-pane", f"/review-queue?quarter={CURRENT}"),
    ("forecast", f"/assessment/forecast?quarter={CURRENT}", 'id="secured"', f"/quarters/{CURRENT}/forecast"),
]


def main() -> None:
    reuse = os.environ.get("BENCH_DATA")  # a directory kept by an earlier run (BENCH_KEEP=1)
    data = Path(reuse) if reuse else Path(tempfile.mkdtemp(prefix="sortline-bench-assess-"))
    os.environ["SORTLINE_DATA_DIR"] = str(data)
    os.environ["SORTLINE_ENV"] = "development"
    try:
        t0 = time.perf_counter()
        if reuse:
            urls = {
                c: {n: f"sqlite:///{data / f'{c.name}-{n}.db'}" for n in ("gateway", "registry", "assessment")}
                for c in (SMALL, PROVINCE)
            }
        else:
            urls = {city: build(city, data) for city in (SMALL, PROVINCE)}
        print(f"数据生成 {time.perf_counter() - t0:.1f} s（数据目录 {data}）", flush=True)
        from gateway.config import Settings
        from services.common.auth import Caller, sign_token

        token = sign_token(Caller(sub="user:bench", role="office"), Settings().service_token_secret, ttl_seconds=3600)
        auth = {"authorization": f"Bearer {token}"}
        with (
            servers(SMALL, urls[SMALL], data) as (small_url, small_service),
            servers(PROVINCE, urls[PROVINCE], data) as (large_url, large_service),
            httpx.Client(base_url=small_url, timeout=120) as small,
            httpx.Client(base_url=large_url, timeout=120) as large,
            httpx.Client(base_url=small_service, timeout=120, headers=auth) as small_api,
            httpx.Client(base_url=large_service, timeout=120, headers=auth) as large_api,
        ):
            login(small)
            login(large)
            worst = 0.0
            for label, path, check, api_path in PAGES:
                a, b = timed_pair(small, large, path, check)
                ratio = b / a
                worst = max(worst, ratio)
                print(
                    f"{label:14s} page:    city {a * 1000:7.1f} ms  province {b * 1000:7.1f} ms  "
                    f"province/city x{ratio:.2f} (limit {LIMIT})",
                    flush=True,
                )
                sa, sb = timed_pair(small_api, large_api, api_path, "{")
                print(
                    f"{'':14s} service: city {sa * 1000:7.1f} ms  province {sb * 1000:7.1f} ms  "
                    f"province/city x{sb / sa:.2f}  ({api_path})",
                    flush=True,
                )
        print(f"ratio {worst:.2f}")
    finally:
        if os.environ.get("BENCH_KEEP") != "1" and not reuse:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
