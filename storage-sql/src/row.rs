//! Rows and values: the [`Row`] trait each driver implements, the [`Value`]s a statement
//! binds, and the one decoding of rows into core's records (and of records into values).

use std::borrow::Cow;
use std::fmt::Display;

use carespace::store::{Access, PersonInOrganisation, StoreResult, stored_nanos};
use carespace::{
    Consumer, ConsumerName, Conversation, ConversationId, Decline, Description, DiscoveryRow, EndNotice, Event,
    EventKind, Invite, InviteId, InviteStatus, Membership, MembershipState, NhsEmail, OdsCode, Organisation,
    OrganisationId, OrganisationKind, OrganisationName, Person, PersonName, PersonalWorkspace, Speciality,
    StorageError, StorageErrorKind, TextError, User, UserId, Workspace, WorkspaceId, WorkspaceName, WorkspaceStatus,
};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// One result row, as a driver gives it: the four kinds of column Carespace stores.
/// A column of the wrong type is a [`corrupt`] error, never a panic.
pub trait Row {
    /// A uuid column (a 16-byte blob on SQLite, `uuid` on PostgreSQL); `None` when NULL.
    fn id(&self, i: usize) -> StoreResult<Option<Uuid>>;
    /// An integer column (instants as nanoseconds, counts, codes, sequence numbers);
    /// `None` when NULL.
    fn int(&self, i: usize) -> StoreResult<Option<i64>>;
    /// A text column; `None` when NULL.
    fn text(&self, i: usize) -> StoreResult<Option<&str>>;
    /// A truth value (an integer on SQLite, `boolean` on PostgreSQL).
    fn flag(&self, i: usize) -> StoreResult<bool>;
}

/// A value a statement binds: the kinds of column above, text by reference where it
/// can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// A uuid, or NULL.
    Id(Option<Uuid>),
    /// An integer, or NULL.
    Int(Option<i64>),
    /// Text, or NULL.
    Text(Option<Cow<'a, str>>),
}

/// A value read back that Carespace could not have written: a [`StorageErrorKind::Corrupt`]
/// error naming what was unreadable (never the value's personal data: `detail` is a
/// parse error or a code).
pub fn corrupt(what: &str, detail: impl Display) -> StorageError {
    StorageError::new(StorageErrorKind::Corrupt, format!("unreadable {what} in the database: {detail}"))
}

// ----- Values ---------------------------------------------------------------------------

pub(crate) fn id(value: impl Into<Uuid>) -> Value<'static> {
    Value::Id(Some(value.into()))
}

pub(crate) fn opt_id(value: Option<impl Into<Uuid>>) -> Value<'static> {
    Value::Id(value.map(Into::into))
}

pub(crate) fn text(value: &str) -> Value<'_> {
    Value::Text(Some(Cow::Borrowed(value)))
}

pub(crate) fn owned(value: String) -> Value<'static> {
    Value::Text(Some(Cow::Owned(value)))
}

pub(crate) fn opt_text(value: Option<&str>) -> Value<'_> {
    Value::Text(value.map(Cow::Borrowed))
}

pub(crate) fn int(value: i64) -> Value<'static> {
    Value::Int(Some(value))
}

/// An instant in core's one stored encoding ([`stored_nanos`]).
pub(crate) fn at(value: OffsetDateTime) -> StoreResult<Value<'static>> {
    Ok(int(stored_nanos(value)?))
}

pub(crate) fn opt_at(value: Option<OffsetDateTime>) -> StoreResult<Value<'static>> {
    Ok(Value::Int(value.map(stored_nanos).transpose()?))
}

// ----- Columns --------------------------------------------------------------------------

fn required<T>(value: Option<T>, what: &str) -> StoreResult<T> {
    value.ok_or_else(|| corrupt(what, "NULL"))
}

fn uuid(row: &dyn Row, i: usize, what: &str) -> StoreResult<Uuid> {
    required(row.id(i)?, what)
}

