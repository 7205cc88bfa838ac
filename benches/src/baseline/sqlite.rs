//! The SQLite baseline: bare rusqlite on the store's file with the store's settings.

use std::path::Path;

use carespace::{OrganisationId, UserId, WorkspaceId};
use carespace_sqlite::Durability;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use super::{HandWritten, Ticks, approved_at, payload};

/// Bare rusqlite on the same file and settings, doing what each command does by hand:
/// the ceiling the SQLite backend is measured against. Writes are `BEGIN IMMEDIATE`
/// transactions, as the store's are.
pub struct SqliteBaseline {
    conn: Connection,
    now: Ticks,
}

/// Reads every column of a row into an owned value, as a hand-written loop that uses
/// what it selects would: the baseline pays for the values it returns, like Carespace.
fn read_all(row: &rusqlite::Row<'_>) -> rusqlite::Result<Vec<rusqlite::types::Value>> {
    (0..row.as_ref().column_count()).map(|i| row.get(i)).collect()
}

fn blob(id: impl Into<uuid::Uuid>) -> [u8; 16] {
    id.into().into_bytes()
}

impl SqliteBaseline {
    /// Opens `path` as `SqliteStore` would: WAL, foreign keys, the same `synchronous`,
    /// query planner stability.
    pub fn open(path: &Path, durability: Durability) -> Self {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        let sync = if durability == Durability::Full { "FULL" } else { "NORMAL" };
        conn.pragma_update(None, "synchronous", sync).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).unwrap();
        Self { conn, now: Ticks::new() }
    }

    fn append_event(tx: &Transaction<'_>, at: i64, actor: [u8; 16], kind: &str, payload: &str) {
        tx.prepare_cached(
            "INSERT INTO events (seq, at, actor, type, payload) VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM events), ?1, ?2, ?3, ?4)",
        )
        .unwrap()
        .execute(params![at, actor, kind, payload])
        .unwrap();
    }

    /// R27: the first shared membership archives the user's My Workspace, with an event.
    fn archive_my_workspace(tx: &Transaction<'_>, at: i64, organisation: OrganisationId, user: UserId) {
        let archived: Option<Vec<u8>> = tx
            .prepare_cached(
                "UPDATE personal_workspaces SET archived_at = ?3 WHERE owner = ?1 AND organisation = ?2 AND archived_at IS NULL \
                 RETURNING id",
            )
            .unwrap()
            .query_row(params![blob(user), blob(organisation), at], |r| r.get(0))
            .ok();
        if let Some(id) = archived {
            let id = uuid::Uuid::from_slice(&id).unwrap();
            let payload = payload::my_workspace_archived(id, organisation, user);
            Self::append_event(tx, at, blob(user), "my_workspace_archived", &payload);
        }
    }

    fn in_organisation(tx: &Transaction<'_>, organisation: OrganisationId, user: UserId) -> bool {
        tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM organisation_members WHERE organisation = ?1 AND user = ?2)")
            .unwrap()
            .query_row(params![blob(organisation), blob(user)], |r| r.get(0))
            .unwrap()
    }
}

impl HandWritten for SqliteBaseline {
    /// One primary-key lookup of the membership.
    fn can_view_all(&mut self, workspace: WorkspaceId, user: UserId) -> bool {
        let mut stmt =
            self.conn.prepare_cached("SELECT status FROM memberships WHERE workspace = ?1 AND user = ?2").unwrap();
        let status: Option<String> = stmt.query_row(params![blob(workspace), blob(user)], |r| r.get(0)).ok();
        status.as_deref() == Some("approved")
    }

    /// Two joined statements, every column the switcher shows read.
    fn my_workspaces(&mut self, user: UserId) -> usize {
        let mut shared = self
            .conn
            .prepare_cached(
                "SELECT w.id, w.organisation, w.name, w.speciality, w.description, w.status, w.created_by, \
                 w.created_at, m.workspace, m.user, m.role, m.status, m.joined_at, m.updated_at, o.name \
                 FROM memberships m JOIN workspaces w ON w.id = m.workspace \
                 JOIN organisations o ON o.id = w.organisation WHERE m.user = ?1 AND m.status != 'archived'",
            )
            .unwrap();
        let n = shared.query_map([blob(user)], read_all).unwrap().count();
        let mut personal = self
            .conn
            .prepare_cached(
                "SELECT p.id, p.organisation, p.owner, p.created_at, p.archived_at, o.name \
                 FROM personal_workspaces p JOIN organisations o ON o.id = p.organisation WHERE p.owner = ?1",
            )
            .unwrap();
        n + personal.query_map([blob(user)], read_all).unwrap().count()
    }

