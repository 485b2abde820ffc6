"""Venue requests per minute at idle: the exchange-gateway against venue-sim, default intervals,
nobody asking (no UI open, no API call). What it costs the venues just to keep fills, settlements
and marks current — the floor under every key's rate budget.

Counted twice, independently where possible:
- Kalshi: by the simulator, per route (`GET /_sim/kalshi/requests`, read in-process here);
- both venues: by the gateway's own `trueup_venue_requests_total` (per request class), because
  the simulator counts no Polymarket requests. The two Kalshi counts must agree.

Settings (environment): BENCH_WARMUP_SECONDS (default 40: start-up backfill, first marks round
and title reads are not idle), BENCH_MEASURE_SECONDS (default 120: four marks rounds). Figures are
printed and written to build/benchmarks/idle_venue_requests.json; docs/benchmarks.md records them.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.exchange_gateway.settings import GatewaySettings
from tests.exchange_gateway.gateway_env import gateway_env
from tests.exchange_gateway.stack import start_stack, wait_for_gateway
from tests.support.venue_sim import running_sim

WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "40"))
MEASURE_SECONDS = float(os.environ.get("BENCH_MEASURE_SECONDS", "120"))
RESULTS = Path(__file__).resolve().parents[1] / "build" / "benchmarks" / "idle_venue_requests.json"
POSITIONS_ROUTE = "GET /trade-api/v2/portfolio/positions"


def default_intervals() -> dict[str, str]:
    """The gateway's own defaults, so the benchmark follows them when they change."""
    fields = GatewaySettings.model_fields
    names = ("fill_poll_interval_seconds", "settlement_poll_interval_seconds", "mark_interval_seconds",
             "positions_cache_ttl_seconds")
    return {name.upper(): str(fields[name].default) for name in names if name in fields}


async def gateway_counts(client: httpx.AsyncClient, url: str) -> Counter[tuple[str, str]]:
    """(venue, request class) -> requests sent, from the gateway's Prometheus metrics."""
    text = (await client.get(url)).text
    counts: Counter[tuple[str, str]] = Counter()
    for family in text_string_to_metric_families(text):
        if family.name == "trueup_venue_requests":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    counts[(sample.labels["venue"], sample.labels["cls"])] += int(sample.value)
    return counts


def per_minute(count: int) -> float:
    return round(count * 60 / MEASURE_SECONDS, 1)


def _route(route: str) -> str:
    """`GET /trade-api/v2/markets/KXSB-27-KC/orderbook` -> `GET markets/{ticker}/orderbook`."""
    method, path = route.split(" ", 1)
    parts = path.removeprefix("/trade-api/v2/").split("/")
    if parts[0] == "markets" and len(parts) > 1:
        parts[1] = "{ticker}"
    return f"{method} {'/'.join(parts)}"


# The suite's per-test timeout is for tests; a benchmark runs as long as its settings say (+ start/stop).
@pytest.mark.timeout(WARMUP_SECONDS + MEASURE_SECONDS + 90)
async def test_idle_venue_requests_per_minute(nats_users, database_url, tmp_path, capsys):
    intervals = default_intervals()
    async with running_sim(scenario="demo") as sim:
        stack = start_stack(nats_users, database_url, {**gateway_env(sim, tmp_path), **intervals})
        try:
            async with stack.client(timeout=10) as client:
                await wait_for_gateway(client)  # asks the gateway's health, which reads no venue
                await asyncio.sleep(WARMUP_SECONDS)
                kalshi_before = Counter(sim.sim.kalshi_requests)
                gateway_before = await gateway_counts(client, stack.gateway_metrics)
                await asyncio.sleep(MEASURE_SECONDS)
                kalshi_routes = Counter(sim.sim.kalshi_requests) - kalshi_before
                by_class = await gateway_counts(client, stack.gateway_metrics) - gateway_before
        finally:
            stack.stop()

    held_kalshi = sum(1 for p in sim.sim.kalshi.positions.values() if p.signed != 0)
    held_poly = sum(1 for p in sim.sim.polymarket.positions().values() if p.size != 0)
    routes = Counter()
    for route, n in kalshi_routes.items():
        routes[_route(route)] += n
    result = {
        "settings": {**intervals, "warmup_seconds": WARMUP_SECONDS, "measure_seconds": MEASURE_SECONDS,
                     "held_instruments": {"kalshi": held_kalshi, "polymarket": held_poly}},
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "per_minute": {
            "kalshi_total_sim": per_minute(sum(kalshi_routes.values())),
            "kalshi_by_route": {r: per_minute(n) for r, n in sorted(routes.items())},
            "by_gateway_class": {f"{v} {c}": per_minute(n) for (v, c), n in sorted(by_class.items())},
            "polymarket_total_gateway": per_minute(sum(n for (v, _), n in by_class.items() if v == "polymarket")),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    with capsys.disabled():
        print("\nidle venue requests per minute:\n" + json.dumps(result, indent=2))

    # The two independent Kalshi counts agree (the gateway counts every attempt it sends).
    assert sum(n for (v, _), n in by_class.items() if v == "kalshi") == sum(kalshi_routes.values())
    # Marks reuse the previous round's snapshot at idle: at most one positions read per two rounds.
    mark_interval = float(intervals["MARK_INTERVAL_SECONDS"])
    assert kalshi_routes[POSITIONS_ROUTE] <= MEASURE_SECONDS / (2 * mark_interval) + 1