fn integer(row: &dyn Row, i: usize, what: &str) -> StoreResult<i64> {
    required(row.int(i)?, what)
}

fn str_of<'r>(row: &'r dyn Row, i: usize, what: &str) -> StoreResult<&'r str> {
    required(row.text(i)?, what)
}

fn from_nanos(nanos: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).map_err(|e| corrupt("time", e))
}

fn instant(row: &dyn Row, i: usize) -> StoreResult<OffsetDateTime> {
    from_nanos(integer(row, i, "time")?)
}

fn opt_instant(row: &dyn Row, i: usize) -> StoreResult<Option<OffsetDateTime>> {
    row.int(i)?.map(from_nanos).transpose()
}

fn parsed<T>(row: &dyn Row, i: usize, what: &str, parse: fn(&str) -> Result<T, TextError>) -> StoreResult<T> {
    parse(str_of(row, i, what)?).map_err(|e| corrupt(what, e))
}

/// An enum stored as its text.
fn named<T>(row: &dyn Row, i: usize, what: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    let s = str_of(row, i, what)?;
    parse(s).ok_or_else(|| corrupt(what, format!("{s:?}")))
}

fn email(row: &dyn Row, i: usize) -> StoreResult<NhsEmail> {
    NhsEmail::parse(str_of(row, i, "email")?).map_err(|e| corrupt("email", e))
}

fn speciality(row: &dyn Row, i: usize) -> StoreResult<Speciality> {
    let code = integer(row, i, "speciality")?;
    u16::try_from(code).ok().and_then(|c| Speciality::from_code(c).ok()).ok_or_else(|| corrupt("speciality", code))
}

fn membership_state(role: &str, status: &str) -> StoreResult<MembershipState> {
    MembershipState::from_stored(role, status).ok_or_else(|| corrupt("membership", format!("{role:?} {status:?}")))
}

fn sequence(value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|e| corrupt("event number", e))
}

// ----- Records --------------------------------------------------------------------------

/// The columns of an organisation, in [`organisation`]'s order.
#[macro_export]
#[doc(hidden)]
macro_rules! select_organisation {
    () => {
        "SELECT id, name, kind, ods_code, registered_at, source_name, postcode, closed_on FROM organisations"
    };
}

pub(crate) fn organisation(row: &dyn Row) -> StoreResult<Organisation> {
    organisation_at(row, 0)
}

/// An organisation from its eight columns starting at column `at`.
pub(crate) fn organisation_at(row: &dyn Row, at: usize) -> StoreResult<Organisation> {
    Ok(Organisation {
        id: OrganisationId::from_uuid(uuid(row, at, "organisation id")?),
        name: parsed(row, at + 1, "organisation name", OrganisationName::parse)?,
        kind: named(row, at + 2, "organisation kind", OrganisationKind::from_str_opt)?,
        ods_code: row.text(at + 3)?.map(|c| OdsCode::parse(c).map_err(|e| corrupt("ODS code", e))).transpose()?,
        registered_at: instant(row, at + 4)?,
        source_name: row.text(at + 5)?.map(str::to_owned),
        postcode: row.text(at + 6)?.map(str::to_owned),
        closed_on: row.text(at + 7)?.map(day).transpose()?,
    })
}

/// A row of the prefix index's page: its key (closed, relevance, name key) and the
/// organisation from column 3 on.
pub(crate) fn ranked_organisation(row: &dyn Row) -> StoreResult<(carespace::directory::SearchKey, Organisation)> {
    let closed = integer(row, 0, "closed")? != 0;
    let relevance = u8::try_from(integer(row, 1, "relevance")?).map_err(|e| corrupt("relevance", e))?;
    let key = row.text(2)?.ok_or_else(|| corrupt("name key", "NULL"))?.to_owned();
    let organisation = organisation_at(row, 3)?;
    Ok(((closed, relevance, key, organisation.id), organisation))
}

