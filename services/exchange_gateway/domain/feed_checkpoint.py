"""Where the next poll of a venue feed (fills, settlements) starts, so a restart neither misses an
event nor invents a new one.

Two phases per venue and feed:
- backfill: walk the whole history with the venue's cursor, persisting the cursor after each
  page, so a restart resumes at the page it was on;
- incremental: ask for fills since the high-water mark, minus an overlap for fills the venue
  records late, and never later than the oldest still-provisional fill (a Polymarket trade that
  is not yet CONFIRMED or FAILED must be seen again to publish its next status; settlements are
  final, so they have none).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

TERMINAL_STATUSES = frozenset({"confirmed", "failed"})
OVERLAP = timedelta(seconds=60)


@dataclass(frozen=True)
class FeedCheckpoint:
    venue: str
    backfill_done: bool = False
    backfill_cursor: str | None = None
    high_water: datetime | None = None

    def after_backfill_page(self, next_cursor: str | None, newest_seen: datetime | None) -> FeedCheckpoint:
        high_water = _latest(self.high_water, newest_seen)
        if next_cursor is None:
            return replace(self, backfill_done=True, backfill_cursor=None, high_water=high_water)
        return replace(self, backfill_cursor=next_cursor, high_water=high_water)

    def after_incremental_poll(self, newest_seen: datetime | None) -> FeedCheckpoint:
        return replace(self, high_water=_latest(self.high_water, newest_seen))


def incremental_min_ts(checkpoint: FeedCheckpoint, oldest_provisional: datetime | None) -> datetime | None:
    if checkpoint.high_water is None:
        return oldest_provisional
    start = checkpoint.high_water - OVERLAP
    if oldest_provisional is not None and oldest_provisional < start:
        return oldest_provisional
    return start


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
