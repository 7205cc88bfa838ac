-- Carespace on SQLite, version 9: a page of a workspace's members from one index (R22,
-- R43), and discovery's member counts kept on each workspace (R11). The member list
-- sorts by role (admins, approved members, unapproved members, archived members), then
-- name ignoring case, then id; reading every membership of a ward to sort it in Rust
-- cost a ward's size per page. Each membership now carries its rank and its user's name
-- key (the name in lower case, Rust's fold: a user's name is never changed, and every
-- write of a membership copies it again), and the index walks them in the list's order.
-- `users.name_key` is the source; Rust fills both after this.
ALTER TABLE users ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN list_rank INTEGER NOT NULL DEFAULT 0 CHECK (list_rank BETWEEN 0 AND 3);
ALTER TABLE memberships ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE memberships SET list_rank = CASE
    WHEN role = 'admin' THEN 0
    WHEN status = 'approved' THEN 1
    WHEN status = 'unapproved' THEN 2
    ELSE 3
END;
CREATE INDEX memberships_page ON memberships (workspace, list_rank, name_key, user);

-- Discovery shows each listed workspace's current members (R11): a count kept on the
-- workspace by these triggers, not a count of the ward's memberships per row listed.
-- A membership counts unless it is archived.
ALTER TABLE workspaces ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0 CHECK (member_count >= 0);
UPDATE workspaces SET member_count =
    (SELECT count(*) FROM memberships m WHERE m.workspace = workspaces.id AND m.status != 'archived');
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