/// A day stored as `YYYY-MM-DD`.
fn day(text: &str) -> StoreResult<Date> {
    Date::parse(text, DAY).map_err(|e| corrupt("date", e))
}

/// How a day is stored: `YYYY-MM-DD`, which sorts as the days do.
const DAY: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// A day as it is stored, or NULL.
pub(crate) fn opt_day(value: Option<Date>) -> StoreResult<Value<'static>> {
    value
        .map(|d| d.format(DAY).map_err(|e| corrupt("date", e)))
        .transpose()
        .map(|text| Value::Text(text.map(Cow::Owned)))
}

#[macro_export]
#[doc(hidden)]
macro_rules! select_user {
    () => {
        "SELECT id, email, name, registered_at FROM users"
    };
}

pub(crate) fn user(row: &dyn Row) -> StoreResult<User> {
    user_at(row, 0)
}

/// A user from their four columns starting at column `at`.
fn user_at(row: &dyn Row, at: usize) -> StoreResult<User> {
    Ok(User {
        id: UserId::from_uuid(uuid(row, at, "user id")?),
        email: email(row, at + 1)?,
        name: parsed(row, at + 2, "person name", PersonName::parse)?,
        registered_at: instant(row, at + 3)?,
    })
}

/// A membership (nine columns) and its user (four).
pub(crate) fn member_row(row: &dyn Row) -> StoreResult<(Membership, User)> {
    Ok((membership_at(row, 0)?, user_at(row, 9)?))
}

/// The eight columns of a shared workspace, unqualified; `w.`-qualified in joins.
#[macro_export]
#[doc(hidden)]
macro_rules! select_workspace {
    () => {
        "SELECT id, organisation, name, speciality, description, status, created_by, created_at FROM workspaces"
    };
}

pub(crate) fn workspace(row: &dyn Row) -> StoreResult<Workspace> {
    workspace_at(row, 0)
}

/// A workspace from its eight columns starting at column `at`.
pub(crate) fn workspace_at(row: &dyn Row, at: usize) -> StoreResult<Workspace> {
    Ok(Workspace {
        id: WorkspaceId::from_uuid(uuid(row, at, "workspace id")?),
        organisation: OrganisationId::from_uuid(uuid(row, at + 1, "organisation id")?),
        name: parsed(row, at + 2, "workspace name", WorkspaceName::parse)?,
        speciality: speciality(row, at + 3)?,
        description: parsed(row, at + 4, "description", Description::parse)?,
        status: named(row, at + 5, "workspace status", WorkspaceStatus::from_str_opt)?,
        created_by: UserId::from_uuid(uuid(row, at + 6, "user id")?),
        created_at: instant(row, at + 7)?,
    })
}

#[macro_export]
#[doc(hidden)]
macro_rules! select_personal {
    () => {
        "SELECT id, organisation, owner, created_at, archived_at FROM personal_workspaces"
    };
}

pub(crate) fn personal(row: &dyn Row) -> StoreResult<PersonalWorkspace> {
    personal_at(row, 0)
}

/// A My Workspace from its five columns starting at column `at`.
fn personal_at(row: &dyn Row, at: usize) -> StoreResult<PersonalWorkspace> {
    Ok(PersonalWorkspace {
        id: WorkspaceId::from_uuid(uuid(row, at, "workspace id")?),
        organisation: OrganisationId::from_uuid(uuid(row, at + 1, "organisation id")?),
        owner: UserId::from_uuid(uuid(row, at + 2, "user id")?),
        created_at: instant(row, at + 3)?,
        archived_at: opt_instant(row, at + 4)?,
    })
}

