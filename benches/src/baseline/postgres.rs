//! The PostgreSQL baseline: the bare `postgres` client on the store's database and
//! schema, every statement prepared once, each write one `SERIALIZABLE` transaction.

use carespace::{EventKind, OrganisationId, UserId, WorkspaceId};
use postgres::types::Type;
use postgres::{Client, IsolationLevel, NoTls, Row, Statement, Transaction};
use uuid::Uuid;

use super::{HandWritten, Ticks, approved_at, payload};

/// The statements, prepared when the baseline connects (as a hand-written service
/// would keep them), named for what they do.
struct Statements {
    membership_status: Statement,
    switcher_shared: Statement,
    switcher_personal: Statement,
    discover: Statement,
    events_since: Statement,
    events_of_workspace: Statement,
    user_name: Statement,
    sweep_probes: [Statement; 3],
    in_organisation: Statement,
    admins: Statement,
    role: Statement,
    insert_conversation: Statement,
    insert_request: Statement,
    approve: Statement,
    name_taken: Statement,
    insert_workspace: Statement,
    insert_prefixes: Statement,
    insert_admin: Statement,
    archive_my_workspace: Statement,
    append_event: Statement,
}

/// The bare `postgres` client on the same database and schema, doing what each command
/// does by hand: the ceiling `PostgresStore` is measured against, in the same run.
///
/// Writes are `SERIALIZABLE` transactions, as the store's are, and take their event
/// number from the same one-row counter; what they leave out is what only concurrency
/// needs: the store's write lock (an advisory lock taken and released around every
/// write) and its retry loop. Reads are single statements outside any transaction,
/// where the store opens a `REPEATABLE READ READ ONLY` one around every read.
pub struct PostgresBaseline {
    client: Client,
    statements: Statements,
    now: Ticks,
}

/// Reads every column of a row into an owned value, as `read_all` does for SQLite, so
/// the baseline pays for every column it selects.
fn read_all(row: &Row) {
    use std::hint::black_box;
    for (i, column) in row.columns().iter().enumerate() {
        match *column.type_() {
            Type::UUID => drop(black_box(row.get::<_, Option<Uuid>>(i))),
            Type::TEXT => drop(black_box(row.get::<_, Option<String>>(i))),
            Type::INT8 => drop(black_box(row.get::<_, Option<i64>>(i))),
            Type::INT4 => drop(black_box(row.get::<_, Option<i32>>(i))),
            Type::BOOL => drop(black_box(row.get::<_, Option<bool>>(i))),
            ref other => panic!("the baseline reads no {other} columns"),
        }
    }
}

fn serializable(client: &mut Client) -> Transaction<'_> {
    client.build_transaction().isolation_level(IsolationLevel::Serializable).start().unwrap()
}

