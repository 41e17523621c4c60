"""Inspection upload: an inspection with ten 3 MB photos sent the tablet's way (the JSON PUT, each
photo PUT on its own, the submit) through the gateway to the supervision service, against the same
ten bodies PUT to a bare endpoint that streams them to disk. Prints both throughputs and last
``ratio gateway/bare``, which must stay >= 0.5. Each measurement runs ROUNDS times, interleaved;
the best of each is kept (noise on this shared machine only ever slows a run down).

Background jobs are off in the service (thumbnails would compete for the same two cores); the
upload path itself is complete: streamed into the file storage, typed by content, hashed, recorded,
each photo's fsync started as it is stored and the submit (timed) waiting until every photo of the
inspection is on disk — the barrier the tablet waits for before it lets go of its copies.
"""

from __future__ import annotations

import io
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PHOTOS = 10
PHOTO_BYTES = 3 * 1024 * 1024


def create_bare_app() -> FastAPI:
    """The baseline: ``PUT /upload/{name}`` streams the body to a file, nothing else."""
    app = FastAPI()
    target = Path(os.environ.get("BENCH_BARE_DIR") or tempfile.mkdtemp(prefix="sortline-bare-"))
    target.mkdir(parents=True, exist_ok=True)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.put("/upload/{name}")
    async def upload(name: str, request: Request) -> dict[str, Any]:
        size = 0
        with open(target / f"{uuid.uuid4().hex}.bin", "wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
                size += len(chunk)
        return {"name": name, "size": size}

    return app


def photo(seed: int) -> bytes:
    """A real JPEG of about 3 MB (noise compresses badly; padded with a JPEG comment to size)."""
    from PIL import Image

    rng = random.Random(seed)
    img = Image.frombytes("RGB", (1200, 900), rng.randbytes(1200 * 900 * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92)
    data = out.getvalue()
    if len(data) < PHOTO_BYTES:  # an APP15 padding run before the image data keeps it a valid JPEG
        pad = PHOTO_BYTES - len(data)
        chunks = []
        while pad > 4:
            n = min(pad - 4, 65533)
            chunks.append(b"\xff\xef" + (n + 2).to_bytes(2, "big") + rng.randbytes(n))
            pad -= n + 4
        data = data[:2] + b"".join(chunks) + data[2:]
    return data


def setup_plan(database_url: str) -> tuple[int, str]:
    """A team, a published checklist with a photo item, a plan with one target; (plan id, target)."""
    from services.common import clock
    from services.common.auth import Caller
    from services.common.db import make_engine, session_scope
    from services.common.workdays import WorkCalendar
    from services.supervision.demo import DemoRegistry
    from services.supervision.plans import service as plans
    from services.supervision.plans.schemas import ChecklistIn, PlanIn, TeamIn

    office = Caller(sub="system:bench", name="bench", role="office")
    engine = make_engine(database_url)
    site = {"code": "360102-S000001", "kind": "residential", "name": "基准小区", "county_code": "360102"}
    with session_scope(engine) as session:
        plans.put_team(
            session, office, "T01", TeamIn(code="T01", name="基准组", leader="a", members=["a"], counties=[])
        )
        items = [{"id": "photo", "label": "照片", "type": "photo"}]
        checklist = plans.create_checklist(
            session,
            office,
            ChecklistIn.model_validate(
                {"code": "B", "name": "基准", "target_kind": "site:residential", "items": items}
            ),
        )
        plans.publish_checklist(session, office, checklist["id"])
        today = clock.today()
        body = PlanIn.model_validate(
            {
                "name": "基准",
                "starts_on": today,
                "ends_on": today + timedelta(days=30),
                "team_code": "T01",
                "checklist_id": checklist["id"],
                "selection": {"source": "site", "counties": ["360102"]},
            }
        )
        plan = plans.create_plan(session, office, body, WorkCalendar(), DemoRegistry([site]))
    engine.dispose()
    return int(plan["id"]), site["code"]


def upload_inspection(client: httpx.Client, prefix: str, plan_id: int, target: str, bodies: list[bytes]) -> None:
    cid = uuid.uuid4().hex
    ids = [f"p{i}" for i in range(len(bodies))]
    inspection = {"plan_id": plan_id, "target_code": target, "answers": [{"item_id": "photo", "photo_ids": ids}]}
    r = client.put(f"{prefix}/inspections/{cid}", json=inspection)
    assert r.status_code == 201, r.text
    for pid, body in zip(ids, bodies, strict=True):
        r = client.put(f"{prefix}/inspections/{cid}/photos/{pid}", content=body, headers={"Content-Type": "image/jpeg"})
        assert r.status_code == 201, r.text
    r = client.post(f"{prefix}/inspections/{cid}/submit")
    assert r.status_code == 200, r.text


def upload_bare(client: httpx.Client, bodies: list[bytes]) -> None:
    for i, body in enumerate(bodies):
        r = client.put(f"/upload/p{i}", content=body)
        assert r.status_code == 200 and r.json()["size"] == len(body)


def settle() -> None:
    """Untimed, before each measurement: write out what the one before left in the page cache.

    The bare endpoint never waits for the disk; without this its 30 MB of dirty pages were written
    back during the next measurement, competing with that side's own writes and fsyncs.
    """
    os.sync()


def main() -> None:
    from bench.common import scratch_dir

    data = scratch_dir("sortline-bench-upload-")
    os.environ["SORTLINE_DATA_DIR"] = str(data)
    os.environ.setdefault("SORTLINE_ENV", "development")

    from bench.common import free_port, uvicorn
    from gateway.cli import create_api_key
    from services.cli import _engine, _settings, cmd_migrate
    from services.common.auth import Caller, sign_token

    cmd_migrate(None)  # type: ignore[arg-type]
    plan_id, target = setup_plan(_settings("supervision").database_url)
    gateway_engine = _engine("gateway")
    _, key = create_api_key(
        gateway_engine, name="bench", county_code=None, role="office", permissions=["supervision:read"]
    )
    gateway_engine.dispose()
    secret = _settings("supervision").service_token_secret
    token = sign_token(Caller(sub="user:bench", name="bench", role="office"), secret, ttl_seconds=3600)
    bodies = [photo(i) for i in range(PHOTOS)]
    total = sum(len(b) for b in bodies)

    ports = {name: free_port() for name in ("bare", "registry", "assessment", "supervision", "gateway")}
    env = {f"SORTLINE_{n.upper()}_PORT": str(p) for n, p in ports.items() if n != "bare"}
    env |= {
        "SORTLINE_DATA_DIR": str(data),
        "SORTLINE_SUPERVISION_RUN_JOBS": "false",
        "BENCH_BARE_DIR": str(data / "bare"),
    }
    best = {"bare": 0.0, "service": 0.0, "gateway": 0.0}
    with (
        uvicorn("bench.inspection_upload:create_bare_app", ports["bare"], env) as bare,
        uvicorn("services.registry.app:create_app", ports["registry"], env),
        uvicorn("services.assessment.app:create_app", ports["assessment"], env),
        uvicorn("services.supervision.app:create_app", ports["supervision"], env) as service,
        uvicorn("gateway.app:create_app", ports["gateway"], env) as gateway,
        httpx.Client(base_url=bare, timeout=120) as bare_client,
        httpx.Client(base_url=gateway, timeout=120, headers={"Authorization": f"Bearer {key}"}) as gw_client,
        httpx.Client(base_url=service, timeout=120, headers={"Authorization": f"Bearer {token}"}) as sv_client,
    ):
        # warm up every client's connection and every process's first-request work
        upload_inspection(gw_client, "/api/v1/supervision", plan_id, target, bodies[:1])
        upload_inspection(sv_client, "", plan_id, target, bodies[:1])
        upload_bare(bare_client, bodies[:1])
        for _ in range(ROUNDS):
            settle()
            t0 = time.perf_counter()
            upload_bare(bare_client, bodies)
            best["bare"] = max(best["bare"], total / (time.perf_counter() - t0))
            settle()
            t0 = time.perf_counter()
            upload_inspection(sv_client, "", plan_id, target, bodies)
            best["service"] = max(best["service"], total / (time.perf_counter() - t0))
            settle()
            t0 = time.perf_counter()
            upload_inspection(gw_client, "/api/v1/supervision", plan_id, target, bodies)
            best["gateway"] = max(best["gateway"], total / (time.perf_counter() - t0))
    mb = 1024 * 1024
    print(f"bare streaming endpoint   {best['bare'] / mb:8.1f} MB/s")
    print(f"inspection, service only  {best['service'] / mb:8.1f} MB/s  (signed token, no gateway)")
    print(f"inspection via gateway    {best['gateway'] / mb:8.1f} MB/s  ({PHOTOS} photos of {PHOTO_BYTES // mb} MB)")
    print(f"ratio {best['gateway'] / best['bare']:.3f}")


if __name__ == "__main__":
    main()
