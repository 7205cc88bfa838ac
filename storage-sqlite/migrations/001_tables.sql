-- Carespace schema, version 1: the tables. Ids are 16-byte UUIDs, times are UTC
-- nanoseconds since the Unix epoch, enums are lower-case text checked here as a second
-- line of defence behind the rules in core.

CREATE TABLE organisations (
    id            BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    kind          TEXT    NOT NULL CHECK (kind IN ('nhs_trust', 'gp_practice', 'pharmacy', 'other')),
    ods_code      TEXT    UNIQUE CHECK (ods_code IS NULL OR (length(ods_code) BETWEEN 3 AND 6 AND ods_code = upper(ods_code))),
    registered_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id            BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    email         TEXT    NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
    name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    registered_at INTEGER NOT NULL
) STRICT;

CREATE TABLE organisation_members (
    organisation BLOB    NOT NULL REFERENCES organisations (id),
    user         BLOB    NOT NULL REFERENCES users (id),
    joined_at    INTEGER NOT NULL,
    PRIMARY KEY (organisation, user)
) STRICT, WITHOUT ROWID;

CREATE TABLE workspaces (
    id           BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    organisation BLOB    NOT NULL REFERENCES organisations (id),
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    -- The case-insensitive comparison key of R6, computed by core (Unicode lower-case).
    name_key     TEXT    NOT NULL,
    speciality   INTEGER NOT NULL CHECK (speciality BETWEEN 100 AND 999),
    description  TEXT    NOT NULL CHECK (length(description) <= 500),
    status       TEXT    NOT NULL CHECK (status IN ('active', 'archived')),
    created_by   BLOB    NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE personal_workspaces (
    id           BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    organisation BLOB    NOT NULL REFERENCES organisations (id),
    owner        BLOB    NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    archived_at  INTEGER,
    UNIQUE (owner, organisation)
) STRICT;

CREATE TABLE memberships (
    workspace  BLOB    NOT NULL REFERENCES workspaces (id),
    user       BLOB    NOT NULL REFERENCES users (id),
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    status     TEXT    NOT NULL CHECK (status IN ('unapproved', 'approved', 'archived')),
    joined_at  INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, user),
    -- Admins are always approved (R22, R25).
    CHECK (role = 'member' OR status = 'approved')
) STRICT, WITHOUT ROWID;

CREATE TABLE invites (
    id          BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    workspace   BLOB    NOT NULL REFERENCES workspaces (id),
    email       TEXT    NOT NULL CHECK (email = lower(email)),
    invited_by  BLOB    NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked', 'expired')),
    resolved_at INTEGER,
    resolved_by BLOB    REFERENCES users (id)
) STRICT;

CREATE TABLE declines (
    workspace   BLOB    NOT NULL REFERENCES workspaces (id),
    user        BLOB    NOT NULL REFERENCES users (id),
    declined_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, user)
) STRICT, WITHOUT ROWID;

-- A conversation belongs to a shared workspace or to a My Workspace; the two tables
-- share one id space, so there is no single table to reference.
CREATE TABLE conversations (
    id         BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    workspace  BLOB    NOT NULL CHECK (length(workspace) = 16),
    started_by BLOB    NOT NULL REFERENCES users (id),
    started_at INTEGER NOT NULL
) STRICT;

-- The append-only log (R32). seq is assigned as max + 1 inside the writing transaction,
-- so a rolled-back command leaves no gap.
CREATE TABLE events (
    seq     INTEGER NOT NULL PRIMARY KEY CHECK (seq > 0),
    at      INTEGER NOT NULL,
    actor   BLOB    REFERENCES users (id),
    type    TEXT    NOT NULL,
    payload TEXT    NOT NULL CHECK (json_valid(payload))
) STRICT;
