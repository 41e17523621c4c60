"""Gateway hop: what a county system's lookup costs, end to end, against the machine's ceiling.

At 32 concurrent connections, in one run: (a) a bare FastAPI endpoint answering constant JSON,
(b) the registry's ``GET /vehicles/{code}`` sent straight to the registry with a service token,
(c) ``GET /api/v1/registry/vehicles/{code}`` through the gateway with a county API key.
Prints b/a, c/b and last ``ratio c/a``. Each measurement runs ROUNDS times, interleaved; the best
of each is kept (the machine is shared, and noise only ever slows a run down).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
CONNECTIONS = 32


def main() -> None:
    from bench.common import scratch_dir

    data = scratch_dir("sortline-bench-hop-")
    os.environ["SORTLINE_DATA_DIR"] = str(data)
    os.environ.setdefault("SORTLINE_ENV", "development")

    from sqlalchemy import text

    from bench.common import free_port, uvicorn, wrk
    from gateway.cli import create_api_key
    from services.cli import _engine, cmd_migrate, seed_demo
    from services.common.auth import Caller, sign_token
    from services.registry.config import Settings as RegistrySettings

    cmd_migrate(None)  # type: ignore[arg-type]
    seed_demo(1000)
    registry_engine = _engine("registry")
    with registry_engine.connect() as conn:
        code = conn.execute(
            text("SELECT code FROM vehicle WHERE county_code = '360102' ORDER BY code LIMIT 1")
        ).scalar_one()
    registry_engine.dispose()
    gateway_engine = _engine("gateway")
    _, key = create_api_key(gateway_engine, name="bench", county_code="360102", role="county", permissions=None)
    gateway_engine.dispose()
    secret = RegistrySettings().service_token_secret
    token = sign_token(
        Caller(sub="key:bench", role="county", county_code="360102", permissions=["registry:read"]),
        secret,
        ttl_seconds=3600,
    )

    ports = {name: free_port() for name in ("bare", "registry", "assessment", "supervision", "gateway")}
    env = {f"SORTLINE_{n.upper()}_PORT": str(p) for n, p in ports.items() if n != "bare"}
    env["SORTLINE_DATA_DIR"] = str(data)
    best = {"a": 0.0, "b": 0.0, "c": 0.0}
    with (
        uvicorn("bench.bare_app:create_app", ports["bare"], env) as bare,
        uvicorn("services.registry.app:create_app", ports["registry"], env) as registry,
        uvicorn("services.assessment.app:create_app", ports["assessment"], env),
        uvicorn("services.supervision.app:create_app", ports["supervision"], env),
        uvicorn("gateway.app:create_app", ports["gateway"], env) as gateway,
    ):
        # Warm up each path (caches, pools, the key look-up) before measuring.
        wrk(
            f"{gateway}/api/v1/registry/vehicles/{code}",
            seconds=1,
            headers={"Authorization": f"Bearer {key}"},
        )
        for _ in range(ROUNDS):
            best["a"] = max(best["a"], wrk(f"{bare}/constant", seconds=SECONDS, connections=CONNECTIONS))
            best["b"] = max(
                best["b"],
                wrk(
                    f"{registry}/vehicles/{code}",
                    seconds=SECONDS,
                    connections=CONNECTIONS,
                    headers={"Authorization": f"Bearer {token}"},
                ),
            )
            best["c"] = max(
                best["c"],
                wrk(
                    f"{gateway}/api/v1/registry/vehicles/{code}",
                    seconds=SECONDS,
                    connections=CONNECTIONS,
                    headers={"Authorization": f"Bearer {key}"},
                ),
            )
    a, b, c = best["a"], best["b"], best["c"]
    print(f"(a) bare FastAPI endpoint        {a:9.0f} req/s")
    print(f"(b) registry GET /vehicles/code  {b:9.0f} req/s")
    print(f"(c) gateway /api/v1/registry/... {c:9.0f} req/s")
    print(f"b/a {b / a:.3f}  (the service's own cost)")
    print(f"c/b {c / b:.3f}  (the hop's cost)")
    print(f"ratio {c / a:.3f}")


if __name__ == "__main__":
    main()
