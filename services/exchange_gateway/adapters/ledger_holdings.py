"""What the ledger holds open on a venue (`rpc.ledger.open_instruments`), for the mark publisher:
an instrument the ledger holds but the venue no longer does (a ghost: transferred out) needs a
mark too, or the ledger cannot value it.

The ledger is asked at most once per reuse window (the caller's: the one the holdings snapshot
has). Its answer changes only when a position opens or closes, and a window-old list delays a new
ghost's first mark by at most one window. Asking never fails the caller: a ledger that is down or
slow (past a short timeout) leaves the last answer in use, is said once (and once more when it
answers again), and is asked again after the window, so a slow ledger costs at most one short
wait per window.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from services.exchange_gateway.domain.snapshot_cache import Cached, is_fresh
from shared.bus import Bus
from shared.contracts import Venue
from shared.contracts.channels import LEDGER_OPEN_INSTRUMENTS
from shared.contracts.ledger import OpenInstrumentsRequest
from shared.logs import get_logger

log = get_logger(__name__)

# The ledger answers from one index in milliseconds; longer means it is in trouble.
LEDGER_TIMEOUT_SECONDS = 2.0


class LedgerHoldings:
    def __init__(self, bus: Bus, timeout_s: float = LEDGER_TIMEOUT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bus = bus
        self.timeout = timeout_s
        self.clock = clock
        self._answers: dict[Venue, Cached[frozenset[str]]] = {}
        # The ledger left the last question unanswered (any venue's): said once, not every round.
        self._unanswered = False

    async def open_instruments(self, venue: Venue, max_age_s: float) -> frozenset[str]:
        """The instruments the ledger holds open on `venue`: its answer younger than `max_age_s`,
        else asked now; the last answer (none: empty) when it does not answer in time."""
        cached = self._answers.get(venue)
        if is_fresh(cached, self.clock(), max_age_s, force_refresh=False):
            return cached.value
        try:
            reply = await self.bus.request(LEDGER_OPEN_INSTRUMENTS.subject(), OpenInstrumentsRequest(venue=venue),
                                           timeout=self.timeout)
        except Exception as exc:  # whatever went wrong, the venue's own holdings are marked all the same
            if not self._unanswered:
                log.warning("ledger did not say what it holds; marking its last answer and the venues' holdings",
                            venue=venue, error=str(exc))
                self._unanswered = True
            held = cached.value if cached is not None else frozenset()
        else:
            if self._unanswered:
                log.info("ledger says what it holds again", venue=venue)
                self._unanswered = False
            held = frozenset(reply.instrument_ids)
        self._answers[venue] = Cached(held, self.clock())
        return held
