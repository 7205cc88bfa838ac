//! The queries: [`ReadTx`] and [`WriteTx`] over one SQLite connection inside a
//! transaction, and the mapping between rows and core's records.

use std::collections::HashMap;

use carespace::store::{Access, ReadTx, StoreResult, WriteTx};
use carespace::{
    Conversation, ConversationId, Decline, Description, DiscoveryRow, EndNotice, Event, EventKind, Invite, InviteId,
    InviteStatus, Membership, MembershipState, NewEvent, NhsEmail, OdsCode, Organisation, OrganisationId,
    OrganisationKind, OrganisationName, Person, PersonName, PersonalWorkspace, Speciality, SwitcherRows, User, UserId,
    Workspace, WorkspaceId, WorkspaceName, WorkspaceStatus,
};
use rusqlite::{Connection, OptionalExtension, Params, Row, params};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{SqlResultExt, corrupt};

/// A transaction's view of the database (the caller opened the transaction).
pub(crate) struct SqliteTx<'a> {
    pub(crate) conn: &'a Connection,
}

impl SqliteTx<'_> {
    fn one<T>(&self, sql: &str, params: impl Params, parse: fn(&Row<'_>) -> StoreResult<T>) -> StoreResult<Option<T>> {
        #[cfg(test)]
        tests::record(sql);
        let mut stmt = self.conn.prepare_cached(sql).sql()?;
        stmt.query_row(params, |row| Ok(parse(row))).optional().sql()?.transpose()
    }

    fn all<T>(&self, sql: &str, params: impl Params, parse: fn(&Row<'_>) -> StoreResult<T>) -> StoreResult<Vec<T>> {
        #[cfg(test)]
        tests::record(sql);
        let mut stmt = self.conn.prepare_cached(sql).sql()?;
        let rows = stmt.query_map(params, |row| Ok(parse(row))).sql()?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.sql()??);
        }
        Ok(out)
    }

    fn exec(&self, sql: &str, params: impl Params) -> StoreResult<()> {
        self.conn.prepare_cached(sql).sql()?.execute(params).sql().map(drop)
    }
}

// ----- Column conversions -------------------------------------------------------------

// Columns are read by reference where they can be, without a copy per value.

fn uuid(row: &Row<'_>, i: usize) -> StoreResult<Uuid> {
    let bytes = row.get_ref(i).sql()?.as_blob().map_err(|e| corrupt("id", e))?;
    Uuid::from_slice(bytes).map_err(|e| corrupt("id", e))
}

fn opt_uuid(row: &Row<'_>, i: usize) -> StoreResult<Option<Uuid>> {
    let bytes = row.get_ref(i).sql()?.as_blob_or_null().map_err(|e| corrupt("id", e))?;
    bytes.map(|b| Uuid::from_slice(b).map_err(|e| corrupt("id", e))).transpose()
}

fn str_ref<'r>(row: &'r Row<'_>, i: usize, what: &str) -> StoreResult<&'r str> {
    row.get_ref(i).sql()?.as_str().map_err(|e| corrupt(what, e))
}

fn instant(row: &Row<'_>, i: usize) -> StoreResult<OffsetDateTime> {
    from_nanos(row.get(i).sql()?)
}

fn opt_instant(row: &Row<'_>, i: usize) -> StoreResult<Option<OffsetDateTime>> {
    let nanos: Option<i64> = row.get(i).sql()?;
    nanos.map(from_nanos).transpose()
}

fn from_nanos(nanos: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).map_err(|e| corrupt("timestamp", e))
}

/// An instant as stored: core's one encoding, refusing what no backend stores.
pub(crate) use carespace::store::stored_nanos as nanos;

fn opt_nanos(at: Option<OffsetDateTime>) -> StoreResult<Option<i64>> {
    at.map(nanos).transpose()
}

fn text<T>(
    row: &Row<'_>,
    i: usize,
    what: &str,
    parse: impl FnOnce(&str) -> Result<T, carespace::TextError>,
) -> StoreResult<T> {
    parse(str_ref(row, i, what)?).map_err(|e| corrupt(what, e))
}

fn email(row: &Row<'_>, i: usize) -> StoreResult<NhsEmail> {
    NhsEmail::parse(str_ref(row, i, "email")?).map_err(|e| corrupt("email", e))
}

fn speciality(row: &Row<'_>, i: usize) -> StoreResult<Speciality> {
    let code: u16 = row.get(i).sql()?;
    Speciality::from_code(code).map_err(|e| corrupt("speciality", e))
}

