"""Whether the gateway reaches a venue, told only when that changes. Pure.

A venue's fills feed is its heartbeat: a poll that fails after polls that succeeded (or before
any did) means the venue is lost; the first poll that succeeds after that means it is back, and
fills may have been missed meanwhile (the reconciler runs then). A successful poll while
connected tells nothing, so the bus carries transitions, not heartbeats. The first success at
start is not a reconnect either: the reconciler runs at its own start.

A transition that could not be published yet stays pending with its original time, so a retry
publishes the same event (same id); if the venue flips back before it goes out, it is dropped.
"""

from __future__ import annotations

from datetime import datetime

from shared.contracts import VenueConnectivity, deterministic_id


class VenueLink:
    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.connected: bool | None = None  # as last told; None: nothing polled yet
        self._pending: VenueConnectivity | None = None

    def observe(self, connected: bool, at: datetime, reason: str) -> VenueConnectivity | None:
        """A poll's outcome; returns the event to publish when it changes what was told (and
        `published` must follow once it is on the bus)."""
        if self.connected is None and connected:
            self.connected = True
            return None
        if connected == self.connected:
            self._pending = None
            return None
        if self._pending is None or self._pending.connected != connected:
            self._pending = VenueConnectivity(
                event_id=deterministic_id(self.venue, "venue_connectivity", connected, at.isoformat()),
                occurred_at=at, venue=self.venue, connected=connected, since=at, reason=reason,
            )
        return self._pending

    def published(self, event: VenueConnectivity) -> None:
        self.connected = event.connected
        self._pending = None
