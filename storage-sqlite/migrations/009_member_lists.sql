-- Carespace on SQLite, version 9: a page of a workspace's members from one index (R22,
-- R43). The member list sorts by role (admins, approved members, unapproved members,
-- archived members), then name ignoring case, then id; reading every membership of a
-- ward to sort it in Rust cost a ward's size per page. Each membership now carries its
-- rank and its user's name key (the name in lower case, Rust's fold: a user's name is
-- never changed, and every write of a membership copies it again), and the index walks
-- them in the list's order. `users.name_key` is the source; Rust fills both after this.
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
