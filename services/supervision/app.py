"""The supervision service application. Only the kernel (health, token check, events) so far."""

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from services.common.service_app import create_service_app
from services.supervision.config import Settings
from services.supervision.models import outbox


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    return create_service_app(
        title="Sortline 督导检查服务",
        settings=settings or Settings(),
        outbox=outbox,
        routers=[],
        engine=engine,
    )
