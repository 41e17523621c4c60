"""Data the supervision migrations carry over (SQLite: a migration's SQL is the same on PostgreSQL,
where the suite's databases are built by the same migrations)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import MetaData, Table, create_engine, select

from services.common.migrations import upgrade


def test_orders_take_their_findings_target_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'supervision.db'}"
    upgrade("supervision", url, "sup0003")
    engine = create_engine(url)
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    with engine.begin() as conn:
        finding = Table("finding", MetaData(), autoload_with=conn)
        rect = Table("rectification", MetaData(), autoload_with=conn)
        subject = {"target_code": "360102-S000001", "county_code": "360102", "category": "overflow"}
        party = {"severity": "major", "party_kind": "county", "party_code": "360102"}
        conn.execute(
            finding.insert(),
            [
                {"id": n, "target_name": name, "target_kind": "residential", "description": "厨余桶满溢", "photos": []}
                | {"state": "open", "created_by": "inspector", "created_at": now, "item_id": None}
                | subject
                | party
                for n, name in ((1, "滨江花园"), (2, ""))
            ],
        )
        conn.execute(
            rect.insert(),
            [
                {"id": n, "finding_id": n, "state": "issued", "is_open": True, "issued_on": date(2026, 12, 1)}
                | {"deadline": date(2026, 12, 8), "overdue_notified": False, "escalation_level": 0}
                | {"escalated_to": [], "fix_photos": [], "rejections": 0, "created_at": now, "updated_at": now}
                | subject
                | party
                for n in (1, 2)
            ],
        )
    engine.dispose()
    upgrade("supervision", url)
    engine = create_engine(url)
    with engine.connect() as conn:
        rect = Table("rectification", MetaData(), autoload_with=conn)
        names = {row.id: row.target_name for row in conn.execute(select(rect.c.id, rect.c.target_name))}
    engine.dispose()
    assert names == {1: "滨江花园", 2: ""}
