//! Fixtures for the benchmarks: a populated Carespace world on each backend, and the
//! hand-written SQL baseline that does the same work with bare rusqlite on the same
//! file and settings (the ceiling Carespace is measured against, in the same run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // benchmark set-up: a panic is a broken fixture

pub mod peers;
pub mod scale;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use carespace::{
    Carespace, Description, DiscoveryFilter, MemoryStore, NewWorkspace, Organisation, OrganisationKind, Speciality,
    Store, User, UserId, Workspace, WorkspaceId,
};
use carespace_sqlite::{Durability, SqliteOptions, SqliteStore};
use rusqlite::{Connection, params};

/// Which store a fixture runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `MemoryStore`.
    Memory,
    /// `SqliteStore` on a file with `synchronous=NORMAL`.
    SqliteNormal,
    /// `SqliteStore` on a file with `synchronous=FULL`.
    SqliteFull,
}

impl Backend {
    /// All three.
    pub const ALL: [Backend; 3] = [Backend::Memory, Backend::SqliteNormal, Backend::SqliteFull];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::SqliteNormal => "sqlite-normal",
            Backend::SqliteFull => "sqlite-full",
        }
    }

    fn durability(self) -> Option<Durability> {
        match self {
            Backend::Memory => None,
            Backend::SqliteNormal => Some(Durability::Normal),
            Backend::SqliteFull => Some(Durability::Full),
        }
    }
}

/// How many workspaces the discovery organisation holds.
pub const DISCOVERY_WORKSPACES: usize = 1_000;
/// How many workspaces the switcher user belongs to.
pub const SWITCHER_WORKSPACES: usize = 5;

/// A populated world: a trust with an admin, an approved member and an unapproved member
/// of `ward`; a switcher user in 5 workspaces; a second trust with 1,000 workspaces.
pub struct Fixture {
    /// The backend.
    pub backend: Backend,
    /// The service.
    pub service: Carespace,
    /// The database file (SQLite backends).
    pub path: Option<PathBuf>,
    /// The main trust.
    pub trust: Organisation,
    /// The ward's admin.
    pub admin: User,
    /// An approved member of the ward.
    pub member: User,
    /// An unapproved member of the ward.
    pub unapproved: User,
    /// The ward.
    pub ward: Workspace,
    /// A user in `SWITCHER_WORKSPACES` workspaces.
    pub switcher: User,
    /// The trust with `DISCOVERY_WORKSPACES` workspaces.
    pub big_trust: Organisation,
    /// Their creator, a member of `big_trust`.
    pub big_admin: User,
    /// Counter for unique names.
    next: std::cell::Cell<u64>,
}

fn new_ws(name: &str) -> NewWorkspace {
    NewWorkspace {
        name: name.parse().unwrap(),
        speciality: Speciality::from_code(501).unwrap(),
        description: Description::default(),
    }
}

