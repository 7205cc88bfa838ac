//! The queries: [`ReadTx`] and [`WriteTx`] over one PostgreSQL transaction, and the
//! mapping between rows and core's records (uuid ids, UTC nanoseconds in bigint,
//! lower-case enum text, event payloads as jsonb).

use std::cell::RefCell;
use std::collections::HashMap;

use carespace::store::{Access, ReadTx, StoreResult, WriteTx};
use carespace::{
    Conversation, ConversationId, Decline, Description, DiscoveryRow, EndNotice, Event, EventKind, Invite, InviteId,
    InviteStatus, Membership, MembershipState, NewEvent, NhsEmail, OdsCode, Organisation, OrganisationId,
    OrganisationKind, OrganisationName, Person, PersonName, PersonalWorkspace, Speciality, StorageError, SwitcherRows,
    User, UserId, Workspace, WorkspaceId, WorkspaceName, WorkspaceStatus,
};
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement, Transaction};
use uuid::Uuid;

use crate::error::{PgResultExt, corrupt};
use crate::wait;

/// A transaction's view of the database (the store began the transaction), with the
/// connection's prepared statements: a statement is parsed once per connection, not on
/// every call (which cost a round trip each).
pub(crate) struct PgTx<'c> {
    pub(crate) tx: Transaction<'c>,
    pub(crate) statements: RefCell<&'c mut HashMap<String, Statement>>,
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// `sql` prepared on `client`'s connection once, and kept in `statements` for its later
/// calls (inside a transaction or outside: a statement belongs to the connection).
pub(crate) fn cached(
    client: &Client,
    statements: &mut HashMap<String, Statement>,
    sql: &str,
) -> Result<Statement, tokio_postgres::Error> {
    if let Some(statement) = statements.get(sql) {
        return Ok(statement.clone());
    }
    let statement = wait(client.prepare(sql))?;
    statements.insert(sql.to_owned(), statement.clone());
    Ok(statement)
}

impl PgTx<'_> {
    fn statement(&self, sql: &str) -> StoreResult<Statement> {
        cached(self.tx.client(), &mut self.statements.borrow_mut(), sql).pg()
    }

    fn one<T>(&self, sql: &str, params: Params<'_>, parse: fn(&Row) -> StoreResult<T>) -> StoreResult<Option<T>> {
        let statement = self.statement(sql)?;
        let row = wait(self.tx.query_opt(&statement, params)).pg()?;
        row.as_ref().map(parse).transpose()
    }

    fn all<T>(&self, sql: &str, params: Params<'_>, parse: fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
        let statement = self.statement(sql)?;
        let rows = wait(self.tx.query(&statement, params)).pg()?;
        rows.iter().map(parse).collect()
    }

    fn exec(&self, sql: &str, params: Params<'_>) -> StoreResult<()> {
        let statement = self.statement(sql)?;
        wait(self.tx.execute(&statement, params)).pg()?;
        Ok(())
    }
}

// ----- Columns -------------------------------------------------------------------------

fn get<'r, T: tokio_postgres::types::FromSql<'r>>(row: &'r Row, i: usize) -> StoreResult<T> {
    row.try_get(i).pg()
}

fn instant(row: &Row, i: usize) -> StoreResult<OffsetDateTime> {
    from_nanos(get(row, i)?)
}

fn opt_instant(row: &Row, i: usize) -> StoreResult<Option<OffsetDateTime>> {
    get::<Option<i64>>(row, i)?.map(from_nanos).transpose()
}

fn from_nanos(nanos: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).map_err(|e| corrupt("time", e))
}

/// An instant as stored: core's one encoding, refusing what no backend stores.
pub(crate) use carespace::store::stored_nanos as nanos;

fn opt_nanos(at: Option<OffsetDateTime>) -> StoreResult<Option<i64>> {
    at.map(nanos).transpose()
}

