-- Carespace schema, version 4: time-boxed memberships and the sweep (R38, R39), and the
-- indexes that let the audit queries read a workspace's or a person's events (R37)
-- instead of the whole log.

-- R39: when a membership ends, and what the sweep has said about it; R38: when a join
-- request was escalated.
ALTER TABLE memberships ADD COLUMN ends_at INTEGER;
ALTER TABLE memberships ADD COLUMN end_notice TEXT CHECK (end_notice IN ('reminded', 'kept_as_last_admin'));
ALTER TABLE memberships ADD COLUMN escalated_at INTEGER;

-- The sweep's three reads, each a range scan over only the rows that can be due.
CREATE INDEX invites_pending_by_expiry ON invites (expires_at) WHERE status = 'pending';
CREATE INDEX memberships_waiting ON memberships (joined_at) WHERE status = 'unapproved' AND escalated_at IS NULL;
CREATE INDEX memberships_ending ON memberships (ends_at) WHERE ends_at IS NOT NULL;

-- R37: the log by the workspace and by the person an event is about (the JSON fields
-- core's EventKind::workspace and EventKind::user read), and the workspaces a person
-- created (their creation names its creator only as the actor).
CREATE INDEX events_by_workspace ON events (json_extract(payload, '$.workspace'), seq)
    WHERE json_extract(payload, '$.workspace') IS NOT NULL;
CREATE INDEX events_by_user ON events (json_extract(payload, '$.user'), seq)
    WHERE json_extract(payload, '$.user') IS NOT NULL;
CREATE INDEX events_created_by ON events (actor, seq) WHERE type = 'workspace_created';
