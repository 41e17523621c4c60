"""The back-off of ``sortline run``'s supervisor: doubling, capped, reset after a stable run."""

from __future__ import annotations

import re
from typing import Any

from services import cli


class FakeProc:
    pid = 4242

    def __init__(self) -> None:
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


def test_back_off_doubles_up_to_the_cap_and_starts_afresh_after_a_stable_run(monkeypatch, capsys) -> None:
    now = [1000.0]
    spawned: list[FakeProc] = []

    def spawn(cmd: list[str]) -> Any:
        spawned.append(FakeProc())
        return spawned[-1]

    monkeypatch.setattr(cli.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(cli, "_spawn", spawn)
    first, other = FakeProc(), FakeProc()
    procs: dict[str, Any] = {"assessment": first, "registry": other}
    sup = cli.Supervisor(procs, {"assessment": ["x"], "registry": ["y"]},
                         max_delay=8, stable_after=60)  # fmt: skip

    def crash_and_measure() -> float:
        """Kill the current assessment process; seconds until the supervisor starts a new one."""
        sup.procs["assessment"].returncode = -9
        before = len(spawned)
        started = now[0]
        sup.check()
        while len(spawned) == before:
            now[0] += 0.5
            sup.check()
        return now[0] - started

    waits = []
    for _ in range(5):
        now[0] += 1  # each restart dies a second later
        waits.append(crash_and_measure())
    assert waits == [1, 2, 4, 8, 8]
    now[0] += 61  # ran for a minute: the next crash is treated as a new one
    assert crash_and_measure() == 1
    assert sup.procs["registry"] is other  # the others are left alone
    err = capsys.readouterr().err
    assert len(re.findall(r"assessment 意外退出（退出码 -9），\d+ 秒后重新启动；其他服务照常运行", err)) == 6
    assert "assessment 已重新启动（进程 4242，第 5 次重启）" in err


def test_a_command_that_cannot_start_is_retried(monkeypatch, capsys) -> None:
    now = [0.0]
    calls = []

    def spawn(cmd: list[str]) -> Any:
        calls.append(cmd)
        if len(calls) == 1:
            raise OSError("no such file")
        return FakeProc()

    monkeypatch.setattr(cli.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(cli, "_spawn", spawn)
    dead = FakeProc()
    dead.returncode = 1
    procs: dict[str, Any] = {"gateway": dead}
    sup = cli.Supervisor(procs, {"gateway": ["z"]})
    for _ in range(20):
        sup.check()
        now[0] += 0.5
    assert len(calls) == 2 and sup.procs["gateway"] is not dead
    assert "gateway 无法启动（no such file）" in capsys.readouterr().err