fn text<T>(row: &Row, i: usize, what: &str, parse: fn(&str) -> Result<T, carespace::TextError>) -> StoreResult<T> {
    let s: &str = get(row, i)?;
    parse(s).map_err(|e| corrupt(what, e))
}

fn email(row: &Row, i: usize) -> StoreResult<NhsEmail> {
    let s: &str = get(row, i)?;
    NhsEmail::parse(s).map_err(|e| corrupt("email", e))
}

fn speciality(row: &Row, i: usize) -> StoreResult<Speciality> {
    let code: i32 = get(row, i)?;
    u16::try_from(code).ok().and_then(|c| Speciality::from_code(c).ok()).ok_or_else(|| corrupt("speciality", code))
}

fn membership_state(role: &str, status: &str) -> StoreResult<MembershipState> {
    MembershipState::from_stored(role, status).ok_or_else(|| corrupt("membership", format!("{role:?} {status:?}")))
}

// ----- Rows ----------------------------------------------------------------------------

const ORGANISATION: &str = "SELECT id, name, kind, ods_code, registered_at FROM organisations";

fn organisation(row: &Row) -> StoreResult<Organisation> {
    let kind: &str = get(row, 2)?;
    let ods: Option<&str> = get(row, 3)?;
    Ok(Organisation {
        id: OrganisationId::from_uuid(get(row, 0)?),
        name: text(row, 1, "organisation name", OrganisationName::parse)?,
        kind: OrganisationKind::from_str_opt(kind).ok_or_else(|| corrupt("organisation kind", kind))?,
        ods_code: ods.map(|c| OdsCode::parse(c).map_err(|e| corrupt("ODS code", e))).transpose()?,
        registered_at: instant(row, 4)?,
    })
}

const USER: &str = "SELECT id, email, name, registered_at FROM users";

fn user(row: &Row) -> StoreResult<User> {
    Ok(User {
        id: UserId::from_uuid(get(row, 0)?),
        email: email(row, 1)?,
        name: text(row, 2, "person name", PersonName::parse)?,
        registered_at: instant(row, 3)?,
    })
}

const WORKSPACE: &str =
    "SELECT id, organisation, name, speciality, description, status, created_by, created_at FROM workspaces";

fn workspace(row: &Row) -> StoreResult<Workspace> {
    workspace_at(row, 0)
}

/// A workspace from the eight columns of [`WORKSPACE`] starting at column `at`.
fn workspace_at(row: &Row, at: usize) -> StoreResult<Workspace> {
    let status: &str = get(row, at + 5)?;
    Ok(Workspace {
        id: WorkspaceId::from_uuid(get(row, at)?),
        organisation: OrganisationId::from_uuid(get(row, at + 1)?),
        name: text(row, at + 2, "workspace name", WorkspaceName::parse)?,
        speciality: speciality(row, at + 3)?,
        description: text(row, at + 4, "description", Description::parse)?,
        status: WorkspaceStatus::from_str_opt(status).ok_or_else(|| corrupt("workspace status", status))?,
        created_by: UserId::from_uuid(get(row, at + 6)?),
        created_at: instant(row, at + 7)?,
    })
}

const PERSONAL: &str = "SELECT id, organisation, owner, created_at, archived_at FROM personal_workspaces";

fn personal(row: &Row) -> StoreResult<PersonalWorkspace> {
    Ok(PersonalWorkspace {
        id: WorkspaceId::from_uuid(get(row, 0)?),
        organisation: OrganisationId::from_uuid(get(row, 1)?),
        owner: UserId::from_uuid(get(row, 2)?),
        created_at: instant(row, 3)?,
        archived_at: opt_instant(row, 4)?,
    })
}

const MEMBERSHIP: &str = "SELECT workspace, \"user\", role, status, joined_at, updated_at, ends_at, end_notice, \
                          escalated_at FROM memberships";

fn membership(row: &Row) -> StoreResult<Membership> {
    membership_at(row, 0)
}

