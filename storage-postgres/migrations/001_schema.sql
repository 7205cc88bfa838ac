-- Carespace on PostgreSQL, version 1: the SQLite schema's tables, constraints and
-- indexes (through its migration 004) in one step. Ids are uuid; times are UTC
-- nanoseconds since the Unix epoch in bigint, as on SQLite, so every instant core
-- writes reads back exactly; enums are lower-case text checked here behind core's rules.

CREATE TABLE organisations (
    id            uuid    PRIMARY KEY,
    name          text    NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    kind          text    NOT NULL CHECK (kind IN ('nhs_trust', 'gp_practice', 'pharmacy', 'other')),
    ods_code      text    UNIQUE CHECK (ods_code IS NULL OR (length(ods_code) BETWEEN 3 AND 6 AND ods_code = upper(ods_code))),
    registered_at bigint  NOT NULL
);

CREATE TABLE users (
    id            uuid    PRIMARY KEY,
    email         text    NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
    name          text    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    registered_at bigint  NOT NULL
);

CREATE TABLE organisation_members (
    organisation uuid   NOT NULL REFERENCES organisations (id),
    "user"       uuid   NOT NULL REFERENCES users (id),
    joined_at    bigint NOT NULL,
    PRIMARY KEY (organisation, "user")
);
CREATE INDEX organisation_members_by_user ON organisation_members ("user", organisation);

CREATE TABLE workspaces (
    id           uuid   PRIMARY KEY,
    organisation uuid   NOT NULL REFERENCES organisations (id),
    name         text   NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    name_key     text   NOT NULL,
    speciality   integer NOT NULL CHECK (speciality BETWEEN 100 AND 999),
    description  text   NOT NULL CHECK (length(description) <= 500),
    status       text   NOT NULL CHECK (status IN ('active', 'archived')),
    created_by   uuid   NOT NULL REFERENCES users (id),
    created_at   bigint NOT NULL
);
CREATE UNIQUE INDEX workspaces_active_name ON workspaces (organisation, name_key) WHERE status = 'active';
CREATE INDEX workspaces_by_organisation ON workspaces (organisation, status);

CREATE TABLE personal_workspaces (
    id           uuid   PRIMARY KEY,
    organisation uuid   NOT NULL REFERENCES organisations (id),
    owner        uuid   NOT NULL REFERENCES users (id),
    created_at   bigint NOT NULL,
    archived_at  bigint,
    UNIQUE (owner, organisation)
);

CREATE TABLE memberships (
    workspace    uuid   NOT NULL REFERENCES workspaces (id),
    "user"       uuid   NOT NULL REFERENCES users (id),
    role         text   NOT NULL CHECK (role IN ('admin', 'member')),
    status       text   NOT NULL CHECK (status IN ('unapproved', 'approved', 'archived')),
    joined_at    bigint NOT NULL,
    updated_at   bigint NOT NULL,
    ends_at      bigint,
    end_notice   text   CHECK (end_notice IN ('reminded', 'kept_as_last_admin')),
    escalated_at bigint,
    PRIMARY KEY (workspace, "user"),
    -- Admins are always approved (R22, R25).
    CHECK (role = 'member' OR status = 'approved')
);
CREATE INDEX memberships_by_user ON memberships ("user", workspace);
CREATE INDEX memberships_admins ON memberships (workspace, "user") WHERE role = 'admin';
CREATE INDEX memberships_waiting ON memberships (joined_at) WHERE status = 'unapproved' AND escalated_at IS NULL;
CREATE INDEX memberships_ending ON memberships (ends_at) WHERE ends_at IS NOT NULL;

CREATE TABLE invites (
    id          uuid   PRIMARY KEY,
    workspace   uuid   NOT NULL REFERENCES workspaces (id),
    email       text   NOT NULL CHECK (email = lower(email)),
    invited_by  uuid   NOT NULL REFERENCES users (id),
    created_at  bigint NOT NULL,
    expires_at  bigint NOT NULL,
    status      text   NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked', 'expired')),
    resolved_at bigint,
    resolved_by uuid   REFERENCES users (id)
);
-- R18: one pending invite per address and workspace.
CREATE UNIQUE INDEX invites_pending ON invites (workspace, email) WHERE status = 'pending';
CREATE INDEX invites_pending_by_email ON invites (email) WHERE status = 'pending';
CREATE INDEX invites_pending_by_expiry ON invites (expires_at) WHERE status = 'pending';

CREATE TABLE declines (
    workspace   uuid   NOT NULL REFERENCES workspaces (id),
    "user"      uuid   NOT NULL REFERENCES users (id),
    declined_at bigint NOT NULL,
    PRIMARY KEY (workspace, "user")
);

CREATE TABLE conversations (
    id         uuid   PRIMARY KEY,
    workspace  uuid   NOT NULL,
    started_by uuid   NOT NULL REFERENCES users (id),
    started_at bigint NOT NULL
);
CREATE INDEX conversations_by_workspace ON conversations (workspace, started_at);

-- The append-only log (R32). Its numbers come from the one-row counter below, updated
-- in the writing transaction: the row lock orders appenders and a rollback undoes the
-- increment, so the log has no gaps (a sequence would leave one per rollback).
CREATE TABLE events (
    seq     bigint PRIMARY KEY CHECK (seq > 0),
    at      bigint NOT NULL,
    actor   uuid   REFERENCES users (id),
    type    text   NOT NULL,
    payload jsonb  NOT NULL
);
CREATE INDEX events_by_workspace ON events ((payload ->> 'workspace'), seq) WHERE payload ? 'workspace';
CREATE INDEX events_by_user ON events ((payload ->> 'user'), seq) WHERE payload ? 'user';
CREATE INDEX events_created_by ON events (actor, seq) WHERE type = 'workspace_created';

CREATE TABLE event_counter (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last     bigint  NOT NULL CHECK (last >= 0)
);
INSERT INTO event_counter (last) VALUES (0);
