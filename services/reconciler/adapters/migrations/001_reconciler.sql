-- The reconciler's own state: the mappings operators made, every run with its items, the
-- differences operators acknowledged, what has been alerted, and an audit log of every operator
-- action. Quantities and money are numeric (exact); a run's full content is kept as its JSON so
-- GET /api/v2/reconciliations/{id} returns exactly what was computed.

-- Markets an operator mapped (PUT /api/v2/mappings or the map action). Imported mappings stay the
-- ledger's (its import records) and are merged in at each run; an operator's mapping wins.
CREATE TABLE mappings (
    market_id             text        PRIMARY KEY,
    kalshi_market_ticker  text,
    poly_asset_yes        text,
    poly_asset_no         text,
    poly_condition_id     text,
    poly_market_slug      text,
    title                 text,
    source                text        NOT NULL DEFAULT 'operator' CHECK (source IN ('operator', 'import')),
    updated_at            timestamptz NOT NULL,
    updated_by            text        NOT NULL,
    CHECK (num_nonnulls(kalshi_market_ticker, poly_asset_yes, poly_asset_no, poly_condition_id,
                        poly_market_slug) > 0)
);

CREATE TABLE runs (
    run_id         text        PRIMARY KEY,
    trigger        text        NOT NULL CHECK (trigger IN ('startup', 'schedule', 'on_demand', 'reconnect')),
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL,
    snapshot_time  timestamptz NOT NULL,
    summary        jsonb       NOT NULL,
    errors         jsonb       NOT NULL,
    run            jsonb       NOT NULL
);
CREATE INDEX runs_newest_first ON runs (started_at DESC, run_id);

-- One row per (venue, instrument, outcome) of a run: its history is queryable without the JSON.
CREATE TABLE run_items (
    run_id               text    NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    item_no              integer NOT NULL CHECK (item_no >= 0),
    venue                text    NOT NULL CHECK (venue IN ('kalshi', 'polymarket')),
    instrument_id        text    NOT NULL,
    outcome              text    NOT NULL CHECK (outcome IN ('yes', 'no')),
    market_id            text,
    status               text    NOT NULL CHECK (status IN ('match', 'mismatch', 'unknown_mapping', 'api_error')),
    difference           text    CHECK (difference IN ('orphaned', 'ghost', 'drift')),
    internal_quantity    numeric NOT NULL,
    external_quantity    numeric,
    diff_quantity        numeric,
    internal_cost_basis  numeric,
    external_cost_basis  numeric,
    diff_cost_basis      numeric,
    acknowledged         boolean NOT NULL,
    reason               text    NOT NULL,
    PRIMARY KEY (run_id, item_no)
);
CREATE INDEX run_items_instrument ON run_items (venue, instrument_id, outcome);

-- A difference an operator marked as known: it holds while the difference's fingerprint is the
-- one acknowledged (a changed or resolved difference drops it).
CREATE TABLE acknowledgements (
    venue            text        NOT NULL CHECK (venue IN ('kalshi', 'polymarket')),
    instrument_id    text        NOT NULL,
    outcome          text        NOT NULL CHECK (outcome IN ('yes', 'no')),
    fingerprint      text        NOT NULL,
    actor            text        NOT NULL,
    reason           text        NOT NULL,
    acknowledged_at  timestamptz NOT NULL,
    PRIMARY KEY (venue, instrument_id, outcome)
);

-- The differences alerted, each with the fingerprint it was alerted at: the same difference is
-- not alerted again until it changes or resolves.
CREATE TABLE alert_state (
    venue          text        NOT NULL CHECK (venue IN ('kalshi', 'polymarket')),
    instrument_id  text        NOT NULL,
    outcome        text        NOT NULL CHECK (outcome IN ('yes', 'no')),
    fingerprint    text        NOT NULL,
    alerted_at     timestamptz NOT NULL,
    PRIMARY KEY (venue, instrument_id, outcome)
);

-- Every operator action and mapping change: who, why, on what, and what came of it.
CREATE TABLE audit_log (
    id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL,
    actor    text        NOT NULL,
    action   text        NOT NULL,
    target   jsonb       NOT NULL,
    reason   text        NOT NULL,
    outcome  text        NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