fn bytes(id: impl Into<Uuid>) -> [u8; 16] {
    id.into().into_bytes()
}

// ----- Enums as text ------------------------------------------------------------------

fn membership_state(role: &str, status: &str) -> StoreResult<MembershipState> {
    MembershipState::from_stored(role, status).ok_or_else(|| corrupt("membership", format!("{role:?} {status:?}")))
}

// ----- Rows ---------------------------------------------------------------------------

const ORGANISATION: &str = "SELECT id, name, kind, ods_code, registered_at FROM organisations";

fn organisation(row: &Row<'_>) -> StoreResult<Organisation> {
    let kind: String = row.get(2).sql()?;
    let ods: Option<String> = row.get(3).sql()?;
    Ok(Organisation {
        id: OrganisationId::from_uuid(uuid(row, 0)?),
        name: text(row, 1, "organisation name", OrganisationName::parse)?,
        kind: OrganisationKind::from_str_opt(&kind).ok_or_else(|| corrupt("organisation kind", &kind))?,
        ods_code: ods.map(|c| OdsCode::parse(&c).map_err(|e| corrupt("ODS code", e))).transpose()?,
        registered_at: instant(row, 4)?,
    })
}

const USER: &str = "SELECT id, email, name, registered_at FROM users";

fn user(row: &Row<'_>) -> StoreResult<User> {
    Ok(User {
        id: UserId::from_uuid(uuid(row, 0)?),
        email: email(row, 1)?,
        name: text(row, 2, "person name", PersonName::parse)?,
        registered_at: instant(row, 3)?,
    })
}

const WORKSPACE: &str =
    "SELECT id, organisation, name, speciality, description, status, created_by, created_at FROM workspaces";

fn workspace(row: &Row<'_>) -> StoreResult<Workspace> {
    workspace_at(row, 0)
}

/// A workspace from the eight columns starting at `at`.
fn workspace_at(row: &Row<'_>, at: usize) -> StoreResult<Workspace> {
    let status = str_ref(row, at + 5, "workspace status")?;
    Ok(Workspace {
        id: WorkspaceId::from_uuid(uuid(row, at)?),
        organisation: OrganisationId::from_uuid(uuid(row, at + 1)?),
        name: text(row, at + 2, "workspace name", WorkspaceName::parse)?,
        speciality: speciality(row, at + 3)?,
        description: text(row, at + 4, "description", Description::parse)?,
        status: WorkspaceStatus::from_str_opt(status).ok_or_else(|| corrupt("workspace status", status))?,
        created_by: UserId::from_uuid(uuid(row, at + 6)?),
        created_at: instant(row, at + 7)?,
    })
}

const PERSONAL: &str = "SELECT id, organisation, owner, created_at, archived_at FROM personal_workspaces";

fn personal(row: &Row<'_>) -> StoreResult<PersonalWorkspace> {
    Ok(PersonalWorkspace {
        id: WorkspaceId::from_uuid(uuid(row, 0)?),
        organisation: OrganisationId::from_uuid(uuid(row, 1)?),
        owner: UserId::from_uuid(uuid(row, 2)?),
        created_at: instant(row, 3)?,
        archived_at: opt_instant(row, 4)?,
    })
}

const MEMBERSHIP: &str = "SELECT workspace, user, role, status, joined_at, updated_at, ends_at, end_notice, escalated_at \
                          FROM memberships";

fn membership(row: &Row<'_>) -> StoreResult<Membership> {
    membership_at(row, 0)
}

/// A membership from the nine columns starting at `at`.
fn membership_at(row: &Row<'_>, at: usize) -> StoreResult<Membership> {
    let role = str_ref(row, at + 2, "role")?;
    let status = str_ref(row, at + 3, "member status")?;
    let end_notice = match row.get_ref(at + 7).sql()?.as_str_or_null().map_err(|e| corrupt("end notice", e))? {
        None => None,
        Some(notice) => Some(EndNotice::from_str_opt(notice).ok_or_else(|| corrupt("end notice", notice))?),
    };
    Ok(Membership {
        workspace: WorkspaceId::from_uuid(uuid(row, at)?),
        user: UserId::from_uuid(uuid(row, at + 1)?),
        state: membership_state(role, status)?,
        joined_at: instant(row, at + 4)?,
        updated_at: instant(row, at + 5)?,
        ends_at: opt_instant(row, at + 6)?,
        end_notice,
        escalated_at: opt_instant(row, at + 8)?,
    })
}

