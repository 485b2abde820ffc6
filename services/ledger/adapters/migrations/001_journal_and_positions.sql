-- The ledger's journal (append-only: rows are inserted, never updated or deleted) and the book
-- derived from it (positions, recomputable from the journal at any time).

-- One row per (venue, fill id): the first copy that arrived. The statuses of a Polymarket trade
-- are facts of their own (journal_fill_statuses); a FAILED one adds a reversal, never an edit.
CREATE TABLE journal_fills (
    venue            text        NOT NULL,
    fill_id          text        NOT NULL,
    event_id         text        NOT NULL,
    account          text        NOT NULL,
    order_id         text,
    client_order_id  text,
    instrument_id    text        NOT NULL,
    outcome          text        NOT NULL CHECK (outcome IN ('yes', 'no')),
    side             text        NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity         numeric     NOT NULL CHECK (quantity > 0),
    price            numeric     NOT NULL CHECK (price >= 0 AND price <= 1),
    fee              numeric     NOT NULL,
    status           text        NOT NULL,
    is_taker         boolean,
    executed_at      timestamptz NOT NULL,
    occurred_at      timestamptz NOT NULL,
    origin           text        NOT NULL CHECK (origin IN ('own', 'external')),
    strategy_name    text,
    raw              jsonb       NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, fill_id)
);
CREATE INDEX journal_fills_instrument ON journal_fills (venue, instrument_id);

CREATE TABLE journal_fill_statuses (
    venue        text        NOT NULL,
    fill_id      text        NOT NULL,
    status       text        NOT NULL,
    event_id     text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, fill_id, status)
);

-- A fill that stopped counting (a Polymarket trade that FAILED on chain).
CREATE TABLE journal_reversals (
    venue        text        NOT NULL,
    fill_id      text        NOT NULL,
    reversed_at  timestamptz NOT NULL,
    reason       text        NOT NULL,
    event_id     text        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, fill_id)
);

CREATE TABLE journal_settlements (
    venue          text        NOT NULL,
    account        text        NOT NULL,
    instrument_id  text        NOT NULL,
    event_id       text        NOT NULL,
    yes_token_id   text,
    no_token_id    text,
    result         text        NOT NULL,
    value          numeric,
    yes_count      numeric     NOT NULL,
    no_count       numeric     NOT NULL,
    yes_cost       numeric     NOT NULL,
    no_cost        numeric     NOT NULL,
    revenue        numeric     NOT NULL,
    fees           numeric     NOT NULL,
    settled_at     timestamptz NOT NULL,
    occurred_at    timestamptz NOT NULL,
    raw            jsonb       NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, account, instrument_id)
);
CREATE INDEX journal_settlements_yes_token ON journal_settlements (venue, yes_token_id);
CREATE INDEX journal_settlements_no_token ON journal_settlements (venue, no_token_id);

-- Holdings imported from another ledger (`trueup import`): from as_of on, the instrument's position.
CREATE TABLE journal_openings (
    source_id      text        PRIMARY KEY,
    venue          text        NOT NULL,
    instrument_id  text        NOT NULL,
    outcome        text        NOT NULL CHECK (outcome IN ('yes', 'no')),
    quantity       numeric     NOT NULL CHECK (quantity >= 0),
    avg_price      numeric     NOT NULL,
    cost_basis     numeric     NOT NULL,
    realized_pnl   numeric     NOT NULL,
    fees           numeric     NOT NULL,
    opened_at      timestamptz NOT NULL,
    as_of          timestamptz NOT NULL,
    strategy_name  text,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX journal_openings_instrument ON journal_openings (venue, instrument_id);

-- The book: one row per position lifecycle, rewritten from the journal (ids are deterministic).
CREATE TABLE positions (
    id                 text        PRIMARY KEY,
    venue              text        NOT NULL,
    instrument_id      text        NOT NULL,
    outcome            text        NOT NULL CHECK (outcome IN ('yes', 'no')),
    quantity           numeric     NOT NULL,
    avg_price          numeric     NOT NULL,
    cost_basis         numeric     NOT NULL,
    realized_pnl       numeric     NOT NULL,
    fees               numeric     NOT NULL,
    unmatched_sold     numeric     NOT NULL,
    opened_at          timestamptz NOT NULL,
    closed_at          timestamptz,
    opened_by          text        NOT NULL,
    strategy_name      text,
    origin             text        NOT NULL CHECK (origin IN ('own', 'external', 'imported')),
    settlement_result  text,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX positions_instrument ON positions (venue, instrument_id);
CREATE INDEX positions_open ON positions (venue, instrument_id) WHERE closed_at IS NULL;
CREATE INDEX positions_strategy ON positions (strategy_name);
CREATE INDEX positions_opened_at ON positions (opened_at);

-- The last event each instrument's positions have applied (the fold's sort key): a new event
-- after it applies incrementally; one before it means the instrument is recomputed.
CREATE TABLE instrument_cursors (
    venue          text        NOT NULL,
    instrument_id  text        NOT NULL,
    applied_at     timestamptz NOT NULL,
    applied_kind   smallint    NOT NULL,
    applied_venue  text        NOT NULL,
    applied_id     text        NOT NULL,
    PRIMARY KEY (venue, instrument_id)
);

-- What the ledger knows about an instrument beyond its id: market and title, from the venue.
CREATE TABLE instruments (
    venue          text        NOT NULL,
    instrument_id  text        NOT NULL,
    market_id      text,
    title          text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, instrument_id)
);

