"""What the benchmarks share: start real uvicorn processes, drive them with wrk, time requests.

Every benchmark compares against a baseline measured in the same run, because this machine is
shared and noisy; each prints its result as its last line, ``ratio X``.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A benchmark signs one service token for a run of several minutes; the services it starts (in this
# process or as children, which inherit the environment) are configured to accept that lifetime.
BENCH_TOKEN_TTL = 3600
os.environ.setdefault("SORTLINE_SERVICE_TOKEN_TTL", str(BENCH_TOKEN_TTL))


def scratch_dir(prefix: str) -> Path:
    """A new temporary directory for one run's data (databases, stored files: gigabytes for the upload
    benchmarks), removed when the run ends, however it ends short of being killed."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"进程启动失败：{url}（退出码 {proc.returncode}）")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} 没有就绪")


@contextmanager
def uvicorn(app: str, port: int, env: dict[str, str], health: str = "/health") -> Iterator[str]:
    """Run ``app`` (a factory ``module:function``) in its own uvicorn process, one worker."""
    from services.cli import uvicorn_options  # the flags `sortline run` starts the same app with

    cmd = [
        sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port),
        *uvicorn_options(app),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base + health, proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wrk(url: str, *, connections: int = 32, seconds: int = 10, headers: dict[str, str] | None = None) -> float:
    """Requests per second that wrk reaches (one thread, so the servers keep the other core)."""
    if shutil.which("wrk") is None:
        raise SystemExit("需要 wrk：apt-get install -y wrk")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url} 返回了 {non2xx.group(1)} 个错误响应：\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise SystemExit(f"无法解析 wrk 的输出：\n{out}")
    return float(match.group(1))


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
