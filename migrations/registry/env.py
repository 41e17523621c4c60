"""Alembic environment of the registry database."""

from alembic import context

from services.common.migrations import run_env
from services.registry.config import Settings
from services.registry.models import metadata

if not context.config.attributes.get("url") and not context.config.attributes.get("connection"):
    context.config.attributes["url"] = Settings().database_url

run_env(metadata)