-- Latest mark per instrument; `price` is the instrument's (YES for Kalshi) mark price.
CREATE TABLE marks (
    venue          text        NOT NULL,
    instrument_id  text        NOT NULL,
    best_bid       numeric,
    best_ask       numeric,
    mid            numeric,
    last           numeric,
    price          numeric,
    as_of          timestamptz NOT NULL,
    event_id       text        NOT NULL,
    PRIMARY KEY (venue, instrument_id)
);

CREATE TABLE balances (
    venue            text        PRIMARY KEY,
    account          text        NOT NULL,
    cash             numeric     NOT NULL,
    portfolio_value  numeric,
    as_of            timestamptz NOT NULL,
    event_id         text        NOT NULL
);

-- The venue mirror (SPEC-013): the latest holding each venue reported, beside the fills-derived
-- book; an instrument a complete snapshot no longer reports is closed (quantity 0, closed_at).
CREATE TABLE venue_positions (
    venue          text        NOT NULL,
    account        text        NOT NULL,
    instrument_id  text        NOT NULL,
    outcome        text        NOT NULL CHECK (outcome IN ('yes', 'no')),
    quantity       numeric     NOT NULL,
    avg_price      numeric,
    cost_basis     numeric,
    market_value   numeric,
    title          text,
    raw            jsonb       NOT NULL,
    first_seen     timestamptz NOT NULL,
    last_synced    timestamptz NOT NULL,
    closed_at      timestamptz,
    PRIMARY KEY (venue, account, instrument_id, outcome)
);

CREATE TABLE portfolio_snapshots (
    snapshot_at         timestamptz PRIMARY KEY,
    open_positions      integer     NOT NULL,
    total_cost_basis    numeric     NOT NULL,
    total_market_value  numeric     NOT NULL,
    unrealized_pnl      numeric     NOT NULL,
    realized_pnl        numeric     NOT NULL,
    fees                numeric     NOT NULL,
    cash                numeric,
    net_liquidation     numeric     NOT NULL,
    unvalued_positions  integer     NOT NULL
);

-- Positions valued at the latest mark of the held outcome (a Kalshi NO at 1 − the YES mark).
CREATE VIEW positions_valued AS
SELECT v.*,
       v.mark_price * v.quantity                  AS market_value,
       (v.mark_price - v.avg_price) * v.quantity  AS unrealized_pnl
FROM (
    SELECT p.*,
           CASE WHEN p.closed_at IS NULL THEN 'open' ELSE 'closed' END AS status,
           COALESCE(i.market_id, p.instrument_id) AS market_id,
           i.title,
           CASE WHEN m.price IS NULL THEN NULL
                WHEN p.venue = 'kalshi' AND p.outcome = 'no' THEN 1 - m.price
                ELSE m.price END AS mark_price,
           m.as_of AS mark_as_of
    FROM positions p
    LEFT JOIN instruments i ON i.venue = p.venue AND i.instrument_id = p.instrument_id
    LEFT JOIN marks m ON m.venue = p.venue AND m.instrument_id = p.instrument_id
) v;
