"""What every service app has: the engine in the lifespan, error handlers, field labels, health,
events; and ``get_settings``, from which each service makes its typed ``SettingsDep``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from sqlalchemy.engine import Engine

from services.common.config import CommonSettings
from services.common.db import make_engine, read_engine
from services.common.errors import ERROR_RESPONSES, FieldLabels, install_error_handlers, register_field_labels
from services.common.idempotency import Idempotency
from services.common.outbox import Outbox


def get_settings(request: Request) -> Any:
    """The app's settings; a service declares ``SettingsDep = Annotated[Settings, Depends(get_settings)]``."""
    return request.app.state.settings


def create_service_app(
    *,
    title: str,
    settings: CommonSettings,
    outbox: Outbox,
    routers: Sequence[APIRouter],
    engine: Engine | None = None,
    idempotency: Idempotency | None = None,
    field_labels: FieldLabels | None = None,
) -> FastAPI:
    """Build a service. The engine is made in the lifespan unless a test hands one in."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = not hasattr(app.state, "engine")
        if own:
            app.state.engine = make_engine(settings.database_url)
            app.state.read_engine = read_engine(app.state.engine)
        try:
            yield
        finally:
            if own:
                app.state.engine.dispose()
                del app.state.engine

    app = FastAPI(title=title, lifespan=lifespan, responses=ERROR_RESPONSES)
    app.state.settings = settings
    app.state.outbox = outbox
    app.state.idempotency = idempotency
    if engine is not None:  # tests hand in their engine; ASGITransport runs no lifespan
        app.state.engine = engine
        app.state.read_engine = read_engine(engine)
    install_error_handlers(app)
    register_field_labels(app, field_labels or {})

    @app.get("/health", tags=["health"], include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": outbox.service}

    app.include_router(outbox.router())
    for router in routers:
        app.include_router(router)
    return app
