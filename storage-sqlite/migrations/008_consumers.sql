-- Carespace on SQLite, version 8: event consumers (R42). Each row is a host's named
-- reader of the log and the last event number it acknowledged; acknowledging updates
-- it in place and appends no event.
CREATE TABLE consumers (
    name         TEXT    NOT NULL PRIMARY KEY
                         CHECK (length(name) BETWEEN 1 AND 64 AND name NOT GLOB '*[^A-Za-z0-9._-]*'),
    acknowledged INTEGER NOT NULL CHECK (acknowledged >= 0),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