impl Fixture {
    /// Builds the world on `backend`, in `dir` for SQLite.
    pub fn new(backend: Backend, dir: &Path) -> Self {
        let (store, path): (Arc<dyn Store>, Option<PathBuf>) = match backend.durability() {
            None => (Arc::new(MemoryStore::new()), None),
            Some(durability) => {
                let path = dir.join(format!("{}.sqlite3", backend.name()));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                // Populate fast, then reopen with the settings under test.
                let fast = SqliteOptions { durability: Durability::Normal, ..SqliteOptions::default() };
                drop(SqliteStore::open_with(&path, fast).unwrap());
                let options = SqliteOptions { durability, ..SqliteOptions::default() };
                (Arc::new(SqliteStore::open_with(&path, options).unwrap()), Some(path))
            }
        };
        let service = Carespace::from_arc(store);
        let trust =
            service.register_organisation("Bench Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
        let person = |name: &str, org: &Organisation| {
            let u = service.register_user(format!("{name}@nhs.net").parse().unwrap(), name.parse().unwrap()).unwrap();
            service.join_organisation(u.id, org.id).unwrap();
            u
        };
        let admin = person("admin", &trust);
        let member = person("member", &trust);
        let unapproved = person("unapproved", &trust);
        let switcher = person("switcher", &trust);
        let ward = service.create_workspace(admin.id, trust.id, new_ws("Ward")).unwrap().workspace;
        service.request_to_join(member.id, ward.id).unwrap();
        service.approve(admin.id, ward.id, member.id).unwrap();
        service.request_to_join(unapproved.id, ward.id).unwrap();
        for i in 0..SWITCHER_WORKSPACES {
            service.create_workspace(switcher.id, trust.id, new_ws(&format!("Switcher {i}"))).unwrap();
        }
        for i in 0..20 {
            service.start_conversation(member.id, ward.id).unwrap();
            let _ = i;
        }
        let big_trust =
            service.register_organisation("Big Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
        let big_admin = person("bigadmin", &big_trust);
        let helper = person("helper", &big_trust);
        for i in 0..DISCOVERY_WORKSPACES {
            let ws = service
                .create_workspace(big_admin.id, big_trust.id, new_ws(&format!("Team {i:04}")))
                .unwrap()
                .workspace;
            if i % 3 == 0 {
                service.request_to_join(helper.id, ws.id).unwrap();
            }
        }
        Fixture {
            backend,
            service,
            path,
            trust,
            admin,
            member,
            unapproved,
            ward,
            switcher,
            big_trust,
            big_admin,
            next: std::cell::Cell::new(0),
        }
    }

    /// A fresh number, for unique names and emails.
    pub fn next(&self) -> u64 {
        let n = self.next.get() + 1;
        self.next.set(n);
        n
    }

    /// A new member of the trust (for request-to-join measurements).
    pub fn newcomer(&self) -> UserId {
        let n = self.next();
        let u = self
            .service
            .register_user(format!("newcomer{n}@nhs.net").parse().unwrap(), "Newcomer".parse().unwrap())
            .unwrap();
        self.service.join_organisation(u.id, self.trust.id).unwrap();
        u.id
    }

    /// A newcomer who has asked to join the ward (for approval measurements).
    pub fn requester(&self) -> UserId {
        let u = self.newcomer();
        self.service.request_to_join(u, self.ward.id).unwrap();
        u
    }

    /// The discovery the benchmarks measure.
    pub fn discover(&self) -> usize {
        self.service.discover(self.big_admin.id, self.big_trust.id, &DiscoveryFilter::default()).unwrap().len()
    }

    /// Creates a uniquely named workspace in the trust.
    pub fn create_workspace(&self) -> WorkspaceId {
        let n = self.next();
        self.service.create_workspace(self.admin.id, self.trust.id, new_ws(&format!("Bench {n}"))).unwrap().workspace.id
    }
}

/// Bare rusqlite on the same file and settings, doing what each command does by hand:
/// the ceiling the SQLite backend is measured against.
pub struct Baseline {
    conn: Connection,
    now: i64,
}

/// A duration in nanoseconds, for the report tables: ns, µs or ms with two decimals.
pub fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Reads every column of a row into an owned value, as a hand-written loop that uses
/// what it selects would: the baseline pays for the values it returns, like Carespace.
fn read_all(row: &rusqlite::Row<'_>) -> rusqlite::Result<Vec<rusqlite::types::Value>> {
    (0..row.as_ref().column_count()).map(|i| row.get(i)).collect()
}

fn blob(id: impl Into<uuid::Uuid>) -> [u8; 16] {
    id.into().into_bytes()
}

impl Baseline {
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
        Self { conn, now: 1_800_000_000_000_000_000 }
    }

    fn tick(&mut self) -> i64 {
        self.now += 1;
        self.now
    }

    fn append_event(tx: &rusqlite::Transaction<'_>, at: i64, actor: [u8; 16], kind: &str, payload: &str) {
        tx.prepare_cached(
            "INSERT INTO events (seq, at, actor, type, payload) VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM events), ?1, ?2, ?3, ?4)",
        )
        .unwrap()
        .execute(params![at, actor, kind, payload])
        .unwrap();
    }

    /// R27: the first shared membership archives the user's My Workspace, with an event.
    fn archive_my_workspace(
        tx: &rusqlite::Transaction<'_>,
        at: i64,
        organisation: carespace::OrganisationId,
        user: UserId,
    ) {
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
            let payload = format!(
                r#"{{"type":"my_workspace_archived","workspace":"{id}","organisation":"{organisation}","user":"{user}"}}"#
            );
            Self::append_event(tx, at, blob(user), "my_workspace_archived", &payload);
        }
    }