impl PostgresBaseline {
    /// Connects to `url` with `schema` first on the search path, as the store does.
    pub fn open(url: &str, schema: &str) -> Self {
        let mut config: postgres::Config = url.parse().unwrap();
        config.options(&format!("-c search_path={schema}"));
        let mut client = config.connect(NoTls).unwrap();
        let mut prepare = |sql: &str| client.prepare(sql).unwrap();
        let statements = Statements {
            membership_status: prepare(r#"SELECT status FROM memberships WHERE workspace = $1 AND "user" = $2"#),
            switcher_shared: prepare(
                r#"SELECT w.id, w.organisation, w.name, w.speciality, w.description, w.status, w.created_by,
                   w.created_at, m.workspace, m."user", m.role, m.status, m.joined_at, m.updated_at, o.name
                   FROM memberships m JOIN workspaces w ON w.id = m.workspace
                   JOIN organisations o ON o.id = w.organisation WHERE m."user" = $1 AND m.status != 'archived'"#,
            ),
            switcher_personal: prepare(
                "SELECT p.id, p.organisation, p.owner, p.created_at, p.archived_at, o.name \
                 FROM personal_workspaces p JOIN organisations o ON o.id = p.organisation WHERE p.owner = $1",
            ),
            discover: prepare(
                r#"SELECT w.id, w.name, w.speciality, w.description,
                   (SELECT count(*) FROM memberships m WHERE m.workspace = w.id AND m.status != 'archived'),
                   (SELECT string_agg(u.name, ', ') FROM memberships a JOIN users u ON u.id = a."user"
                    WHERE a.workspace = w.id AND a.role = 'admin')
                   FROM workspaces w WHERE w.organisation = $1 AND w.status = 'active' ORDER BY w.name_key"#,
            ),
            events_since: prepare(
                "SELECT seq, at, actor, payload::text FROM events WHERE seq > $1 ORDER BY seq LIMIT 1000",
            ),
            events_of_workspace: prepare(
                "SELECT at, actor, payload::text FROM events \
                 WHERE payload ? 'workspace' AND payload ->> 'workspace' = $1 ORDER BY seq",
            ),
            user_name: prepare("SELECT name FROM users WHERE id = $1"),
            sweep_probes: [
                prepare("SELECT id FROM invites WHERE status = 'pending' AND expires_at <= $1"),
                prepare(
                    r#"SELECT workspace, "user" FROM memberships
                       WHERE status = 'unapproved' AND escalated_at IS NULL AND joined_at <= $1"#,
                ),
                prepare(r#"SELECT workspace, "user" FROM memberships WHERE ends_at IS NOT NULL AND ends_at <= $1"#),
            ],
            in_organisation: prepare(
                r#"SELECT EXISTS (SELECT 1 FROM organisation_members WHERE organisation = $1 AND "user" = $2)"#,
            ),
            admins: prepare(
                r#"SELECT "user" FROM memberships WHERE workspace = $1 AND role = 'admin' ORDER BY "user""#,
            ),
            role: prepare(r#"SELECT role FROM memberships WHERE workspace = $1 AND "user" = $2"#),
            insert_conversation: prepare(
                "INSERT INTO conversations (id, workspace, started_by, started_at) VALUES ($1, $2, $3, $4)",
            ),
            insert_request: prepare(
                r#"INSERT INTO memberships (workspace, "user", role, status, joined_at, updated_at, list_rank, name_key,
                                           organisation, workspace_active, in_organisation)
                   VALUES ($1, $2, 'member', 'unapproved', $3, $3, 2, (SELECT name_key FROM users WHERE id = $2), $4, true, true)"#,
            ),
            approve: prepare(
                r#"UPDATE memberships SET status = 'approved', updated_at = $3, list_rank = 1
                   WHERE workspace = $1 AND "user" = $2 AND status = 'unapproved'"#,
            ),
            name_taken: prepare(
                "SELECT EXISTS (SELECT 1 FROM workspaces WHERE organisation = $1 AND name_key = $2 AND status = 'active')",
            ),
            insert_workspace: prepare(
                "INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by, \
                 created_at) VALUES ($1, $2, $3, $4, 501, '', 'active', $5, $6)",
            ),
            // Every search prefix of the name (R11) in one statement.
            insert_prefixes: prepare(
                "INSERT INTO workspace_prefixes (organisation, prefix, name_key, workspace) \
                 SELECT $1, unnest($2::text[]), $3, $4",
            ),
            insert_admin: prepare(
                r#"INSERT INTO memberships (workspace, "user", role, status, joined_at, updated_at, list_rank, name_key,
                                           organisation, workspace_active, in_organisation)
                   VALUES ($1, $2, 'admin', 'approved', $3, $3, 0, (SELECT name_key FROM users WHERE id = $2), $4, true, true)"#,
            ),
            archive_my_workspace: prepare(
                "UPDATE personal_workspaces SET archived_at = $3 \
                 WHERE owner = $1 AND organisation = $2 AND archived_at IS NULL RETURNING id",
            ),
            // The next number from the counter and the event, in one statement.
            append_event: prepare(
                "WITH next AS (UPDATE event_counter SET last = last + 1 RETURNING last) \
                 INSERT INTO events (seq, at, actor, type, payload) \
                 SELECT last, $1, $2, $3, $4::text::jsonb FROM next",
            ),
        };
        Self { client, statements, now: Ticks::new() }
    }
}

/// One write's work inside its transaction.
struct Write<'a, 't> {
    tx: Transaction<'t>,
    statements: &'a Statements,
    at: i64,
}

impl Write<'_, '_> {
    fn append_event(&mut self, actor: UserId, kind: &str, payload: &str) {
        let actor: Uuid = actor.into();
        self.tx.execute(&self.statements.append_event, &[&self.at, &actor, &kind, &payload]).unwrap();
    }

    /// R27: the first shared membership archives the user's My Workspace, with an event.
    fn archive_my_workspace(&mut self, organisation: OrganisationId, user: UserId) {
        let (owner, org): (Uuid, Uuid) = (user.into(), organisation.into());
        let archived = self.tx.query_opt(&self.statements.archive_my_workspace, &[&owner, &org, &self.at]).unwrap();
        if let Some(row) = archived {
            let payload = payload::my_workspace_archived(row.get(0), organisation, user);
            self.append_event(user, "my_workspace_archived", &payload);
        }
    }

    fn in_organisation(&mut self, organisation: OrganisationId, user: UserId) -> bool {
        let (org, user): (Uuid, Uuid) = (organisation.into(), user.into());
        self.tx.query_one(&self.statements.in_organisation, &[&org, &user]).unwrap().get(0)
    }

    fn commit(self) {
        self.tx.commit().unwrap();
    }
}

impl PostgresBaseline {
    fn write(&mut self) -> Write<'_, '_> {
        let at = self.now.next();
        Write { tx: serializable(&mut self.client), statements: &self.statements, at }
    }
}

impl HandWritten for PostgresBaseline {
    fn can_view_all(&mut self, workspace: WorkspaceId, user: UserId) -> bool {
        let (ws, user): (Uuid, Uuid) = (workspace.into(), user.into());
        let row = self.client.query_opt(&self.statements.membership_status, &[&ws, &user]).unwrap();
        row.is_some_and(|r| r.get::<_, &str>(0) == "approved")
    }

