"""The demo seed: every state present, today's inspections for the demo inspector, the finished
round's report and circular published, orders for the demo member unit, real photos; running it
twice adds nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

pytest.importorskip("services.common.workdays", reason="kernel working days not merged yet")
pytest.importorskip("services.common.documents", reason="kernel documents not merged yet")

from PIL import Image

from services.common import clock
from services.common.storage import make_storage
from services.supervision.demo import DEMO_UNIT, seed_demo
from services.supervision.models import (
    circular_t,
    enforcement_t,
    escalation_t,
    inspection_t,
    photo_t,
    rect_t,
    report_t,
)


def test_demo_seed(engine, settings, client, as_):
    counts = seed_demo(engine, settings)
    assert counts["plans"] == 2 and counts["teams"] == 2 and counts["orders"] > 10
    assert seed_demo(engine, settings) == {k: 0 for k in counts}
    with engine.connect() as conn:
        states = {r[0] for r in conn.execute(select(rect_t.c.state).distinct())}
        assert states == {"issued", "accepted", "fix_submitted", "verified"}
        assert conn.execute(select(func.count()).where(rect_t.c.rejections > 0)).scalar_one() > 0
        assert conn.execute(select(func.count()).select_from(escalation_t)).scalar_one() > 0
        assert (
            conn.execute(
                select(func.count()).where(rect_t.c.is_open.is_(True), rect_t.c.deadline < clock.today())
            ).scalar_one()
            > 0
        )
        assert conn.execute(select(report_t.c.state)).scalar_one() == "published"
        assert conn.execute(select(circular_t.c.state)).scalar_one() == "published"
        assert conn.execute(select(func.count()).select_from(enforcement_t)).scalar_one() == 24
        unit_orders = conn.execute(select(rect_t).where(rect_t.c.party_code == DEMO_UNIT)).all()
        assert {o.state for o in unit_orders} == {"issued", "accepted", "fix_submitted"}
        # one of them escalated by the daily pass: the office and the unit's leader are told
        assert [o.escalated_to for o in unit_orders if o.escalation_level] == [["office", f"unit_leader:{DEMO_UNIT}"]]
        assert all(o.target_name.endswith("市场") for o in unit_orders), [o.target_name for o in unit_orders]
        assert all(o.target_name for o in conn.execute(select(rect_t.c.target_name)))  # every order names its target
        key = conn.execute(select(photo_t.c.key).limit(1)).scalar_one()
        today = [
            r
            for r in conn.execute(select(inspection_t.c.state, inspection_t.c.received_at))
            if clock.local(r.received_at).date() == clock.today()
        ]
    assert {r.state for r in today} == {"submitted", "draft"}
    img = Image.open(io.BytesIO(make_storage(settings.file_storage_url()).open(key)))
    assert img.format == "JPEG" and img.size == (160, 120)
    day = client.get("/today?inspector=inspector", headers=as_("inspector")).json()
    assert len(day["items"]) >= 2
    assert any(t["inspection"] for t in day["items"])
