"""`make run`'s demo mappings: which Kalshi market and which Polymarket tokens are one market.

Without mappings the reconciler can only call every holding an unknown mapping, so once the API
answers the launcher maps the venue simulator's demo markets through the API, as an operator would
(`PUT /api/v2/mappings/{market_id}`), then asks for a reconciliation so the Overview is current at
once. What is left to see is the demo's deliberate cases: the orphan, the ghost and the drift
(token transfers on Polymarket) and one unknown mapping, the Kalshi-only weather market
(`UNMAPPED_ON_PURPOSE`), which is the one market not mapped here.

The Polymarket ids come from the scenario's own functions (they are hashes of the slug), so they
follow the scenario. A market the operator has already mapped is left as it is: the demo data
lives in `.data/` across runs and the operator's change wins.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from services.venue_sim.scenarios import demo as kalshi_demo
from services.venue_sim.scenarios import polymarket_demo

REASON = "make run demo mappings"
# The Kalshi-only market the demo leaves unmapped: the Overview's one unknown mapping.
UNMAPPED_ON_PURPOSE = "KXHIGHNY-26DEC01-B45"
# (Kalshi ticker or None, Polymarket slug): the same real-world question on both venues, as the
# scenarios' docstring tables pair them; None for the Polymarket-only market.
PAIRS: tuple[tuple[str | None, str], ...] = (
    ("KXPRESPERSON-28-JVAN", "will-jd-vance-win-the-2028-us-presidential-election"),
    ("KXPRESPERSON-28-GNEW", "will-gavin-newsom-win-the-2028-us-presidential-election"),
    ("KXFEDDECISION-26DEC-C25", "fed-decreases-interest-rates-by-25-bps-after-december-2026-meeting"),
    ("KXFEDDECISION-26DEC-H0", "no-change-in-fed-interest-rates-after-december-2026-meeting"),
    ("KXSB-27-KC", "will-the-kansas-city-chiefs-win-super-bowl-lxi"),
    ("KXBTCMAXY-26-150000", "will-bitcoin-reach-150000-by-december-31-2026"),
    ("KXCPIYOY-26OCT-T3.0", "will-us-cpi-inflation-be-above-3pt0-for-october-2026"),
    (None, "will-taylor-swift-release-a-new-studio-album-in-2026"),
)
# The reconciler may start after the API answers; until it does, its routes answer 503.
READY_TIMEOUT_SECONDS = 120.0
RETRY_SECONDS = 2.0
# The API gives a reconciliation up to the gateway's timeout plus 15 s; a little more here.
HTTP_TIMEOUT_SECONDS = 45.0


@dataclass(frozen=True)
class DemoMapping:
    market_id: str
    title: str
    external_ids: dict[str, str]

    def body(self) -> dict[str, Any]:
        return {"external_ids": self.external_ids, "title": self.title, "reason": REASON}


def demo_mappings() -> list[DemoMapping]:
    """One mapping per demo market with a counterpart (market id: the Kalshi ticker, as the old
    bot's positions.json names markets) and one for the Polymarket-only market (its slug)."""
    kalshi_titles = {m.ticker: m.title for m in kalshi_demo.MARKETS}
    questions = {m.slug: m.question for m in polymarket_demo.MARKETS}
    mappings = []
    for ticker, slug in PAIRS:
        if slug not in questions or (ticker is not None and ticker not in kalshi_titles):
            raise ValueError(f"demo pair {ticker} / {slug} is not in the venue sim's demo scenario")
        ids = {
            "poly_asset_yes": polymarket_demo.token_id_for(slug, "Yes"),
            "poly_asset_no": polymarket_demo.token_id_for(slug, "No"),
            "poly_condition_id": polymarket_demo.condition_id_for(slug),
            "poly_market_slug": slug,
        }
        if ticker is None:
            mappings.append(DemoMapping(slug, questions[slug], ids))
        else:
            mappings.append(DemoMapping(ticker, kalshi_titles[ticker], {"kalshi_market_ticker": ticker, **ids}))
    return mappings


# ---------------------------------------------------------------------------------------------
# through the API


class ApiError(Exception):
    pass


def _call(base_url: str, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base_url}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                 **({"Content-Type": "application/json"} if body is not None else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise ApiError(f"{method} {path}: HTTP {exc.code} {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ApiError(f"{method} {path}: {type(exc).__name__}: {exc}") from None


def existing_market_ids(base_url: str, token: str, stop: threading.Event) -> set[str]:
    """Every mapped market id (the operator's and imported), once the reconciler answers."""
    waited = 0.0
    while True:
        try:
            reply = _call(base_url, token, "GET", "/api/v2/mappings")
            return {m["market_id"] for m in reply.get("mappings", ())}
        except ApiError:
            if waited >= READY_TIMEOUT_SECONDS or stop.is_set():
                raise
        stop.wait(RETRY_SECONDS)
        waited += RETRY_SECONDS


def wait_until_healthy(base_url: str, token: str, stop: threading.Event) -> None:
    """Until /api/health says every service is ok (the exchange-gateway included: a run without
    it reports nothing but api_error), or READY_TIMEOUT_SECONDS; then the run says what it can."""
    waited = 0.0
    while waited < READY_TIMEOUT_SECONDS and not stop.is_set():
        try:
            if _call(base_url, token, "GET", "/api/health").get("status") == "ok":
                return
        except ApiError:
            pass  # 503 while a service is degraded or not up yet
        stop.wait(RETRY_SECONDS)
        waited += RETRY_SECONDS


def summary_text(summary: dict[str, int]) -> str:
    order = ("match", "mismatch", "unknown_mapping", "api_error")
    return ", ".join(f"{summary[s]} {s}" for s in order if summary.get(s))


def seed(base_url: str, token: str, stop: threading.Event, say: Callable[[str], None]) -> None:
    """Map what is not mapped yet and say so, then reconcile and say what the run found."""
    have = existing_market_ids(base_url, token, stop)
    wanted = demo_mappings()
    added = [m for m in wanted if m.market_id not in have]
    for mapping in added:
        _call(base_url, token, "PUT", f"/api/v2/mappings/{quote(mapping.market_id, safe='')}", mapping.body())
    kept = f"{len(wanted) - len(added)} already mapped, left as they are" if len(added) < len(wanted) else ""
    done = ", ".join(part for part in (f"{len(added)} mapped" if added else "", kept) if part)
    say(f"demo mappings ({len(wanted)} demo markets): {done}; {UNMAPPED_ON_PURPOSE} is left unmapped on purpose "
        f"(the Overview's unknown mapping)")
    wait_until_healthy(base_url, token, stop)
    try:
        run = _call(base_url, token, "POST", "/api/bot/reconcile")["run"]
    except (ApiError, KeyError, TypeError) as exc:
        if not stop.is_set():
            say(f"demo reconciliation not run ({exc}); the reconciler's own schedule will show the Overview")
        return
    say(f"demo reconciliation: {summary_text(run['summary'])} (the Overview's home page explains each)")


def seed_in_background(base_url: str, token: str, say: Callable[[str], None]) -> threading.Event:
    """`seed` on its own thread (the supervisor's loop must not wait on HTTP); set the returned
    event to make it give up waiting for the reconciler."""
    stop = threading.Event()

    def work() -> None:
        try:
            seed(base_url, token, stop, say)
        except (ApiError, KeyError, TypeError) as exc:
            if not stop.is_set():
                say(f"demo mappings not seeded: {exc}. The Overview shows every demo holding as an unknown "
                    f"mapping until mapped (PUT /api/v2/mappings/{{market_id}}).")

    threading.Thread(target=work, name="demo-mappings", daemon=True).start()
    return stop
