"""How one venue feed (fills, settlements) is doing, as the gateway's health check reports it. Pure.

A feed that keeps failing its polls is "stalled" once it has gone longer than the threshold
without a successful one (counted from its start when it never succeeded): the gateway's health
then reads degraded instead of ok, so a stuck feed is seen rather than silently retried forever.

Lag is how far behind the venue the published stream can be: everything the venue had when the
last successful poll started has been read, so the lag is the time since that start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class FeedHealth:
    venue: str
    feed: str
    started_at: datetime
    last_success_at: datetime | None = None  # when the last successful poll started
    newest_event_at: datetime | None = None  # the newest venue event time the feed has read
    last_error: str | None = None
    quarantined: int = 0

    def poll_succeeded(self, started_at: datetime, newest_event_at: datetime | None) -> None:
        self.last_success_at = started_at
        if newest_event_at is not None:
            self.newest_event_at = newest_event_at
        self.last_error = None

    def poll_failed(self, error: str) -> None:
        self.last_error = error

    def stalled(self, now: datetime, stall_after: timedelta) -> bool:
        return now - (self.last_success_at or self.started_at) > stall_after

    def report(self, now: datetime, stall_after: timedelta) -> str:
        """One line for the health reply; it starts with "ok" exactly when the feed is healthy."""
        facts = [f"quarantined {self.quarantined}"]
        if self.newest_event_at is not None:
            facts.append(f"newest venue event {_iso(self.newest_event_at)}")
        if self.last_error is not None:
            facts.append(f"last error: {self.last_error}")
        if self.stalled(now, stall_after):
            since = self.last_success_at or self.started_at
            what = "no successful poll" if self.last_success_at else "no successful poll since start"
            head = f"stalled: {what} for {_seconds(now - since)} (threshold {_seconds(stall_after)})"
        elif self.last_success_at is None:
            head = "ok: starting, no poll finished yet"
        else:
            lag = _seconds(now - self.last_success_at)
            head = f"ok: last successful poll {_iso(self.last_success_at)}, lag {lag}"
        return "; ".join([head, *facts])


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _seconds(span: timedelta) -> str:
    return f"{span.total_seconds():.1f}s"