    fn my_workspaces(&mut self, user: UserId) -> usize {
        let user: Uuid = user.into();
        let shared = self.client.query(&self.statements.switcher_shared, &[&user]).unwrap();
        let personal = self.client.query(&self.statements.switcher_personal, &[&user]).unwrap();
        shared.iter().chain(&personal).for_each(read_all);
        shared.len() + personal.len()
    }

    fn discover_all(&mut self, organisation: OrganisationId) -> usize {
        let org: Uuid = organisation.into();
        let rows = self.client.query(&self.statements.discover, &[&org]).unwrap();
        rows.iter().for_each(read_all);
        rows.len()
    }

    fn events_since(&mut self, after: i64) -> usize {
        let rows = self.client.query(&self.statements.events_since, &[&after]).unwrap();
        let events: Vec<EventKind> = rows
            .iter()
            .map(|row| {
                read_all(row);
                serde_json::from_str(row.get(3)).unwrap()
            })
            .collect();
        events.len()
    }

    fn viewers_at(&mut self, workspace: WorkspaceId, at: i64) -> usize {
        let rows = self.client.query(&self.statements.events_of_workspace, &[&workspace.to_string()]).unwrap();
        let events = rows.iter().map(|row| {
            let actor: Option<Uuid> = row.get(1);
            (row.get(0), actor.map(UserId::from_uuid), serde_json::from_str(row.get(2)).unwrap())
        });
        let approved = approved_at(events, at);
        approved
            .into_iter()
            .map(|user| {
                let user: Uuid = user.into();
                self.client.query_one(&self.statements.user_name, &[&user]).unwrap().get::<_, String>(0)
            })
            .count()
    }

    fn sweep_idle(&mut self, now: i64) -> usize {
        let mut tx = serializable(&mut self.client);
        let due = self.statements.sweep_probes.iter().map(|probe| tx.query(probe, &[&now]).unwrap().len()).sum();
        tx.commit().unwrap();
        due
    }

    fn start_conversation(&mut self, workspace: WorkspaceId, user: UserId) {
        let mut w = self.write();
        let (ws, starter): (Uuid, Uuid) = (workspace.into(), user.into());
        let status: String = w.tx.query_one(&w.statements.membership_status, &[&ws, &starter]).unwrap().get(0);
        assert_ne!(status, "archived");
        let id = Uuid::now_v7();
        w.tx.execute(&w.statements.insert_conversation, &[&id, &ws, &starter, &w.at]).unwrap();
        w.append_event(user, "conversation_started", &payload::conversation_started(id, workspace, user));
        w.commit();
    }

    fn request_to_join(&mut self, organisation: OrganisationId, workspace: WorkspaceId, user: UserId) {
        let mut w = self.write();
        assert!(w.in_organisation(organisation, user));
        let (ws, requester, org): (Uuid, Uuid, Uuid) = (workspace.into(), user.into(), organisation.into());
        assert!(w.tx.query_opt(&w.statements.membership_status, &[&ws, &requester]).unwrap().is_none());
        w.tx.execute(&w.statements.insert_request, &[&ws, &requester, &w.at, &org]).unwrap();
        // The event names who may approve (R16): the admins, read by index.
        let approvers: Vec<Uuid> =
            w.tx.query(&w.statements.admins, &[&ws]).unwrap().iter().map(|row| row.get(0)).collect();
        w.append_event(user, "join_requested", &payload::join_requested(workspace, user, &approvers));
        w.archive_my_workspace(organisation, user);
        w.commit();
    }

    fn approve(&mut self, workspace: WorkspaceId, admin: UserId, user: UserId) {
        let mut w = self.write();
        let (ws, approver, requester): (Uuid, Uuid, Uuid) = (workspace.into(), admin.into(), user.into());
        let role: String = w.tx.query_one(&w.statements.role, &[&ws, &approver]).unwrap().get(0);
        assert_eq!(role, "admin");
        assert_eq!(w.tx.execute(&w.statements.approve, &[&ws, &requester, &w.at]).unwrap(), 1);
        w.append_event(admin, "join_approved", &payload::join_approved(workspace, user));
        w.commit();
    }

    fn create_workspace(&mut self, organisation: OrganisationId, admin: UserId, n: u64) {
        let name = format!("Baseline {n}");
        let key = name.to_lowercase();
        let mut w = self.write();
        assert!(w.in_organisation(organisation, admin));
        let (org, creator): (Uuid, Uuid) = (organisation.into(), admin.into());
        let taken: bool = w.tx.query_one(&w.statements.name_taken, &[&org, &key]).unwrap().get(0);
        assert!(!taken);
        let id = Uuid::now_v7();
        w.tx.execute(&w.statements.insert_workspace, &[&id, &org, &name, &key, &creator, &w.at]).unwrap();
        let prefixes: Vec<String> = carespace::directory::indexed_prefixes(&name).into_iter().map(|(p, _)| p).collect();
        w.tx.execute(&w.statements.insert_prefixes, &[&org, &prefixes, &key, &id]).unwrap();
        w.tx.execute(&w.statements.insert_admin, &[&id, &creator, &w.at, &org]).unwrap();
        w.append_event(admin, "workspace_created", &payload::workspace_created(id, organisation, &name));
        w.archive_my_workspace(organisation, admin);
        w.commit();
    }
}
