"""``sortline run`` keeps the platform up: a service that dies is restarted with back-off while the
others go on serving, and SIGTERM still stops everything."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SORTLINE = [sys.executable, "-m", "services.cli"]
NAMES = ("gateway", "registry", "assessment", "supervision")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def children(pid: int) -> dict[int, str]:
    """Child processes of ``pid`` and their command lines (from /proc)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return found


def pid_of(run_pid: int, app: str) -> int:
    matches = [pid for pid, cmd in children(run_pid).items() if app in cmd]
    assert len(matches) == 1, children(run_pid)
    return matches[0]


def wait_for(check: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_a_killed_service_comes_back_and_the_gateway_keeps_serving(tmp_path: Path) -> None:
    env = {**os.environ, "SORTLINE_DATA_DIR": str(tmp_path), "SORTLINE_RECEIVER_PORT": str(free_port())}
    env["SORTLINE_TRUSTED_PROXIES"] = "10.255.255.1"  # not this test's own connections
    ports = {name: free_port() for name in NAMES}
    for name, port in ports.items():
        env[f"SORTLINE_{name.upper()}_PORT"] = str(port)
    proc = subprocess.Popen(
        [*SORTLINE, "run"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "按 Ctrl-C 停止" in line:
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert started.wait(120), "".join(lines)
        # The gateway believes X-Forwarded-For only from the configured proxies, not from any
        # local peer (uvicorn's own proxy-headers handling, trusting 127.0.0.1, is off).
        form = urllib.parse.urlencode({"username": "nobody", "password": "guess-guess"}).encode()
        forged = urllib.request.Request(
            f"http://127.0.0.1:{ports['gateway']}/login", data=form, headers={"X-Forwarded-For": "203.0.113.5"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=30)
        assert refused.value.code == 401
        with sqlite3.connect(tmp_path / "gateway.db") as db:
            assert db.execute("SELECT ip FROM login_event").fetchall() == [("127.0.0.1",)]
        assessment = ports["assessment"]
        gateway_answers: list[bool] = []
        for _ in range(2):
            victim = pid_of(proc.pid, "services.assessment.app")
            os.kill(victim, signal.SIGKILL)
            assert wait_for(lambda: not healthy(assessment), 10)
            # While it is down and coming back, the gateway and the other services answer.
            deadline = time.monotonic() + 90
            while not healthy(assessment) and time.monotonic() < deadline:
                gateway_answers.append(healthy(ports["gateway"]) and healthy(ports["registry"]))
                time.sleep(0.3)
            assert healthy(assessment), "".join(lines)
            assert pid_of(proc.pid, "services.assessment.app") != victim
            assert proc.poll() is None
        assert gateway_answers and all(gateway_answers)
        log = "".join(lines)
        assert "assessment 意外退出（退出码 -9），1 秒后重新启动" in log, log
        assert "assessment 意外退出（退出码 -9），2 秒后重新启动" in log, log  # the back-off grows
        assert "assessment 已重新启动" in log
        # SIGTERM stops everything, the restarted process included.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        for port in ports.values():
            assert not healthy(port)
    finally:
        if proc.poll() is None:
            for pid in children(proc.pid):
                os.kill(pid, signal.SIGKILL)
            proc.kill()
        proc.wait()
