"""The ``sortline`` command: run the platform, migrate, seed the demo city, manage keys and users."""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from types import FrameType

from services.common.config import data_dir, service_port
from services.common.migrations import SECTIONS, upgrade

APPS = {
    "registry": "services.registry.app:create_app",
    "assessment": "services.assessment.app:create_app",
    "supervision": "services.supervision.app:create_app",
    "gateway": "gateway.app:create_app",
}
DEFAULT_DEMO_PASSWORD = "sortline-demo"


def _settings(section: str):  # type: ignore[no-untyped-def]
    if section == "gateway":
        from gateway.config import Settings as GatewaySettings

        return GatewaySettings()
    module = __import__(f"services.{section}.config", fromlist=["Settings"])
    return module.Settings()


def _engine(section: str):  # type: ignore[no-untyped-def]
    from services.common.db import make_engine

    return make_engine(_settings(section).database_url)


def cmd_migrate(_args: argparse.Namespace) -> int:
    for section in SECTIONS:
        upgrade(section, _settings(section).database_url)
        print(f"已迁移 {section}")
    return 0


def demo_password() -> str:
    return os.environ.get("SORTLINE_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


def seed_demo(size: int) -> list[tuple[str, str, str]]:
    """Seed the demo city and the demo users; running it again adds nothing twice."""
    from gateway.cli import seed_demo_users
    from services.registry.demo import seed_demo as seed_registry

    registry = _engine("registry")
    started = time.monotonic()
    counts = seed_registry(registry, size=size)
    registry.dispose()
    added = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    print(f"示例城市：{added or '已存在，未重复添加'}（{time.monotonic() - started:.1f} 秒）")
    from services.assessment.demo import seed_demo as seed_assessment

    assessment = _engine("assessment")
    added = ", ".join(f"{k} {v}" for k, v in seed_assessment(assessment, _settings("assessment")).items() if v)
    assessment.dispose()
    print(f"考核评估示例：{added or '已存在，未重复添加'}")
    gateway = _engine("gateway")
    users = seed_demo_users(gateway, demo_password())
    from gateway.integration.demo import receiver_port, seed_demo_subscription

    if seed_demo_subscription(gateway):
        print(f"示例事件订阅：推送到 sortline receiver（http://127.0.0.1:{receiver_port()}/webhook）")
    gateway.dispose()
    seed_supervision_demo()
    return users


def seed_supervision_demo() -> None:
    from services.supervision.demo import seed_demo as seed_supervision

    supervision = _engine("supervision")
    added = ", ".join(f"{k} {v}" for k, v in seed_supervision(supervision, _settings("supervision")).items() if v)
    supervision.dispose()
    print(f"督导检查示例：{added or '已存在，未重复添加'}")


def cmd_seed_demo(args: argparse.Namespace) -> int:
    users = seed_demo(args.size)
    _print_logins(users)
    return 0


def _print_logins(users: Sequence[tuple[str, str, str]]) -> None:
    print(f"示例账号（密码 {demo_password()}）：")
    for username, role, description in users:
        print(f"  {username:<10} {role:<10} {description}")


def _wait_healthy(name: str, port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} 启动失败（退出码 {proc.returncode}）")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{name} 在 {timeout:.0f} 秒内没有就绪")


def uvicorn_options(app: str) -> list[str]:
    """The uvicorn options after host and port of ``sortline run`` for ``app`` (``module:factory``);
    the benchmarks start their processes with the same."""
    access_log = [] if os.environ.get("SORTLINE_ACCESS_LOG") == "1" else ["--no-access-log"]
    # The gateway handles X-Forwarded-For itself (SORTLINE_TRUSTED_PROXIES); uvicorn must not.
    proxy = ["--no-proxy-headers"] if app == APPS["gateway"] else []
    return ["--log-level", "warning", *access_log, *proxy]


def service_command(name: str, host: str) -> list[str]:
    """The uvicorn command line of one process of ``sortline run``."""
    return [
        sys.executable, "-m", "uvicorn", APPS[name], "--factory",
        "--host", host, "--port", str(service_port(name)), *uvicorn_options(APPS[name]),
    ]  # fmt: skip


def _spawn(cmd: list[str]) -> subprocess.Popen[bytes]:
    # Its own process group: Ctrl-C reaches `sortline run` only, which then stops the children
    # (a child that died of the terminal's SIGINT would otherwise look like a crash to restart).
    return subprocess.Popen(cmd, process_group=0)


