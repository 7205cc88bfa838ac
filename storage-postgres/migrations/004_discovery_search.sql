-- Carespace on PostgreSQL, version 4: discovery's filters read indexes (R11, R43), so a
-- page costs its rows, not the organisation's workspaces.

-- Every prefix of every folded word of each active workspace's name, once
-- (`carespace::directory::indexed_prefixes`), written with the workspace and deleted
-- when it is archived. The primary key is in discovery's order after the prefix (name
-- keys compared byte by byte, as Rust compares them): a page of a name filter is a seek
-- and a walk. The second index answers "has this workspace that prefix?" for a
-- colleague's workspaces, and deletes a workspace's rows.
CREATE TABLE workspace_prefixes (
    organisation uuid NOT NULL REFERENCES organisations (id),
    prefix       text COLLATE "C" NOT NULL CHECK (length(prefix) BETWEEN 1 AND 120),
    name_key     text COLLATE "C" NOT NULL,
    workspace    uuid NOT NULL REFERENCES workspaces (id),
    PRIMARY KEY (organisation, prefix, name_key, workspace)
);
CREATE UNIQUE INDEX workspace_prefixes_of ON workspace_prefixes (workspace, prefix);

-- A speciality filter: the organisation's active workspaces of one speciality in name
-- order.
CREATE INDEX workspaces_by_speciality ON workspaces (organisation, speciality, (name_key COLLATE "C"))
    WHERE status = 'active';

-- The prefixes of the active workspaces already there are written by `lib.rs` after
-- this file: folding a name is Rust's job.
