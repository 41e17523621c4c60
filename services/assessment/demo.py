"""The demo's assessment data: the 示例 catalogue (44 items, 100 points), quarter 2026Q4 collecting with
tasks at mixed progress (approved, submitted, returned, overdue) and small real PDF and PNG files, and
2026Q2 / 2026Q3 locked with national results. Deterministic; a second run adds nothing.

Everything goes through the service's own rules (opening a quarter, submitting, reviewing), so the
history, the events and the files are what real use would leave behind.
"""

from __future__ import annotations

import random
import struct
import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from services.assessment import catalogues, quarters, repository, scores, tasks
from services.assessment.config import Settings
from services.assessment.demo_catalogue import NAME, demo_spec, demo_units
from services.assessment.models import Quarter, Task
from services.common import clock
from services.common.auth import Caller
from services.common.db import session_scope
from services.common.storage import make_storage

OFFICE = Caller(sub="user:demo-office", name="分类办 李敏", role="office")
SEED = 2026
RESULTS = {
    "2026Q2": (82.5, 18, "第二档", {"分类投放": 6.0, "分类处理": 4.5, "宣传教育": 3.0, "体制机制建设": 4.0}),
    "2026Q3": (86.0, 12, "第二档", {"分类投放": 5.0, "分类处理": 3.0, "宣传教育": 2.0, "体制机制建设": 4.0}),
}


class _DemoRegistry:
    """The registry demo's units and a plausible coverage (the demo seeds without the registry running)."""

    def units(self) -> list[dict[str, Any]]:
        return demo_units()

    def coverage(self, as_of: date) -> dict[str, Any]:
        rates = {"residential": 0.91, "public_institution": 1.0, "education": 0.96, "medical": 0.93}
        return {
            "as_of": as_of.isoformat(),
            "city": {
                "residential": {"covered": 910, "total": 1000, "rate": rates["residential"]},
                "by_kind": {k: {"covered": int(v * 100), "total": 100, "rate": v} for k, v in rates.items()},
            },
            "counties": [],
        }


class _AnyDay:
    """Working-day checks for seeding: the kernel calendar when present, else every weekday."""

    def __init__(self) -> None:
        try:
            from services.common.workdays import WorkCalendar

            self._cal: Any = WorkCalendar({})
        except ImportError:
            self._cal = None

    def is_workday(self, d: date) -> bool:
        return bool(self._cal.is_workday(d)) if self._cal else d.weekday() < 5

    def add_workdays(self, d: date, n: int) -> date:
        if self._cal:
            result: date = self._cal.add_workdays(d, n)
            return result
        return d + timedelta(days=n)

    def workdays_between(self, a: date, b: date) -> int:
        return int(self._cal.workdays_between(a, b)) if self._cal else (b - a).days


