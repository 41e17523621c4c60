"""The migrations build exactly what the models describe."""

from __future__ import annotations

from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from services.common.db import is_sqlite
from services.registry.models import metadata


def test_models_match_migrations(make_db: Callable[[str], Engine]) -> None:
    engine = make_db("registry")
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": is_sqlite(str(engine.url))}
        )
        diffs = compare_metadata(ctx, metadata)
    assert diffs == []


def test_list_indexes_exist(make_db: Callable[[str], Engine]) -> None:
    engine = make_db("registry")
    names = {i["name"] for i in inspect(engine).get_indexes("facility")}
    assert {
        "ix_facility_county_code_code",
        "ix_facility_county_code_category_code",
        "ix_facility_county_code_kind_code",
    } <= names
    vehicle = {i["name"]: i for i in inspect(engine).get_indexes("vehicle")}
    assert vehicle["uq_vehicle_active_plate_number"]["unique"]
