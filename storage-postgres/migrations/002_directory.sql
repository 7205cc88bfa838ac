-- Carespace on PostgreSQL, version 2: the organisation directory (R40), as SQLite's
-- version 5. Organisations gain the kinds of the ODS prescribing settings, their name as
-- the ODS file spells it, their postcode and the day they closed; a table of the
-- prefixes of their names' words makes a page of a name-fragment search a seek of an
-- index. Prefixes, name keys and postcodes compare byte by byte (COLLATE "C"), as Rust
-- compares them, whatever the database's locale.

ALTER TABLE organisations DROP CONSTRAINT organisations_kind_check;
ALTER TABLE organisations ADD CONSTRAINT organisations_kind_check CHECK (kind IN ('nhs_trust', 'gp_practice',
    'pharmacy', 'other', 'walk_in_centre', 'out_of_hours', 'urgent_care', 'community_service', 'hospital_service',
    'optometry', 'hospice', 'care_home', 'justice_health'));
ALTER TABLE organisations
    ADD COLUMN source_name text CHECK (source_name IS NULL OR length(source_name) BETWEEN 1 AND 200),
    ADD COLUMN postcode text COLLATE "C" CHECK (postcode IS NULL OR (length(postcode) BETWEEN 1 AND 10 AND postcode = upper(postcode))),
    ADD COLUMN closed_on text CHECK (closed_on IS NULL OR closed_on ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$');

CREATE INDEX organisations_by_postcode ON organisations (postcode) WHERE postcode IS NOT NULL;

-- Every prefix of every folded word of each organisation's name, once
-- (`carespace::directory::indexed_prefixes`). A row carries the organisation's search
-- order for its prefix (closed, the prefix's relevance, the name's key, compared byte
-- by byte as Rust compares it), and the primary key is in that order after the prefix:
-- a page of a search is a seek and a short walk of the key, however common the
-- prefix. The second index answers "has this organisation that prefix too?" for a
-- search's other words, and deletes an organisation's rows.
CREATE TABLE organisation_prefixes (
    prefix       text COLLATE "C" NOT NULL CHECK (length(prefix) BETWEEN 1 AND 120),
    organisation uuid   NOT NULL REFERENCES organisations (id),
    closed       bigint NOT NULL CHECK (closed IN (0, 1)),
    relevance    bigint NOT NULL CHECK (relevance IN (0, 1)),
    name_key     text COLLATE "C" NOT NULL,
    PRIMARY KEY (prefix, closed, relevance, name_key, organisation)
);
CREATE UNIQUE INDEX organisation_prefixes_of ON organisation_prefixes (organisation, prefix);