/// A membership from the nine columns of [`MEMBERSHIP`] starting at column `at`.
fn membership_at(row: &Row, at: usize) -> StoreResult<Membership> {
    let notice: Option<&str> = get(row, at + 7)?;
    Ok(Membership {
        workspace: WorkspaceId::from_uuid(get(row, at)?),
        user: UserId::from_uuid(get(row, at + 1)?),
        state: membership_state(get(row, at + 2)?, get(row, at + 3)?)?,
        joined_at: instant(row, at + 4)?,
        updated_at: instant(row, at + 5)?,
        ends_at: opt_instant(row, at + 6)?,
        end_notice: notice.map(|n| EndNotice::from_str_opt(n).ok_or_else(|| corrupt("end notice", n))).transpose()?,
        escalated_at: opt_instant(row, at + 8)?,
    })
}

const INVITE: &str = "SELECT id, workspace, email, invited_by, created_at, expires_at, status, resolved_at, \
                      resolved_by FROM invites";

fn invite(row: &Row) -> StoreResult<Invite> {
    let status: &str = get(row, 6)?;
    Ok(Invite {
        id: InviteId::from_uuid(get(row, 0)?),
        workspace: WorkspaceId::from_uuid(get(row, 1)?),
        email: email(row, 2)?,
        invited_by: UserId::from_uuid(get(row, 3)?),
        created_at: instant(row, 4)?,
        expires_at: instant(row, 5)?,
        status: InviteStatus::from_str_opt(status).ok_or_else(|| corrupt("invite status", status))?,
        resolved_at: opt_instant(row, 7)?,
        resolved_by: get::<Option<Uuid>>(row, 8)?.map(UserId::from_uuid),
    })
}

fn decline(row: &Row) -> StoreResult<Decline> {
    Ok(Decline {
        workspace: WorkspaceId::from_uuid(get(row, 0)?),
        user: UserId::from_uuid(get(row, 1)?),
        declined_at: instant(row, 2)?,
    })
}

fn conversation(row: &Row) -> StoreResult<Conversation> {
    Ok(Conversation {
        id: ConversationId::from_uuid(get(row, 0)?),
        workspace: WorkspaceId::from_uuid(get(row, 1)?),
        started_by: UserId::from_uuid(get(row, 2)?),
        started_at: instant(row, 3)?,
    })
}

const EVENT: &str = "SELECT seq, at, actor, payload::text FROM events";

fn event(row: &Row) -> StoreResult<Event> {
    let seq: i64 = get(row, 0)?;
    let payload: &str = get(row, 3)?;
    Ok(Event {
        seq: u64::try_from(seq).map_err(|e| corrupt("event number", e))?,
        at: instant(row, 1)?,
        actor: get::<Option<Uuid>>(row, 2)?.map(UserId::from_uuid),
        kind: serde_json::from_str::<EventKind>(payload).map_err(|e| corrupt("event payload", e))?,
    })
}

fn organisation_id(row: &Row) -> StoreResult<OrganisationId> {
    get(row, 0).map(OrganisationId::from_uuid)
}

fn flag(row: &Row) -> StoreResult<bool> {
    get(row, 0)
}

fn count(row: &Row) -> StoreResult<i64> {
    get(row, 0)
}

/// The permission check's one statement, as on SQLite: a shared workspace with the
/// user's membership, or else a My Workspace.
const ACCESS: &str = "SELECT w.organisation, false, w.status = 'active', m.role, m.status, false, \
       EXISTS (SELECT 1 FROM organisation_members om WHERE om.organisation = w.organisation AND om.\"user\" = $2), \
       m.\"user\" IS NOT NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = $2) \
     FROM workspaces w LEFT JOIN memberships m ON m.workspace = w.id AND m.\"user\" = $2 WHERE w.id = $1 \
     UNION ALL \
     SELECT p.organisation, true, p.archived_at IS NULL, NULL, NULL, p.owner = $2, \
       EXISTS (SELECT 1 FROM organisation_members om WHERE om.organisation = p.organisation AND om.\"user\" = $2), \
       EXISTS (SELECT 1 FROM users u WHERE u.id = $2) \
     FROM personal_workspaces p WHERE p.id = $1";

