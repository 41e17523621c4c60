"""Alembic environment of the supervision database."""

from alembic import context

from services.common.migrations import run_env
from services.supervision.config import Settings
from services.supervision.models import metadata

if not context.config.attributes.get("url") and not context.config.attributes.get("connection"):
    context.config.attributes["url"] = Settings().database_url

run_env(metadata)