    /// The permission check: one primary-key lookup of the membership.
    pub fn can_view_all(&self, workspace: WorkspaceId, user: UserId) -> bool {
        let mut stmt =
            self.conn.prepare_cached("SELECT status FROM memberships WHERE workspace = ?1 AND user = ?2").unwrap();
        let status: Option<String> = stmt.query_row(params![blob(workspace), blob(user)], |r| r.get(0)).ok();
        status.as_deref() == Some("approved")
    }

    /// The switcher: the user's current memberships with their workspaces and
    /// organisations, and their My Workspaces — every column the switcher shows, read.
    pub fn my_workspaces(&self, user: UserId) -> usize {
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

    /// Discovery: active workspaces of the organisation with live member counts and admin
    /// names, one statement.
    pub fn discover(&self, organisation: carespace::OrganisationId) -> usize {
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

    /// The event log from a cursor: 1,000 rows, payloads parsed as the service does.
    pub fn events_since(&self, after: i64) -> usize {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, at, actor, payload FROM events WHERE seq > ?1 ORDER BY seq LIMIT 1000")
            .unwrap();
        let rows = stmt.query_map([after], |r| Ok((read_all(r)?, r.get::<_, String>(3)?))).unwrap();
        let events: Vec<_> =
            rows.map(|row| serde_json::from_str::<carespace::EventKind>(&row.unwrap().1).unwrap()).collect();
        events.len()
    }

    /// Who could see a workspace at an instant (R37), by hand: the workspace's events
    /// through the same index, payloads parsed, memberships replayed in a map, and the
    /// name of everyone approved then read.
    pub fn viewers_at(&self, workspace: WorkspaceId, at: i64) -> usize {
        use carespace::EventKind as K;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, actor, payload FROM events WHERE json_extract(payload, '$.workspace') = ?1 ORDER BY seq",
            )
            .unwrap();
        let rows = stmt
            .query_map([workspace.to_string()], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<Vec<u8>>>(1)?, r.get::<_, String>(2)?))
            })
            .unwrap();
        let mut approved: HashMap<UserId, bool> = HashMap::new();
        for row in rows {
            let (when, actor, payload) = row.unwrap();
            if when > at {
                break;
            }
            match serde_json::from_str::<K>(&payload).unwrap() {
                K::WorkspaceCreated { .. } => {
                    let creator = UserId::from_uuid(uuid::Uuid::from_slice(&actor.unwrap()).unwrap());
                    approved.insert(creator, true);
                }
                K::JoinRequested { user, .. } => {
                    approved.insert(user, false);
                }
                K::JoinApproved { user, .. } | K::MemberUnarchived { user, .. } | K::InviteAccepted { user, .. } => {
                    approved.insert(user, true);
                }
                K::RoleChanged { .. } => {}
                K::JoinDeclined { user, .. } | K::MemberLeft { user, .. } | K::MemberArchived { user, .. } => {
                    approved.remove(&user);
                }
                _ => {}
            }
        }
        let mut names = self.conn.prepare_cached("SELECT name FROM users WHERE id = ?1").unwrap();
        approved
            .into_iter()
            .filter(|(_, yes)| *yes)
            .map(|(user, _)| names.query_row([blob(user)], |r| r.get::<_, String>(0)).unwrap())
            .count()
    }

    /// A sweep with nothing due (R38, R39), by hand: the write lock, the three indexed
    /// probes for due invites, waiting requests and ending memberships, and the commit.
    pub fn sweep_idle(&mut self, now: i64) -> usize {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
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

    /// Starting a conversation: check the membership, insert the header and its event.
    pub fn start_conversation(&mut self, workspace: WorkspaceId, user: UserId) {
        let at = self.tick();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
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
        let payload = format!(
            r#"{{"type":"conversation_started","conversation":"{id}","workspace":"{}","user":"{}"}}"#,
            workspace, user
        );
        Self::append_event(&tx, at, blob(user), "conversation_started", &payload);
        tx.commit().unwrap();
    }

    /// Requesting to join: check organisation membership and existing membership, insert
    /// the unapproved membership and its event.
    pub fn request_to_join(&mut self, organisation: carespace::OrganisationId, workspace: WorkspaceId, user: UserId) {
        let at = self.tick();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        let in_org: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM organisation_members WHERE organisation = ?1 AND user = ?2)")
            .unwrap()
            .query_row(params![blob(organisation), blob(user)], |r| r.get(0))
            .unwrap();
        assert!(in_org);
        let existing: Option<String> = tx
            .prepare_cached("SELECT status FROM memberships WHERE workspace = ?1 AND user = ?2")
            .unwrap()
            .query_row(params![blob(workspace), blob(user)], |r| r.get(0))
            .ok();
        assert!(existing.is_none());
        tx.prepare_cached(
            "INSERT INTO memberships (workspace, user, role, status, joined_at, updated_at) VALUES (?1, ?2, 'member', 'unapproved', ?3, ?3)",
        )
        .unwrap()
        .execute(params![blob(workspace), blob(user), at])
        .unwrap();
        // The event names who may approve (R16): the admins, read by index.
        let approvers: Vec<String> = tx
            .prepare_cached("SELECT user FROM memberships WHERE workspace = ?1 AND role = 'admin' ORDER BY user")
            .unwrap()
            .query_map([blob(workspace)], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .map(|id| format!("\"{}\"", uuid::Uuid::from_slice(&id.unwrap()).unwrap()))
            .collect();
        let payload = format!(
            r#"{{"type":"join_requested","workspace":"{workspace}","user":"{user}","approvers":[{}]}}"#,
            approvers.join(",")
        );
        Self::append_event(&tx, at, blob(user), "join_requested", &payload);
        Self::archive_my_workspace(&tx, at, organisation, user);
        tx.commit().unwrap();
    }

    /// Approving: check the approver is an admin and the target unapproved, update, event.
    pub fn approve(&mut self, workspace: WorkspaceId, admin: UserId, user: UserId) {
        let at = self.tick();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        let role: String = tx
            .prepare_cached("SELECT role FROM memberships WHERE workspace = ?1 AND user = ?2")
            .unwrap()
            .query_row(params![blob(workspace), blob(admin)], |r| r.get(0))
            .unwrap();
        assert_eq!(role, "admin");
        let changed = tx
            .prepare_cached(
                "UPDATE memberships SET status = 'approved', updated_at = ?3 WHERE workspace = ?1 AND user = ?2 AND status = 'unapproved'",
            )
            .unwrap()
            .execute(params![blob(workspace), blob(user), at])
            .unwrap();
        assert_eq!(changed, 1);
        let payload = format!(r#"{{"type":"join_approved","workspace":"{workspace}","user":"{user}"}}"#);
        Self::append_event(&tx, at, blob(admin), "join_approved", &payload);
        tx.commit().unwrap();
    }

    /// Creating a workspace: organisation membership, name check, insert the workspace,
    /// its admin and its event.
    pub fn create_workspace(&mut self, organisation: carespace::OrganisationId, admin: UserId, n: u64) {
        let at = self.tick();
        let name = format!("Baseline {n}");
        let key = name.to_lowercase();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        let in_org: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM organisation_members WHERE organisation = ?1 AND user = ?2)")
            .unwrap()
            .query_row(params![blob(organisation), blob(admin)], |r| r.get(0))
            .unwrap();
        assert!(in_org);
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
        tx.prepare_cached(
            "INSERT INTO memberships (workspace, user, role, status, joined_at, updated_at) VALUES (?1, ?2, 'admin', 'approved', ?3, ?3)",
        )
        .unwrap()
        .execute(params![id.into_bytes(), blob(admin), at])
        .unwrap();
        let payload = format!(
            r#"{{"type":"workspace_created","workspace":"{id}","organisation":"{organisation}","name":"{name}","speciality":501,"from_example":false}}"#
        );
        Self::append_event(&tx, at, blob(admin), "workspace_created", &payload);
        Self::archive_my_workspace(&tx, at, organisation, admin);
        tx.commit().unwrap();
    }
}
