-- Carespace schema, version 5: the organisation directory (R40). Organisations gain the
-- kinds of the ODS prescribing settings, their name as the ODS file spells it, their
-- postcode and the day they closed; a table of the words of their names makes a
-- name-fragment search a range of an index. SQLite cannot change a CHECK constraint in
-- place, so the table is rebuilt (the migration runs with foreign keys off and checks
-- them before it commits).

CREATE TABLE organisations_v5 (
    id            BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    kind          TEXT    NOT NULL CHECK (kind IN ('nhs_trust', 'gp_practice', 'pharmacy', 'other', 'walk_in_centre',
                      'out_of_hours', 'urgent_care', 'community_service', 'hospital_service', 'optometry', 'hospice',
                      'care_home', 'justice_health')),
    ods_code      TEXT    UNIQUE CHECK (ods_code IS NULL OR (length(ods_code) BETWEEN 3 AND 6 AND ods_code = upper(ods_code))),
    registered_at INTEGER NOT NULL,
    source_name   TEXT    CHECK (source_name IS NULL OR length(source_name) BETWEEN 1 AND 200),
    postcode      TEXT    CHECK (postcode IS NULL OR (length(postcode) BETWEEN 1 AND 10 AND postcode = upper(postcode))),
    closed_on     TEXT    CHECK (closed_on IS NULL OR closed_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]')
) STRICT;
INSERT INTO organisations_v5 (id, name, kind, ods_code, registered_at)
    SELECT id, name, kind, ods_code, registered_at FROM organisations;
DROP TABLE organisations;
ALTER TABLE organisations_v5 RENAME TO organisations;

-- Search by postcode prefix: a range of this index.
CREATE INDEX organisations_by_postcode ON organisations (postcode) WHERE postcode IS NOT NULL;

-- Every prefix of every folded word of each organisation's name, once
-- (`carespace::directory::indexed_prefixes`), written with the organisation. A row
-- carries the organisation's search order for its prefix (closed, the prefix's
-- relevance, the name's key), and the primary key is in that order after the prefix:
-- a page of a search is a seek and a short walk of the key, however common the
-- prefix. The second index answers "has this organisation that prefix too?" for a
-- search's other words, and deletes an organisation's rows.
CREATE TABLE organisation_prefixes (
    prefix       TEXT    NOT NULL CHECK (length(prefix) BETWEEN 1 AND 120),
    organisation BLOB    NOT NULL REFERENCES organisations (id),
    closed       INTEGER NOT NULL CHECK (closed IN (0, 1)),
    relevance    INTEGER NOT NULL CHECK (relevance IN (0, 1)),
    name_key     TEXT    NOT NULL,
    PRIMARY KEY (prefix, closed, relevance, name_key, organisation)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX organisation_prefixes_of ON organisation_prefixes (organisation, prefix);

-- The prefixes of the organisations already there are written by `schema.rs` after this
-- file, in the same transaction: folding a name is Rust's job (one fold for every
-- backend).