def start_processes(host: str) -> dict[str, subprocess.Popen[bytes]]:
    """Start the three services, then the gateway, each a uvicorn process; wait until healthy."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name in ("registry", "assessment", "supervision", "gateway"):
        procs[name] = _spawn(service_command(name, host))
    try:
        for name, proc in procs.items():
            _wait_healthy(name, service_port(name), proc)
    except BaseException:  # Ctrl-C too: the children have their own process group
        stop_processes(procs)
        raise
    return procs


def stop_processes(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 10
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


class Supervisor:
    """Keeps the processes of ``sortline run`` up: one that exits unexpectedly is started again
    after a back-off (1, 2, 4 … seconds, at most ``max_delay``; back to 1 once it has run for
    ``stable_after`` seconds), while the others go on serving."""

    def __init__(
        self,
        procs: dict[str, subprocess.Popen[bytes]],
        commands: dict[str, list[str]],
        *,
        max_delay: float = 30.0,
        stable_after: float = 60.0,
    ) -> None:
        self.procs = procs
        self.commands = commands
        self.max_delay = max_delay
        self.stable_after = stable_after
        now = time.monotonic()
        self.started_at = dict.fromkeys(procs, now)
        self.failures = dict.fromkeys(procs, 0)
        self.restart_at: dict[str, float] = {}

    def check(self) -> None:
        """One round: note the processes that died, start those whose back-off has passed."""
        now = time.monotonic()
        for name, proc in self.procs.items():
            due = self.restart_at.get(name)
            if due is not None:
                if now >= due:
                    del self.restart_at[name]
                    try:
                        self.procs[name] = _spawn(self.commands[name])
                    except OSError as exc:
                        self._schedule(name, now, f"无法启动（{exc}）")
                        continue
                    self.started_at[name] = now
                    _log(f"{name} 已重新启动（进程 {self.procs[name].pid}，第 {self.failures[name]} 次重启）")
            elif proc.poll() is not None:
                if now - self.started_at[name] >= self.stable_after:
                    self.failures[name] = 0  # it had been running fine: start the back-off afresh
                self._schedule(name, now, f"意外退出（退出码 {proc.returncode}）")

    def _schedule(self, name: str, now: float, why: str) -> None:
        delay = min(self.max_delay, 2.0 ** self.failures[name])
        self.failures[name] += 1
        self.restart_at[name] = now + delay
        _log(f"{name} {why}，{delay:g} 秒后重新启动；其他服务照常运行")

    def stop(self) -> None:
        stop_processes(self.procs)


def cmd_receiver(args: argparse.Namespace) -> int:
    import uvicorn

    print(f"事件接收器：http://127.0.0.1:{args.port}/webhook（验证签名后逐条打印）", flush=True)
    uvicorn.run(
        "gateway.integration.receiver:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    cmd_migrate(args)
    users = seed_demo(args.size) if args.demo else []
    procs = start_processes(args.host)
    commands = {name: service_command(name, args.host) for name in procs}
    if args.demo:  # the demo subscription's receiver (deliveries show in this log; optional)
        from gateway.integration.demo import receiver_port

        commands["receiver"] = [sys.executable, "-m", "services.cli", "receiver", "--port", str(receiver_port())]
        procs["receiver"] = _spawn(commands["receiver"])
    supervisor = Supervisor(procs, commands)
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"\nSortline 已启动：http://{args.host}:{service_port('gateway')}/")
    print(f"数据目录：{data_dir()}")
    if users:
        _print_logins(users)
    print("按 Ctrl-C 停止。", flush=True)
    try:
        while not stopping:
            supervisor.check()
            time.sleep(0.2)
    finally:
        supervisor.stop()
        print("Sortline 已停止。")
    return 0


def cmd_apikey(args: argparse.Namespace) -> int:
    from gateway import cli as gw

    engine = _engine("gateway")
    try:
        if args.action == "create":
            if bool(args.county) == (args.role == "office"):
                print(
                    "请指定 --county 县区代码（县区密钥）或 --role office（全市密钥），二者选一",
                    file=sys.stderr,
                )
                return 2
            scopes = args.scope or None
            key_id, key = gw.create_api_key(
                engine,
                name=args.name,
                county_code=args.county,
                role="office" if args.role == "office" else "county",
                permissions=scopes,
            )
            print(f"已创建 API 密钥 #{key_id}（{args.name}）。密钥只显示这一次：")
            print(key)
        elif args.action == "list":
            for row in gw.list_api_keys(engine):
                print(
                    "\t".join(
                        str(row.get(k, ""))
                        for k in (
                            "id",
                            "name",
                            "role",
                            "county_code",
                            "permissions",
                            "status",
                            "last_used_at",
                        )
                    )
                )
        elif args.action == "revoke":
            if not gw.revoke_api_key(engine, args.id):
                print(f"API 密钥 #{args.id} 不存在", file=sys.stderr)
                return 1
            print(f"已吊销 API 密钥 #{args.id}")
    finally:
        engine.dispose()
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    from services.assessment.archive import verify_command

    return verify_command(args.file)


def cmd_user(args: argparse.Namespace) -> int:
    from gateway import cli as gw

    password = args.password or os.environ.get("SORTLINE_NEW_USER_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("请用 --password 或环境变量 SORTLINE_NEW_USER_PASSWORD 提供密码", file=sys.stderr)
            return 2
        password = getpass.getpass("密码：")
    engine = _engine("gateway")
    try:
        user_id = gw.create_user(
            engine,
            username=args.username,
            password=password,
            role=args.role,
            display_name=args.name or "",
            unit_code=args.unit,
            county_code=args.county,
            team_code=args.team,
            unit_leader=args.unit_leader,
        )
    finally:
        engine.dispose()
    print(f"已创建用户 #{user_id}：{args.username}（{args.role}）")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sortline", description="Sortline 生活垃圾分类工作管理平台")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="迁移数据库并启动网关和三个服务")
    run.add_argument("--demo", action="store_true", help="同时生成示例城市和示例账号")
    run.add_argument("--size", type=int, default=5000, help="示例城市的设施数量")
    run.add_argument("--host", default="127.0.0.1")
    run.set_defaults(func=cmd_run)

    sub.add_parser("migrate", help="执行全部数据库迁移").set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed-demo", help="生成示例城市（重复执行不会重复添加）")
    seed.add_argument("--size", type=int, default=5000, help="设施数量（基准数据可用 100000 或 1000000）")
    seed.set_defaults(func=cmd_seed_demo)

    key = sub.add_parser("apikey", help="县区系统和 OA 系统的 API 密钥")
    key_sub = key.add_subparsers(dest="action", required=True)
    create = key_sub.add_parser("create", help="创建密钥（最后一行只输出密钥本身）")
    create.add_argument("--name", required=True)
    create.add_argument("--county", help="县区代码（6 位）")
    create.add_argument("--role", choices=["office"], help="office：全市范围（OA 系统）")
    create.add_argument("--scope", action="append", help="权限，如 registry:read（可重复）")
    key_sub.add_parser("list", help="列出密钥")
    revoke = key_sub.add_parser("revoke", help="吊销密钥")
    revoke.add_argument("id", type=int)
    key.set_defaults(func=cmd_apikey)

    archive = sub.add_parser("archive", help="国检档案包")
    archive_sub = archive.add_subparsers(dest="action", required=True)
    archive_sub.add_parser(
        "verify", help="按 manifest.json 核对下载的档案包（完整 0，有缺失/多出/改动 1）"
    ).add_argument("file")
    archive.set_defaults(func=cmd_archive)
    receiver = sub.add_parser("receiver", help="示例事件接收器：验证签名并打印收到的事件")
    receiver.add_argument("--port", type=int, default=8009)
    receiver.set_defaults(func=cmd_receiver)

    user = sub.add_parser("user", help="用户")
    user_sub = user.add_subparsers(dest="action", required=True)
    ucreate = user_sub.add_parser("create", help="创建用户")
    ucreate.add_argument("--username", required=True)
    ucreate.add_argument("--role", required=True, choices=["admin", "office", "leader", "unit", "county", "inspector"])
    ucreate.add_argument("--password")
    ucreate.add_argument("--name", help="显示名")
    ucreate.add_argument("--unit", help="成员单位代码（unit 角色）")
    ucreate.add_argument("--county", help="县区代码（county 角色）")
    ucreate.add_argument("--team", help="督导组代码（inspector 角色）")
    ucreate.add_argument("--unit-leader", action="store_true", help="单位领导（unit 角色）：只接收本单位的督办和通报")
    user.set_defaults(func=cmd_user)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
