"""Filtered, paginated reads of the Kalshi account (the GET list endpoints)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

from services.venue_sim.domain.kalshi import Fill, KalshiExchange, Order, RawFillRow, Settlement, Trade
from services.venue_sim.domain.kalshi_account import Position
from services.venue_sim.domain.kalshi_pages import Page, PageRequest, paginate
from services.venue_sim.domain.kalshi_units import KalshiError

ORDER_STATUSES = ("resting", "canceled", "executed")
COUNT_FILTERS = ("position", "total_traded", "resting_order_count")
SETTLEMENT_STATUSES = ("all", "settled", "unsettled")


def _int(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise KalshiError(400, "invalid_parameters", "invalid parameters", f"{name} must be an integer") from None


def _ts_window(params: Mapping[str, str]) -> tuple[int | None, int | None]:
    return _int(params, "min_ts"), _int(params, "max_ts")


def _in_window(ts_s: int, window: tuple[int | None, int | None]) -> bool:
    lo, hi = window
    return (lo is None or ts_s >= lo) and (hi is None or ts_s <= hi)


def _newest_first(row: Fill | RawFillRow | Trade) -> tuple[int, int]:
    """Newest by time, then by arrival; the key is also the page cursor, so it must be unique."""
    return (-row.ts_ms, -row.seq)


def fills(x: KalshiExchange, params: Mapping[str, str], page: PageRequest) -> Page[Fill | RawFillRow]:
    """Real fills and injected raw rows together, newest first by time (then by arrival).
    `ticker` may be a comma-separated list, as on Kalshi."""
    window = _ts_window(params)
    tickers = [t for t in (params.get("ticker") or "").split(",") if t]
    order_id = params.get("order_id")

    def fields(f: Fill | RawFillRow) -> tuple[object, object]:
        return (f.row.get("ticker"), f.row.get("order_id")) if isinstance(f, RawFillRow) else (f.ticker, f.order_id)

    chosen = sorted(
        (f for f in [*x.fills, *x.raw_fill_rows]
         if (not tickers or fields(f)[0] in tickers)
         and (not order_id or fields(f)[1] == order_id)
         and _in_window(f.ts_ms // 1000, window)),
        key=_newest_first,
    )
    return paginate(chosen, _newest_first, page)


def trades(x: KalshiExchange, params: Mapping[str, str], page: PageRequest) -> Page[Trade]:
    """The public tape, newest first (`GET /markets/trades`)."""
    window = _ts_window(params)
    ticker = params.get("ticker")
    tape = x.trades_by_ticker.get(ticker, []) if ticker else x.trades
    chosen = sorted(
        (t for t in tape if _in_window(t.ts_ms // 1000, window)),
        key=_newest_first,
    )
    return paginate(chosen, _newest_first, page)


def orders(x: KalshiExchange, params: Mapping[str, str], page: PageRequest) -> Page[Order]:
    status = params.get("status")
    if status and status not in ORDER_STATUSES:
        raise KalshiError(400, "invalid_parameters", "invalid parameters", f"status must be one of {ORDER_STATUSES}")
    window = _ts_window(params)
    ticker, event = params.get("ticker"), params.get("event_ticker")
    chosen = [
        o for o in sorted(x.orders.values(), key=lambda o: -o.seq)
        if (not ticker or o.ticker == ticker)
        and (not event or x.markets[o.ticker].event_ticker in event.split(","))
        and (not status or o.status == status)
        and _in_window(o.created_ms // 1000, window)
    ]
    return paginate(chosen, lambda o: (-o.seq,), page)


def settlements(x: KalshiExchange, params: Mapping[str, str], page: PageRequest) -> Page[Settlement]:
    window = _ts_window(params)
    ticker, event = params.get("ticker"), params.get("event_ticker")
    chosen = [
        s for s in reversed(x.settlements)
        if (not ticker or s.ticker == ticker)
        and (not event or s.event_ticker == event)
        and _in_window(s.settled_ms // 1000, window)
    ]
    return paginate(chosen, lambda s: (-s.seq,), page)


def positions(x: KalshiExchange, params: Mapping[str, str], page: PageRequest) -> Page[Position]:
    """Market positions sorted by ticker. `settlement_status` defaults to unsettled, as on Kalshi."""
    status = params.get("settlement_status") or "unsettled"
    if status not in SETTLEMENT_STATUSES:
        raise KalshiError(400, "invalid_parameters", "invalid parameters", f"settlement_status must be one of {SETTLEMENT_STATUSES}")
    wanted = [f for f in (params.get("count_filter") or "").split(",") if f]
    if any(f not in COUNT_FILTERS for f in wanted):
        raise KalshiError(400, "invalid_parameters", "invalid parameters", f"count_filter values must be in {COUNT_FILTERS}")
    ticker, event = params.get("ticker"), params.get("event_ticker")
    events = event.split(",") if event else None
    resting: Counter[str] = x.resting_counts() if "resting_order_count" in wanted else Counter()
    nonzero: dict[str, Callable[[Position], bool]] = {
        "position": lambda p: p.held != 0,
        "total_traded": lambda p: p.total_traded != 0,
        "resting_order_count": lambda p: resting[p.ticker] != 0,
    }

    def keep(p: Position) -> bool:
        if ticker and p.ticker != ticker:
            return False
        if events and p.event_ticker not in events:
            return False
        if status != "all" and p.settled != (status == "settled"):
            return False
        return all(nonzero[f](p) for f in wanted)

    return paginate(sorted(x.positions.values(), key=lambda p: p.ticker), lambda p: (p.ticker,), page, keep)


def event_positions(market_positions: list[Position]) -> dict[str, list[Position]]:
    grouped: dict[str, list[Position]] = {}
    for p in sorted(market_positions, key=lambda p: p.ticker):
        grouped.setdefault(p.event_ticker, []).append(p)
    return grouped
