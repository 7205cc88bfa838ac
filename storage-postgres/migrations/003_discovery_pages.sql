-- Carespace on PostgreSQL, version 3: discovery in pages (R43). A page is the active
-- workspaces of one organisation from a name key on, in name-key order compared byte
-- by byte (COLLATE "C", as Rust compares them, whatever the database's collation):
-- a seek and a walk of this index, cut by the page's LIMIT. (SQLite's unique index of
-- active names already serves, its BINARY order being the same.)
CREATE INDEX workspaces_discovery ON workspaces (organisation, (name_key COLLATE "C")) WHERE status = 'active';
