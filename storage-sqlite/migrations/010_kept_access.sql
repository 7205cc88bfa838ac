-- Carespace on SQLite, version 10: a member's permission check is one row (R34). Each
-- membership keeps what the check needs besides its own state: the workspace's
-- organisation (which never changes), whether the workspace is active, and whether the
-- user belongs to that organisation. Every write of a membership computes the three
-- again; these triggers follow the workspace and the organisation membership when they
-- change (a workspace archived or restored, a user joining the organisation; nobody
-- leaves one). Before this the check joined four tables: three seeks against one.
ALTER TABLE memberships ADD COLUMN organisation BLOB NOT NULL DEFAULT x'';
ALTER TABLE memberships ADD COLUMN workspace_active INTEGER NOT NULL DEFAULT 0 CHECK (workspace_active IN (0, 1));
ALTER TABLE memberships ADD COLUMN in_organisation INTEGER NOT NULL DEFAULT 0 CHECK (in_organisation IN (0, 1));
UPDATE memberships SET
    organisation = (SELECT w.organisation FROM workspaces w WHERE w.id = memberships.workspace),
    workspace_active = (SELECT w.status = 'active' FROM workspaces w WHERE w.id = memberships.workspace),
    in_organisation = EXISTS (SELECT 1 FROM workspaces w JOIN organisation_members o ON o.organisation = w.organisation
                              WHERE w.id = memberships.workspace AND o.user = memberships.user);
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
