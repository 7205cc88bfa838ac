-- Carespace on PostgreSQL, version 6: a page of a workspace's members from one index
-- (R22, R43), and discovery's member counts kept on each workspace (R11). The member
-- list sorts by role (admins, approved members, unapproved members, archived members),
-- then name ignoring case, then id; reading every membership of a ward to sort it in
-- Rust cost a ward's size per page. Each membership now carries its rank and its user's
-- name key (the name in lower case, Rust's fold, compared byte by byte: a user's name
-- is never changed, and every write of a membership copies it again), and the index
-- walks them in the list's order. `users.name_key` is the source; Rust fills both after
-- this.
ALTER TABLE users ADD COLUMN name_key text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN list_rank integer NOT NULL DEFAULT 0 CHECK (list_rank BETWEEN 0 AND 3);
ALTER TABLE memberships ADD COLUMN name_key text COLLATE "C" NOT NULL DEFAULT '';
UPDATE memberships SET list_rank = CASE
    WHEN role = 'admin' THEN 0
    WHEN status = 'approved' THEN 1
    WHEN status = 'unapproved' THEN 2
    ELSE 3
END;
CREATE INDEX memberships_page ON memberships (workspace, list_rank, name_key, "user");

-- Discovery shows each listed workspace's current members (R11): a count kept on the
-- workspace by these triggers, not a count of the ward's memberships per row listed.
-- A membership counts unless it is archived.
ALTER TABLE workspaces ADD COLUMN member_count integer NOT NULL DEFAULT 0 CHECK (member_count >= 0);
UPDATE workspaces w SET member_count =
    (SELECT count(*) FROM memberships m WHERE m.workspace = w.id AND m.status <> 'archived');
CREATE FUNCTION carespace_count_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status <> 'archived' THEN
        UPDATE workspaces SET member_count = member_count - 1 WHERE id = OLD.workspace;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status <> 'archived' THEN
        UPDATE workspaces SET member_count = member_count + 1 WHERE id = NEW.workspace;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER memberships_counted_in AFTER INSERT ON memberships
    FOR EACH ROW WHEN (NEW.status <> 'archived') EXECUTE FUNCTION carespace_count_members();
CREATE TRIGGER memberships_counted_out AFTER DELETE ON memberships
    FOR EACH ROW WHEN (OLD.status <> 'archived') EXECUTE FUNCTION carespace_count_members();
CREATE TRIGGER memberships_recounted AFTER UPDATE OF status ON memberships
    FOR EACH ROW WHEN ((OLD.status = 'archived') <> (NEW.status = 'archived')) EXECUTE FUNCTION carespace_count_members();
