-- Ledgers imported from another bot (`trueup import positions.json`): each import that changed
-- something, and every record of its file as it was, so the reconciler can map markets by the
-- records' external ids. The holdings themselves are journal_openings rows.
CREATE TABLE imports (
    import_id      text        PRIMARY KEY,
    file_name      text        NOT NULL,
    file_sha256    text        NOT NULL,
    records        integer     NOT NULL CHECK (records >= 0),
    strategy_name  text,
    imported_at    timestamptz NOT NULL
);
CREATE INDEX imports_file ON imports (file_sha256);

CREATE TABLE import_records (
    import_id     text  NOT NULL REFERENCES imports (import_id),
    market_id     text  NOT NULL,
    description   text  NOT NULL,
    status        text  NOT NULL CHECK (status IN ('open', 'closed', 'resolved')),
    external_ids  jsonb,
    raw           jsonb NOT NULL,
    PRIMARY KEY (import_id, market_id)
);
CREATE INDEX import_records_market ON import_records (market_id);
