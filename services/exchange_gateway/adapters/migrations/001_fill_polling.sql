-- Where each venue's fill poller is (survives restarts) and which (fill, status) pairs it has
-- already published, so a restart republishes nothing it already sent.
CREATE TABLE fill_checkpoints (
    venue text PRIMARY KEY,
    backfill_done boolean NOT NULL DEFAULT false,
    backfill_cursor text,
    high_water timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE published_fills (
    venue text NOT NULL,
    fill_id text NOT NULL,
    status text NOT NULL,
    event_id text NOT NULL UNIQUE,
    executed_at timestamptz NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, fill_id, status)
);

CREATE INDEX published_fills_provisional ON published_fills (venue, executed_at)
    WHERE status NOT IN ('confirmed', 'failed');