fn access(row: &Row) -> StoreResult<Access> {
    let role: Option<&str> = get(row, 3)?;
    let status: Option<&str> = get(row, 4)?;
    Ok(Access {
        organisation: OrganisationId::from_uuid(get(row, 0)?),
        personal: get(row, 1)?,
        active: get(row, 2)?,
        state: match (role, status) {
            (Some(role), Some(status)) => Some(membership_state(role, status)?),
            _ => None,
        },
        owner: get(row, 5)?,
        in_organisation: get(row, 6)?,
        user_exists: get(row, 7)?,
    })
}

fn personal_row(row: &Row) -> StoreResult<(PersonalWorkspace, OrganisationName)> {
    Ok((personal(row)?, text(row, 5, "organisation name", OrganisationName::parse)?))
}

fn shared_row(row: &Row) -> StoreResult<(Membership, Workspace, OrganisationName)> {
    Ok((membership_at(row, 8)?, workspace_at(row, 0)?, text(row, 17, "organisation name", OrganisationName::parse)?))
}

fn discovery_row(row: &Row) -> StoreResult<DiscoveryRow> {
    let member_count: i64 = get(row, 8)?;
    Ok(DiscoveryRow {
        workspace: workspace(row)?,
        member_count: u32::try_from(member_count).unwrap_or(u32::MAX),
        admins: Vec::new(),
    })
}

fn admin_row(row: &Row) -> StoreResult<(WorkspaceId, Person)> {
    Ok((
        WorkspaceId::from_uuid(get(row, 0)?),
        Person { id: UserId::from_uuid(get(row, 1)?), name: text(row, 2, "person name", PersonName::parse)? },
    ))
}

/// [`ReadTx::access`] as one statement outside any transaction: in autocommit a single
/// statement sees one snapshot by itself, and the check saves a `BEGIN` and a `COMMIT`
/// round trip.
pub(crate) fn access_alone(
    client: &Client,
    statements: &mut HashMap<String, Statement>,
    workspace_: WorkspaceId,
    user_: UserId,
) -> StoreResult<Option<Access>> {
    let statement = cached(client, statements, ACCESS).pg()?;
    let row = wait(client.query_opt(&statement, &[&id(workspace_), &id(user_)])).pg()?;
    row.as_ref().map(access).transpose()
}

fn id<T: Into<Uuid>>(value: T) -> Uuid {
    value.into()
}

