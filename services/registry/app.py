"""The registry service application (基础台账服务)."""

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from services.common.service_app import create_service_app
from services.registry.config import Settings
from services.registry.models import idempotency, outbox
from services.registry.router import routers
from services.registry.validation import LABELS


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    return create_service_app(
        title="Sortline 基础台账服务",
        settings=settings or Settings(),
        outbox=outbox,
        routers=routers,
        engine=engine,
        idempotency=idempotency,
        field_labels=LABELS,
    )
