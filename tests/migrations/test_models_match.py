"""Each database's migrations build exactly what its models describe (autogenerate finds nothing)."""

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.common.migrations import SECTIONS

MODELS = {
    "gateway": "gateway.models",
    "registry": "services.registry.models",
    "assessment": "services.assessment.models",
    "supervision": "services.supervision.models",
}


@pytest.mark.parametrize("section", SECTIONS)
def test_migrations_match_models(make_db, section: str) -> None:
    metadata = importlib.import_module(MODELS[section]).metadata
    engine = make_db(section)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    assert diffs == []
