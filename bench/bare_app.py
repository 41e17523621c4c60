"""The machine's ceiling for the gateway-hop benchmark: a bare FastAPI endpoint, constant small JSON."""

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/constant")
    async def constant() -> dict[str, object]:
        return {"code": "360102-K00001", "plate_number": "赣AD12345", "status": "active"}

    return app
