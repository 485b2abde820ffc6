"""The reconciler's pure diff on 100k items (issue 10's benchmark; target < 200 ms), the whole
pure `reconcile` (diff + render into the contract objects) on the same 100k for the record, and on
20k (10k per venue: the end-to-end benchmark's 2 s target size, of which it should be a small part).

50k holdings per venue, each venue's instrument mapped to one market that holds a Kalshi ticker and
a Polymarket token, both venues' snapshots complete (the slowest case: every item is compared).
Mixed statuses, per venue: 85% match (a fifth of them with a small cost basis difference, which
is reported but does not change the status), 3% orphaned, 3% ghost, 4% drift, 5% unknown mapping.
The inputs are built first. Timed, each best of BENCH_REPEATS (default 5), with `time.perf_counter`:
`diff_holdings` (the comparison: one row per key with both quantities, status and difference; the
mapping index built beforehand, as `reconcile` builds it once per run) — the figure the target is
about — and `reconcile` (index + diff + reasons, items and markets as pydantic contract objects), on
100k and on the first 10k per venue. The previous result is freed before each timing starts (freeing
100k rows is not the next call's work).
Machine facts (CPUs, Python, load average, a plain-Python speed probe) go with the figures: this
domain is single-threaded CPython, so a loaded or slow machine shows directly. This reports and
writes figures; it asserts the statuses (and that both agree), never a time.

Settings (environment): BENCH_ITEMS_PER_VENUE (default 50000), BENCH_REPEATS (5); the 20k run is
always 10k per venue.
Figures are printed and written to build/benchmarks/reconcile_diff.json; docs/benchmarks.md records them.
"""

from __future__ import annotations

import json
import os
import platform
import random
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from services.reconciler.domain.mappings import MappingIndex
from services.reconciler.domain.reconcile import Holding, VenueSide, diff_holdings, reconcile
from shared.contracts.reconciler import ExternalIds, InstrumentMapping, ReconciliationRun

ITEMS_PER_VENUE = int(os.environ.get("BENCH_ITEMS_PER_VENUE", "50000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
RUN_ITEMS_PER_VENUE = 10_000  # the end-to-end benchmark's target size
RESULTS = Path(__file__).resolve().parents[1] / "build" / "benchmarks" / "reconcile_diff.json"
T0 = datetime(2026, 6, 1, tzinfo=UTC)
# Per 100 holdings of a venue: which case each is.
CASES = ["match"] * 85 + ["orphaned"] * 3 + ["ghost"] * 3 + ["drift"] * 4 + ["unknown_mapping"] * 5


def workload(items_per_venue: int) -> tuple[list[Holding], dict[str, VenueSide], list[InstrumentMapping],
                                            Counter[str]]:
    internal: list[Holding] = []
    venue_rows: dict[str, list[Holding]] = {"kalshi": [], "polymarket": []}
    mappings = []
    expected: Counter[str] = Counter()
    rng = random.Random(10)
    for i in range(items_per_venue):
        case = CASES[i % len(CASES)]
        outcome = "yes" if i % 3 else "no"
        ticker, asset = f"KXBENCH-{i:06d}", str(rng.randrange(10**76, 10**77))  # token ids: 77 digits
        if case != "unknown_mapping":
            ids = ExternalIds(kalshi_market_ticker=ticker, **{f"poly_asset_{outcome}": asset})
            mappings.append(InstrumentMapping(market_id=f"bench-{i:06d}", external_ids=ids, title=f"Market {i}",
                                              source="import", updated_at=T0, updated_by="bench"))
        for venue, instrument in (("kalshi", ticker), ("polymarket", asset)):
            quantity = Decimal(10 + i % 490)
            cost = quantity * Decimal(i % 97 + 1) / 100
            venue_cost = cost + Decimal("0.01") if i % 5 == 0 else cost
            if case != "orphaned":
                internal.append(Holding(venue, instrument, outcome, quantity, cost, title=f"Market {i}"))
            if case != "ghost":
                venue_quantity = quantity + 7 if case == "drift" else quantity
                venue_rows[venue].append(Holding(venue, instrument, outcome, venue_quantity, venue_cost,
                                                 title=f"Market {i}", market_hint=f"0xcond{i:06d}"))
            expected["match" if case == "match" else "unknown_mapping" if case == "unknown_mapping"
                     else "mismatch"] += 1
    sides = {venue: VenueSide(venue, True, None, tuple(rows)) for venue, rows in venue_rows.items()}
    return internal, sides, mappings, expected


def python_loop_us() -> float:
    """Best of 5 `sum(range(1000))` in µs: how fast this machine runs plain Python right now (a shared
    or loaded machine shows here), so figures from different machines can be compared."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(1000):
            sum(range(1000))
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def best_of(call) -> tuple[object, list[float]]:
    timings = []
    result = None
    for _ in range(REPEATS):
        result = None
        started = time.perf_counter()
        result = call()
        timings.append(time.perf_counter() - started)
    return result, timings


def ms(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {"best_ms": round(ordered[0] * 1000, 1), "median_ms": round(ordered[len(ordered) // 2] * 1000, 1),
            "worst_ms": round(ordered[-1] * 1000, 1)}


def timed_reconcile(internal: list[Holding], sides: dict[str, VenueSide], mappings: list[InstrumentMapping],
                    expected: Counter[str]) -> tuple[ReconciliationRun, list[float]]:
    run, timings = best_of(lambda: reconcile(
        internal, sides, mappings, tolerance=Decimal(0), acknowledged=(), run_id="bench", trigger="on_demand",
        started_at=T0, finished_at=T0, snapshot_time=T0))
    assert run.summary == summary_of(expected)  # type: ignore[union-attr]
    return run, timings  # type: ignore[return-value]


def summary_of(expected: Counter[str]) -> dict[str, int]:
    return {"match": expected["match"], "mismatch": expected["mismatch"],
            "unknown_mapping": expected["unknown_mapping"], "api_error": 0}


def test_reconcile_diff_100k_items():
    internal, sides, mappings, expected = workload(ITEMS_PER_VENUE)
    index = MappingIndex(mappings)
    rows, diff_timings = best_of(lambda: diff_holdings(internal, sides, index, tolerance=Decimal(0), acknowledged=()))
    summary = summary_of(expected)
    assert Counter(row.status for row in rows) == {k: v for k, v in summary.items() if v}  # type: ignore[union-attr]
    rows = None  # freed before the runs are timed
    run, run_timings = timed_reconcile(internal, sides, mappings, expected)
    small = workload(RUN_ITEMS_PER_VENUE)
    _, small_timings = timed_reconcile(*small)
    items = sum(summary.values())
    small_items = sum(summary_of(small[3]).values())
    figures = {
        "items": items, "items_per_venue": ITEMS_PER_VENUE, "markets": len(run.by_market_id),
        "summary": summary, "repeats": REPEATS,
        "diff": {**ms(diff_timings), "target_ms": 200, "best_items_per_s": round(items / min(diff_timings))},
        "reconcile": {**ms(run_timings), "best_items_per_s": round(items / min(run_timings))},
        "reconcile_10k_per_venue": {"items": small_items, **ms(small_timings),
                            "best_items_per_s": round(small_items / min(small_timings))},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "node": platform.node(),
                    "python_loop_us": round(python_loop_us(), 1), "load_average_1m": os.getloadavg()[0]},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