/// A row of a context read's head after its workspace and organisation: the person
/// from column 16 (the user, whether they belong, their My Workspace there — NULL
/// columns when none — and whether they are current elsewhere there), and their
/// membership of the workspace from column 27. Each is `None` where its columns are
/// NULL: no such user, or no membership.
pub(crate) fn context_head(row: &dyn Row) -> StoreResult<(Option<PersonInOrganisation>, Option<Membership>)> {
    let person = match row.id(16)? {
        Some(_) => Some(PersonInOrganisation {
            user: user_at(row, 16)?,
            in_organisation: row.flag(20)?,
            personal: if row.id(21)?.is_some() { Some(personal_at(row, 21)?) } else { None },
            current_elsewhere: row.flag(26)?,
        }),
        None => None,
    };
    let member = if row.id(27)?.is_some() { Some(membership_at(row, 27)?) } else { None };
    Ok((person, member))
}

/// The nine columns of a membership. SQLite needs nothing quoted; PostgreSQL needs
/// `"user"`, which SQLite reads as the same column.
#[macro_export]
#[doc(hidden)]
macro_rules! select_membership {
    () => {
        "SELECT workspace, \"user\", role, status, joined_at, updated_at, ends_at, end_notice, escalated_at \
         FROM memberships"
    };
}

pub(crate) fn membership(row: &dyn Row) -> StoreResult<Membership> {
    membership_at(row, 0)
}

/// A membership from its nine columns starting at column `at`.
pub(crate) fn membership_at(row: &dyn Row, at: usize) -> StoreResult<Membership> {
    let notice = row.text(at + 7)?;
    Ok(Membership {
        workspace: WorkspaceId::from_uuid(uuid(row, at, "workspace id")?),
        user: UserId::from_uuid(uuid(row, at + 1, "user id")?),
        state: membership_state(str_of(row, at + 2, "role")?, str_of(row, at + 3, "member status")?)?,
        joined_at: instant(row, at + 4)?,
        updated_at: instant(row, at + 5)?,
        ends_at: opt_instant(row, at + 6)?,
        end_notice: notice.map(|n| EndNotice::from_str_opt(n).ok_or_else(|| corrupt("end notice", n))).transpose()?,
        escalated_at: opt_instant(row, at + 8)?,
    })
}

#[macro_export]
#[doc(hidden)]
macro_rules! select_invite {
    () => {
        "SELECT id, workspace, email, invited_by, created_at, expires_at, status, resolved_at, resolved_by \
         FROM invites"
    };
}

pub(crate) fn invite(row: &dyn Row) -> StoreResult<Invite> {
    Ok(Invite {
        id: InviteId::from_uuid(uuid(row, 0, "invite id")?),
        workspace: WorkspaceId::from_uuid(uuid(row, 1, "workspace id")?),
        email: email(row, 2)?,
        invited_by: UserId::from_uuid(uuid(row, 3, "user id")?),
        created_at: instant(row, 4)?,
        expires_at: instant(row, 5)?,
        status: named(row, 6, "invite status", InviteStatus::from_str_opt)?,
        resolved_at: opt_instant(row, 7)?,
        resolved_by: row.id(8)?.map(UserId::from_uuid),
    })
}

pub(crate) fn decline(row: &dyn Row) -> StoreResult<Decline> {
    Ok(Decline {
        workspace: WorkspaceId::from_uuid(uuid(row, 0, "workspace id")?),
        user: UserId::from_uuid(uuid(row, 1, "user id")?),
        declined_at: instant(row, 2)?,
    })
}

pub(crate) fn consumer(row: &dyn Row) -> StoreResult<Consumer> {
    Ok(Consumer {
        name: parsed(row, 0, "consumer name", ConsumerName::parse)?,
        acknowledged: sequence(integer(row, 1, "event number")?)?,
        created_at: instant(row, 2)?,
        updated_at: instant(row, 3)?,
    })
}

pub(crate) fn conversation(row: &dyn Row) -> StoreResult<Conversation> {
    Ok(Conversation {
        id: ConversationId::from_uuid(uuid(row, 0, "conversation id")?),
        workspace: WorkspaceId::from_uuid(uuid(row, 1, "workspace id")?),
        started_by: UserId::from_uuid(uuid(row, 2, "user id")?),
        started_at: instant(row, 3)?,
    })
}

