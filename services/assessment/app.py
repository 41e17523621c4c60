"""The assessment service application. Only the kernel (health, token check, events) so far."""

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from services.assessment.config import Settings
from services.assessment.models import outbox
from services.common.service_app import create_service_app


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    return create_service_app(
        title="Sortline 考核评估服务",
        settings=settings or Settings(),
        outbox=outbox,
        routers=[],
        engine=engine,
    )
