-- Carespace on SQLite, version 7: a user's name read from one index, not two b-trees.
--
-- `users` is a rowid table whose BLOB key is a separate unique index, so reading a
-- user's name by id walks that index and then the table. Discovery names each listed
-- workspace's admins (R11): at NHS-England scale (`populate`) those lookups were two
-- thirds of a discovery page. This index covers the lookup.
CREATE INDEX users_names ON users (id, name);