    /// One statement with live member counts and admin names.
    fn discover_all(&mut self, organisation: OrganisationId) -> usize {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT w.id, w.name, w.speciality, w.description, \
                 (SELECT count(*) FROM memberships m WHERE m.workspace = w.id AND m.status != 'archived'), \
                 (SELECT group_concat(u.name, ', ') FROM memberships a JOIN users u ON u.id = a.user \
                  WHERE a.workspace = w.id AND a.role = 'admin') \
                 FROM workspaces w WHERE w.organisation = ?1 AND w.status = 'active' ORDER BY w.name_key",
            )
            .unwrap();
        stmt.query_map([blob(organisation)], read_all).unwrap().count()
    }

    fn events_since(&mut self, after: i64) -> usize {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, at, actor, payload FROM events WHERE seq > ?1 ORDER BY seq LIMIT 1000")
            .unwrap();
        let rows = stmt.query_map([after], |r| Ok((read_all(r)?, r.get::<_, String>(3)?))).unwrap();
        let events: Vec<_> =
            rows.map(|row| serde_json::from_str::<carespace::EventKind>(&row.unwrap().1).unwrap()).collect();
        events.len()
    }

    /// The workspace's events through the same expression index, replayed, and the name
    /// of everyone approved then read.
    fn viewers_at(&mut self, workspace: WorkspaceId, at: i64) -> usize {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, actor, payload FROM events WHERE json_extract(payload, '$.workspace') = ?1 ORDER BY seq",
            )
            .unwrap();
        let events: Vec<_> = stmt
            .query_map([workspace.to_string()], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<Vec<u8>>>(1)?, r.get::<_, String>(2)?))
            })
            .unwrap()
            .map(|row| {
                let (when, actor, payload) = row.unwrap();
                let actor = actor.map(|a| UserId::from_uuid(uuid::Uuid::from_slice(&a).unwrap()));
                (when, actor, serde_json::from_str(&payload).unwrap())
            })
            .collect();
        let mut names = self.conn.prepare_cached("SELECT name FROM users WHERE id = ?1").unwrap();
        approved_at(events, at)
            .into_iter()
            .map(|user| names.query_row([blob(user)], |r| r.get::<_, String>(0)).unwrap())
            .count()
    }

    fn sweep_idle(&mut self, now: i64) -> usize {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        let mut due = 0;
        for sql in [
            "SELECT id FROM invites WHERE status = 'pending' AND expires_at <= ?1",
            "SELECT workspace, user FROM memberships WHERE status = 'unapproved' AND escalated_at IS NULL \
             AND joined_at <= ?1",
            "SELECT workspace, user FROM memberships WHERE ends_at IS NOT NULL AND ends_at <= ?1",
        ] {
            due += tx.prepare_cached(sql).unwrap().query_map([now], read_all).unwrap().count();
        }
        tx.commit().unwrap();
        due
    }

    /// Check the membership, insert the header and its event.
    fn start_conversation(&mut self, workspace: WorkspaceId, user: UserId) {
        let at = self.now.next();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        let status: String = tx
            .prepare_cached("SELECT status FROM memberships WHERE workspace = ?1 AND user = ?2")
            .unwrap()
            .query_row(params![blob(workspace), blob(user)], |r| r.get(0))
            .unwrap();
        assert_ne!(status, "archived");
        let id = uuid::Uuid::now_v7();
        tx.prepare_cached("INSERT INTO conversations (id, workspace, started_by, started_at) VALUES (?1, ?2, ?3, ?4)")
            .unwrap()
            .execute(params![id.into_bytes(), blob(workspace), blob(user), at])
            .unwrap();
        let payload = payload::conversation_started(id, workspace, user);
        Self::append_event(&tx, at, blob(user), "conversation_started", &payload);
        tx.commit().unwrap();
    }

    /// Check organisation membership and existing membership, insert the unapproved
    /// membership and its event.
    fn request_to_join(&mut self, organisation: OrganisationId, workspace: WorkspaceId, user: UserId) {
        let at = self.now.next();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        assert!(Self::in_organisation(&tx, organisation, user));
        let existing: Option<String> = tx
            .prepare_cached("SELECT status FROM memberships WHERE workspace = ?1 AND user = ?2")
            .unwrap()
            .query_row(params![blob(workspace), blob(user)], |r| r.get(0))
            .ok();
        assert!(existing.is_none());
        tx.prepare_cached(
            "INSERT INTO memberships (workspace, user, role, status, joined_at, updated_at, list_rank, name_key, \
               organisation, workspace_active, in_organisation) \
             VALUES (?1, ?2, 'member', 'unapproved', ?3, ?3, 2, (SELECT name_key FROM users WHERE id = ?2), ?4, 1, 1)",
        )
        .unwrap()
        .execute(params![blob(workspace), blob(user), at, blob(organisation)])
        .unwrap();
        // The event names who may approve (R16): the admins, read by index.
        let approvers: Vec<uuid::Uuid> = tx
            .prepare_cached("SELECT user FROM memberships WHERE workspace = ?1 AND role = 'admin' ORDER BY user")
            .unwrap()
            .query_map([blob(workspace)], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .map(|id| uuid::Uuid::from_slice(&id.unwrap()).unwrap())
            .collect();
        let payload = payload::join_requested(workspace, user, &approvers);
        Self::append_event(&tx, at, blob(user), "join_requested", &payload);
        Self::archive_my_workspace(&tx, at, organisation, user);
        tx.commit().unwrap();
    }

    /// Check the approver is an admin and the target unapproved, update, event.
    fn approve(&mut self, workspace: WorkspaceId, admin: UserId, user: UserId) {
        let at = self.now.next();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        let role: String = tx
            .prepare_cached("SELECT role FROM memberships WHERE workspace = ?1 AND user = ?2")
            .unwrap()
            .query_row(params![blob(workspace), blob(admin)], |r| r.get(0))
            .unwrap();
        assert_eq!(role, "admin");
        let changed = tx
            .prepare_cached(
                "UPDATE memberships SET status = 'approved', updated_at = ?3, list_rank = 1 \
                 WHERE workspace = ?1 AND user = ?2 AND status = 'unapproved'",
            )
            .unwrap()
            .execute(params![blob(workspace), blob(user), at])
            .unwrap();
        assert_eq!(changed, 1);
        let payload = payload::join_approved(workspace, user);
        Self::append_event(&tx, at, blob(admin), "join_approved", &payload);
        tx.commit().unwrap();
    }

    /// Organisation membership, name check, insert the workspace, its name's search
    /// prefixes (R11's name filter reads them, so the hand-written version keeps them
    /// too), its admin and its event.
    fn create_workspace(&mut self, organisation: OrganisationId, admin: UserId, n: u64) {
        let at = self.now.next();
        let name = format!("Baseline {n}");
        let key = name.to_lowercase();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        assert!(Self::in_organisation(&tx, organisation, admin));
        let taken: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM workspaces WHERE organisation = ?1 AND name_key = ?2 AND status = 'active')",
            )
            .unwrap()
            .query_row(params![blob(organisation), key], |r| r.get(0))
            .unwrap();
        assert!(!taken);
        let id = uuid::Uuid::now_v7();
        tx.prepare_cached(
            "INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by, created_at) \
             VALUES (?1, ?2, ?3, ?4, 501, '', 'active', ?5, ?6)",
        )
        .unwrap()
        .execute(params![id.into_bytes(), blob(organisation), name, key, blob(admin), at])
        .unwrap();
        let mut prefix = tx
            .prepare_cached(
                "INSERT INTO workspace_prefixes (organisation, prefix, name_key, workspace) VALUES (?1, ?2, ?3, ?4)",
            )
            .unwrap();
        for (p, _) in carespace::directory::indexed_prefixes(&name) {
            prefix.execute(params![blob(organisation), p, key, id.into_bytes()]).unwrap();
        }
        drop(prefix);
        tx.prepare_cached(
            "INSERT INTO memberships (workspace, user, role, status, joined_at, updated_at, list_rank, name_key, \
               organisation, workspace_active, in_organisation) \
             VALUES (?1, ?2, 'admin', 'approved', ?3, ?3, 0, (SELECT name_key FROM users WHERE id = ?2), ?4, 1, 1)",
        )
        .unwrap()
        .execute(params![id.into_bytes(), blob(admin), at, blob(organisation)])
        .unwrap();
        let payload = payload::workspace_created(id, organisation, &name);
        Self::append_event(&tx, at, blob(admin), "workspace_created", &payload);
        Self::archive_my_workspace(&tx, at, organisation, admin);
        tx.commit().unwrap();
    }
}
