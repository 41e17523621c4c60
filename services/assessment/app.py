"""The assessment service application (考核评估服务)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from services.assessment.app_state import Ports
from services.assessment.background import install
from services.assessment.config import Settings
from services.assessment.models import idempotency, outbox
from services.assessment.ports import CalendarPort, RegistryPort, SupervisionPort
from services.assessment.report_routes import router as report_router
from services.assessment.router import router
from services.assessment.schemas import LABELS
from services.common.service_app import create_service_app


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    *,
    registry: RegistryPort | None = None,
    supervision: SupervisionPort | None = None,
    calendar: Callable[[], CalendarPort] | None = None,
    storage: Any = None,
) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        title="Sortline 考核评估服务",
        settings=settings,
        outbox=outbox,
        routers=[router, report_router],
        engine=engine,
        idempotency=idempotency,
        field_labels=LABELS,
    )
    app.state.ports = Ports(settings, registry=registry, supervision=supervision, calendar=calendar, storage=storage)
    install(app)
    return app
