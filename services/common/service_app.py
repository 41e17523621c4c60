"""What every service app has: the engine in the lifespan, error handlers, health, events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy.engine import Engine

from services.common.config import CommonSettings
from services.common.db import make_engine, read_engine
from services.common.errors import ErrorBody, install_error_handlers
from services.common.idempotency import Idempotency
from services.common.outbox import Outbox

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "缺少或无效的凭证"},
    403: {"model": ErrorBody, "description": "无权限"},
    404: {"model": ErrorBody, "description": "记录不存在（或不在调用方的辖区内）"},
    409: {"model": ErrorBody, "description": "冲突"},
    422: {"model": ErrorBody, "description": "数据校验失败，details 中逐字段说明"},
}


def create_service_app(
    *,
    title: str,
    settings: CommonSettings,
    outbox: Outbox,
    routers: Sequence[APIRouter],
    engine: Engine | None = None,
    idempotency: Idempotency | None = None,
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

    @app.get("/health", tags=["health"], include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": outbox.service}

    app.include_router(outbox.router())
    for router in routers:
        app.include_router(router)
    return app
