"""The supervision service application (督导检查服务)."""

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from services.common.service_app import create_service_app
from services.supervision import vocab  # noqa: F401  (registers the field labels)
from services.supervision.config import Settings
from services.supervision.models import idempotency, outbox
from services.supervision.router import routers


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    return create_service_app(
        title="Sortline 督导检查服务",
        settings=settings or Settings(),
        outbox=outbox,
        routers=routers,
        engine=engine,
        idempotency=idempotency,
    )