impl ReadTx for PgTx<'_> {
    fn organisation(&self, id_: OrganisationId) -> StoreResult<Option<Organisation>> {
        self.one(&format!("{ORGANISATION} WHERE id = $1"), &[&id(id_)], organisation)
    }

    fn organisation_by_ods(&self, code: &OdsCode) -> StoreResult<Option<Organisation>> {
        self.one(&format!("{ORGANISATION} WHERE ods_code = $1"), &[&code.as_str()], organisation)
    }

    fn organisations(&self) -> StoreResult<Vec<Organisation>> {
        self.all(&format!("{ORGANISATION} ORDER BY id"), &[], organisation)
    }

    fn user(&self, id_: UserId) -> StoreResult<Option<User>> {
        self.one(&format!("{USER} WHERE id = $1"), &[&id(id_)], user)
    }

    fn user_by_email(&self, address: &NhsEmail) -> StoreResult<Option<User>> {
        self.one(&format!("{USER} WHERE email = $1"), &[&address.as_str()], user)
    }

    fn is_organisation_member(&self, organisation: OrganisationId, user_: UserId) -> StoreResult<bool> {
        let sql = "SELECT EXISTS (SELECT 1 FROM organisation_members WHERE organisation = $1 AND \"user\" = $2)";
        Ok(self.one(sql, &[&id(organisation), &id(user_)], flag)?.unwrap_or(false))
    }

    fn organisations_of(&self, user_: UserId) -> StoreResult<Vec<OrganisationId>> {
        let sql = "SELECT organisation FROM organisation_members WHERE \"user\" = $1 ORDER BY organisation";
        self.all(sql, &[&id(user_)], organisation_id)
    }

    fn workspace(&self, id_: WorkspaceId) -> StoreResult<Option<Workspace>> {
        self.one(&format!("{WORKSPACE} WHERE id = $1"), &[&id(id_)], workspace)
    }

    fn active_workspace_named(&self, organisation: OrganisationId, name_key: &str) -> StoreResult<Option<Workspace>> {
        let sql = format!("{WORKSPACE} WHERE organisation = $1 AND name_key = $2 AND status = 'active'");
        self.one(&sql, &[&id(organisation), &name_key], workspace)
    }

    fn workspaces_of(&self, organisation: OrganisationId) -> StoreResult<Vec<Workspace>> {
        self.all(&format!("{WORKSPACE} WHERE organisation = $1 ORDER BY id"), &[&id(organisation)], workspace)
    }

    fn personal_workspace(&self, id_: WorkspaceId) -> StoreResult<Option<PersonalWorkspace>> {
        self.one(&format!("{PERSONAL} WHERE id = $1"), &[&id(id_)], personal)
    }

    fn personal_workspace_of(
        &self,
        user_: UserId,
        organisation: OrganisationId,
    ) -> StoreResult<Option<PersonalWorkspace>> {
        let sql = format!("{PERSONAL} WHERE owner = $1 AND organisation = $2");
        self.one(&sql, &[&id(user_), &id(organisation)], personal)
    }

    fn personal_workspaces_of(&self, user_: UserId) -> StoreResult<Vec<PersonalWorkspace>> {
        self.all(&format!("{PERSONAL} WHERE owner = $1 ORDER BY organisation"), &[&id(user_)], personal)
    }

    fn membership(&self, workspace_: WorkspaceId, user_: UserId) -> StoreResult<Option<Membership>> {
        let sql = format!("{MEMBERSHIP} WHERE workspace = $1 AND \"user\" = $2");
        self.one(&sql, &[&id(workspace_), &id(user_)], membership)
    }

    fn memberships_of_workspace(&self, workspace_: WorkspaceId) -> StoreResult<Vec<Membership>> {
        self.all(&format!("{MEMBERSHIP} WHERE workspace = $1 ORDER BY \"user\""), &[&id(workspace_)], membership)
    }

    fn memberships_of_user(&self, user_: UserId) -> StoreResult<Vec<Membership>> {
        self.all(&format!("{MEMBERSHIP} WHERE \"user\" = $1 ORDER BY workspace"), &[&id(user_)], membership)
    }

    fn invite(&self, id_: InviteId) -> StoreResult<Option<Invite>> {
        self.one(&format!("{INVITE} WHERE id = $1"), &[&id(id_)], invite)
    }

    fn pending_invites_of_workspace(&self, workspace_: WorkspaceId) -> StoreResult<Vec<Invite>> {
        let sql = format!("{INVITE} WHERE workspace = $1 AND status = 'pending' ORDER BY id");
        self.all(&sql, &[&id(workspace_)], invite)
    }

    fn pending_invites_for(&self, address: &NhsEmail) -> StoreResult<Vec<Invite>> {
        let sql = format!("{INVITE} WHERE email = $1 AND status = 'pending' ORDER BY id");
        self.all(&sql, &[&address.as_str()], invite)
    }

    fn decline(&self, workspace_: WorkspaceId, user_: UserId) -> StoreResult<Option<Decline>> {
        let sql = "SELECT workspace, \"user\", declined_at FROM declines WHERE workspace = $1 AND \"user\" = $2";
        self.one(sql, &[&id(workspace_), &id(user_)], decline)
    }

    fn conversations_of(&self, workspace_: WorkspaceId) -> StoreResult<Vec<Conversation>> {
        let sql = "SELECT id, workspace, started_by, started_at FROM conversations WHERE workspace = $1 \
                   ORDER BY started_at, id";
        self.all(sql, &[&id(workspace_)], conversation)
    }

    fn events_after(&self, after: u64, limit: usize) -> StoreResult<Vec<Event>> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.all(&format!("{EVENT} WHERE seq > $1 ORDER BY seq LIMIT $2"), &[&after, &limit], event)
    }

    fn last_event_seq(&self) -> StoreResult<u64> {
        let last = self.one("SELECT last FROM event_counter", &[], count)?.unwrap_or(0);
        u64::try_from(last).map_err(|e| corrupt("event number", e))
    }

    fn access(&self, workspace_: WorkspaceId, user_: UserId) -> StoreResult<Option<Access>> {
        self.one(ACCESS, &[&id(workspace_), &id(user_)], access)
    }

    fn admins_of(&self, workspace_: WorkspaceId) -> StoreResult<Vec<Membership>> {
        let sql = format!("{MEMBERSHIP} WHERE workspace = $1 AND role = 'admin' ORDER BY \"user\"");
        self.all(&sql, &[&id(workspace_)], membership)
    }

    fn memberships_in_state(&self, workspace_: WorkspaceId, state: MembershipState) -> StoreResult<Vec<Membership>> {
        let sql = format!("{MEMBERSHIP} WHERE workspace = $1 AND role = $2 AND status = $3 ORDER BY \"user\"");
        self.all(&sql, &[&id(workspace_), &state.role().as_str(), &state.status().as_str()], membership)
    }

    fn pending_invite_to(&self, workspace_: WorkspaceId, address: &NhsEmail) -> StoreResult<Option<Invite>> {
        let sql = format!("{INVITE} WHERE workspace = $1 AND email = $2 AND status = 'pending'");
        self.one(&sql, &[&id(workspace_), &address.as_str()], invite)
    }

    fn invites_expired_by(&self, now: OffsetDateTime) -> StoreResult<Vec<Invite>> {
        let sql = format!("{INVITE} WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at, id");
        self.all(&sql, &[&nanos(now)?], invite)
    }

    fn requests_waiting_since(&self, cutoff: OffsetDateTime) -> StoreResult<Vec<Membership>> {
        let sql = format!(
            "{MEMBERSHIP} WHERE status = 'unapproved' AND escalated_at IS NULL AND joined_at <= $1 \
             ORDER BY joined_at, workspace, \"user\""
        );
        self.all(&sql, &[&nanos(cutoff)?], membership)
    }

    fn memberships_ending_by(&self, cutoff: OffsetDateTime) -> StoreResult<Vec<Membership>> {
        let sql = format!(
            "{MEMBERSHIP} WHERE ends_at IS NOT NULL AND ends_at <= $1 AND status != 'archived' \
             ORDER BY ends_at, workspace, \"user\""
        );
        self.all(&sql, &[&nanos(cutoff)?], membership)
    }

    fn events_of_workspace(&self, workspace_: WorkspaceId) -> StoreResult<Vec<Event>> {
        let sql = format!("{EVENT} WHERE payload ? 'workspace' AND payload ->> 'workspace' = $1 ORDER BY seq");
        self.all(&sql, &[&workspace_.to_string()], event)
    }

    fn switcher_rows(&self, user_: UserId) -> StoreResult<SwitcherRows> {
        let sql = "SELECT p.id, p.organisation, p.owner, p.created_at, p.archived_at, o.name \
                   FROM personal_workspaces p JOIN organisations o ON o.id = p.organisation WHERE p.owner = $1";
        let personal = self.all(sql, &[&id(user_)], personal_row)?;
        let sql = "SELECT w.id, w.organisation, w.name, w.speciality, w.description, w.status, w.created_by, \
                     w.created_at, m.workspace, m.\"user\", m.role, m.status, m.joined_at, m.updated_at, m.ends_at, \
                     m.end_notice, m.escalated_at, o.name \
                   FROM memberships m JOIN workspaces w ON w.id = m.workspace \
                   JOIN organisations o ON o.id = w.organisation WHERE m.\"user\" = $1 AND m.status != 'archived'";
        let shared = self.all(sql, &[&id(user_)], shared_row)?;
        Ok(SwitcherRows { personal, shared })
    }

    fn discovery_rows(&self, organisation: OrganisationId) -> StoreResult<Vec<DiscoveryRow>> {
        // Two statements however many workspaces: the workspaces with their counts, then
        // every admin of those workspaces by name.
        let sql = "SELECT w.id, w.organisation, w.name, w.speciality, w.description, w.status, w.created_by, \
                     w.created_at, \
                     (SELECT count(*) FROM memberships m WHERE m.workspace = w.id AND m.status != 'archived') \
                   FROM workspaces w WHERE w.organisation = $1 AND w.status = 'active'";
        let mut rows = self.all(sql, &[&id(organisation)], discovery_row)?;
        let sql = "SELECT a.workspace, u.id, u.name FROM workspaces w \
                   JOIN memberships a ON a.workspace = w.id AND a.role = 'admin' \
                   JOIN users u ON u.id = a.\"user\" \
                   WHERE w.organisation = $1 AND w.status = 'active'";
        let mut admins: HashMap<WorkspaceId, Vec<Person>> = HashMap::new();
        for (workspace_, person) in self.all(sql, &[&id(organisation)], admin_row)? {
            admins.entry(workspace_).or_default().push(person);
        }
        for row in &mut rows {
            row.admins = admins.remove(&row.workspace.id).unwrap_or_default();
        }
        Ok(rows)
    }

    fn events_of_user(&self, user_: UserId) -> StoreResult<Vec<Event>> {
        let sql = format!(
            "{EVENT} WHERE payload ? 'user' AND payload ->> 'user' = $1 \
             UNION ALL {EVENT} WHERE type = 'workspace_created' AND actor = $2 ORDER BY 1"
        );
        self.all(&sql, &[&user_.to_string(), &id(user_)], event)
    }
}

