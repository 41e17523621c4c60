"""Alembic environment of the assessment database."""

from alembic import context

from services.assessment.config import Settings
from services.assessment.models import metadata
from services.common.migrations import run_env

if not context.config.attributes.get("url") and not context.config.attributes.get("connection"):
    context.config.attributes["url"] = Settings().database_url

run_env(metadata)
