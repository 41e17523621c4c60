"""Evidence uploads through the gateway against a bare endpoint that streams the body to disk.

``--clients`` (20) concurrent submissions of one ``--file-mb`` (10) MB PDF each:
(a) to a bare Starlette endpoint (same machine, one uvicorn process) that writes the body to a file;
(b) ``POST /api/v1/assessment/tasks/{id}/submissions`` through the gateway with an office API key
    (multipart ``files`` + ``effective_date``), each to its own task.
Each side runs ``--rounds`` times, interleaved; the best is kept. ``ratio a_time/b_time`` must be
>= 0.5. The peak RSS (``VmHWM``) growth of the gateway and the assessment service across the
gateway rounds must stay under 100 MB each (printed as ``rss_growth_mb``).

    python bench/evidence_upload.py                           # 20 x 10 MB
    python bench/evidence_upload.py --clients 4 --file-mb 4 --rounds 1     # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.archive_export import MB, hwm_mb, process, seed_quarter


def create_bare_app() -> object:
    """A bare streaming endpoint: the request body goes to a file in 1 MiB writes."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    target = Path(tempfile.gettempdir()) / "sortline-bench-bare"
    target.mkdir(exist_ok=True)

    async def upload(request: Request) -> JSONResponse:
        path = target / uuid.uuid4().hex
        size = 0
        with path.open("wb") as f:
            async for chunk in request.stream():
                f.write(chunk)
                size += len(chunk)
        path.unlink()
        return JSONResponse({"size": size}, status_code=201)

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/upload", upload, methods=["POST"]), Route("/health", health)])


def _body(file_mb: int, n: int) -> bytes:
    head = b"%PDF-1.4\n%" + str(n).encode() + b"\n"
    return (head + os.urandom(MB) * file_mb)[: file_mb * MB]


async def _send_all(url_for: list[str], headers: dict[str, str], payloads: list[bytes]) -> float:
    async with httpx.AsyncClient(headers=headers, timeout=600) as client:

        async def one(url: str, payload: bytes) -> None:
            files = {"files": ("材料.pdf", payload, "application/pdf")}
            r = await client.post(url, files=files, data={"effective_date": "2026-11-30", "note": "bench"})
            if r.status_code != 201:
                raise SystemExit(f"{url} 答 {r.status_code}：{r.text[:300]}")

        started = time.monotonic()
        await asyncio.gather(*(one(u, p) for u, p in zip(url_for, payloads, strict=True)))
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--file-mb", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from bench.common import scratch_dir

    data = scratch_dir("sortline-bench-upload-")
    os.environ["SORTLINE_DATA_DIR"] = str(data)
    os.environ.setdefault("SORTLINE_ENV", "development")

    from sqlalchemy import text

    from bench.common import free_port
    from gateway.cli import create_api_key
    from services.cli import _engine, cmd_migrate

    cmd_migrate(None)  # type: ignore[arg-type]
    # tasks to submit to: a quarter with (rounds + 1) x clients tasks, each accepting PDF
    seed_quarter("2026Q3", (args.rounds + 1) * args.clients * 10, 1, units_per_item=10)
    engine = _engine("assessment")
    with engine.connect() as conn:
        task_ids = [r[0] for r in conn.execute(text("SELECT id FROM task WHERE state = 'submitted' ORDER BY id"))]
    engine.dispose()
    gateway_engine = _engine("gateway")
    _, key = create_api_key(
        gateway_engine,
        name="bench",
        county_code=None,
        role="office",
        permissions=["assessment:read"],
    )
    gateway_engine.dispose()
    payloads = [_body(args.file_mb, n) for n in range(args.clients)]
    ports = {name: free_port() for name in ("bare", "registry", "assessment", "supervision", "gateway")}
    env = {f"SORTLINE_{n.upper()}_PORT": str(p) for n, p in ports.items() if n != "bare"} | {
        "SORTLINE_DATA_DIR": str(data)
    }
    best_bare = best_gateway = float("inf")
    with (
        process("bench.evidence_upload:create_bare_app", ports["bare"], env),
        process("services.registry.app:create_app", ports["registry"], env),
        process("services.assessment.app:create_app", ports["assessment"], env) as service,
        process("services.supervision.app:create_app", ports["supervision"], env),
        process("gateway.app:create_app", ports["gateway"], env) as gateway,
    ):
        bare = f"http://127.0.0.1:{ports['bare']}/upload"
        base = f"http://127.0.0.1:{ports['gateway']}/api/v1/assessment"
        headers = {"Authorization": f"Bearer {key}"}
        warm = task_ids[: args.clients]
        asyncio.run(_send_all([f"{base}/tasks/{t}/submissions" for t in warm], headers, payloads))
        before = {"gateway": hwm_mb(gateway.pid), "service": hwm_mb(service.pid)}
        for round_no in range(args.rounds):
            best_bare = min(best_bare, asyncio.run(_send_all([bare] * args.clients, {}, payloads)))
            ids = task_ids[(round_no + 1) * args.clients : (round_no + 2) * args.clients]
            urls = [f"{base}/tasks/{t}/submissions" for t in ids]
            best_gateway = min(best_gateway, asyncio.run(_send_all(urls, headers, payloads)))
        after = {"gateway": hwm_mb(gateway.pid), "service": hwm_mb(service.pid)}
    total = args.clients * args.file_mb
    print(f"{args.clients} x {args.file_mb} MB submissions ({total} MB)")
    print(f"(a) bare streaming endpoint   {best_bare:7.2f} s  ({total / best_bare:6.1f} MB/s)")
    print(f"(b) gateway -> assessment     {best_gateway:7.2f} s  ({total / best_gateway:6.1f} MB/s)")
    for name in ("gateway", "service"):
        print(
            f"rss_growth_mb {name}: {after[name] - before[name]:.1f} (peak {before[name]:.0f} -> {after[name]:.0f} MB)"
        )
    print(f"ratio {best_bare / best_gateway:.3f}")


if __name__ == "__main__":
    main()
