-- A big account's venue snapshot arrives as several facts (parts); the mirror closes what the
-- venue no longer holds only once every part of that snapshot is in. Parts are forgotten a day
-- after their snapshot (a redelivery that late finds the mirror newer and is ignored anyway).
CREATE TABLE venue_snapshot_parts (
    snapshot_id    text        NOT NULL,
    part           integer     NOT NULL,
    parts          integer     NOT NULL CHECK (parts > 1 AND part >= 0 AND part < parts),
    snapshot_time  timestamptz NOT NULL,
    PRIMARY KEY (snapshot_id, part)
);
CREATE INDEX venue_snapshot_parts_time ON venue_snapshot_parts (snapshot_time);
