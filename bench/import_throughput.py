"""Bulk import throughput: 100,000 facilities through the real registry process, against a raw
bulk insert of the same rows, with the process's peak memory at 20,000 and 100,000 rows.

    .venv/bin/python -m bench.import_throughput [--rows 100000]

For each size: a fresh SQLite data dir, migrated and seeded with the demo divisions
(``seed_demo(size=0)``); the registry started with uvicorn; upload the CSV → poll until ready →
confirm → poll until done, timed end to end. Baseline: one ``executemany`` of the same facility
rows into a fresh copy of the same database, in one transaction. Last line: ``ratio`` =
import rows/s ÷ raw rows/s (at the largest size).
"""

from __future__ import annotations

import argparse
import csv
import random
import secrets
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from bench.common import free_port, uvicorn
from services.common.auth import Caller, sign_token
from services.common.db import make_engine
from services.common.migrations import upgrade
from services.registry.bulk.columns import FACILITIES
from services.registry.demo import seed_demo
from services.registry.models import division_t, facility_t

KINDS = ["四分类桶组", "智能分类投放箱", "集中投放点（站）", "可回收物回收网点", "有害垃圾暂存点"]


def seeded_db(directory: Path) -> Path:
    path = directory / "registry.db"
    url = f"sqlite:///{path}"
    upgrade("registry", url)
    engine = make_engine(url)
    seed_demo(engine, size=0)
    engine.dispose()
    return path


def communities(db: Path) -> list[tuple[str, str, str]]:
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = conn.execute(
            select(division_t.c.code, division_t.c.parent_code).where(division_t.c.level == "community")
        ).all()
    engine.dispose()
    return [(code[:6], parent, code) for code, parent in rows]


def build_rows(n: int, places: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    rng = random.Random(7)
    rows = []
    for i in range(n):
        county, street, community = places[i % len(places)]
        rows.append(
            {
                "county_code": county,
                "kind": rng.choice(KINDS),
                "category": "",
                "name": f"压测设施{i + 1}号",
                "street_code": street,
                "community_code": community,
                "site_code": "",
                "address": f"测试路 {i % 999 + 1} 号",
                "lat": f"{28.5 + rng.random() * 0.4:.6f}",
                "lng": f"{115.7 + rng.random() * 0.5:.6f}",
                "capacity": "960",
                "external_id": f"B-{i + 1:07d}",
            }
        )
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([c.header for c in FACILITIES.columns])
        for row in rows:
            writer.writerow([row[c.key] for c in FACILITIES.columns])


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def server_pid(port: int) -> int:
    """The uvicorn process listening on ``port`` (found through /proc, the bench's own child)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"uvicorn" in cmd and str(port).encode() in cmd:
            return int(proc.name)
    raise RuntimeError("找不到 registry 进程")


def poll(client: httpx.Client, job_id: str, done: set[str]) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = client.get(f"/imports/{job_id}").json()
        if job["status"] in done:
            return job
        time.sleep(0.2)


def run_import(n: int, places_db: Path, rows: list[dict[str, Any]]) -> tuple[float, int]:
    """Seconds end to end and the peak RSS (KiB) of the registry process."""
    with tempfile.TemporaryDirectory(prefix="sl-import-") as tmp:
        data = Path(tmp)
        shutil.copy(places_db, data / "registry.db")
        csv_path = data / "facilities.csv"
        write_csv(csv_path, rows[:n])
        secret = secrets.token_urlsafe(32)
        env = {
            "SORTLINE_DATA_DIR": str(data),
            "SORTLINE_SERVICE_TOKEN_SECRET": secret,
            "SORTLINE_REGISTRY_DATABASE_URL": f"sqlite:///{data / 'registry.db'}",
        }
        port = free_port()
        with uvicorn("services.registry.app:create_app", port, env) as base:
            pid = server_pid(port)
            token = sign_token(Caller(sub="user:bench", name="压测", role="office"), secret, ttl_seconds=3600)
            peak = [vm_hwm_kib(pid)]
            stop = threading.Event()

            def watch() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], vm_hwm_kib(pid))
                    time.sleep(0.2)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
                start = time.perf_counter()
                with open(csv_path, "rb") as f:
                    r = client.post("/imports?kind=facilities", files={"file": ("设施.csv", f, "text/csv")})
                r.raise_for_status()
                job = poll(client, r.json()["id"], {"ready", "invalid", "failed"})
                if job["status"] != "ready":
                    raise SystemExit(f"校验未通过：{job['message']} {job['errors'][:3]}")
                client.post(f"/imports/{job['id']}/confirm").raise_for_status()
                job = poll(client, job["id"], {"done", "failed"})
                elapsed = time.perf_counter() - start
                if job["status"] != "done" or job["created_count"] != n:
                    raise SystemExit(f"导入失败：{job['message']}")
            stop.set()
            watcher.join()
            peak[0] = max(peak[0], vm_hwm_kib(pid))
        return elapsed, peak[0]


def run_raw(n: int, places_db: Path, rows: list[dict[str, Any]]) -> float:
    """One executemany of the facility rows (with codes and timestamps) in one transaction."""
    with tempfile.TemporaryDirectory(prefix="sl-raw-") as tmp:
        path = Path(tmp) / "registry.db"
        shutil.copy(places_db, path)
        engine = make_engine(f"sqlite:///{path}")
        now = datetime.now(UTC)
        kinds = {"四分类桶组": "bin_group", "智能分类投放箱": "smart_box", "集中投放点（站）": "drop_point",
                 "可回收物回收网点": "recycling_point", "有害垃圾暂存点": "hazardous_store"}  # fmt: skip
        category = {"recycling_point": "recyclable", "hazardous_store": "hazardous"}
        seq: dict[str, int] = {}
        records = []
        for row in rows[:n]:
            county = row["county_code"]
            seq[county] = seq.get(county, 0) + 1
            kind = kinds[row["kind"]]
            records.append(
                {
                    "code": f"{county}-F{seq[county]:06d}",
                    "kind": kind,
                    "category": category.get(kind, "mixed"),
                    "name": row["name"],
                    "county_code": county,
                    "street_code": row["street_code"],
                    "community_code": row["community_code"],
                    "site_code": None,
                    "address": row["address"],
                    "lat": float(row["lat"]),
                    "lng": float(row["lng"]),
                    "capacity": 960.0,
                    "status": "active",
                    "external_id": row["external_id"],
                    "created_at": now,
                    "updated_at": now,
                    "decommissioned_at": None,
                    "version": 1,
                }
            )
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert(facility_t), records)
        elapsed = time.perf_counter() - start
        engine.dispose()
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sl-seed-") as tmp:
        db = seeded_db(Path(tmp))
        rows = build_rows(args.rows, communities(db))
        results = {}
        for n in (args.small, args.rows):
            seconds, peak = run_import(n, db, rows)
            results[n] = (seconds, peak)
            print(f"import {n:>7,} rows: {seconds:6.1f} s  {n / seconds:8,.0f} rows/s  peak RSS {peak / 1024:6.1f} MiB")
        raw = run_raw(args.rows, db, rows)
        print(f"raw    {args.rows:>7,} rows: {raw:6.1f} s  {args.rows / raw:8,.0f} rows/s  (one executemany)")
    small_peak, big_peak = results[args.small][1], results[args.rows][1]
    print(f"peak RSS growth {args.small:,} → {args.rows:,} rows: {(big_peak - small_peak) / 1024:+.1f} MiB")
    speed = args.rows / results[args.rows][0]
    print(f"ratio {speed / (args.rows / raw):.3f}")


if __name__ == "__main__":
    main()
