"""Streaming through the gateway: its memory while big bodies pass through ``/api/v1``.

The registry and the gateway run as real uvicorn processes. The registry holds ``--size``
(1,000,000) facilities: on PostgreSQL when ``SORTLINE_BENCH_DATABASE_URL`` is set (the database
``sortline_bench_reg_<size>`` beside it, built or reused as ``bench/list_scaling.py`` does), else
on SQLite in a temporary data dir (seeding a million rows there takes a while). With an office API
key, at once:
- 20 clients each upload a 40 MB CSV import file (``POST /api/v1/registry/imports?kind=facilities``,
  multipart, under the registry's 50 MiB limit ``SORTLINE_REGISTRY_IMPORT_MAX_BYTES``);
- one client downloads the whole facility CSV export (``GET /api/v1/registry/facilities/export``).
The gateway's resident memory is read from ``/proc/<pid>/status``: the baseline after a warm-up,
the peak during the load (``VmHWM``, reset before the load through ``/proc/<pid>/clear_refs``, and
sampled ``VmRSS`` as a check). The growth must stay under 50 MB; the last line is
``ratio <growth_mb / 50>``.

    python bench/streaming.py                 # 1,000,000 facilities
    python bench/streaming.py --size 20000 --uploads 4 --upload-mb 8     # a quick run
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LIMIT_MB = 50.0
MB = 1024 * 1024


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (kB) of a process."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def reset_peak(pid: int) -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of our own child (Linux >= 4.0)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Sampler(threading.Thread):
    """Reads VmRSS every 20 ms; ``peak`` in kB."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, proc_status(self.pid)["VmRSS"])
            time.sleep(0.02)