impl WriteTx for PgTx<'_> {
    fn reader(&self) -> &dyn ReadTx {
        self
    }

    fn put_organisation(&mut self, o: &Organisation) -> StoreResult<()> {
        self.exec(
            "INSERT INTO organisations (id, name, kind, ods_code, registered_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, ods_code = excluded.ods_code",
            &[
                &id(o.id),
                &o.name.as_str(),
                &o.kind.as_str(),
                &o.ods_code.as_ref().map(|c| c.as_str()),
                &nanos(o.registered_at)?,
            ],
        )
    }

    fn put_user(&mut self, u: &User) -> StoreResult<()> {
        self.exec(
            "INSERT INTO users (id, email, name, registered_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name",
            &[&id(u.id), &u.email.as_str(), &u.name.as_str(), &nanos(u.registered_at)?],
        )
    }

    fn add_organisation_member(
        &mut self,
        organisation: OrganisationId,
        user_: UserId,
        joined_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO organisation_members (organisation, \"user\", joined_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            &[&id(organisation), &id(user_), &nanos(joined_at)?],
        )
    }

    fn put_workspace(&mut self, w: &Workspace) -> StoreResult<()> {
        self.exec(
            "INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by, \
               created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key, \
             speciality = excluded.speciality, description = excluded.description, status = excluded.status",
            &[
                &id(w.id),
                &id(w.organisation),
                &w.name.as_str(),
                &w.name.key(),
                &i32::from(w.speciality.code()),
                &w.description.as_str(),
                &w.status.as_str(),
                &id(w.created_by),
                &nanos(w.created_at)?,
            ],
        )
    }

    fn put_personal_workspace(&mut self, p: &PersonalWorkspace) -> StoreResult<()> {
        self.exec(
            "INSERT INTO personal_workspaces (id, organisation, owner, created_at, archived_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET archived_at = excluded.archived_at",
            &[&id(p.id), &id(p.organisation), &id(p.owner), &nanos(p.created_at)?, &opt_nanos(p.archived_at)?],
        )
    }

    fn put_membership(&mut self, m: &Membership) -> StoreResult<()> {
        self.exec(
            "INSERT INTO memberships (workspace, \"user\", role, status, joined_at, updated_at, ends_at, end_notice, \
               escalated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (workspace, \"user\") DO UPDATE SET role = excluded.role, status = excluded.status, \
             joined_at = excluded.joined_at, updated_at = excluded.updated_at, ends_at = excluded.ends_at, \
             end_notice = excluded.end_notice, escalated_at = excluded.escalated_at",
            &[
                &id(m.workspace),
                &id(m.user),
                &m.state.role().as_str(),
                &m.state.status().as_str(),
                &nanos(m.joined_at)?,
                &nanos(m.updated_at)?,
                &opt_nanos(m.ends_at)?,
                &m.end_notice.map(EndNotice::as_str),
                &opt_nanos(m.escalated_at)?,
            ],
        )
    }

    fn delete_membership(&mut self, workspace_: WorkspaceId, user_: UserId) -> StoreResult<()> {
        self.exec("DELETE FROM memberships WHERE workspace = $1 AND \"user\" = $2", &[&id(workspace_), &id(user_)])
    }

    fn put_invite(&mut self, i: &Invite) -> StoreResult<()> {
        self.exec(
            "INSERT INTO invites (id, workspace, email, invited_by, created_at, expires_at, status, resolved_at, \
               resolved_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET invited_by = excluded.invited_by, expires_at = excluded.expires_at, \
             status = excluded.status, resolved_at = excluded.resolved_at, resolved_by = excluded.resolved_by",
            &[
                &id(i.id),
                &id(i.workspace),
                &i.email.as_str(),
                &id(i.invited_by),
                &nanos(i.created_at)?,
                &nanos(i.expires_at)?,
                &i.status.as_str(),
                &opt_nanos(i.resolved_at)?,
                &i.resolved_by.map(id),
            ],
        )
    }

    fn put_decline(&mut self, d: &Decline) -> StoreResult<()> {
        self.exec(
            "INSERT INTO declines (workspace, \"user\", declined_at) VALUES ($1, $2, $3) \
             ON CONFLICT (workspace, \"user\") DO UPDATE SET declined_at = excluded.declined_at",
            &[&id(d.workspace), &id(d.user), &nanos(d.declined_at)?],
        )
    }

    fn put_conversation(&mut self, c: &Conversation) -> StoreResult<()> {
        self.exec(
            "INSERT INTO conversations (id, workspace, started_by, started_at) VALUES ($1, $2, $3, $4)",
            &[&id(c.id), &id(c.workspace), &id(c.started_by), &nanos(c.started_at)?],
        )
    }

    fn append_event(&mut self, new: NewEvent) -> StoreResult<Event> {
        let payload = serde_json::to_string(&new.kind).map_err(|e| corrupt("event", e))?;
        // The counter's row lock orders appenders; a rollback undoes the increment. One
        // statement takes the number and writes the event (one round trip, not two).
        let seq = self
            .one(
                "WITH next AS (UPDATE event_counter SET last = last + 1 RETURNING last) \
                 INSERT INTO events (seq, at, actor, type, payload) \
                 SELECT last, $1, $2, $3, $4::text::jsonb FROM next RETURNING seq",
                &[&nanos(new.at)?, &new.actor.map(id), &new.kind.type_name(), &payload],
                count,
            )?
            .ok_or_else(|| StorageError::new(carespace::StorageErrorKind::Corrupt, "the event counter is missing"))?;
        Ok(new.with_seq(u64::try_from(seq).map_err(|e| corrupt("event number", e))?))
    }
}
