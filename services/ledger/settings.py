from pydantic import Field

from shared.settings import BaseServiceSettings


class LedgerSettings(BaseServiceSettings):
    # Ingest: a batch is committed in one transaction when it holds this many messages, or when
    # this long has passed since its first message arrived (whichever comes first).
    ingest_batch_max_messages: int = Field(default=500, ge=1, le=10_000)
    ingest_batch_max_wait_seconds: float = Field(default=0.05, gt=0, le=10)
    # How often the portfolio's totals are stored for the history chart (one at start-up too).
    portfolio_snapshot_interval_seconds: float = Field(default=3600, ge=1)
