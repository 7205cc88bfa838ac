-- Carespace schema, version 2: the indexes the queries need, and the uniqueness rules
-- that hold only for some rows.

-- R6: a name is unique among an organisation's *active* workspaces.
CREATE UNIQUE INDEX workspaces_active_name ON workspaces (organisation, name_key) WHERE status = 'active';
CREATE INDEX workspaces_by_organisation ON workspaces (organisation, status);

-- R18: one pending invite per address and workspace.
CREATE UNIQUE INDEX invites_pending ON invites (workspace, email) WHERE status = 'pending';
CREATE INDEX invites_pending_by_email ON invites (email) WHERE status = 'pending';

-- The switcher and the approvals prompt go from a user to their memberships.
CREATE INDEX memberships_by_user ON memberships (user, workspace);
CREATE INDEX organisation_members_by_user ON organisation_members (user, organisation);

CREATE INDEX conversations_by_workspace ON conversations (workspace, started_at);