const INVITE: &str = "SELECT id, workspace, email, invited_by, created_at, expires_at, status, resolved_at, resolved_by \
                      FROM invites";

fn invite(row: &Row<'_>) -> StoreResult<Invite> {
    let status = str_ref(row, 6, "invite status")?;
    Ok(Invite {
        id: InviteId::from_uuid(uuid(row, 0)?),
        workspace: WorkspaceId::from_uuid(uuid(row, 1)?),
        email: email(row, 2)?,
        invited_by: UserId::from_uuid(uuid(row, 3)?),
        created_at: instant(row, 4)?,
        expires_at: instant(row, 5)?,
        status: InviteStatus::from_str_opt(status).ok_or_else(|| corrupt("invite status", status))?,
        resolved_at: opt_instant(row, 7)?,
        resolved_by: opt_uuid(row, 8)?.map(UserId::from_uuid),
    })
}

fn decline(row: &Row<'_>) -> StoreResult<Decline> {
    Ok(Decline {
        workspace: WorkspaceId::from_uuid(uuid(row, 0)?),
        user: UserId::from_uuid(uuid(row, 1)?),
        declined_at: instant(row, 2)?,
    })
}

fn conversation(row: &Row<'_>) -> StoreResult<Conversation> {
    Ok(Conversation {
        id: ConversationId::from_uuid(uuid(row, 0)?),
        workspace: WorkspaceId::from_uuid(uuid(row, 1)?),
        started_by: UserId::from_uuid(uuid(row, 2)?),
        started_at: instant(row, 3)?,
    })
}

fn event(row: &Row<'_>) -> StoreResult<Event> {
    let seq: i64 = row.get(0).sql()?;
    let payload = str_ref(row, 3, "event payload")?;
    Ok(Event {
        seq: u64::try_from(seq).map_err(|e| corrupt("event number", e))?,
        at: instant(row, 1)?,
        actor: opt_uuid(row, 2)?.map(UserId::from_uuid),
        kind: serde_json::from_str::<EventKind>(payload).map_err(|e| corrupt("event payload", e))?,
    })
}

/// The permission check's one statement: a shared workspace with the user's membership,
/// or else a My Workspace. A membership implies the user exists (a foreign key). The
/// planner would pick the unique index on `id` and then read the table row; the
/// covering index answers from one B-tree.
const ACCESS: &str = "SELECT w.organisation, 0, w.status = 'active', m.role, m.status, 0, \
       EXISTS (SELECT 1 FROM organisation_members o WHERE o.organisation = w.organisation AND o.user = ?2), \
       CASE WHEN m.user IS NOT NULL THEN 1 ELSE EXISTS (SELECT 1 FROM users u WHERE u.id = ?2) END \
     FROM workspaces w INDEXED BY workspaces_access \
       LEFT JOIN memberships m ON m.workspace = w.id AND m.user = ?2 WHERE w.id = ?1 \
     UNION ALL \
     SELECT p.organisation, 1, p.archived_at IS NULL, NULL, NULL, p.owner = ?2, \
       EXISTS (SELECT 1 FROM organisation_members o WHERE o.organisation = p.organisation AND o.user = ?2), \
       EXISTS (SELECT 1 FROM users u WHERE u.id = ?2) \
     FROM personal_workspaces p WHERE p.id = ?1 \
     LIMIT 1";

fn access(row: &Row<'_>) -> StoreResult<Access> {
    let role: Option<String> = row.get(3).sql()?;
    let status: Option<String> = row.get(4).sql()?;
    let state = match (role, status) {
        (Some(role), Some(status)) => Some(membership_state(&role, &status)?),
        _ => None,
    };
    Ok(Access {
        organisation: OrganisationId::from_uuid(uuid(row, 0)?),
        personal: row.get(1).sql()?,
        active: row.get(2).sql()?,
        state,
        owner: row.get(5).sql()?,
        in_organisation: row.get(6).sql()?,
        user_exists: row.get(7).sql()?,
    })
}

fn personal_row(row: &Row<'_>) -> StoreResult<(PersonalWorkspace, OrganisationName)> {
    Ok((personal(row)?, text(row, 5, "organisation name", OrganisationName::parse)?))
}

fn shared_row(row: &Row<'_>) -> StoreResult<(Membership, Workspace, OrganisationName)> {
    Ok((membership_at(row, 8)?, workspace_at(row, 0)?, text(row, 17, "organisation name", OrganisationName::parse)?))
}

