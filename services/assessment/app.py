"""The assessment service application (考核评估服务)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from services.assessment import schemas  # noqa: F401  (registers the field labels)
from services.assessment.app_state import Ports
from services.assessment.config import Settings
from services.assessment.models import idempotency, outbox
from services.assessment.ports import CalendarPort, RegistryPort, SupervisionPort
from services.assessment.router import router
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
        routers=[router],
        engine=engine,
        idempotency=idempotency,
    )
    app.state.ports = Ports(settings, registry=registry, supervision=supervision, calendar=calendar, storage=storage)
    return app
