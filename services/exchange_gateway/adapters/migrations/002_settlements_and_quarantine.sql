-- Checkpoints for every venue feed (fills, settlements), not fills only: the fill pollers'
-- checkpoints move over unchanged, so an upgrade neither re-walks nor skips history.
CREATE TABLE feed_checkpoints (
    venue text NOT NULL,
    feed text NOT NULL,
    backfill_done boolean NOT NULL DEFAULT false,
    backfill_cursor text,
    high_water timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, feed)
);

INSERT INTO feed_checkpoints (venue, feed, backfill_done, backfill_cursor, high_water, updated_at)
    SELECT venue, 'fills', backfill_done, backfill_cursor, high_water, updated_at FROM fill_checkpoints;

DROP TABLE fill_checkpoints;

-- One settlement per venue, account and market, published once.
CREATE TABLE published_settlements (
    venue text NOT NULL,
    account text NOT NULL,
    instrument_id text NOT NULL,
    event_id text NOT NULL UNIQUE,
    result text NOT NULL,
    settled_at timestamptz NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, account, instrument_id)
);

-- Venue rows that could not be read, kept verbatim (numbers with fractions as decimal strings)
-- with the error, so an operator can see and replay them; the alert id says which alert told.
CREATE TABLE quarantined_rows (
    venue text NOT NULL,
    feed text NOT NULL,
    row_key text NOT NULL,
    raw jsonb NOT NULL,
    error text NOT NULL,
    alert_id text NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, feed, row_key)
);