fn discovery_row(row: &Row<'_>) -> StoreResult<DiscoveryRow> {
    let member_count: i64 = row.get(8).sql()?;
    Ok(DiscoveryRow {
        workspace: workspace(row)?,
        member_count: u32::try_from(member_count).unwrap_or(u32::MAX),
        admins: Vec::new(),
    })
}

fn admin_row(row: &Row<'_>) -> StoreResult<(WorkspaceId, Person)> {
    Ok((
        WorkspaceId::from_uuid(uuid(row, 0)?),
        Person { id: UserId::from_uuid(uuid(row, 1)?), name: text(row, 2, "person name", PersonName::parse)? },
    ))
}

fn organisation_id(row: &Row<'_>) -> StoreResult<OrganisationId> {
    uuid(row, 0).map(OrganisationId::from_uuid)
}

fn flag(row: &Row<'_>) -> StoreResult<bool> {
    row.get(0).sql()
}

fn count(row: &Row<'_>) -> StoreResult<i64> {
    row.get(0).sql()
}

impl ReadTx for SqliteTx<'_> {
    fn organisation(&self, id: OrganisationId) -> StoreResult<Option<Organisation>> {
        self.one(&format!("{ORGANISATION} WHERE id = ?1"), [bytes(id)], organisation)
    }

    fn organisation_by_ods(&self, code: &OdsCode) -> StoreResult<Option<Organisation>> {
        self.one(&format!("{ORGANISATION} WHERE ods_code = ?1"), [code.as_str()], organisation)
    }

    fn organisations(&self) -> StoreResult<Vec<Organisation>> {
        self.all(&format!("{ORGANISATION} ORDER BY id"), [], organisation)
    }

    fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.one(&format!("{USER} WHERE id = ?1"), [bytes(id)], user)
    }

    fn user_by_email(&self, email: &NhsEmail) -> StoreResult<Option<User>> {
        self.one(&format!("{USER} WHERE email = ?1"), [email.as_str()], user)
    }

    fn is_organisation_member(&self, organisation: OrganisationId, user: UserId) -> StoreResult<bool> {
        let sql = "SELECT EXISTS (SELECT 1 FROM organisation_members WHERE organisation = ?1 AND user = ?2)";
        Ok(self.one(sql, [bytes(organisation), bytes(user)], flag)?.unwrap_or(false))
    }

    fn organisations_of(&self, user: UserId) -> StoreResult<Vec<OrganisationId>> {
        let sql = "SELECT organisation FROM organisation_members WHERE user = ?1 ORDER BY organisation";
        self.all(sql, [bytes(user)], organisation_id)
    }

    fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<Workspace>> {
        self.one(&format!("{WORKSPACE} WHERE id = ?1"), [bytes(id)], workspace)
    }

    fn active_workspace_named(&self, organisation: OrganisationId, name_key: &str) -> StoreResult<Option<Workspace>> {
        let sql = format!("{WORKSPACE} WHERE organisation = ?1 AND name_key = ?2 AND status = 'active'");
        self.one(&sql, params![bytes(organisation), name_key], workspace)
    }

    fn workspaces_of(&self, organisation: OrganisationId) -> StoreResult<Vec<Workspace>> {
        self.all(&format!("{WORKSPACE} WHERE organisation = ?1 ORDER BY id"), [bytes(organisation)], workspace)
    }

    fn personal_workspace(&self, id: WorkspaceId) -> StoreResult<Option<PersonalWorkspace>> {
        self.one(&format!("{PERSONAL} WHERE id = ?1"), [bytes(id)], personal)
    }

    fn personal_workspace_of(
        &self,
        user: UserId,
        organisation: OrganisationId,
    ) -> StoreResult<Option<PersonalWorkspace>> {
        let sql = format!("{PERSONAL} WHERE owner = ?1 AND organisation = ?2");
        self.one(&sql, [bytes(user), bytes(organisation)], personal)
    }

    fn personal_workspaces_of(&self, user: UserId) -> StoreResult<Vec<PersonalWorkspace>> {
        self.all(&format!("{PERSONAL} WHERE owner = ?1 ORDER BY organisation"), [bytes(user)], personal)
    }

    fn membership(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Membership>> {
        let sql = format!("{MEMBERSHIP} WHERE workspace = ?1 AND user = ?2");
        self.one(&sql, [bytes(workspace), bytes(user)], membership)
    }

    fn memberships_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<Membership>> {
        self.all(&format!("{MEMBERSHIP} WHERE workspace = ?1 ORDER BY user"), [bytes(workspace)], membership)
    }

    fn memberships_of_user(&self, user: UserId) -> StoreResult<Vec<Membership>> {
        self.all(&format!("{MEMBERSHIP} WHERE user = ?1 ORDER BY workspace"), [bytes(user)], membership)
    }

    fn invite(&self, id: InviteId) -> StoreResult<Option<Invite>> {
        self.one(&format!("{INVITE} WHERE id = ?1"), [bytes(id)], invite)
    }

    fn pending_invites_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<Invite>> {
        let sql = format!("{INVITE} WHERE workspace = ?1 AND status = 'pending' ORDER BY id");
        self.all(&sql, [bytes(workspace)], invite)
    }

    fn pending_invites_for(&self, email: &NhsEmail) -> StoreResult<Vec<Invite>> {
        let sql = format!("{INVITE} WHERE email = ?1 AND status = 'pending' ORDER BY id");
        self.all(&sql, [email.as_str()], invite)
    }

    fn decline(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Decline>> {
        let sql = "SELECT workspace, user, declined_at FROM declines WHERE workspace = ?1 AND user = ?2";
        self.one(sql, [bytes(workspace), bytes(user)], decline)
    }

    fn conversations_of(&self, workspace: WorkspaceId) -> StoreResult<Vec<Conversation>> {
        let sql = "SELECT id, workspace, started_by, started_at FROM conversations WHERE workspace = ?1 \
                   ORDER BY started_at, id";
        self.all(sql, [bytes(workspace)], conversation)
    }

    fn events_after(&self, after: u64, limit: usize) -> StoreResult<Vec<Event>> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = "SELECT seq, at, actor, payload FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2";
        self.all(sql, [after, limit], event)
    }

    fn last_event_seq(&self) -> StoreResult<u64> {
        let last = self.one("SELECT coalesce(max(seq), 0) FROM events", [], count)?.unwrap_or(0);
        u64::try_from(last).map_err(|e| corrupt("event number", e))
    }

    fn access(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Access>> {
        self.one(ACCESS, [bytes(workspace), bytes(user)], access)
    }

    fn admins_of(&self, workspace: WorkspaceId) -> StoreResult<Vec<Membership>> {
        // Without statistics the planner would walk the whole workspace by primary key.
        let sql =
            format!("{MEMBERSHIP} INDEXED BY memberships_admins WHERE workspace = ?1 AND role = 'admin' ORDER BY user");
        self.all(&sql, [bytes(workspace)], membership)
    }

    fn memberships_in_state(&self, workspace: WorkspaceId, state: MembershipState) -> StoreResult<Vec<Membership>> {
        let sql = format!("{MEMBERSHIP} WHERE workspace = ?1 AND role = ?2 AND status = ?3 ORDER BY user");
        self.all(&sql, params![bytes(workspace), state.role().as_str(), state.status().as_str()], membership)
    }

    fn pending_invite_to(&self, workspace: WorkspaceId, email: &NhsEmail) -> StoreResult<Option<Invite>> {
        let sql = format!("{INVITE} WHERE workspace = ?1 AND email = ?2 AND status = 'pending'");
        self.one(&sql, params![bytes(workspace), email.as_str()], invite)
    }

    fn invites_expired_by(&self, now: OffsetDateTime) -> StoreResult<Vec<Invite>> {
        let sql = format!(
            "{INVITE} INDEXED BY invites_pending_by_expiry WHERE status = 'pending' AND expires_at <= ?1 \
             ORDER BY expires_at, id"
        );
        self.all(&sql, [nanos(now)?], invite)
    }

    fn requests_waiting_since(&self, cutoff: OffsetDateTime) -> StoreResult<Vec<Membership>> {
        let sql = format!(
            "{MEMBERSHIP} INDEXED BY memberships_waiting \
             WHERE status = 'unapproved' AND escalated_at IS NULL AND joined_at <= ?1 ORDER BY joined_at, workspace, user"
        );
        self.all(&sql, [nanos(cutoff)?], membership)
    }

    fn memberships_ending_by(&self, cutoff: OffsetDateTime) -> StoreResult<Vec<Membership>> {
        let sql = format!(
            "{MEMBERSHIP} INDEXED BY memberships_ending \
             WHERE ends_at IS NOT NULL AND ends_at <= ?1 AND status != 'archived' ORDER BY ends_at, workspace, user"
        );
        self.all(&sql, [nanos(cutoff)?], membership)
    }

    fn events_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<Event>> {
        // The expression must be the index's, character for character.
        let sql = "SELECT seq, at, actor, payload FROM events INDEXED BY events_by_workspace \
                   WHERE json_extract(payload, '$.workspace') = ?1 ORDER BY seq";
        self.all(sql, [workspace.to_string()], event)
    }

    fn events_of_user(&self, user: UserId) -> StoreResult<Vec<Event>> {
        let sql = "SELECT seq, at, actor, payload FROM events INDEXED BY events_by_user \
                     WHERE json_extract(payload, '$.user') = ?1 \
                   UNION ALL \
                   SELECT seq, at, actor, payload FROM events INDEXED BY events_created_by \
                     WHERE type = 'workspace_created' AND actor = ?2 \
                   ORDER BY seq";
        self.all(sql, params![user.to_string(), bytes(user)], event)
    }

    fn switcher_rows(&self, user: UserId) -> StoreResult<SwitcherRows> {
        let sql = "SELECT p.id, p.organisation, p.owner, p.created_at, p.archived_at, o.name \
                   FROM personal_workspaces p JOIN organisations o ON o.id = p.organisation WHERE p.owner = ?1";
        let personal = self.all(sql, [bytes(user)], personal_row)?;
        let sql = "SELECT w.id, w.organisation, w.name, w.speciality, w.description, w.status, w.created_by, \
                     w.created_at, m.workspace, m.user, m.role, m.status, m.joined_at, m.updated_at, m.ends_at, \
                     m.end_notice, m.escalated_at, o.name \
                   FROM memberships m JOIN workspaces w ON w.id = m.workspace \
                   JOIN organisations o ON o.id = w.organisation WHERE m.user = ?1 AND m.status != 'archived'";
        let shared = self.all(sql, [bytes(user)], shared_row)?;
        Ok(SwitcherRows { personal, shared })
    }

    fn discovery_rows(&self, organisation: OrganisationId) -> StoreResult<Vec<DiscoveryRow>> {
        // Two statements however many workspaces: the workspaces with their counts, then
        // every admin of those workspaces by name.
        let sql = "SELECT w.id, w.organisation, w.name, w.speciality, w.description, w.status, w.created_by, \
                     w.created_at, \
                     (SELECT count(*) FROM memberships m WHERE m.workspace = w.id AND m.status != 'archived') \
                   FROM workspaces w WHERE w.organisation = ?1 AND w.status = 'active'";
        let mut rows = self.all(sql, [bytes(organisation)], discovery_row)?;
        let sql = "SELECT a.workspace, u.id, u.name FROM workspaces w \
                   JOIN memberships a INDEXED BY memberships_admins ON a.workspace = w.id AND a.role = 'admin' \
                   JOIN users u ON u.id = a.user \
                   WHERE w.organisation = ?1 AND w.status = 'active'";
        let mut admins: HashMap<WorkspaceId, Vec<Person>> = HashMap::new();
        for (workspace, person) in self.all(sql, [bytes(organisation)], admin_row)? {
            admins.entry(workspace).or_default().push(person);
        }
        for row in &mut rows {
            row.admins = admins.remove(&row.workspace.id).unwrap_or_default();
        }
        Ok(rows)
    }
}

impl WriteTx for SqliteTx<'_> {
    fn reader(&self) -> &dyn ReadTx {
        self
    }

    fn put_organisation(&mut self, o: &Organisation) -> StoreResult<()> {
        self.exec(
            "INSERT INTO organisations (id, name, kind, ods_code, registered_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, ods_code = excluded.ods_code",
            params![
                bytes(o.id),
                o.name.as_str(),
                o.kind.as_str(),
                o.ods_code.as_ref().map(|c| c.as_str()),
                nanos(o.registered_at)?
            ],
        )
    }

    fn put_user(&mut self, u: &User) -> StoreResult<()> {
        self.exec(
            "INSERT INTO users (id, email, name, registered_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name",
            params![bytes(u.id), u.email.as_str(), u.name.as_str(), nanos(u.registered_at)?],
        )
    }

    fn add_organisation_member(
        &mut self,
        organisation: OrganisationId,
        user: UserId,
        joined_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO organisation_members (organisation, user, joined_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![bytes(organisation), bytes(user), nanos(joined_at)?],
        )
    }

    fn put_workspace(&mut self, w: &Workspace) -> StoreResult<()> {
        self.exec(
            "INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key, \
             speciality = excluded.speciality, description = excluded.description, status = excluded.status",
            params![
                bytes(w.id),
                bytes(w.organisation),
                w.name.as_str(),
                w.name.key(),
                w.speciality.code(),
                w.description.as_str(),
                w.status.as_str(),
                bytes(w.created_by),
                nanos(w.created_at)?
            ],
        )
    }

    fn put_personal_workspace(&mut self, p: &PersonalWorkspace) -> StoreResult<()> {
        self.exec(
            "INSERT INTO personal_workspaces (id, organisation, owner, created_at, archived_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (id) DO UPDATE SET archived_at = excluded.archived_at",
            params![bytes(p.id), bytes(p.organisation), bytes(p.owner), nanos(p.created_at)?, opt_nanos(p.archived_at)?],
        )
    }

    fn put_membership(&mut self, m: &Membership) -> StoreResult<()> {
        self.exec(
            "INSERT INTO memberships (workspace, user, role, status, joined_at, updated_at, ends_at, end_notice, \
               escalated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (workspace, user) DO UPDATE SET role = excluded.role, status = excluded.status, \
             joined_at = excluded.joined_at, updated_at = excluded.updated_at, ends_at = excluded.ends_at, \
             end_notice = excluded.end_notice, escalated_at = excluded.escalated_at",
            params![
                bytes(m.workspace),
                bytes(m.user),
                m.state.role().as_str(),
                m.state.status().as_str(),
                nanos(m.joined_at)?,
                nanos(m.updated_at)?,
                opt_nanos(m.ends_at)?,
                m.end_notice.map(EndNotice::as_str),
                opt_nanos(m.escalated_at)?
            ],
        )
    }

    fn delete_membership(&mut self, workspace: WorkspaceId, user: UserId) -> StoreResult<()> {
        self.exec("DELETE FROM memberships WHERE workspace = ?1 AND user = ?2", [bytes(workspace), bytes(user)])
    }

    fn put_invite(&mut self, i: &Invite) -> StoreResult<()> {
        self.exec(
            "INSERT INTO invites (id, workspace, email, invited_by, created_at, expires_at, status, resolved_at, resolved_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (id) DO UPDATE SET invited_by = excluded.invited_by, expires_at = excluded.expires_at, \
             status = excluded.status, resolved_at = excluded.resolved_at, resolved_by = excluded.resolved_by",
            params![
                bytes(i.id),
                bytes(i.workspace),
                i.email.as_str(),
                bytes(i.invited_by),
                nanos(i.created_at)?,
                nanos(i.expires_at)?,
                i.status.as_str(),
                opt_nanos(i.resolved_at)?,
                i.resolved_by.map(bytes)
            ],
        )
    }

    fn put_decline(&mut self, d: &Decline) -> StoreResult<()> {
        self.exec(
            "INSERT INTO declines (workspace, user, declined_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (workspace, user) DO UPDATE SET declined_at = excluded.declined_at",
            params![bytes(d.workspace), bytes(d.user), nanos(d.declined_at)?],
        )
    }

    fn put_conversation(&mut self, c: &Conversation) -> StoreResult<()> {
        self.exec(
            "INSERT INTO conversations (id, workspace, started_by, started_at) VALUES (?1, ?2, ?3, ?4)",
            params![bytes(c.id), bytes(c.workspace), bytes(c.started_by), nanos(c.started_at)?],
        )
    }

    fn append_event(&mut self, event: NewEvent) -> StoreResult<Event> {
        let payload = serde_json::to_string(&event.kind).map_err(|e| corrupt("event", e))?;
        // The next number is taken inside the insert, under the write lock: no gap, no race.
        let sql = "INSERT INTO events (seq, at, actor, type, payload) \
                   VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM events), ?1, ?2, ?3, ?4) RETURNING seq";
        let params = params![nanos(event.at)?, event.actor.map(bytes), event.kind.type_name(), payload];
        let seq = self.one(sql, params, count)?.ok_or_else(|| corrupt("event number", "no row returned"))?;
        Ok(event.with_seq(u64::try_from(seq).map_err(|e| corrupt("event number", e))?))
    }
}

