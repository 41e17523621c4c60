"""The gateway application: the only public entry (pages, login, API keys, the /api/v1 proxy)."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway import (
    account,
    admin,
    apidocs,
    assessment_pages,
    calendar_pages,
    dashboard,
    imports_pages,
    integration,
    pages,
    registry_pages,
    supervision_pages,
)
from gateway.apidocs import OpenApiCache
from gateway.clients import ServiceClients
from gateway.config import SERVICES, Settings
from gateway.errors import install_gateway_error_handlers
from gateway.proxy import ServiceRoute, key_log, proxy_route
from gateway.security import ApiKeyVerifier
from services.common.db import make_engine, read_engine

STATIC = Path(__file__).parent / "static"
FAVICON = (STATIC / "favicon.svg").read_bytes()


def _setup_key_log() -> None:
    """API key use is an audit trail: make sure its lines reach stderr even if nobody configured
    logging (done once, at app creation, never per request)."""
    if not key_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        key_log.addHandler(handler)
        key_log.setLevel(logging.INFO)
        key_log.propagate = False


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """Build the gateway. Tests hand in an engine and in-process transports to the services."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        db = engine if engine is not None else make_engine(settings.database_url)
        app.state.engine = db
        app.state.read_engine = read_engine(db)
        app.state.key_verifier = ApiKeyVerifier(
            db, ttl=settings.apikey_cache_seconds, touch_seconds=settings.apikey_touch_seconds
        )
        app.state.clients = ServiceClients(settings, transports)
        app.state.openapi_cache = OpenApiCache(settings.openapi_cache_seconds)
        try:
            yield
        finally:
            await app.state.clients.close()
            if own_engine:
                db.dispose()

    app = FastAPI(
        title="Sortline 网关",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # the county-facing reference is /api/docs
    )
    app.state.settings = settings
    install_gateway_error_handlers(app)
    _setup_key_log()

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        """Browsers ask for /favicon.ico before reading the page's <link rel="icon">: the SVG."""
        return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    app.router.routes.append(proxy_route())
    app.include_router(apidocs.router)
    app.include_router(pages.router)
    app.include_router(dashboard.router)
    # Before the registry pages: /registry/imports and /registry/<kind>/export are not record codes.
    app.include_router(imports_pages.router)
    app.include_router(registry_pages.router)
    app.include_router(admin.router)
    app.include_router(account.router)
    app.include_router(calendar_pages.router)
    app.include_router(assessment_pages.router)
    app.include_router(supervision_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    integration.install(app, start_worker=transports is None)
    # The API's hot path first: a request for one of the services is matched by its prefix before
    # any other route (none lies under those prefixes); everything else is routed as above.
    app.router.routes.insert(0, ServiceRoute(SERVICES))
    # Outermost: the client's address and scheme come from X-Forwarded-For/-Proto only when the
    # peer is one of the configured proxies (the login throttle and the session log rely on it).
    # The processes run uvicorn with --no-proxy-headers, so this is the only place that decides.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app
