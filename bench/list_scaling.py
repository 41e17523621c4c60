"""List scaling on PostgreSQL: the county-filtered vehicle and facility lists, first page and a page
deep in the cursor, at 10,000 and at 1,000,000 facilities. Prints each median and last
``ratio large/small`` (the worst of the four), which must stay <= 1.5. Both databases are served
side by side and every probe is timed on both in alternation (medians of BENCH_SAMPLES each).

Needs ``SORTLINE_BENCH_DATABASE_URL`` (e.g. postgresql://postgres@127.0.0.1:5432/test): it creates
``sortline_bench_reg_<size>`` databases beside it, reuses them when already built, never touches others.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx

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


def deep_cursor(client: httpx.Client, kind: str) -> str | None:
    """A cursor about 90 % deep into the county's rows, found by walking the list (not timed)."""
    for step in (500, PAGE):  # big pages first; a short list is walked again in small ones
        total, cursor, seen = 0, None, []
        while True:
            walk: dict[str, str | int] = {"county": COUNTY, "limit": step}
            if cursor:
                walk["cursor"] = cursor
            page = client.get(f"/{kind}", params=walk)
            page.raise_for_status()
            body = page.json()
            total += len(body["items"])
            cursor = body["next_cursor"]
            if not cursor:
                break
            seen.append((total, cursor))
        target = [c for n, c in seen if n <= total * 0.9]
        if target:
            return target[-1]
    return None


def main() -> None:
    base_url = os.environ.get("SORTLINE_BENCH_DATABASE_URL")
    if not base_url:
        raise SystemExit("请设置 SORTLINE_BENCH_DATABASE_URL（PostgreSQL）")
    from bench.common import scratch_dir

    os.environ["SORTLINE_DATA_DIR"] = str(scratch_dir("sortline-bench-list-"))

    from bench.common import free_port, median, uvicorn
    from services.common.auth import Caller, sign_token
    from services.registry.config import Settings

    urls = {size: build(base_url, size) for size in (SMALL, LARGE)}
    secret = Settings().service_token_secret
    token = sign_token(Caller(sub="user:bench", role="office"), secret, ttl_seconds=3600)
    headers = {"Authorization": f"Bearer {token}"}
    data = os.environ["SORTLINE_DATA_DIR"]
    # Both registries run side by side and each probe is timed on both in alternation, so the noise
    # of this shared machine falls on the small and the large database alike.
    with (
        uvicorn(
            "services.registry.app:create_app",
            free_port(),
            {"SORTLINE_REGISTRY_DATABASE_URL": urls[SMALL], "SORTLINE_DATA_DIR": data},
        ) as small_base,
        uvicorn(
            "services.registry.app:create_app",
            free_port(),
            {"SORTLINE_REGISTRY_DATABASE_URL": urls[LARGE], "SORTLINE_DATA_DIR": data},
        ) as large_base,
        httpx.Client(base_url=small_base, headers=headers, timeout=60) as small,
        httpx.Client(base_url=large_base, headers=headers, timeout=60) as large,
    ):
        worst = 0.0
        for kind in ("vehicles", "facilities"):
            cursors = {SMALL: deep_cursor(small, kind), LARGE: deep_cursor(large, kind)}
            for label, deep in (("first page", False), ("deep page", True)):
                samples: dict[int, list[float]] = {SMALL: [], LARGE: []}
                for i in range(SAMPLES + 5):
                    order = ((SMALL, small), (LARGE, large)) if i % 2 == 0 else ((LARGE, large), (SMALL, small))
                    for size, client in order:
                        params: dict[str, str | int] = {"county": COUNTY, "limit": PAGE}
                        cursor = cursors[size]
                        if deep and cursor:
                            params["cursor"] = cursor
                        t0 = time.perf_counter()
                        resp = client.get(f"/{kind}", params=params)
                        elapsed = time.perf_counter() - t0
                        resp.raise_for_status()
                        assert resp.json()["items"], "空页面"
                        if i >= 5:
                            samples[size].append(elapsed)
                s, lg = median(samples[SMALL]), median(samples[LARGE])
                worst = max(worst, lg / s)
                print(f"{kind:10} {label:10} {SMALL}: {s * 1000:7.2f} ms  {LARGE}: {lg * 1000:7.2f} ms  x{lg / s:.2f}")
    print(f"ratio {worst:.2f}")


if __name__ == "__main__":
    main()