#[cfg(test)]
mod tests {
    //! Query plans: the reads behind the permission check, the switcher and discovery
    //! use an index or a primary key, never a full scan.
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    use carespace::{Action, Carespace, DiscoveryFilter, NewWorkspace, OrganisationKind, Speciality};

    use crate::SqliteStore;

    thread_local! {
        static RECORDED: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
    }

    pub(super) fn record(sql: &str) {
        RECORDED.with(|r| r.borrow_mut().insert(sql.to_owned()));
    }

    fn take() -> BTreeSet<String> {
        RECORDED.with(|r| std::mem::take(&mut *r.borrow_mut()))
    }

    fn plan(store: &SqliteStore, sql: &str) -> String {
        store.with_connection(|conn| {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            // Parameters stay unbound (NULL): the plan does not depend on their values.
            let mut rows = stmt.raw_query();
            let mut details = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                details.push(row.get::<_, String>(3).unwrap());
            }
            details.join("; ")
        })
    }

    /// Every statement `run` issues is planned with an index or primary key.
    fn assert_indexed(store: &SqliteStore, what: &str, run: impl FnOnce()) -> Vec<String> {
        take();
        run();
        let statements = take();
        assert!(!statements.is_empty());
        let plans: Vec<String> = statements.iter().map(|sql| plan(store, sql)).collect();
        for (sql, plan) in statements.iter().zip(&plans) {
            let scans = plan.split("; ").filter(|step| step.starts_with("SCAN ") && *step != "SCAN CONSTANT ROW");
            assert_eq!(scans.count(), 0, "{what}: full scan in\n  {sql}\n  {plan}");
            assert!(plan.contains("SEARCH"), "{what}: {sql}: {plan}");
        }
        plans
    }

    #[test]
    fn permission_check_switcher_and_discovery_use_indexes() {
        let store = std::sync::Arc::new(SqliteStore::open_in_memory().unwrap());
        let service = Carespace::from_arc(store.clone());
        let trust = service.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
        let alice = service.register_user("alice@nhs.net".parse().unwrap(), "Alice".parse().unwrap()).unwrap();
        service.join_organisation(alice.id, trust.id).unwrap();
        let new = NewWorkspace {
            name: "Ward".parse().unwrap(),
            speciality: Speciality::from_code(501).unwrap(),
            description: Default::default(),
        };
        let ws = service.create_workspace(alice.id, trust.id, new).unwrap().workspace;

        let plans = assert_indexed(&store, "can()", || {
            assert!(service.can(alice.id, ws.id, Action::ViewAllConversations).unwrap());
        });
        // The permission check is one statement, by primary keys.
        assert_eq!(plans.len(), 1, "{plans:?}");
        assert!(plans[0].contains("SEARCH m USING PRIMARY KEY (workspace=? AND user=?)"), "{plans:?}");
        assert!(plans[0].contains("SEARCH w USING COVERING INDEX workspaces_access (id=?)"), "{plans:?}");
        let plans = assert_indexed(&store, "my_workspaces()", || {
            assert_eq!(service.my_workspaces(alice.id).unwrap().len(), 2);
        });
        assert!(plans.iter().any(|p| p.contains("memberships_by_user")), "{plans:?}");
        let plans = assert_indexed(&store, "discover()", || {
            service.discover(alice.id, trust.id, &DiscoveryFilter::default()).unwrap();
        });
        assert!(plans.iter().any(|p| p.contains("workspaces_by_organisation")), "{plans:?}");
        assert_indexed(&store, "create_workspace()", || {
            let new = NewWorkspace {
                name: "Ward 2".parse().unwrap(),
                speciality: Speciality::from_code(501).unwrap(),
                description: Default::default(),
            };
            service.create_workspace(alice.id, trust.id, new).unwrap();
        });
        let bob = service.register_user("bob@nhs.net".parse().unwrap(), "Bob".parse().unwrap()).unwrap();
        service.join_organisation(bob.id, trust.id).unwrap();
        assert_indexed(&store, "request_to_join()", || {
            service.request_to_join(bob.id, ws.id).unwrap();
        });
        let plans = assert_indexed(&store, "approve()", || {
            service.approve(alice.id, ws.id, bob.id).unwrap();
        });
        assert!(plans.iter().any(|p| p.contains("memberships_admins")), "{plans:?}");
        assert_indexed(&store, "pending_requests()", || {
            service.pending_requests(alice.id).unwrap();
        });
        assert_indexed(&store, "events_since()", || {
            service.events_since(3, 10).unwrap();
        });
    }
}
