"""Supervision list scaling: the findings list (filtered by county and category) and the
rectification lists (by party and state; the overdue board), first page and a page deep in the
cursor, at 1,000 and at 100,000 findings (one order per finding). Prints each median and last
``ratio large/small`` (the worst), which must stay <= 1.5. Both databases are served side by side
and every probe is timed on both in alternation (medians of BENCH_SAMPLES each).

On PostgreSQL when ``SORTLINE_BENCH_DATABASE_URL`` is set (it creates ``sortline_bench_sup_<size>``
beside it, reuses them when already built, never touches others); on SQLite files otherwise.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SMALL, LARGE = 1_000, int(os.environ.get("BENCH_LARGE", "100000"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "30"))
PAGE = 50
COUNTIES = ["360102", "360103", "360104", "360111", "360112", "360113", "360121", "360123", "360124"]
PROBES: list[tuple[str, str, dict[str, Any]]] = [
    ("findings county+category", "/findings", {"county": "360102", "category": "overflow"}),
    ("findings plan", "/findings", {"plan": 1}),
    ("orders party+state", "/rectifications", {"party": "360102", "state": "accepted"}),
    ("orders overdue", "/rectifications", {"overdue": "true"}),
]


def _rows(size: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from services.supervision.vocab import FINDING_CATEGORIES

    rng = random.Random(size)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    findings, orders = [], []
    states = ["issued", "accepted", "fix_submitted", "verified"]
    for i in range(1, size + 1):
        county = COUNTIES[i % len(COUNTIES)]
        category = FINDING_CATEGORIES[rng.randrange(len(FINDING_CATEGORIES))]
        state = states[rng.randrange(4)]
        issued = date(2026, 6, 1) + timedelta(days=rng.randrange(150))
        findings.append(
            {
                "id": i,
                "plan_id": 1,
                "target_code": f"{county}-S{i:06d}",
                "target_name": f"小区{i}",
                "target_kind": "site:residential",
                "county_code": county,
                "category": category,
                "severity": "minor",
                "description": "基准数据",
                "photos": [],
                "latitude": 28.6 + rng.random() / 10,
                "longitude": 115.9 + rng.random() / 10,
                "party_kind": "county",
                "party_code": county,
                "state": "closed" if state == "verified" else "open",
                "created_by": "bench",
                "created_at": now,
            }
        )
        orders.append(
            {
                "id": i,
                "finding_id": i,
                "plan_id": 1,
                "team_code": "T01",
                "target_code": f"{county}-S{i:06d}",
                "county_code": county,
                "category": category,
                "severity": "minor",
                "party_kind": "county",
                "party_code": county,
                "state": state,
                "is_open": state != "verified",
                "issued_on": issued,
                "deadline": issued + timedelta(days=14),
                "overdue_notified": False,
                "escalation_level": 0,
                "escalated_to": [],
                "fix_photos": [],
                "rejections": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    return findings, orders


def build(base_url: str | None, size: int, workdir: Path) -> str:
    from sqlalchemy import create_engine, insert, select, text
    from sqlalchemy.engine import make_url

    from services.common.db import make_engine, normalize_url
    from services.common.migrations import upgrade
    from services.supervision.models import checklist_t, finding_t, plan_t, rect_t, team_t

    if base_url:
        name = f"sortline_bench_sup_{size}"
        url = str(make_url(normalize_url(base_url)).set(database=name))
        admin = create_engine(normalize_url(base_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists:
            engine = make_engine(url)
            try:
                with engine.connect() as conn:
                    if conn.execute(text("SELECT count(*) FROM finding")).scalar_one() == size:
                        print(f"复用已建好的 {name}", flush=True)
                        return url
            except Exception:
                pass
            finally:
                engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    else:
        url = f"sqlite:///{workdir / f'sup-{size}.db'}"
    upgrade("supervision", url)
    engine = make_engine(url)
    started = time.monotonic()
    now = datetime(2026, 9, 1, tzinfo=UTC)
    findings, orders = _rows(size)
    with engine.begin() as conn:
        conn.execute(
            insert(team_t).values(
                code="T01", name="一组", leader="a", members=["a"], counties=[], created_at=now, updated_at=now
            )
        )
        conn.execute(
            insert(checklist_t).values(
                code="B", version=1, name="基准", target_kind="site:residential", state="published", example=False,
                items=[], created_at=now,
            )
        )  # fmt: skip
        checklist_id = conn.execute(select(checklist_t.c.id)).scalar_one()
        conn.execute(
            insert(plan_t).values(
                id=1, name="基准轮次", starts_on=date(2026, 6, 1), ends_on=date(2026, 11, 30), team_code="T01",
                checklist_id=checklist_id, selection={}, per_inspector_per_day=4, state="scheduled", created_by="bench",
                created_at=now,
            )
        )  # fmt: skip
        for start in range(0, size, 10_000):
            conn.execute(insert(finding_t), findings[start : start + 10_000])
            conn.execute(insert(rect_t), orders[start : start + 10_000])
        if engine.dialect.name == "postgresql":
            for table in ("finding", "rectification"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {size})"))
    with engine.begin() as conn:  # committed: an ANALYZE rolled back leaves the planner no statistics
        conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"生成 {size} 条问题和整改通知，用时 {time.monotonic() - started:.0f} 秒", flush=True)
    return url


def deep_cursor(client: httpx.Client, path: str, params: dict[str, Any]) -> str | None:
    """A cursor about 90 % deep into the list, found by walking it in big pages (not timed)."""
    total, cursor, seen = 0, None, []
    while True:
        page = client.get(path, params=params | {"limit": 500} | ({"cursor": cursor} if cursor else {}))
        page.raise_for_status()
        body = page.json()
        total += len(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
        seen.append((total, cursor))
    target = [c for n, c in seen if n <= total * 0.9]
    return target[-1] if target else None


def main() -> None:
    base_url = os.environ.get("SORTLINE_BENCH_DATABASE_URL")
    from bench.common import scratch_dir

    workdir = scratch_dir("sortline-bench-sup-")
    os.environ["SORTLINE_DATA_DIR"] = str(workdir)

    from bench.common import free_port, median, uvicorn
    from services.common.auth import Caller, sign_token
    from services.supervision.config import Settings

    urls = {size: build(base_url, size, workdir) for size in (SMALL, LARGE)}
    secret = Settings().service_token_secret
    token = sign_token(Caller(sub="user:bench", role="office"), secret, ttl_seconds=3600)
    headers = {"Authorization": f"Bearer {token}"}
    env = {"SORTLINE_DATA_DIR": str(workdir), "SORTLINE_SUPERVISION_RUN_JOBS": "false"}
    with (
        uvicorn(
            "services.supervision.app:create_app", free_port(), env | {"SORTLINE_SUPERVISION_DATABASE_URL": urls[SMALL]}
        ) as small_base,
        uvicorn(
            "services.supervision.app:create_app", free_port(), env | {"SORTLINE_SUPERVISION_DATABASE_URL": urls[LARGE]}
        ) as large_base,
        httpx.Client(base_url=small_base, headers=headers, timeout=60) as small,
        httpx.Client(base_url=large_base, headers=headers, timeout=60) as large,
    ):
        worst = 0.0
        for label, path, filters in PROBES:
            cursors = {SMALL: deep_cursor(small, path, filters), LARGE: deep_cursor(large, path, filters)}
            for depth in ("first page", "deep page"):
                samples: dict[int, list[float]] = {SMALL: [], LARGE: []}
                for i in range(SAMPLES + 5):
                    order = ((SMALL, small), (LARGE, large)) if i % 2 == 0 else ((LARGE, large), (SMALL, small))
                    for size, client in order:
                        params = filters | {"limit": PAGE}
                        cursor = cursors[size]
                        if depth == "deep page" and cursor:
                            params["cursor"] = cursor
                        t0 = time.perf_counter()
                        resp = client.get(path, params=params)
                        elapsed = time.perf_counter() - t0
                        resp.raise_for_status()
                        assert resp.json()["items"], f"空页面：{path} {params}"
                        if i >= 5:
                            samples[size].append(elapsed)
                s, lg = median(samples[SMALL]), median(samples[LARGE])
                worst = max(worst, lg / s)
                print(f"{label:26} {depth:10} {SMALL}: {s * 1000:7.2f} ms  {LARGE}: {lg * 1000:7.2f} ms  x{lg / s:.2f}")
    print(f"ratio {worst:.2f}")


if __name__ == "__main__":
    main()
