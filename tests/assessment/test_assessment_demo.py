"""The demo: 示例 catalogue (>= 40 items, 100 points), 2026Q4 at mixed progress with real files, two
locked quarters with national results; a second run adds nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from services.assessment.config import Settings
from services.assessment.demo import seed_demo, tiny_pdf, tiny_png
from services.assessment.models import Catalogue, CatalogueItem, EvidenceFile, NationalResult, Quarter, Task
from services.common import clock
from services.common.db import session_scope
from services.common.storage import make_storage, sniff_content_type


def test_demo(engine: Engine, settings: Settings) -> None:
    clock.set_now(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))
    first = seed_demo(engine, settings)
    assert first["quarters"] == 3 and first["tasks"] == 258
    assert clock.now() == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        cat = session.execute(select(Catalogue)).scalars().one()
        assert cat.name.startswith("示例") and cat.status == "published" and cat.total_points == 100
        assert session.execute(select(func.count()).select_from(CatalogueItem)).scalar_one() >= 40
        states = {q.id: q.state for q in session.execute(select(Quarter)).scalars()}
        assert states == {"2026Q2": "locked", "2026Q3": "locked", "2026Q4": "collecting"}
        q4 = session.execute(select(Task).where(Task.quarter_id == "2026Q4")).scalars().all()
        by_state = Counter(t.state for t in q4)
        assert all(by_state[s] > 0 for s in ("pending", "submitted", "approved", "returned"))
        assert any(t.state != "approved" and t.due_date < clock.today() for t in q4)  # overdue ones
        results = session.execute(select(NationalResult)).scalars().all()
        assert [r.quarter_id for r in results] == ["2026Q2", "2026Q3"] and all(r.forecast_score for r in results)
        files = session.execute(select(EvidenceFile).limit(20)).scalars().all()
    storage = make_storage(settings.file_storage_url())
    kinds = {sniff_content_type(storage.open(f.key)[:64]) for f in files}
    assert "application/pdf" in kinds
    assert seed_demo(engine, settings) == {"catalogues": 0, "quarters": 0, "tasks": 0}


def test_tiny_files_are_valid(tmp_path: Path) -> None:
    from PIL import Image

    png = tmp_path / "a.png"
    png.write_bytes(tiny_png(3))
    with Image.open(png) as img:
        assert img.size == (16, 16)
    pdf = tiny_pdf("hello")
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
