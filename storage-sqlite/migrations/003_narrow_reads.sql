-- Carespace schema, version 3: indexes for the narrow reads that keep a command's cost
-- independent of the size of the ward (the benchmarks of issue 7).

-- The admins of a workspace: the last-admin rules (R21, R23) and the approvers a join
-- request names (R16) read these, not every member.
CREATE INDEX memberships_admins ON memberships (workspace, user) WHERE role = 'admin';

-- The permission check reads a workspace's organisation and status by id: covered by
-- this index, it is one B-tree search instead of an index search and a table search.
CREATE INDEX workspaces_access ON workspaces (id, organisation, status);