def tiny_pdf(title: str) -> bytes:
    """A small valid one-page PDF (ASCII text: Helvetica has no Chinese)."""
    text = title.encode("ascii", "replace").decode()
    stream = f"BT /F1 14 Tf 60 780 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def tiny_png(seed: int, size: int = 16) -> bytes:
    """A small valid PNG: a colour square (a stand-in for a site photo)."""
    rng = random.Random(seed)
    colour = bytes(rng.randrange(60, 230) for _ in range(3))
    raw = b"".join(b"\x00" + colour * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _unit_caller(task: Task) -> Caller:
    if task.county_code:
        return Caller(
            sub=f"user:demo-{task.unit_code}",
            name=f"{task.unit_code} 联络员",
            role="county",
            county_code=task.county_code,
        )
    return Caller(
        sub=f"user:demo-{task.unit_code}", name=f"{task.unit_code} 联络员", role="unit", unit_code=task.unit_code
    )


def _at(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _hand_in(engine: Engine, storage: Any, task_id: int, day: date, n: int) -> None:
    clock.set_now(_at(day))
    with session_scope(engine) as session:
        task = repository.row(session, Task, task_id)
        assert task is not None
        quarter = repository.row(session, Quarter, task.quarter_id)
        assert quarter is not None
        item = repository.catalogue_item(session, quarter.catalogue_id, task.item_code)
        kinds = next((e["kinds"] for e in (item.evidence if item else []) if e["code"] == task.evidence_code), ["pdf"])
        pdf = tiny_pdf(f"Sortline demo {task.quarter_id} {task.item_code} {task.unit_code}")
        files = [storage.put(pdf, original_name=f"{task.evidence_title[:30]}.pdf")]
        if "image" in kinds and n % 2 == 0:
            files.append(storage.put(tiny_png(n), original_name=f"现场照片{n}.png"))
        if "pdf" not in kinds:
            files = [storage.put(tiny_png(n), original_name=f"现场照片{n}.png")]
        tasks.submit(session, _unit_caller(task), task_id, files, effective_date=day, note="按要求报送")


def _review(engine: Engine, task_id: int, day: date, decision: str, reason: str | None = None) -> None:
    clock.set_now(_at(day, 6))
    with session_scope(engine) as session:
        tasks.review(session, OFFICE, task_id, decision, reason)


def seed_demo(engine: Engine, settings: Settings | None = None) -> dict[str, int]:
    """Seed the assessment demo; returns what was added (nothing on a second run)."""
    settings = settings or Settings()
    with session_scope(engine) as session:
        if repository.latest_version(session, NAME):  # the demo catalogue is there already
            return {"catalogues": 0, "quarters": 0, "tasks": 0}
    storage = make_storage(settings.file_storage_url(), max_size=settings.max_file_size)
    registry, calendar = _DemoRegistry(), _AnyDay()
    saved = clock._fixed  # the seed moves the clock through 2026; put it back afterwards
    rng = random.Random(SEED)
    counts = {"catalogues": 1, "quarters": 0, "tasks": 0, "submissions": 0}
    try:
        clock.set_now(_at(date(2026, 3, 20)))
        with session_scope(engine) as session:
            cat = catalogues.create_from_spec(session, OFFICE, demo_spec())
            assert cat.id is not None
            catalogues.publish(session, OFFICE, cat.id)
            cat_id = cat.id
        for quarter_id, opened in (
            ("2026Q2", date(2026, 4, 8)),
            ("2026Q3", date(2026, 7, 8)),
            ("2026Q4", date(2026, 10, 9)),
        ):
            clock.set_now(_at(opened))
            with session_scope(engine) as session:
                info = quarters.open_quarter(session, OFFICE, settings, registry, calendar, quarter_id, cat_id)
                counts["quarters"] += 1
                counts["tasks"] += info["tasks"]
                if quarter_id == "2026Q4":  # the first two categories were due in November: overdue now
                    for code in ("1.1", "1.2", "1.3", "2.1", "2.2", "2.3"):
                        quarters.set_item_due(session, OFFICE, calendar, quarter_id, code, date(2026, 11, 20))
                ids = [t.id for t in repository.quarter_tasks(session, quarter_id) if t.id is not None]
            due = quarters.default_due(quarter_id, settings)
            for n, task_id in enumerate(ids):
                roll = rng.random()
                if quarter_id != "2026Q4":
                    day = (
                        due - timedelta(days=rng.randrange(1, 30))
                        if roll < 0.85
                        else due + timedelta(days=rng.randrange(1, 6))
                    )
                    _hand_in(engine, storage, task_id, day, n)
                    if roll < 0.12:
                        _review(engine, task_id, day + timedelta(days=1), "return", "材料不完整，请补充盖章页")
                        _hand_in(engine, storage, task_id, day + timedelta(days=3), n)
                    _review(engine, task_id, day + timedelta(days=4), "approve")
                    counts["submissions"] += 1
                    continue
                if roll < 0.35:
                    _hand_in(engine, storage, task_id, date(2026, 11, 3) + timedelta(days=n % 15), n)
                    _review(engine, task_id, date(2026, 11, 20) + timedelta(days=n % 5), "approve")
                elif roll < 0.55:
                    _hand_in(engine, storage, task_id, date(2026, 11, 10) + timedelta(days=n % 18), n)
                elif roll < 0.67:
                    _hand_in(engine, storage, task_id, date(2026, 11, 5) + timedelta(days=n % 10), n)
                    _review(
                        engine,
                        task_id,
                        date(2026, 11, 18) + timedelta(days=n % 8),
                        "return",
                        rng.choice(RETURN_REASONS),
                    )
                else:
                    continue
                counts["submissions"] += 1
            if quarter_id != "2026Q4":
                clock.set_now(_at(due + timedelta(days=12)))
                with session_scope(engine) as session:
                    snapshot = scores.snapshot(session, OFFICE, registry, quarter_id)
                    snapshot["expected"] = round(snapshot["expected"] - rng.uniform(3, 8), 2)  # the office's judgements
                    quarters.set_state(session, OFFICE, quarter_id, "locked", snapshot)
                    score, rank, tier, lost = RESULTS[quarter_id]
                    body = {
                        "score": score,
                        "rank": rank,
                        "class_name": "大城市",
                        "class_size": 54,
                        "tier": tier,
                        "lost_by_category": lost,
                    }
                    scores.put_result(
                        session, OFFICE, quarter_id, body | {"note": "住房城乡建设部季度评估通报（示例）"}
                    )
    finally:
        clock.set_now(saved)
    return counts


RETURN_REASONS = [
    "缺少盖章页，请补充后重新提交",
    "材料不是本季度的，请提交 10 月以后的",
    "照片看不清，请重新拍摄",
    "只有文字说明，缺少台账",
]
