"""Answers to questions about the venues: holdings, balances, a page of fills, one order.

Snapshots are cached briefly (the TTL is configurable 5-30 s) and fetched single-flight, so a
burst of UI refreshes costs the venue one call, not one per click. Every fresh snapshot is also
published as a fact for the reconciler and ledger — in the background, so an answer never waits
for JetStream. Holdings are answered valued with the latest mark of each instrument (the mark
publisher hands its marks in here), so the page needs no venue read of its own for prices.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from services.exchange_gateway.adapters.venue import VenueClient, VenueError
from services.exchange_gateway.domain.rate_budget import Seconds
from services.exchange_gateway.domain.snapshot_cache import Cached, is_fresh
from services.exchange_gateway.domain.snapshot_parts import snapshot_parts
from services.exchange_gateway.domain.valuation import value_position
from services.exchange_gateway.handlers.background_facts import BackgroundFacts
from shared.bus import Bus
from shared.contracts import (
    BalanceSnapshot,
    BalancesReply,
    BalancesRequest,
    ErrorInfo,
    ExternalPositionsSnapshot,
    FillsPageReply,
    FillsPageRequest,
    Mark,
    OrderLookupReply,
    OrderLookupRequest,
    PositionsReply,
    PositionsRequest,
    Venue,
    utcnow,
)
from shared.contracts.channels import (
    BALANCES,
    EXTERNAL_SNAPSHOTS,
    GATEWAY_BALANCES,
    GATEWAY_FILLS_PAGE,
    GATEWAY_ORDER_LOOKUP,
    GATEWAY_POSITIONS,
)
from shared.logs import get_logger

log = get_logger(__name__)


def not_configured(venue: Venue) -> ErrorInfo:
    return ErrorInfo(code="not_configured", message=f"{venue}: not configured (no credentials)", venue=venue)


def venue_error(venue: Venue, exc: Exception) -> ErrorInfo:
    retryable = isinstance(exc, VenueError) and exc.retryable
    message = str(exc) if str(exc).startswith(venue) else f"{venue}: {exc}"
    return ErrorInfo(code="venue_error", message=message, venue=venue, retryable=retryable)


def _held(snapshot: ExternalPositionsSnapshot) -> set[str]:
    """The instruments the snapshot holds a non-zero quantity of."""
    return {p.instrument_id for p in snapshot.positions if p.quantity != 0}


class VenueQueries:
    def __init__(
        self,
        clients: dict[Venue, VenueClient],
        bus: Bus,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        answer_deadline_seconds: float | None = None,
    ) -> None:
        """`answer_deadline_seconds` bounds a whole answer per venue (every page, title lookup and
        wait for an in-flight read): past it the asker gets an explicit incomplete answer while it
        is still waiting, never a bus timeout. None: unbounded (tests that need no deadline)."""
        self.clients = clients
        self.bus = bus
        self.ttl = ttl_seconds
        self.clock = clock
        self.answer_deadline = answer_deadline_seconds
        self._positions: dict[Venue, Cached[ExternalPositionsSnapshot]] = {}
        self._balances: dict[Venue, Cached[BalanceSnapshot | ErrorInfo]] = {}
        self._locks: dict[tuple[str, Venue], asyncio.Lock] = {}
        # Bumped when a venue fetch *starts*: a forced refresh may reuse a fetch that started after
        # it was asked for (so it is at least as fresh), never one that was already in flight.
        self._fetches: dict[Venue, int] = {}
        # venue -> instrument -> its latest mark, kept for the instruments still held.
        self._marks: dict[Venue, dict[str, Mark]] = {}
        # venue -> the instruments the last marks round tried; set while the newest snapshot
        # holds one it did not, so the mark publisher can value a new holding without waiting.
        self._marks_tried: dict[Venue, frozenset[str]] = {}
        self._untried: dict[Venue, asyncio.Event] = {}
        self.facts = BackgroundFacts(bus)

    def _lock(self, kind: str, venue: Venue) -> asyncio.Lock:
        return self._locks.setdefault((kind, venue), asyncio.Lock())

    # ---- positions ------------------------------------------------------------------------

    async def positions(self, request: PositionsRequest) -> PositionsReply:
        snapshots = await asyncio.gather(*(self._answer_snapshot(v, request.force_refresh) for v in request.venues))
        return PositionsReply(snapshots=tuple(self.valued(s) for s in snapshots))

    async def _answer_snapshot(self, venue: Venue, force_refresh: bool) -> ExternalPositionsSnapshot:
        try:
            async with asyncio.timeout(self.answer_deadline):
                return await self.snapshot(venue, force_refresh)
        except TimeoutError:
            client = self.clients.get(venue)
            log.warning("positions answer past its deadline", venue=venue, deadline_s=self.answer_deadline)
            return ExternalPositionsSnapshot(
                venue=venue, account=client.account if client else "", snapshot_time=utcnow(), complete=False,
                status="error", error=self._late(venue, "holdings"),
            )

    def _late(self, venue: Venue, what: str) -> str:
        return f"{venue}: {what} not read within {self.answer_deadline:g} s (the venue is slow); try again"

    def valued(self, snapshot: ExternalPositionsSnapshot) -> ExternalPositionsSnapshot:
        """The snapshot with each holding valued at its instrument's latest mark (same event id)."""
        marks = self._marks.get(snapshot.venue, {})
        positions = tuple(value_position(p, marks.get(p.instrument_id)) for p in snapshot.positions)
        return snapshot.model_copy(update={"positions": positions})

    async def snapshot(
        self, venue: Venue, force_refresh: bool = False, max_age_s: Seconds | None = None
    ) -> ExternalPositionsSnapshot:
        """The venue's holdings: the cached snapshot while younger than `max_age_s` (default: the
        TTL) unless `force_refresh`, else a new read."""
        client = self.clients.get(venue)
        if client is None:
            return ExternalPositionsSnapshot(
                venue=venue, account="", snapshot_time=utcnow(), complete=False,
                status="not_configured", error=not_configured(venue).message,
            )
        fetches_before = self._fetches.get(venue, 0)
        async with self._lock("positions", venue):
            cached = self._positions.get(venue)
            fetched_meanwhile = self._fetches.get(venue, 0) > fetches_before
            max_age = self.ttl if max_age_s is None else max_age_s
            if cached is not None and (fetched_meanwhile or is_fresh(cached, self.clock(), max_age, force_refresh=force_refresh)):
                return cached.value
            self._fetches[venue] = self._fetches.get(venue, 0) + 1
            snapshot = await self._fetch_snapshot(client)
            self._positions[venue] = Cached(snapshot, self.clock())
        self._note_untried_holdings(venue)
        for part in snapshot_parts(snapshot):
            self.facts.publish(EXTERNAL_SNAPSHOTS.subject(venue=venue), part)
        return snapshot

    async def _fetch_snapshot(self, client: VenueClient) -> ExternalPositionsSnapshot:
        try:
            result = await client.fetch_positions()
        except Exception as exc:  # any failure becomes a visible, incomplete snapshot: never "nothing held"
            log.warning("positions fetch failed", venue=client.venue, error=str(exc))
            return ExternalPositionsSnapshot(
                venue=client.venue, account=client.account, snapshot_time=utcnow(), complete=False,
                status="error", error=venue_error(client.venue, exc).message,
            )
        return ExternalPositionsSnapshot(
            venue=client.venue,
            account=client.account,
            snapshot_time=utcnow(),
            complete=result.complete,
            status="ok" if result.complete else "error",
            error=result.error,
            positions=result.positions,
        )

    async def held_instruments(self, venue: Venue, max_age_s: Seconds) -> list[str]:
        """What the account holds, from the newest snapshot if younger than `max_age_s`, else read."""
        return sorted(_held(await self.snapshot(venue, max_age_s=max_age_s)))

    def record_marks(self, venue: Venue, held: list[str], marks: list[Mark]) -> None:
        """Keep the newest mark per held instrument; a ticker whose read failed this round keeps
        its previous mark (its `mark_as_of` tells how old), one no longer held is forgotten."""
        tried = frozenset(held)
        latest = {i: m for i, m in self._marks.get(venue, {}).items() if i in tried}
        latest.update({m.instrument_id: m for m in marks if m.instrument_id in tried})
        self._marks[venue] = latest
        self._marks_tried[venue] = tried
        self._note_untried_holdings(venue)

    def untried_holdings(self, venue: Venue) -> asyncio.Event:
        """Set while the newest snapshot holds an instrument no marks round has tried yet."""
        return self._untried.setdefault(venue, asyncio.Event())

    def _note_untried_holdings(self, venue: Venue) -> None:
        cached = self._positions.get(venue)
        held = _held(cached.value) if cached else set()
        event = self.untried_holdings(venue)
        if held <= self._marks_tried.get(venue, frozenset()):
            event.clear()
        else:
            event.set()

    # ---- balances -------------------------------------------------------------------------

    async def balances(self, request: BalancesRequest) -> BalancesReply:
        results = await asyncio.gather(*(self._answer_balance(v, request.force_refresh) for v in request.venues))
        return BalancesReply(
            balances=tuple(r for r in results if isinstance(r, BalanceSnapshot)),
            errors=tuple(r for r in results if isinstance(r, ErrorInfo)),
        )

    async def _answer_balance(self, venue: Venue, force_refresh: bool) -> BalanceSnapshot | ErrorInfo:
        try:
            async with asyncio.timeout(self.answer_deadline):
                return await self._balance(venue, force_refresh)
        except TimeoutError:
            return ErrorInfo(code="venue_timeout", message=self._late(venue, "cash balance"), venue=venue,
                             retryable=True)

    async def _balance(self, venue: Venue, force_refresh: bool) -> BalanceSnapshot | ErrorInfo:
        client = self.clients.get(venue)
        if client is None:
            return not_configured(venue)
        async with self._lock("balance", venue):
            cached = self._balances.get(venue)
            if is_fresh(cached, self.clock(), self.ttl, force_refresh=force_refresh):
                return cached.value
            try:
                value: BalanceSnapshot | ErrorInfo = await client.fetch_balance()
            except Exception as exc:
                value = venue_error(venue, exc)
            self._balances[venue] = Cached(value, self.clock())
        if isinstance(value, BalanceSnapshot):
            self.facts.publish(BALANCES.subject(venue=venue), value)
        return value

    # ---- fills and orders -----------------------------------------------------------------

    async def fills_page(self, request: FillsPageRequest) -> FillsPageReply:
        client = self.clients.get(request.venue)
        if client is None:
            return FillsPageReply(error=not_configured(request.venue))
        try:
            page = await client.fetch_fills_page(request.cursor, request.min_ts, request.limit)
        except Exception as exc:
            return FillsPageReply(error=venue_error(request.venue, exc))
        # The readable fills still come back, but an asker must know the page is not whole.
        partial = None
        if page.rejected:
            partial = ErrorInfo(
                code="unreadable_rows", venue=request.venue,
                message=f"{request.venue}: {len(page.rejected)} row(s) on this page could not be read "
                        f"({', '.join(r.key for r in page.rejected[:5])}); the fill feed quarantines them",
            )
        return FillsPageReply(fills=page.fills, next_cursor=page.next_cursor, error=partial)

    async def order_lookup(self, request: OrderLookupRequest) -> OrderLookupReply:
        client = self.clients.get(request.venue)
        if client is None:
            return OrderLookupReply(error=not_configured(request.venue))
        if not (request.order_id or request.client_order_id):
            return OrderLookupReply(
                error=ErrorInfo(code="invalid_request", message="order_id or client_order_id is required")
            )
        try:
            order = await client.lookup_order(order_id=request.order_id, client_order_id=request.client_order_id)
        except Exception as exc:
            return OrderLookupReply(error=venue_error(request.venue, exc))
        if order is None:
            return OrderLookupReply(error=ErrorInfo(code="not_found", message="no such order", venue=request.venue))
        return OrderLookupReply(order=order)

    def register(self, bus: Bus) -> None:
        bus.respond(GATEWAY_POSITIONS.subject(), self.positions)
        bus.respond(GATEWAY_BALANCES.subject(), self.balances)
        bus.respond(GATEWAY_FILLS_PAGE.subject(), self.fills_page)
        bus.respond(GATEWAY_ORDER_LOOKUP.subject(), self.order_lookup)
