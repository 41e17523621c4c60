"""List scaling on PostgreSQL: the county-filtered vehicle and facility lists, first page and a page
deep in the cursor, at 10,000 and at 1,000,000 facilities. Prints each median and last
``ratio large/small`` (the worst of the four), which must stay <= 1.5.

Needs ``SORTLINE_BENCH_DATABASE_URL`` (e.g. postgresql://postgres@127.0.0.1:5432/test): it creates
``sortline_bench_reg_<size>`` databases beside it, reuses them when already built, never touches others.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SMALL, LARGE = 10_000, int(os.environ.get("BENCH_LARGE", "1000000"))
COUNTY = "360102"
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "40"))
PAGE = 50


def build(base_url: str, size: int) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from services.common.db import make_engine, normalize_url
    from services.common.migrations import upgrade
    from services.registry.demo import demo_vehicle_count, seed_demo

    name = f"sortline_bench_reg_{size}"
    url = str(make_url(normalize_url(base_url)).set(database=name))
    admin = create_engine(normalize_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    if exists:
        engine = make_engine(url)
        with engine.connect() as conn:
            try:
                count = conn.execute(text("SELECT count(*) FROM facility")).scalar_one()
                vehicles = conn.execute(text("SELECT count(*) FROM vehicle")).scalar_one()
            except Exception:
                count = vehicles = -1
        engine.dispose()
        if count == size and vehicles == demo_vehicle_count(size):
            print(f"复用已建好的 {name}（{count} 个设施）", flush=True)
            return url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    upgrade("registry", url)
    engine = make_engine(url)
    started = time.monotonic()
    seed_demo(engine, size=size)
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"生成 {name}：{size} 个设施，用时 {time.monotonic() - started:.0f} 秒", flush=True)
    return url


def measure(base: str, token: str, kind: str) -> tuple[float, float]:
    """Median seconds of the first page and of a page about 90 % deep into the county's rows."""
    import httpx

    from bench.common import median

    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        path = f"/{kind}"
        params: dict[str, str | int] = {"county": COUNTY, "limit": PAGE}

        def timed(extra: dict[str, str | int]) -> float:
            samples = []
            for _ in range(SAMPLES):
                t0 = time.perf_counter()
                resp = client.get(path, params=params | extra)
                samples.append(time.perf_counter() - t0)
                resp.raise_for_status()
                assert resp.json()["items"], "空页面"
            return median(samples)

        first = timed({})
        # Walk to ~90 % of the county's rows with big pages (not timed) to get a deep cursor.
        total, cursor, seen = 0, None, []
        while True:
            walk: dict[str, str | int] = {"county": COUNTY, "limit": 500}
            if cursor:
                walk["cursor"] = cursor
            page = client.get(path, params=walk)
            page.raise_for_status()
            body = page.json()
            total += len(body["items"])
            seen.append((total, body["next_cursor"]))
            cursor = body["next_cursor"]
            if not cursor:
                break
        target = [c for n, c in seen if c and n <= total * 0.9]
        deep_cursor = target[-1] if target else seen[0][1]
        deep = timed({"cursor": deep_cursor}) if deep_cursor else first
        return first, deep


def main() -> None:
    base_url = os.environ.get("SORTLINE_BENCH_DATABASE_URL")
    if not base_url:
        raise SystemExit("请设置 SORTLINE_BENCH_DATABASE_URL（PostgreSQL）")
    os.environ["SORTLINE_DATA_DIR"] = tempfile.mkdtemp(prefix="sortline-bench-list-")

    from bench.common import free_port, uvicorn
    from services.common.auth import Caller, sign_token
    from services.registry.config import Settings

    results: dict[int, dict[str, tuple[float, float]]] = {}
    urls = {size: build(base_url, size) for size in (SMALL, LARGE)}
    secret = Settings().service_token_secret
    token = sign_token(Caller(sub="user:bench", role="office"), secret, ttl_seconds=3600)
    for size, url in urls.items():
        port = free_port()
        env = {"SORTLINE_REGISTRY_DATABASE_URL": url, "SORTLINE_DATA_DIR": os.environ["SORTLINE_DATA_DIR"]}
        with uvicorn("services.registry.app:create_app", port, env) as base:
            results[size] = {kind: measure(base, token, kind) for kind in ("vehicles", "facilities")}
    worst = 0.0
    for kind in ("vehicles", "facilities"):
        for i, label in enumerate(("first page", "deep page")):
            small, large = results[SMALL][kind][i], results[LARGE][kind][i]
            worst = max(worst, large / small)
            sizes = f"{SMALL}: {small * 1000:7.2f} ms  {LARGE}: {large * 1000:7.2f} ms"
            print(f"{kind:10} {label:10} {sizes}  x{large / small:.2f}")
    print(f"ratio {worst:.2f}")


if __name__ == "__main__":
    main()
