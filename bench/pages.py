"""Pages on PostgreSQL, through the real gateway and registry processes:

(i)  the facility list page ``/registry/facilities?county=360102`` (the whole HTML a browser gets)
     against the registry's own JSON list for the same filter and page size, at 1,000,000
     facilities: page / json must stay <= 2;
(ii) the home dashboard at 1,000,000 facilities against 10,000: large / small must stay <= 1.5.

Medians of ``BENCH_SAMPLES`` (40) requests each, after a warm-up; the two sides of each ratio are
timed in alternation against servers running side by side. Prints both ratios;
the last line is ``ratio X`` with X = max(list / 2, dashboard / 1.5): the worse of the two as a
share of its own limit, so X <= 1 means both pass.

Needs ``SORTLINE_BENCH_DATABASE_URL`` (e.g. postgresql://postgres@127.0.0.1:5432/test): builds or
reuses ``sortline_bench_reg_<size>`` beside it (the same databases as ``bench/list_scaling.py``).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SMALL, LARGE = 10_000, int(os.environ.get("BENCH_LARGE", "1000000"))
COUNTY = "360102"
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "40"))
WARMUP = 5
LIST_LIMIT, DASHBOARD_LIMIT = 2.0, 1.5
PASSWORD = "bench-pass-123"


Probe = tuple[Callable[[str], httpx.Response], str, str]


def timed_pair(a: Probe, b: Probe) -> tuple[float, float]:
    """Medians of ``SAMPLES`` GETs of each of two probes, taken in alternation (a b, b a, ...)."""
    from bench.common import median

    samples: tuple[list[float], list[float]] = ([], [])
    for i in range(WARMUP + SAMPLES):
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            get, path, check = (a, b)[side]
            t0 = time.perf_counter()
            resp = get(path)
            body = resp.content
            elapsed = time.perf_counter() - t0
            if resp.status_code != 200 or check.encode() not in body or "暂不可用".encode() in body:
                raise SystemExit(f"{path} 返回 {resp.status_code}：{body[:300]!r}")
            if i >= WARMUP:
                samples[side].append(elapsed)
    return median(samples[0]), median(samples[1])


@contextmanager
def servers(registry_db: str, data: Path) -> Iterator[tuple[str, str]]:
    """The registry on ``registry_db`` and a gateway in front of it (own SQLite, a demo office user)."""
    from bench.common import free_port, uvicorn
    from gateway import cli
    from services.common.db import make_engine
    from services.common.migrations import upgrade

    registry_port, gateway_port = free_port(), free_port()
    gateway_db = f"sqlite:///{data / f'gateway-{registry_port}.db'}"
    upgrade("gateway", gateway_db)
    engine = make_engine(gateway_db)
    cli.seed_demo_users(engine, PASSWORD)
    engine.dispose()
    env = {
        "SORTLINE_DATA_DIR": str(data),
        "SORTLINE_ENV": "development",  # plain-HTTP cookies
        "SORTLINE_REGISTRY_DATABASE_URL": registry_db,
        "SORTLINE_GATEWAY_DATABASE_URL": gateway_db,
        "SORTLINE_REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
    }
    with (
        uvicorn("services.registry.app:create_app", registry_port, env) as registry,
        uvicorn("gateway.app:create_app", gateway_port, env) as gateway,
    ):
        yield registry, gateway


def login(client: httpx.Client) -> None:
    resp = client.post("/login", data={"username": "office", "password": PASSWORD})
    if resp.status_code != 303:
        raise SystemExit(f"登录失败：{resp.status_code} {resp.text[:300]}")


def main() -> None:
    base_url = os.environ.get("SORTLINE_BENCH_DATABASE_URL")
    if not base_url:
        raise SystemExit("请设置 SORTLINE_BENCH_DATABASE_URL（PostgreSQL）")
    from bench.common import scratch_dir

    data = scratch_dir("sortline-bench-pages-")
    os.environ["SORTLINE_DATA_DIR"] = str(data)
    os.environ["SORTLINE_ENV"] = "development"

    from bench.list_scaling import build
    from services.common.auth import Caller, sign_token
    from services.common.migrations import upgrade
    from services.registry.config import Settings

    try:
        from gateway.registry_pages.common import DEFAULT_PAGE_SIZE as page_size
    except ImportError:
        page_size = 20
    token = sign_token(Caller(sub="user:bench", role="office"), Settings().service_token_secret, ttl_seconds=3600)
    urls = {size: build(base_url, size) for size in (SMALL, LARGE)}
    for url in urls.values():  # a database built before the latest migration (counters) catches up
        upgrade("registry", url)

    # Both cities run side by side and the two sides of each ratio are timed in alternation, so
    # the noise of this shared machine falls on both alike.
    with (
        servers(urls[SMALL], data) as (_, gateway_small),
        servers(urls[LARGE], data) as (registry, gateway),
        httpx.Client(base_url=gateway_small, timeout=60, follow_redirects=False) as browser_small,
        httpx.Client(base_url=gateway, timeout=60, follow_redirects=False) as browser,
        httpx.Client(base_url=registry, timeout=60, headers={"Authorization": f"Bearer {token}"}) as api,
    ):
        login(browser_small)
        login(browser)
        small, large = timed_pair(
            (browser_small.get, "/", "居民小区分类覆盖率"), (browser.get, "/", "居民小区分类覆盖率")
        )
        dashboard = {SMALL: small, LARGE: large}
        page, json_list = timed_pair(
            (browser.get, f"/registry/facilities?county={COUNTY}", "</html>"),
            (api.get, f"/facilities?county={COUNTY}&limit={page_size}", '"items"'),
        )
        html = browser.get(f"/registry/facilities?county={COUNTY}").text
        rows = len(re.findall(r"<tr[ >]", html)) - 1
        print(f"设施列表页：{rows} 行（每页 {page_size}）", flush=True)

    list_ratio = page / json_list
    dash_ratio = dashboard[LARGE] / dashboard[SMALL]
    print(
        f"(i)  facility list at {LARGE}: page {page * 1000:7.2f} ms  json {json_list * 1000:7.2f} ms  "
        f"page/json x{list_ratio:.2f} (limit {LIST_LIMIT})"
    )
    print(
        f"(ii) dashboard: {SMALL}: {dashboard[SMALL] * 1000:7.2f} ms  {LARGE}: {dashboard[LARGE] * 1000:7.2f} ms  "
        f"large/small x{dash_ratio:.2f} (limit {DASHBOARD_LIMIT})"
    )
    share = max(list_ratio / LIST_LIMIT, dash_ratio / DASHBOARD_LIMIT)
    worse = "list page/json" if list_ratio / LIST_LIMIT >= dash_ratio / DASHBOARD_LIMIT else "dashboard large/small"
    print(f"worse of the two against its limit: {worse} at {share:.2f} of its limit (1.00 = at the limit)")
    print(f"ratio {share:.2f}")


if __name__ == "__main__":
    main()
