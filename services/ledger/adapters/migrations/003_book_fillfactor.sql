-- The book's rows are rewritten on every fill of their instrument: room on each page lets
-- Postgres update them in place (HOT) without touching the indexes, whose columns never change.
ALTER TABLE positions SET (fillfactor = 80);
ALTER TABLE instrument_cursors SET (fillfactor = 80);
