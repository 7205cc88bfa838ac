-- Carespace on PostgreSQL, version 7: a member's permission check is one row (R34).
-- Each membership keeps what the check needs besides its own state: the workspace's
-- organisation (which never changes), whether the workspace is active, and whether the
-- user belongs to that organisation. Every write of a membership computes the three
-- again; these triggers follow the workspace and the organisation membership when they
-- change (a workspace archived or restored, a user joining the organisation; nobody
-- leaves one). Before this the check was a plan of eleven nodes, and starting it cost
-- the server more than running it.
ALTER TABLE memberships ADD COLUMN organisation uuid;
ALTER TABLE memberships ADD COLUMN workspace_active boolean;
ALTER TABLE memberships ADD COLUMN in_organisation boolean;
UPDATE memberships m SET
    organisation = w.organisation,
    workspace_active = (w.status = 'active'),
    in_organisation = EXISTS (SELECT 1 FROM organisation_members o
                              WHERE o.organisation = w.organisation AND o."user" = m."user")
FROM workspaces w WHERE w.id = m.workspace;
ALTER TABLE memberships ALTER COLUMN organisation SET NOT NULL;
ALTER TABLE memberships ALTER COLUMN workspace_active SET NOT NULL;
ALTER TABLE memberships ALTER COLUMN in_organisation SET NOT NULL;

CREATE FUNCTION carespace_keep_workspace_active() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE memberships SET workspace_active = (NEW.status = 'active') WHERE workspace = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER workspaces_kept_on_memberships AFTER UPDATE OF status ON workspaces
    FOR EACH ROW WHEN ((OLD.status = 'active') <> (NEW.status = 'active'))
    EXECUTE FUNCTION carespace_keep_workspace_active();

CREATE FUNCTION carespace_keep_in_organisation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE memberships SET in_organisation = true
    WHERE "user" = NEW."user" AND organisation = NEW.organisation AND NOT in_organisation;
    RETURN NULL;
END
$$;
CREATE TRIGGER organisation_members_kept_on_memberships AFTER INSERT ON organisation_members
    FOR EACH ROW EXECUTE FUNCTION carespace_keep_in_organisation();
