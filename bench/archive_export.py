"""The quarter's archive through the gateway against ``zip -0 -r`` of the same files.

A quarter holds ``--files`` evidence files (default 2,000) of ``--mb`` MB in all (default 1,024),
seeded straight into the assessment database and file storage. Measured, in one run:
(a) ``zip -0 -r`` of the same files laid out in folders (the baseline);
(b) through the gateway with an office API key: ``POST /api/v1/assessment/quarters/Q/archive``
    (the service's job builds the ZIP), poll the status, then ``GET .../archive`` streamed to disk.
``ratio a/b`` must be >= 0.5. The peak RSS (``VmHWM``) of the gateway and the assessment service is
read after a small archive (``--small-mb``, default 100) and after the full one: the growth between
them must stay under 50 MB each (printed as ``rss_growth_mb``).

    python bench/archive_export.py                       # 1 GB, 2,000 files
    python bench/archive_export.py --mb 64 --files 200 --small-mb 16   # a quick run
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MB = 1024 * 1024


def hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def process(app: str, port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    from bench.common import ROOT, wait_healthy

    cmd = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", "--no-access-log"]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def seed_quarter(quarter: str, files: int, total_mb: int, units_per_item: int = 10) -> Path:
    """A published catalogue and a quarter whose tasks hold ``files`` PDFs of ``total_mb`` in all.
    Returns a folder with the same files laid out for ``zip -0 -r``."""
    from datetime import date

    from services.assessment import catalogues, quarters, tasks
    from services.assessment.config import Settings
    from services.assessment.demo_catalogue import demo_units
    from services.cli import _engine
    from services.common.auth import Caller
    from services.common.db import session_scope
    from services.common.storage import make_storage

    settings = Settings()
    engine = _engine("assessment")
    storage = make_storage(settings.file_storage_url(), max_size=1 << 34)
    office = Caller(sub="user:bench", name="bench", role="office")

    class Units:
        def units(self) -> list[dict[str, Any]]:
            return demo_units()

        def coverage(self, as_of: date) -> dict[str, Any]:
            return {}

    class Days:
        def is_workday(self, d: date) -> bool:
            return True

        def add_workdays(self, d: date, n: int) -> date:
            return d

        def workdays_between(self, a: date, b: date) -> int:
            return (b - a).days

    per_task = 10
    task_count = max(1, files // per_task)
    items = max(1, task_count // units_per_item)
    unit_codes = [u["code"] for u in demo_units()][:units_per_item]
    spec = {
        "name": f"bench {quarter}",
        "categories": [
            {
                "name": f"类别{c + 1}",
                "items": [
                    {
                        "code": f"{c + 1}.{i + 1}",
                        "name": f"评估项目{c + 1}-{i + 1}",
                        "rules": [{"text": "材料齐全", "points": 1, "method": "all_or_nothing"}],
                        "evidence": [{"code": "e1", "title": "材料", "frequency": "quarterly", "kinds": ["pdf"]}],
                        "lead_unit": unit_codes[0],
                        "co_units": unit_codes[1:],
                    }
                    for i in range(items)
                    if c * 10 + i < items
                ],
            }
            for c in range((items + 9) // 10)
        ],
    }
    with session_scope(engine) as session:
        cat = catalogues.create_from_spec(session, office, spec)
        assert cat.id is not None
        catalogues.publish(session, office, cat.id)
        quarters.open_quarter(session, office, settings, Units(), Days(), quarter, cat.id)
        task_ids = [t.id for t in quarters.repository.quarter_tasks(session, quarter) if t.id is not None]
    size = total_mb * MB // (len(task_ids) * per_task)
    layout = Path(tempfile.mkdtemp(prefix="sortline-bench-zip-"))
    block = os.urandom(MB)
    for n, task_id in enumerate(task_ids):
        stored = []
        for k in range(per_task):
            head = b"%PDF-1.4\n%" + f"{n}-{k}".encode() + b"\n"
            body = (head + block * (size // MB + 1))[:size]
            stored.append(storage.put(body, original_name=f"材料{k}.pdf"))
            target = layout / f"{n:04d}" / f"材料{k}.pdf"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        with session_scope(engine) as session:
            tasks.submit(
                session, office, task_id, stored, effective_date=date(2026, 11, 30), note=None, max_files=per_task
            )
    engine.dispose()
    return layout


def zip_time(layout: Path) -> float:
    out = layout.with_suffix(".zip")
    started = time.monotonic()
    subprocess.run(["zip", "-0", "-r", "-q", str(out), "."], cwd=layout, check=True)
    elapsed = time.monotonic() - started
    out.unlink()
    return elapsed


def gateway_time(base: str, key: str, quarter: str, target: Path) -> tuple[float, float]:
    """(seconds to build, seconds to download) through the gateway."""
    headers = {"Authorization": f"Bearer {key}"}
    started = time.monotonic()
    with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
        r = client.post(f"/api/v1/assessment/quarters/{quarter}/archive")
        r.raise_for_status()
        while True:
            status = client.get(f"/api/v1/assessment/quarters/{quarter}/archive/status").json()
            if status["state"] == "done":
                break
            if status["state"] == "failed":
                raise SystemExit(f"档案包生成失败：{status['error']}")
            time.sleep(0.05)
        built = time.monotonic()
        with client.stream("GET", f"/api/v1/assessment/quarters/{quarter}/archive") as resp:
            resp.raise_for_status()
            with target.open("wb") as f:
                for chunk in resp.iter_bytes(MB):
                    f.write(chunk)
    return built - started, time.monotonic() - built


def direct_download(service: str, quarter: str, target: Path) -> float:
    """The archive download straight from the service (a signed office token): what the hop costs."""
    from services.assessment.config import Settings
    from services.common.auth import Caller, sign_token

    token = sign_token(Caller(sub="user:bench", role="office"), Settings().service_token_secret, ttl_seconds=3600)
    started = time.monotonic()
    with (
        httpx.Client(timeout=600) as client,
        client.stream(
            "GET", f"{service}/quarters/{quarter}/archive", headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        resp.raise_for_status()
        with target.open("wb") as f:
            for chunk in resp.iter_bytes(MB):
                f.write(chunk)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--small-mb", type=int, default=100)
    args = parser.parse_args()
    if shutil.which("zip") is None:
        raise SystemExit("需要 zip：apt-get install -y zip")
    data = Path(tempfile.mkdtemp(prefix="sortline-bench-archive-"))
    os.environ["SORTLINE_DATA_DIR"] = str(data)
    os.environ.setdefault("SORTLINE_ENV", "development")

    from bench.common import free_port
    from gateway.cli import create_api_key
    from services.assessment.archive import verify
    from services.cli import _engine, cmd_migrate

    cmd_migrate(None)  # type: ignore[arg-type]
    small_layout = seed_quarter("2026Q1", max(10, args.files * args.small_mb // args.mb), args.small_mb)
    layout = seed_quarter("2026Q2", args.files, args.mb)
    gateway_engine = _engine("gateway")
    _, key = create_api_key(
        gateway_engine,
        name="bench",
        county_code=None,
        role="office",
        permissions=["assessment:read"],
    )
    gateway_engine.dispose()
    ports = {name: free_port() for name in ("registry", "assessment", "supervision", "gateway")}
    env = {f"SORTLINE_{n.upper()}_PORT": str(p) for n, p in ports.items()} | {"SORTLINE_DATA_DIR": str(data)}
    out = data / "download.zip"
    with (
        process("services.registry.app:create_app", ports["registry"], env),
        process("services.assessment.app:create_app", ports["assessment"], env) as service,
        process("services.supervision.app:create_app", ports["supervision"], env),
        process("gateway.app:create_app", ports["gateway"], env) as gateway,
    ):
        base = f"http://127.0.0.1:{ports['gateway']}"
        gateway_time(base, key, "2026Q1", out)
        small = {"gateway": hwm_mb(gateway.pid), "service": hwm_mb(service.pid)}
        build_s, download_s = gateway_time(base, key, "2026Q2", out)
        ours = build_s + download_s
        direct_s = direct_download(f"http://127.0.0.1:{ports['assessment']}", "2026Q2", out)
        big = {"gateway": hwm_mb(gateway.pid), "service": hwm_mb(service.pid)}
    intact, problems = verify(out)
    if not intact:
        raise SystemExit("下载的档案包不完整：" + "；".join(problems[:5]))
    baseline = zip_time(layout)
    shutil.rmtree(small_layout, ignore_errors=True)
    shutil.rmtree(layout, ignore_errors=True)
    growth = {k: big[k] - small[k] for k in big}
    print(f"files {args.files}, {args.mb} MB; archive {out.stat().st_size / MB:.0f} MB, verified intact")
    print(f"(a) zip -0 -r                     {baseline:7.2f} s")
    print(f"(b) gateway build + download      {ours:7.2f} s  (build {build_s:.2f} s, download {download_s:.2f} s)")
    print(f"    (the same download straight from the service: {direct_s:.2f} s)")
    for name in ("gateway", "service"):
        print(f"rss_growth_mb {name}: {growth[name]:.1f} (peak {small[name]:.0f} -> {big[name]:.0f} MB)")
    shutil.rmtree(data, ignore_errors=True)
    print(f"ratio {baseline / ours:.3f}")


if __name__ == "__main__":
    main()
