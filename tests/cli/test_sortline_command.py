"""The ``sortline`` command as an operator uses it: a subprocess, real ports, a temp data dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SORTLINE = [sys.executable, "-m", "services.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(data: Path) -> dict[str, str]:
    env = {**os.environ, "SORTLINE_DATA_DIR": str(data), "SORTLINE_DEMO_PASSWORD": "pw-for-test"}
    for name in ("gateway", "registry", "assessment", "supervision"):
        env[f"SORTLINE_{name.upper()}_PORT"] = str(free_port())
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SORTLINE, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_apikey_create_prints_the_key_alone_on_the_last_line(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    assert run(["migrate"], env).returncode == 0
    out = run(["apikey", "create", "--name", "东湖区环卫系统", "--county", "360102"], env)
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip().splitlines()[-1]
    assert key.startswith("sk_") and " " not in key
    office = run(["apikey", "create", "--name", "OA", "--role", "office"], env)
    assert office.returncode == 0
    listed = run(["apikey", "list"], env).stdout
    assert "东湖区环卫系统" in listed and "OA" in listed
    assert key not in listed  # the key is shown once, never again
    neither = run(["apikey", "create", "--name", "x"], env)
    assert neither.returncode == 2 and "--county" in neither.stderr


def test_seed_demo_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    run(["migrate"], env)
    first = run(["seed-demo", "--size", "200"], env)
    assert first.returncode == 0, first.stderr
    assert "facilities 200" in first.stdout and "pw-for-test" in first.stdout
    second = run(["seed-demo", "--size", "200"], env)
    assert "已存在，未重复添加" in second.stdout


def test_run_starts_four_processes_and_stops_them_on_sigterm(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    proc = subprocess.Popen(
        [*SORTLINE, "run", "--demo", "--size", "200"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "按 Ctrl-C 停止" in line:
                break
        text = "".join(lines)
        gateway = env["SORTLINE_GATEWAY_PORT"]
        assert f"http://127.0.0.1:{gateway}/" in text, text
        assert "admin" in text and "pw-for-test" in text
        for name in ("gateway", "registry", "assessment", "supervision"):
            port = env[f"SORTLINE_{name.upper()}_PORT"]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
                assert resp.status == 200
        assert (tmp_path / "registry.db").exists() and (tmp_path / "gateway.db").exists()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        assert proc.returncode == 0
        for name in ("gateway", "registry"):
            stopped = int(env[f"SORTLINE_{name.upper()}_PORT"])
            with socket.socket() as s, pytest.raises(OSError):
                s.settimeout(1)
                s.connect(("127.0.0.1", stopped))
    finally:
        if proc.poll() is None:
            proc.kill()