@contextmanager
def server(app: str, port: int, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """``app`` in its own uvicorn process; yields its base URL and pid."""
    from bench.common import ROOT, wait_healthy

    cmd = [
        sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base + "/health", proc, timeout=120)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def registry_database(size: int, data: Path) -> str:
    """The registry's database URL with ``size`` facilities (PostgreSQL if configured, else SQLite)."""
    base_url = os.environ.get("SORTLINE_BENCH_DATABASE_URL")
    if base_url:
        from bench.list_scaling import build
        from services.common.migrations import upgrade

        url = build(base_url, size)
        upgrade("registry", url)
        return url
    from services.common.db import make_engine
    from services.common.migrations import upgrade
    from services.registry.demo import seed_demo

    url = f"sqlite:///{data / 'registry.db'}"
    upgrade("registry", url)
    engine = make_engine(url)
    started = time.monotonic()
    print(f"在 SQLite 上生成 {size:,} 个设施……", flush=True)
    seed_demo(engine, size=size)
    engine.dispose()
    print(f"生成完毕（{time.monotonic() - started:.0f} 秒）", flush=True)
    return url


def import_file(path: Path, megabytes: int) -> None:
    """A CSV with the facility template's header and ``megabytes`` MB of rows (long addresses:
    about 40,000 rows for 40 MB, well under the registry's row limit)."""
    from services.registry.bulk.columns import SPECS

    columns = SPECS["facilities"].columns
    header = ",".join(c.header for c in columns) + "\n"
    values = {
        "kind": "四分类桶组",
        "category": "",
        "name": "基准测试桶组",
        "county_code": "360102",
        "address": "东湖区" + "八一大道" * 240,
        "lat": "28.68",
        "lng": "115.89",
    }
    row = ",".join(values.get(c.key, "") for c in columns) + "\n"
    data = row.encode("utf-8")
    target = megabytes * MB
    with path.open("wb") as f:
        f.write(header.encode("utf-8"))
        written = 0
        while written + len(data) <= target:
            f.write(data)
            written += len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="设施数量")
    parser.add_argument("--uploads", type=int, default=20, help="同时上传的客户端数")
    parser.add_argument("--upload-mb", type=int, default=40, help="每个导入文件的大小（MB）")
    args = parser.parse_args()

    from bench.common import scratch_dir

    data = scratch_dir("sortline-bench-streaming-")
    os.environ["SORTLINE_DATA_DIR"] = str(data)
    os.environ.setdefault("SORTLINE_ENV", "development")

    from bench.common import free_port
    from gateway.cli import create_api_key
    from services.common.db import make_engine
    from services.common.migrations import upgrade

    registry_db = registry_database(args.size, data)
    gateway_db = f"sqlite:///{data / 'gateway.db'}"
    upgrade("gateway", gateway_db)
    engine = make_engine(gateway_db)
    _, key = create_api_key(engine, name="bench-streaming", county_code=None, role="office", permissions=None)
    engine.dispose()
    upload = data / "import.csv"
    import_file(upload, args.upload_mb)

    registry_port, gateway_port = free_port(), free_port()
    env = {
        "SORTLINE_DATA_DIR": str(data),
        "SORTLINE_REGISTRY_DATABASE_URL": registry_db,
        "SORTLINE_GATEWAY_DATABASE_URL": gateway_db,
        "SORTLINE_REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
        "SORTLINE_REGISTRY_IMPORT_MAX_BYTES": str(max(50 * MB, (args.upload_mb + 1) * MB)),
        # 20 large uploads at once on a shared machine: the registry may take a while to answer.
        "SORTLINE_GATEWAY_UPSTREAM_READ_TIMEOUT": "600",
    }
    headers = {"Authorization": f"Bearer {key}"}
    with (
        server("services.registry.app:create_app", registry_port, env),
        server("gateway.app:create_app", gateway_port, env) as (gateway, pid),
        httpx.Client(base_url=gateway, headers=headers, timeout=600) as client,
    ):
        for _ in range(20):  # warm up: the key cache, the pool, the first allocations
            assert client.get("/api/v1/registry/units").status_code == 200
        client.get("/api/v1/registry/facilities/export", params={"format": "csv", "q": "none-such"}).read()
        time.sleep(0.5)
        baseline = proc_status(pid)["VmRSS"]
        hwm_reset = reset_peak(pid)
        sampler = Sampler(pid)
        sampler.start()
        results: dict[str, object] = {}

        def do_upload(i: int) -> None:
            with upload.open("rb") as f:
                resp = client.post(
                    "/api/v1/registry/imports",
                    params={"kind": "facilities"},
                    files={"file": (f"设施导入{i}.csv", f, "text/csv")},
                )
            results[f"upload{i}"] = resp.status_code

        def do_download() -> None:
            size = 0
            with client.stream("GET", "/api/v1/registry/facilities/export", params={"format": "csv"}) as resp:
                for chunk in resp.iter_raw():
                    size += len(chunk)
                results["download"] = (resp.status_code, size, resp.headers.get("content-disposition", ""))

        started = time.monotonic()
        threads = [threading.Thread(target=do_upload, args=(i,)) for i in range(args.uploads)]
        threads.append(threading.Thread(target=do_download))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        sampler.running = False
        sampler.join()
        status = proc_status(pid)
    peak = max(sampler.peak, status["VmHWM"]) if hwm_reset else sampler.peak
    growth_mb = max(0, peak - baseline) / 1024
    uploads = [results.get(f"upload{i}") for i in range(args.uploads)]
    download = results.get("download")
    print(f"上传：{args.uploads} × {args.upload_mb} MB，状态 {sorted(set(map(str, uploads)))}")
    if isinstance(download, tuple):
        print(f"下载：状态 {download[0]}，{download[1] / MB:.1f} MB，Content-Disposition: {download[2]}")
    print(f"用时 {elapsed:.1f} 秒")
    print(
        f"gateway RSS: baseline {baseline / 1024:.1f} MB, peak {peak / 1024:.1f} MB "
        f"(sampled {sampler.peak / 1024:.1f} MB, VmHWM {'reset' if hwm_reset else 'not reset'}), "
        f"growth {growth_mb:.1f} MB (limit {LIMIT_MB:.0f} MB)"
    )
    if any(code != 202 for code in uploads) or not isinstance(download, tuple) or download[0] != 200:
        raise SystemExit("有请求失败，结果无效")
    print(f"ratio {growth_mb / LIMIT_MB:.3f}")


if __name__ == "__main__":
    main()
