-- Carespace on SQLite, version 10: a member's permission check is one row (R34). Each
-- membership keeps what the check needs besides its own state: the workspace's
-- organisation (which never changes), whether the workspace is active, and whether the
-- user belongs to that organisation. Every write of a membership computes the three
-- again; the triggers at the end follow the workspace and the organisation membership
-- when they change (a workspace archived or restored, a user joining the organisation;
-- nobody leaves one). Before this the check joined four tables: three seeks against one.
--
-- The table is rebuilt (SQLite cannot add a NOT NULL column without a default, nor
-- change a CHECK in place), and its status check is now written as comparisons: SQLite
-- checks `status IN (three values)` by building a temporary index on every insert and
-- update, which cost an approval a tenth of its work (callgrind).
CREATE TABLE memberships_v10 (
    workspace        BLOB    NOT NULL REFERENCES workspaces (id),
    user             BLOB    NOT NULL REFERENCES users (id),
    role             TEXT    NOT NULL CHECK (role = 'admin' OR role = 'member'),
    status           TEXT    NOT NULL CHECK (status = 'unapproved' OR status = 'approved' OR status = 'archived'),
    joined_at        INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    ends_at          INTEGER,
    end_notice       TEXT    CHECK (end_notice = 'reminded' OR end_notice = 'kept_as_last_admin'),
    escalated_at     INTEGER,
    list_rank        INTEGER NOT NULL CHECK (list_rank BETWEEN 0 AND 3),
    name_key         TEXT    NOT NULL,
    organisation     BLOB    NOT NULL CHECK (length(organisation) = 16),
    workspace_active INTEGER NOT NULL CHECK (workspace_active = 0 OR workspace_active = 1),
    in_organisation  INTEGER NOT NULL CHECK (in_organisation = 0 OR in_organisation = 1),
    PRIMARY KEY (workspace, user),
    -- Admins are always approved (R22, R25).
    CHECK (role = 'member' OR status = 'approved')
) STRICT, WITHOUT ROWID;
INSERT INTO memberships_v10
    SELECT m.workspace, m.user, m.role, m.status, m.joined_at, m.updated_at, m.ends_at, m.end_notice,
           m.escalated_at, m.list_rank, m.name_key, w.organisation, w.status = 'active',
           EXISTS (SELECT 1 FROM organisation_members o WHERE o.organisation = w.organisation AND o.user = m.user)
    FROM memberships m JOIN workspaces w ON w.id = m.workspace;
DROP TABLE memberships;
ALTER TABLE memberships_v10 RENAME TO memberships;

-- The indexes and triggers of versions 2, 3, 4 and 9, as they were.
CREATE INDEX memberships_by_user ON memberships (user, workspace);
CREATE INDEX memberships_admins ON memberships (workspace, user) WHERE role = 'admin';
CREATE INDEX memberships_waiting ON memberships (joined_at) WHERE status = 'unapproved' AND escalated_at IS NULL;
CREATE INDEX memberships_ending ON memberships (ends_at) WHERE ends_at IS NOT NULL;
CREATE INDEX memberships_page ON memberships (workspace, list_rank, name_key, user);
CREATE TRIGGER memberships_counted_in AFTER INSERT ON memberships WHEN NEW.status != 'archived'
BEGIN
    UPDATE workspaces SET member_count = member_count + 1 WHERE id = NEW.workspace;
END;
CREATE TRIGGER memberships_counted_out AFTER DELETE ON memberships WHEN OLD.status != 'archived'
BEGIN
    UPDATE workspaces SET member_count = member_count - 1 WHERE id = OLD.workspace;
END;
CREATE TRIGGER memberships_recounted AFTER UPDATE OF status ON memberships
    WHEN (OLD.status = 'archived') != (NEW.status = 'archived')
BEGIN
    UPDATE workspaces SET member_count = member_count + (CASE WHEN NEW.status = 'archived' THEN -1 ELSE 1 END)
    WHERE id = NEW.workspace;
END;

-- The kept answer follows its workspace and its user's organisation membership.
CREATE TRIGGER workspaces_kept_on_memberships AFTER UPDATE OF status ON workspaces
    WHEN (OLD.status = 'active') != (NEW.status = 'active')
BEGIN
    UPDATE memberships SET workspace_active = (NEW.status = 'active') WHERE workspace = NEW.id;
END;
CREATE TRIGGER organisation_members_kept_on_memberships AFTER INSERT ON organisation_members
BEGIN
    UPDATE memberships SET in_organisation = 1
    WHERE user = NEW.user AND organisation = NEW.organisation AND in_organisation = 0;
END;