/// An event from `seq, at, actor, payload` (the payload as JSON text).
pub(crate) fn event(row: &dyn Row) -> StoreResult<Event> {
    let payload = str_of(row, 3, "event payload")?;
    Ok(Event {
        seq: sequence(integer(row, 0, "event number")?)?,
        at: instant(row, 1)?,
        actor: row.id(2)?.map(UserId::from_uuid),
        kind: serde_json::from_str::<EventKind>(payload).map_err(|e| corrupt("event payload", e))?,
    })
}

/// [`Access`] from the dialect's access statement: organisation, personal, active,
/// role, status, owner, in organisation, user exists.
pub(crate) fn access(row: &dyn Row) -> StoreResult<Access> {
    access_at(row, 0)
}

/// An access row from its eight columns starting at column `at`.
fn access_at(row: &dyn Row, at: usize) -> StoreResult<Access> {
    let state = match (row.text(at + 3)?, row.text(at + 4)?) {
        (Some(role), Some(status)) => Some(membership_state(role, status)?),
        _ => None,
    };
    Ok(Access {
        organisation: OrganisationId::from_uuid(uuid(row, at, "organisation id")?),
        personal: row.flag(at + 1)?,
        active: row.flag(at + 2)?,
        state,
        owner: row.flag(at + 5)?,
        in_organisation: row.flag(at + 6)?,
        user_exists: row.flag(at + 7)?,
    })
}

/// A membership (nine columns) and its holder's access row (eight).
pub(crate) fn membership_with_access(row: &dyn Row) -> StoreResult<(Membership, Access)> {
    Ok((membership_at(row, 0)?, access_at(row, 9)?))
}

/// A My Workspace and its organisation's name (the switcher).
pub(crate) fn personal_row(row: &dyn Row) -> StoreResult<(PersonalWorkspace, OrganisationName)> {
    Ok((personal(row)?, parsed(row, 5, "organisation name", OrganisationName::parse)?))
}

/// A workspace, the user's membership there and the organisation's name (the switcher).
pub(crate) fn shared_row(row: &dyn Row) -> StoreResult<(Membership, Workspace, OrganisationName)> {
    Ok((membership_at(row, 8)?, workspace_at(row, 0)?, parsed(row, 17, "organisation name", OrganisationName::parse)?))
}

/// A workspace and its count of current members (discovery; admins come separately).
pub(crate) fn discovery_row(row: &dyn Row) -> StoreResult<DiscoveryRow> {
    let member_count = integer(row, 8, "member count")?;
    let mut admins = Vec::new();
    for line in row.text(9)?.unwrap_or_default().lines() {
        // No name in an error: a message may be logged.
        let (id, name) = line.split_once(' ').ok_or_else(|| corrupt("admin", "a line without an id and a name"))?;
        let id = Uuid::parse_str(id).map_err(|e| corrupt("admin id", e))?;
        let name = PersonName::parse(name).map_err(|e| corrupt("person name", e))?;
        admins.push(Person { id: UserId::from_uuid(id), name });
    }
    Ok(DiscoveryRow {
        workspace: workspace(row)?,
        member_count: u32::try_from(member_count).unwrap_or(u32::MAX),
        admins,
    })
}

pub(crate) fn organisation_id(row: &dyn Row) -> StoreResult<OrganisationId> {
    uuid(row, 0, "organisation id").map(OrganisationId::from_uuid)
}

pub(crate) fn flag(row: &dyn Row) -> StoreResult<bool> {
    row.flag(0)
}

/// A count in the first column.
pub(crate) fn count(row: &dyn Row) -> StoreResult<u64> {
    u64::try_from(integer(row, 0, "count")?).map_err(|e| corrupt("count", e))
}

/// An event sequence number in the first column.
pub(crate) fn seq(row: &dyn Row) -> StoreResult<u64> {
    sequence(integer(row, 0, "event number")?)
}
