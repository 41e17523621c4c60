"""Alembic environment of the gateway database."""

from alembic import context

from gateway.config import Settings
from gateway.models import metadata
from services.common.migrations import run_env

if not context.config.attributes.get("url") and not context.config.attributes.get("connection"):
    context.config.attributes["url"] = Settings().database_url

run_env(metadata)
