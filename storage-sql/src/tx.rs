//! The queries: [`ReadTx`] and [`WriteTx`] once, over any [`Conn`] that speaks a
//! [`Dialect`]. Statements use PostgreSQL's `$1` placeholders; SQLite reads them as named
//! parameters, and its backend binds each by the number in its name.

use carespace::directory::{Candidates, PrefixPage, SearchKey};
use carespace::store::{
    Access, Change, Context, ContextQuery, Invites, Members, Plan, ReadTx, StoreResult, WriteTx, discovery_key,
};
use carespace::{
    Approvers, Consumer, ConsumerName, Conversation, Decline, DiscoveryPage, DiscoveryRow, EndNotice, Event, Invite,
    InviteId, MembersPage, Membership, MembershipState, NewEvent, NhsEmail, OdsCode, Organisation, OrganisationId,
    PersonalWorkspace, StorageError, StorageErrorKind, SwitcherRows, User, UserId, Workspace, WorkspaceId,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::row::{self, Row, Value, at, corrupt, id, int, opt_at, opt_id, opt_text, owned, text};
use crate::{select_invite, select_membership, select_organisation, select_personal, select_user, select_workspace};

/// How a [`Conn`] turns a row into a record.
pub type Decode<T> = fn(&dyn Row) -> StoreResult<T>;

/// One statement with its values, as [`Conn::exec_all`] runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The SQL text.
    pub sql: &'static str,
    /// The values of `$1`, `$2`, … in order.
    pub params: Vec<Value<'a>>,
}

/// A backend's connection inside its open transaction: what the shared queries need.
/// Implementations cache prepared statements by their text.
pub trait Conn {
    /// Runs `sql` and hands each row it returns to `f`, in order.
    fn each(
        &self,
        sql: &'static str,
        params: &[Value<'_>],
        f: &mut dyn FnMut(&dyn Row) -> StoreResult<()>,
    ) -> StoreResult<()>;

    /// Runs the write `sql`, ignoring any rows it returns. [`Dialect::UPDATE_MEMBERSHIP`]
    /// must change one row: a backend that sees the count here fails the write when it
    /// changed none, and one that sends its writes before their answers come back (the
    /// count with them) writes that check into the statement instead.
    fn exec(&self, sql: &'static str, params: &[Value<'_>]) -> StoreResult<()>;

    /// Runs `statements` in order, stopping at the first error. The default runs them one
    /// by one; a backend that can send them together (PostgreSQL pipelines them in one
    /// round trip) overrides it.
    fn exec_all(&self, statements: &[Statement<'_>]) -> StoreResult<()> {
        statements.iter().try_for_each(|s| self.exec(s.sql, &s.params))
    }

    /// Runs the read-only `queries` in order, handing each row to `f` with its query's
    /// index. The default runs them one by one; PostgreSQL pipelines them.
    fn batch(
        &self,
        queries: &[Statement<'_>],
        f: &mut dyn FnMut(usize, &dyn Row) -> StoreResult<()>,
    ) -> StoreResult<()> {
        for (i, query) in queries.iter().enumerate() {
            self.each(query.sql, &query.params, &mut |row| f(i, row))?;
        }
        Ok(())
    }

    /// The first row `sql` returns, decoded; `None` when it returns none.
    fn one<T>(&self, sql: &'static str, params: &[Value<'_>], decode: Decode<T>) -> StoreResult<Option<T>> {
        let mut out = None;
        self.each(sql, params, &mut |row| {
            if out.is_none() {
                out = Some(decode(row)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Every row `sql` returns, decoded, in the order it returns them.
    fn all<T>(&self, sql: &'static str, params: &[Value<'_>], decode: Decode<T>) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, params, &mut |row| {
            out.push(decode(row)?);
            Ok(())
        })?;
        Ok(out)
    }
}

/// The eight columns of [`row::access`] as a membership row keeps them for its holder
/// (`PUT_MEMBERSHIP` and the triggers of SQLite's migration 10 and PostgreSQL's 7): its
/// organisation, not personal, whether the workspace is active, the role and status,
/// not an owner, whether the holder is in the organisation, and that they exist.
macro_rules! kept_access {
    () => {
        "organisation, false, workspace_active, role, status, false, in_organisation, true"
    };
}

/// [`ReadTx::access`] for a membership holder, from the answer kept on the membership:
/// the row [`row::access`] decodes, or none when the user holds no membership there.
const MEMBER_ACCESS: &str =
    concat!("SELECT ", kept_access!(), " FROM memberships WHERE workspace = $1 AND \"user\" = $2");

/// One branch of [`MEMBERSHIPS_WITH_ACCESS`], for the user in `$user`.
macro_rules! members_with_access {
    ($user:literal) => {
        concat!(
            "SELECT workspace, \"user\", role, status, joined_at, updated_at, ends_at, end_notice, escalated_at, ",
            kept_access!(),
            " FROM memberships WHERE workspace = $1 AND \"user\" = ",
            $user
        )
    };
}

/// [`ReadTx::memberships_with_access`]: the memberships of users `$2` and `$3` in
/// workspace `$1`, each once, with the access row [`MEMBER_ACCESS`] reads beside it
/// (nine columns, then eight): two primary-key seeks.
const MEMBERSHIPS_WITH_ACCESS: &str =
    concat!(members_with_access!("$2"), " UNION ALL ", members_with_access!("$3"), " AND $3 != $2");

/// The statements a backend writes in its own dialect. The defaults are the portable
/// forms; SQLite overrides the ones it plans better with an `INDEXED BY` hint.
pub trait Dialect {
    /// [`ReadTx::access`]: one row of organisation, personal, active, role, status,
    /// owner, in organisation, user exists, for `$1` the workspace and `$2` the user.
    const ACCESS: &'static str;
    /// The last event's number, 0 when there is none.
    const LAST_EVENT_SEQ: &'static str;
    /// Appends the event `$1` at, `$2` actor, `$3` type, `$4` payload (JSON text) with
    /// the next number, returning the number.
    const APPEND_EVENT: &'static str;
    /// [`Dialect::APPEND_EVENT`] without returning the number: a plan's events
    /// ([`WriteTx::apply`]), whose numbers nobody reads. A `RETURNING` clause costs
    /// SQLite a table of the rows returned on every run.
    const APPEND_PLANNED_EVENT: &'static str;
    /// `seq, at, actor, payload` of up to `$2` events after `$1`, in order.
    const EVENTS_AFTER: &'static str;
    /// The events whose payload's `workspace` is `$1` (the id as text), in order.
    const EVENTS_OF_WORKSPACE: &'static str;
    /// The events whose payload's `user` is `$1` (the id as text) and the workspace
    /// creations whose actor is `$2`, in order.
    const EVENTS_OF_USER: &'static str;

    /// Changes the membership of user `$2` in workspace `$1` that exists
    /// ([`Change::UpdateMembership`]): its role `$3`, status `$4`, times `$5`, `$6`, `$7`,
    /// end notice `$8`, escalation `$9` and list rank `$10` — the columns a membership's
    /// insert-or-replace writes besides those it copies, which never change for a
    /// membership or are kept by triggers. The write must fail when it changes no row:
    /// a backend that sees the count before it commits checks it ([`Conn::exec`]; SQLite
    /// does), and one that cannot writes a statement that checks itself (PostgreSQL).
    const UPDATE_MEMBERSHIP: &'static str = "UPDATE memberships SET role = $3, status = $4, joined_at = $5, \
         updated_at = $6, ends_at = $7, end_notice = $8, escalated_at = $9, list_rank = $10 \
         WHERE workspace = $1 AND \"user\" = $2";

    /// The admins of workspace `$1`, by user.
    const ADMINS_OF: &'static str =
        concat!(select_membership!(), " WHERE workspace = $1 AND role = 'admin' ORDER BY \"user\"");
    /// The pending invites expiring at or before `$1`, by expiry then id.
    const INVITES_EXPIRED_BY: &'static str =
        concat!(select_invite!(), " WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at, id");
    /// The unescalated requests made at or before `$1`, oldest first.
    const REQUESTS_WAITING_SINCE: &'static str = concat!(
        select_membership!(),
        " WHERE status = 'unapproved' AND escalated_at IS NULL AND joined_at <= $1 \
         ORDER BY joined_at, workspace, \"user\""
    );
    /// The current memberships ending at or before `$1`, soonest first.
    const MEMBERSHIPS_ENDING_BY: &'static str = concat!(
        select_membership!(),
        " WHERE ends_at IS NOT NULL AND ends_at <= $1 AND status != 'archived' ORDER BY ends_at, workspace, \"user\""
    );
    /// The pages of discovery's workspaces (R11, R43), one per index: see
    /// [`discovery_pages!`](crate::discovery_pages). PostgreSQL orders the name keys
    /// byte by byte, as Rust does, and lists a workspace's admins with `string_agg`.
    const DISCOVERY_PAGES: [&'static str; 4] = crate::discovery_pages!(
        " COLLATE \"C\"",
        "",
        "(SELECT string_agg(u.id::text || ' ' || u.name, E'\\n') FROM memberships a \
          JOIN users u ON u.id = a.\"user\" WHERE a.workspace = w.id AND a.role = 'admin')"
    );
}

/// The statements of a page of discovery (R11, R43), one per index it may walk, chosen
/// by its most selective filter. Each returns a workspace, its count of current
/// members and its admins (`$admins`: one line each of the admin's id, a space and
/// their name, which holds no line break), of organisation `$1`, active, with a name key at least `$2` (the caller
/// drops the cursor's own row: active names are unique in an organisation, so the name
/// key orders them wholly), in name-key order under `$collate`, at most `$3`; then:
///
/// 1. the organisation's active names;
/// 2. a speciality's (`$4`);
/// 3. a word's prefix rows (`$4`), with the speciality `$5` or NULL;
/// 4. a colleague's memberships (`$4`, through the index `$by_user` names where the
///    dialect needs telling), read whole and sorted, with the word `$5` and the
///    speciality `$6`, each or NULL. The memberships are read first (`CROSS JOIN`:
///    SQLite joins in the written order), then each workspace by its key; the word is
///    probed on the unique `(workspace, prefix)` index by a scalar count, which
///    PostgreSQL cannot turn into a hash of every row of the prefix as it would an
///    `EXISTS`.
#[macro_export]
#[doc(hidden)]
macro_rules! discovery_pages {
    ($collate:literal, $by_user:literal, $admins:literal) => {
        [
            concat!(
                $crate::discovery_page_select!($admins),
                " FROM workspaces w WHERE w.organisation = $1 AND w.status = 'active' AND w.name_key",
                $collate,
                " >= $2 ORDER BY w.name_key",
                $collate,
                " LIMIT $3"
            ),
            concat!(
                $crate::discovery_page_select!($admins),
                " FROM workspaces w WHERE w.organisation = $1 AND w.status = 'active' AND w.speciality = $4 \
                 AND w.name_key",
                $collate,
                " >= $2 ORDER BY w.name_key",
                $collate,
                " LIMIT $3"
            ),
            concat!(
                $crate::discovery_page_select!($admins),
                " FROM workspace_prefixes p JOIN workspaces w ON w.id = p.workspace \
                 WHERE p.organisation = $1 AND p.prefix = $4 AND p.name_key >= $2 \
                   AND (CAST($5 AS INTEGER) IS NULL OR w.speciality = $5) \
                 ORDER BY p.name_key LIMIT $3"
            ),
            concat!(
                $crate::discovery_page_select!($admins),
                " FROM memberships c",
                $by_user,
                " CROSS JOIN workspaces w \
                 WHERE w.id = c.workspace AND c.\"user\" = $4 AND c.status = 'approved' AND w.organisation = $1 AND w.status = 'active' \
                   AND w.name_key",
                $collate,
                " >= $2 AND (CAST($6 AS INTEGER) IS NULL OR w.speciality = $6) \
                   AND (CAST($5 AS TEXT) IS NULL OR (SELECT count(*) FROM workspace_prefixes p \
                                                     WHERE p.workspace = w.id AND p.prefix = $5) > 0) \
                 ORDER BY w.name_key",
                $collate,
                " LIMIT $3"
            ),
        ]
    };
}

/// The columns of a page of discovery: a workspace, its count of current members, and
/// `$admins`.
#[macro_export]
#[doc(hidden)]
macro_rules! discovery_page_select {
    ($admins:literal) => {
        concat!(
            "SELECT w.id, w.organisation, w.name, w.speciality, w.description, w.status, w.created_by, \
               w.created_at, w.member_count, ",
            $admins
        )
    };
}

/// Which part of a [`Context`] a statement of its batch reads.
#[derive(Debug, Clone, Copy)]
enum Part {
    Head,
    Member,
    Invite,
    Decline,
}

/// [`ReadTx`] and [`WriteTx`] over a backend's [`Conn`].
#[derive(Debug)]
pub struct SqlTx<C>(pub C);

const ORGANISATION: &str = concat!(select_organisation!(), " WHERE id = $1");
const ORGANISATION_BY_ODS: &str = concat!(select_organisation!(), " WHERE ods_code = $1");
const ORGANISATIONS: &str = concat!(select_organisation!(), " ORDER BY id");
/// The organisations having the search prefix `$1` (once each). Public for the
/// backends' query-plan tests.
pub const ORGANISATIONS_BY_PREFIX: &str = "SELECT o.id, o.name, o.kind, o.ods_code, o.registered_at, \
       o.source_name, o.postcode, o.closed_on \
     FROM organisation_prefixes p JOIN organisations o ON o.id = p.organisation WHERE p.prefix = $1";
/// A page of the prefix index (R40, R43): the rows of prefix `$1` whose organisation
/// also has the prefixes `$2` and `$3` (each unless NULL), after the key `($4, $5, $6,
/// $7)`, at most `$8` — a seek and a walk of the primary key, cut before the
/// organisations are joined. Each other prefix is a probe of the unique index per row
/// walked: a scalar count, which PostgreSQL cannot turn into a hash of every row of
/// that prefix as it would an `EXISTS` (a page reads a few rows, the hash all of them).
/// Public for the backends' query-plan tests.
pub const ORGANISATIONS_BY_PREFIX_PAGE: &str = "SELECT p.closed, p.relevance, p.name_key, o.id, o.name, o.kind, \
       o.ods_code, o.registered_at, o.source_name, o.postcode, o.closed_on \
     FROM (SELECT organisation, closed, relevance, name_key FROM organisation_prefixes p \
           WHERE prefix = $1 AND (closed, relevance, name_key, organisation) > ($4, $5, $6, $7) \
             AND (CAST($2 AS TEXT) IS NULL OR (SELECT count(*) FROM organisation_prefixes q \
                                 WHERE q.organisation = p.organisation AND q.prefix = $2) > 0) \
             AND (CAST($3 AS TEXT) IS NULL OR (SELECT count(*) FROM organisation_prefixes q \
                                 WHERE q.organisation = p.organisation AND q.prefix = $3) > 0) \
           ORDER BY closed, relevance, name_key, organisation LIMIT $8) p \
     JOIN organisations o ON o.id = p.organisation \
     ORDER BY p.closed, p.relevance, p.name_key, p.organisation";
/// The rows of the prefix index with prefix `$1`, counted on the index up to `$2`.
const COUNT_PREFIX: &str =
    "SELECT count(*) FROM (SELECT 1 FROM organisation_prefixes WHERE prefix = $1 LIMIT $2) AS counted";
/// The organisations whose postcode is in `[$1, $2)`. Public for the backends'
/// query-plan tests.
pub const ORGANISATIONS_BY_POSTCODE: &str = concat!(select_organisation!(), " WHERE postcode >= $1 AND postcode < $2");
const USER: &str = concat!(select_user!(), " WHERE id = $1");
const USER_BY_EMAIL: &str = concat!(select_user!(), " WHERE email = $1");
const IS_ORGANISATION_MEMBER: &str =
    "SELECT EXISTS (SELECT 1 FROM organisation_members WHERE organisation = $1 AND \"user\" = $2)";
const ORGANISATIONS_OF: &str =
    "SELECT organisation FROM organisation_members WHERE \"user\" = $1 ORDER BY organisation";
const WORKSPACE: &str = concat!(select_workspace!(), " WHERE id = $1");
const ACTIVE_WORKSPACE_NAMED: &str =
    concat!(select_workspace!(), " WHERE organisation = $1 AND name_key = $2 AND status = 'active'");
const WORKSPACES_OF: &str = concat!(select_workspace!(), " WHERE organisation = $1 ORDER BY id");
const PERSONAL: &str = concat!(select_personal!(), " WHERE id = $1");
const PERSONAL_OF: &str = concat!(select_personal!(), " WHERE owner = $1 AND organisation = $2");
const PERSONALS_OF: &str = concat!(select_personal!(), " WHERE owner = $1 ORDER BY organisation");
const MEMBERSHIP: &str = concat!(select_membership!(), " WHERE workspace = $1 AND \"user\" = $2");
const MEMBERSHIPS_OF_WORKSPACE: &str = concat!(select_membership!(), " WHERE workspace = $1 ORDER BY \"user\"");
const MEMBERSHIPS_OF_USER: &str = concat!(select_membership!(), " WHERE \"user\" = $1 ORDER BY workspace");
const MEMBERSHIPS_IN_STATE: &str =
    concat!(select_membership!(), " WHERE workspace = $1 AND role = $2 AND status = $3 ORDER BY \"user\"");
const INVITE: &str = concat!(select_invite!(), " WHERE id = $1");
const PENDING_INVITES_OF: &str = concat!(select_invite!(), " WHERE workspace = $1 AND status = 'pending' ORDER BY id");
const PENDING_INVITES_FOR: &str = concat!(select_invite!(), " WHERE email = $1 AND status = 'pending' ORDER BY id");
const PENDING_INVITE_TO: &str =
    concat!(select_invite!(), " WHERE workspace = $1 AND email = $2 AND status = 'pending'");
const DECLINE: &str = "SELECT workspace, \"user\", declined_at FROM declines WHERE workspace = $1 AND \"user\" = $2";
const CONSUMER: &str = "SELECT name, acknowledged, created_at, updated_at FROM consumers WHERE name = $1";
const CONSUMERS: &str = "SELECT name, acknowledged, created_at, updated_at FROM consumers ORDER BY name";
const CONVERSATIONS_OF: &str =
    "SELECT id, workspace, started_by, started_at FROM conversations WHERE workspace = $1 ORDER BY started_at, id";
const SWITCHER_PERSONAL: &str = "SELECT p.id, p.organisation, p.owner, p.created_at, p.archived_at, o.name \
     FROM personal_workspaces p JOIN organisations o ON o.id = p.organisation WHERE p.owner = $1";
const SWITCHER_SHARED: &str = "SELECT w.id, w.organisation, w.name, w.speciality, w.description, w.status, \
       w.created_by, w.created_at, m.workspace, m.\"user\", m.role, m.status, m.joined_at, m.updated_at, m.ends_at, \
       m.end_notice, m.escalated_at, o.name \
     FROM memberships m JOIN workspaces w ON w.id = m.workspace \
     JOIN organisations o ON o.id = w.organisation WHERE m.\"user\" = $1 AND m.status != 'archived'";
/// One branch of a context read's head, for the user in parameter `$user`: workspace
/// `$1` (eight columns), its organisation (eight), the user as the organisation sees
/// them (eleven from 16, [`row::context_head`]; NULL when no such user) and their
/// membership of the workspace (nine from 27; NULL when none). Every seek is by
/// parameters or by the one workspace row, so no plan can do worse than a seek,
/// whatever the statistics say. `$persons` are the person's last six columns and
/// `$joins` what they need beside `users u`.
macro_rules! context_branch {
    ($user:literal, $persons:literal, $joins:literal) => {
        concat!(
            "SELECT w.id, w.organisation, w.name, w.speciality, w.description, w.status, w.created_by, \
               w.created_at, o.id, o.name, o.kind, o.ods_code, o.registered_at, o.source_name, o.postcode, \
               o.closed_on, u.id, u.email, u.name, u.registered_at, \
               EXISTS (SELECT 1 FROM organisation_members om \
                 WHERE om.organisation = w.organisation AND om.\"user\" = u.id), ",
            $persons,
            ", m.workspace, m.\"user\", m.role, m.status, m.joined_at, m.updated_at, m.ends_at, m.end_notice, \
               m.escalated_at \
             FROM workspaces w JOIN organisations o ON o.id = w.organisation \
             LEFT JOIN users u ON u.id = ",
            $user,
            " ",
            $joins,
            " LEFT JOIN memberships m ON m.workspace = $1 AND m.\"user\" = ",
            $user,
            " WHERE w.id = $1"
        )
    };
}
/// The heads of a context read: a [`context_branch!`] for the actor (`$2`) alone, and
/// one for a command that names someone else, with the target's branch (`$3`) after
/// it. No row means no such shared workspace; a row with NULL person columns, no such
/// user. Two statements, not one whose second branch a filter on the parameters turns
/// off: PostgreSQL starts every node of a plan, run or not, so the idle branch cost
/// the actor's read a third of its time.
macro_rules! context_heads {
    ($persons:literal, $joins:literal) => {
        [
            context_branch!("$2", $persons, $joins),
            concat!(context_branch!("$2", $persons, $joins), " UNION ALL ", context_branch!("$3", $persons, $joins)),
        ]
    };
}
/// [`context_heads!`] for a command that does not settle a My Workspace: its five
/// columns NULL, and false for whether the person is current elsewhere. The NULLs are
/// typed for PostgreSQL; SQLite casts a NULL to NULL whatever the type's name.
const CONTEXT: [&str; 2] = context_heads!(
    "CAST(NULL AS uuid), CAST(NULL AS uuid), CAST(NULL AS uuid), CAST(NULL AS bigint), CAST(NULL AS bigint), false",
    ""
);
/// [`context_heads!`] for one that does: the person's My Workspace in the organisation
/// (NULL when none) and whether they hold a current membership of another of its
/// shared workspaces — read from the user's few memberships (`CROSS JOIN`: SQLite joins
/// in the written order), not from the organisation's thousands of workspaces.
const CONTEXT_SETTLING: [&str; 2] = context_heads!(
    "p.id, p.organisation, p.owner, p.created_at, p.archived_at, \
     EXISTS (SELECT 1 FROM memberships e CROSS JOIN workspaces ew \
       WHERE ew.id = e.workspace AND e.\"user\" = u.id AND e.workspace != w.id \
         AND e.status != 'archived' AND ew.organisation = w.organisation)",
    "LEFT JOIN personal_workspaces p ON p.owner = u.id AND p.organisation = w.organisation"
);
const PENDING_INVITE_TO_USER: &str = concat!(
    select_invite!(),
    " WHERE workspace = $1 AND email = (SELECT email FROM users WHERE id = $2) AND status = 'pending'"
);
/// Every membership of workspace `$1` with its user's columns: one walk of the primary
/// key, a user seek per row.
/// A page of a workspace's members (R22, R43): a walk of the index `memberships_page`
/// from the key after `$2, $3, $4`.
pub const MEMBERS_PAGE: &str = "SELECT m.workspace, m.\"user\", m.role, m.status, m.joined_at, m.updated_at, \
       m.ends_at, m.end_notice, m.escalated_at, u.id, u.email, u.name, u.registered_at \
     FROM memberships m JOIN users u ON u.id = m.\"user\" \
     WHERE m.workspace = $1 AND (m.list_rank, m.name_key, m.\"user\") > ($2, $3, $4) \
     ORDER BY m.list_rank, m.name_key, m.\"user\" LIMIT $5";

impl<C: Conn + Dialect> ReadTx for SqlTx<C> {
    fn organisation(&self, organisation: OrganisationId) -> StoreResult<Option<Organisation>> {
        self.0.one(ORGANISATION, &[id(organisation)], row::organisation)
    }

    fn organisation_by_ods(&self, code: &OdsCode) -> StoreResult<Option<Organisation>> {
        self.0.one(ORGANISATION_BY_ODS, &[text(code.as_str())], row::organisation)
    }

    fn organisations(&self) -> StoreResult<Vec<Organisation>> {
        self.0.all(ORGANISATIONS, &[], row::organisation)
    }

    fn organisation_candidates(&self, candidates: &Candidates) -> StoreResult<Vec<Organisation>> {
        match candidates {
            Candidates::OdsCode(code) => Ok(self.organisation_by_ods(code)?.into_iter().collect()),
            Candidates::Prefix(prefix) => self.0.all(ORGANISATIONS_BY_PREFIX, &[text(prefix)], row::organisation),
            Candidates::Postcode { from, to } => {
                self.0.all(ORGANISATIONS_BY_POSTCODE, &[text(from), text(to)], row::organisation)
            }
        }
    }

    fn count_prefix(&self, prefix: &str, at_most: u64) -> StoreResult<u64> {
        let at_most = int(i64::try_from(at_most).unwrap_or(i64::MAX));
        Ok(self.0.one(COUNT_PREFIX, &[text(prefix), at_most], row::count)?.unwrap_or(0))
    }

    fn organisations_by_prefix(&self, page: &PrefixPage) -> StoreResult<Vec<(SearchKey, Organisation)>> {
        let [also, and_also] = match page.also.as_slice() {
            [] => [None, None],
            [also] => [Some(also.as_str()), None],
            [also, and_also] => [Some(also.as_str()), Some(and_also.as_str())],
            more => {
                let message = format!("a page of the prefix index checks at most two other words, not {}", more.len());
                return Err(StorageError::new(StorageErrorKind::Other, message));
            }
        };
        // Before every row: closed −1 sorts first.
        let (closed, relevance, key, after) = match &page.after {
            Some((closed, relevance, key, after)) => (i64::from(*closed), i64::from(*relevance), key.as_str(), *after),
            None => (-1, 0, "", OrganisationId::from_uuid(uuid::Uuid::nil())),
        };
        let limit = i64::try_from(page.limit).unwrap_or(i64::MAX);
        let params = [
            text(&page.prefix),
            opt_text(also),
            opt_text(and_also),
            int(closed),
            int(relevance),
            text(key),
            id(after),
            int(limit),
        ];
        self.0.all(ORGANISATIONS_BY_PREFIX_PAGE, &params, row::ranked_organisation)
    }

    fn user(&self, user: UserId) -> StoreResult<Option<User>> {
        self.0.one(USER, &[id(user)], row::user)
    }

    fn user_by_email(&self, email: &NhsEmail) -> StoreResult<Option<User>> {
        self.0.one(USER_BY_EMAIL, &[text(email.as_str())], row::user)
    }

    fn is_organisation_member(&self, organisation: OrganisationId, user: UserId) -> StoreResult<bool> {
        Ok(self.0.one(IS_ORGANISATION_MEMBER, &[id(organisation), id(user)], row::flag)?.unwrap_or(false))
    }

    fn organisations_of(&self, user: UserId) -> StoreResult<Vec<OrganisationId>> {
        self.0.all(ORGANISATIONS_OF, &[id(user)], row::organisation_id)
    }

    fn workspace(&self, workspace: WorkspaceId) -> StoreResult<Option<Workspace>> {
        self.0.one(WORKSPACE, &[id(workspace)], row::workspace)
    }

    fn active_workspace_named(&self, organisation: OrganisationId, name_key: &str) -> StoreResult<Option<Workspace>> {
        self.0.one(ACTIVE_WORKSPACE_NAMED, &[id(organisation), text(name_key)], row::workspace)
    }

    fn workspaces_of(&self, organisation: OrganisationId) -> StoreResult<Vec<Workspace>> {
        self.0.all(WORKSPACES_OF, &[id(organisation)], row::workspace)
    }

    fn personal_workspace(&self, workspace: WorkspaceId) -> StoreResult<Option<PersonalWorkspace>> {
        self.0.one(PERSONAL, &[id(workspace)], row::personal)
    }

    fn personal_workspace_of(
        &self,
        user: UserId,
        organisation: OrganisationId,
    ) -> StoreResult<Option<PersonalWorkspace>> {
        self.0.one(PERSONAL_OF, &[id(user), id(organisation)], row::personal)
    }

    fn personal_workspaces_of(&self, user: UserId) -> StoreResult<Vec<PersonalWorkspace>> {
        self.0.all(PERSONALS_OF, &[id(user)], row::personal)
    }

    fn membership(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Membership>> {
        self.0.one(MEMBERSHIP, &[id(workspace), id(user)], row::membership)
    }

    fn memberships_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<Membership>> {
        self.0.all(MEMBERSHIPS_OF_WORKSPACE, &[id(workspace)], row::membership)
    }

    fn memberships_of_user(&self, user: UserId) -> StoreResult<Vec<Membership>> {
        self.0.all(MEMBERSHIPS_OF_USER, &[id(user)], row::membership)
    }

    fn invite(&self, invite: InviteId) -> StoreResult<Option<Invite>> {
        self.0.one(INVITE, &[id(invite)], row::invite)
    }

    fn pending_invites_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<Invite>> {
        self.0.all(PENDING_INVITES_OF, &[id(workspace)], row::invite)
    }

    fn pending_invites_for(&self, email: &NhsEmail) -> StoreResult<Vec<Invite>> {
        self.0.all(PENDING_INVITES_FOR, &[text(email.as_str())], row::invite)
    }

    fn decline(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Decline>> {
        self.0.one(DECLINE, &[id(workspace), id(user)], row::decline)
    }

    fn conversations_of(&self, workspace: WorkspaceId) -> StoreResult<Vec<Conversation>> {
        self.0.all(CONVERSATIONS_OF, &[id(workspace)], row::conversation)
    }

    fn events_after(&self, after: u64, limit: usize) -> StoreResult<Vec<Event>> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.0.all(C::EVENTS_AFTER, &[int(after), int(limit)], row::event)
    }

    fn last_event_seq(&self) -> StoreResult<u64> {
        Ok(self.0.one(C::LAST_EVENT_SEQ, &[], row::seq)?.unwrap_or(0))
    }

    fn consumer(&self, name: &ConsumerName) -> StoreResult<Option<Consumer>> {
        self.0.one(CONSUMER, &[text(name.as_str())], row::consumer)
    }

    fn consumers(&self) -> StoreResult<Vec<Consumer>> {
        self.0.all(CONSUMERS, &[], row::consumer)
    }

    fn access(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Access>> {
        // A membership holder's answer is kept on the membership: one seek. Anyone else's
        // comes from the dialect's statement, which answers for everyone by itself.
        let params = [id(workspace), id(user)];
        if let Some(kept) = self.0.one(MEMBER_ACCESS, &params, row::access)? {
            return Ok(Some(kept));
        }
        self.0.one(C::ACCESS, &params, row::access)
    }

    fn memberships_with_access(
        &self,
        workspace: WorkspaceId,
        users: [UserId; 2],
    ) -> StoreResult<Vec<(Membership, Access)>> {
        let [first, second] = users;
        self.0.all(MEMBERSHIPS_WITH_ACCESS, &[id(workspace), id(first), id(second)], row::membership_with_access)
    }

    fn admins_of(&self, workspace: WorkspaceId) -> StoreResult<Vec<Membership>> {
        self.0.all(C::ADMINS_OF, &[id(workspace)], row::membership)
    }

    fn memberships_in_state(&self, workspace: WorkspaceId, state: MembershipState) -> StoreResult<Vec<Membership>> {
        let params = [id(workspace), text(state.role().as_str()), text(state.status().as_str())];
        self.0.all(MEMBERSHIPS_IN_STATE, &params, row::membership)
    }

    fn pending_invite_to(&self, workspace: WorkspaceId, email: &NhsEmail) -> StoreResult<Option<Invite>> {
        self.0.one(PENDING_INVITE_TO, &[id(workspace), text(email.as_str())], row::invite)
    }

    fn invites_expired_by(&self, now: OffsetDateTime) -> StoreResult<Vec<Invite>> {
        self.0.all(C::INVITES_EXPIRED_BY, &[at(now)?], row::invite)
    }

    fn requests_waiting_since(&self, cutoff: OffsetDateTime) -> StoreResult<Vec<Membership>> {
        self.0.all(C::REQUESTS_WAITING_SINCE, &[at(cutoff)?], row::membership)
    }

    fn memberships_ending_by(&self, cutoff: OffsetDateTime) -> StoreResult<Vec<Membership>> {
        self.0.all(C::MEMBERSHIPS_ENDING_BY, &[at(cutoff)?], row::membership)
    }

    fn events_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<Event>> {
        self.0.all(C::EVENTS_OF_WORKSPACE, &[text(&workspace.to_string())], row::event)
    }

    fn events_of_user(&self, user: UserId) -> StoreResult<Vec<Event>> {
        self.0.all(C::EVENTS_OF_USER, &[text(&user.to_string()), id(user)], row::event)
    }

    fn switcher_rows(&self, user: UserId) -> StoreResult<SwitcherRows> {
        let personal = self.0.all(SWITCHER_PERSONAL, &[id(user)], row::personal_row)?;
        let shared = self.0.all(SWITCHER_SHARED, &[id(user)], row::shared_row)?;
        Ok(SwitcherRows { personal, shared })
    }

    fn context(&self, query: &ContextQuery<'_>) -> StoreResult<Option<Context>> {
        let workspace = id(query.workspace);
        let actor = id(query.actor);
        // Every statement depends on the ids alone, so all go at once: the head, with the
        // actor's and the target's memberships, then the other memberships asked for.
        let [alone, with_target] = if query.settle { CONTEXT_SETTLING } else { CONTEXT };
        let head = match query.target.filter(|&target| target != query.actor) {
            Some(target) => Statement { sql: with_target, params: vec![workspace.clone(), actor.clone(), id(target)] },
            None => Statement { sql: alone, params: vec![workspace.clone(), actor.clone()] },
        };
        let mut queries = vec![head];
        let mut parts = vec![Part::Head];
        let members = match query.members {
            Members::Every | Members::Approvers(Approvers::ApprovedMembers) => Some(MEMBERSHIPS_OF_WORKSPACE),
            Members::Approvers(Approvers::Admins) => Some(C::ADMINS_OF),
            Members::Named => None,
        };
        if let Some(sql) = members {
            queries.push(Statement { sql, params: vec![workspace.clone()] });
            parts.push(Part::Member);
        }
        let invites = match query.invites {
            Invites::Nobody => None,
            Invites::Every => Some(Statement { sql: PENDING_INVITES_OF, params: vec![workspace.clone()] }),
            Invites::ToActor => {
                Some(Statement { sql: PENDING_INVITE_TO_USER, params: vec![workspace.clone(), actor.clone()] })
            }
            Invites::To(email) => {
                Some(Statement { sql: PENDING_INVITE_TO, params: vec![workspace.clone(), text(email.as_str())] })
            }
        };
        if let Some(invites) = invites {
            queries.push(invites);
            parts.push(Part::Invite);
        }
        if query.decline {
            queries.push(Statement { sql: DECLINE, params: vec![workspace, actor] });
            parts.push(Part::Decline);
        }

        let mut found: Option<(Workspace, Organisation)> = None;
        let mut people = Vec::new();
        let mut members: Vec<Membership> = Vec::new();
        let mut invites = Vec::new();
        let mut decline = None;
        self.0.batch(&queries, &mut |i, r| {
            match parts.get(i) {
                Some(Part::Head) => {
                    if found.is_none() {
                        found = Some((row::workspace(r)?, row::organisation_at(r, 8)?));
                    }
                    let (person, member) = row::context_head(r)?;
                    people.extend(person);
                    members.extend(member);
                }
                Some(Part::Member) => members.push(row::membership(r)?),
                Some(Part::Invite) => invites.push(row::invite(r)?),
                Some(Part::Decline) => decline = Some(row::decline(r)?),
                None => {}
            }
            Ok(())
        })?;
        let Some((workspace, organisation)) = found else { return Ok(None) };
        // The actor first, then the target.
        people.sort_by_key(|p: &carespace::PersonInOrganisation| p.user.id != query.actor);
        people.dedup_by_key(|p| p.user.id);
        members.sort_by_key(|m| m.user);
        members.dedup_by_key(|m| m.user);
        Ok(Some(Context { workspace, organisation, people, members, invites, decline }))
    }

    fn members_page(&self, page: &MembersPage) -> StoreResult<Vec<(Membership, User)>> {
        // From before the first key: rank -1.
        let (rank, key, user) = match &page.after {
            Some((rank, key, user)) => (i64::from(*rank), key.as_str(), Uuid::from(*user)),
            None => (-1, "", Uuid::nil()),
        };
        let limit = int(i64::try_from(page.limit).unwrap_or(i64::MAX));
        self.0.all(MEMBERS_PAGE, &[id(page.workspace), int(rank), text(key), id(user), limit], row::member_row)
    }

    fn discovery_page(&self, page: &DiscoveryPage) -> StoreResult<Vec<DiscoveryRow>> {
        // The cursor's own name key is read again (at most one row has it) and dropped
        // here: one more than the page, then cut.
        let from = page.after.as_ref().map_or("", |(key, _, _)| key.as_str());
        let speciality = || Value::Int(page.speciality.map(|s| i64::from(s.code())));
        let limit = int(i64::try_from(page.limit.saturating_add(1)).unwrap_or(i64::MAX));
        let mut params = vec![id(page.organisation), text(from), limit];
        let [names, of_speciality, of_word, of_colleague] = C::DISCOVERY_PAGES;
        let sql = match (page.colleague, page.word.as_deref(), page.speciality) {
            (Some(colleague), word, _) => {
                params.extend([id(colleague), opt_text(word), speciality()]);
                of_colleague
            }
            (None, Some(word), _) => {
                params.extend([text(word), speciality()]);
                of_word
            }
            (None, None, Some(_)) => {
                params.push(speciality());
                of_speciality
            }
            (None, None, None) => names,
        };
        let mut rows = self.0.all(sql, &params, row::discovery_row)?;
        rows.retain(|row| page.after.as_ref().is_none_or(|after| discovery_key(&row.workspace) > *after));
        rows.truncate(page.limit);
        Ok(rows)
    }
}

// ----- Writes -----------------------------------------------------------------------------

const PUT_ORGANISATION: &str = "INSERT INTO organisations (id, name, kind, ods_code, registered_at, source_name, \
       postcode, closed_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, ods_code = excluded.ods_code, \
       source_name = excluded.source_name, postcode = excluded.postcode, closed_on = excluded.closed_on";
/// An organisation's search prefixes go with it (R40): the old ones out, the new ones in.
const DELETE_PREFIXES: &str = "DELETE FROM organisation_prefixes WHERE organisation = $1";
const PUT_PREFIX: &str = "INSERT INTO organisation_prefixes (prefix, organisation, closed, relevance, name_key) \
     VALUES ($1, $2, $3, $4, $5)";
const PUT_USER: &str = "INSERT INTO users (id, email, name, name_key, registered_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name, name_key = excluded.name_key";
const ADD_ORGANISATION_MEMBER: &str = "INSERT INTO organisation_members (organisation, \"user\", joined_at) \
     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
const PUT_WORKSPACE: &str = "INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, \
       status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key, \
     speciality = excluded.speciality, description = excluded.description, status = excluded.status";
/// A workspace's search prefixes go with it (R11): the old ones out, the new ones in.
const DELETE_WORKSPACE_PREFIXES: &str = "DELETE FROM workspace_prefixes WHERE workspace = $1";
/// One search prefix of an active workspace: organisation `$1`, prefix `$2`, name key
/// `$3`, workspace `$4`. Public for the migrations that fill the table.
pub const PUT_WORKSPACE_PREFIX: &str =
    "INSERT INTO workspace_prefixes (organisation, prefix, name_key, workspace) VALUES ($1, $2, $3, $4)";
const PUT_PERSONAL: &str = "INSERT INTO personal_workspaces (id, organisation, owner, created_at, archived_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET archived_at = excluded.archived_at";
/// With the member list's key (R22, R43): the state's rank, and the user's name key
/// copied from `users`, so that a page of members is a walk of `memberships_page`. And
/// with the permission check's kept answer (R34): the workspace's organisation, whether
/// it is active, and whether the user is in the organisation, computed again on every
/// write (triggers follow the workspace and the organisation membership afterwards).
const PUT_MEMBERSHIP: &str = "INSERT INTO memberships (workspace, \"user\", role, status, joined_at, updated_at, \
       ends_at, end_notice, escalated_at, list_rank, name_key, organisation, workspace_active, in_organisation) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, (SELECT name_key FROM users WHERE id = $2), \
       (SELECT organisation FROM workspaces WHERE id = $1), (SELECT status = 'active' FROM workspaces WHERE id = $1), \
       EXISTS (SELECT 1 FROM workspaces w JOIN organisation_members o ON o.organisation = w.organisation \
         WHERE w.id = $1 AND o.\"user\" = $2)) \
     ON CONFLICT (workspace, \"user\") DO UPDATE SET role = excluded.role, status = excluded.status, \
     joined_at = excluded.joined_at, updated_at = excluded.updated_at, ends_at = excluded.ends_at, \
     end_notice = excluded.end_notice, escalated_at = excluded.escalated_at, list_rank = excluded.list_rank, \
     name_key = excluded.name_key, organisation = excluded.organisation, \
     workspace_active = excluded.workspace_active, in_organisation = excluded.in_organisation";
const DELETE_MEMBERSHIP: &str = "DELETE FROM memberships WHERE workspace = $1 AND \"user\" = $2";
const PUT_INVITE: &str = "INSERT INTO invites (id, workspace, email, invited_by, created_at, expires_at, status, \
       resolved_at, resolved_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (id) DO UPDATE SET invited_by = excluded.invited_by, expires_at = excluded.expires_at, \
     status = excluded.status, resolved_at = excluded.resolved_at, resolved_by = excluded.resolved_by";
const PUT_DECLINE: &str = "INSERT INTO declines (workspace, \"user\", declined_at) VALUES ($1, $2, $3) \
     ON CONFLICT (workspace, \"user\") DO UPDATE SET declined_at = excluded.declined_at";
const PUT_CONSUMER: &str = "INSERT INTO consumers (name, acknowledged, created_at, updated_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET acknowledged = excluded.acknowledged, \
     updated_at = excluded.updated_at";
const PUT_CONVERSATION: &str =
    "INSERT INTO conversations (id, workspace, started_by, started_at) VALUES ($1, $2, $3, $4)";

/// The statements that write `change` at the plan's time `when` (one, or a row and its
/// search words), added to `out`.
fn writes_of<'c, C: Dialect>(
    change: &'c Change,
    when: OffsetDateTime,
    out: &mut Vec<Statement<'c>>,
) -> StoreResult<()> {
    let statement = match change {
        Change::Organisation(o) => return put_organisation(o, out),
        Change::User(u) => put_user(u),
        Change::OrganisationMember(organisation, user) => add_organisation_member(*organisation, *user, when),
        Change::Workspace(w) => return put_workspace(w, out),
        Change::Personal(p) => put_personal(p),
        Change::Membership(m) => write_membership(PUT_MEMBERSHIP, m),
        Change::UpdateMembership(m) => write_membership(C::UPDATE_MEMBERSHIP, m),
        Change::RemoveMembership(workspace, user) => Ok(delete_membership(*workspace, *user)),
        Change::Invite(i) => put_invite(i),
        Change::Decline(d) => put_decline(d),
        Change::Conversation(c) => put_conversation(c),
        Change::Consumer(c) => put_consumer(c),
    }?;
    out.push(statement);
    Ok(())
}

fn statement<'a>(sql: &'static str, params: Vec<Value<'a>>) -> StoreResult<Statement<'a>> {
    Ok(Statement { sql, params })
}

/// The organisation's row, then its search prefixes (R40): the old ones deleted, the
/// prefixes of its name's words inserted.
fn put_organisation<'o>(o: &'o Organisation, out: &mut Vec<Statement<'o>>) -> StoreResult<()> {
    let ods = opt_text(o.ods_code.as_ref().map(OdsCode::as_str));
    let row = vec![
        id(o.id),
        text(o.name.as_str()),
        text(o.kind.as_str()),
        ods,
        at(o.registered_at)?,
        opt_text(o.source_name.as_deref()),
        opt_text(o.postcode.as_deref()),
        row::opt_day(o.closed_on)?,
    ];
    out.push(Statement { sql: PUT_ORGANISATION, params: row });
    out.push(Statement { sql: DELETE_PREFIXES, params: vec![id(o.id)] });
    let closed = int(i64::from(o.closed_on.is_some()));
    let key = carespace::directory::name_key(o.name.as_str());
    for (prefix, relevance) in carespace::directory::indexed_prefixes(o.name.as_str()) {
        let params = vec![owned(prefix), id(o.id), closed.clone(), int(i64::from(relevance)), owned(key.clone())];
        out.push(Statement { sql: PUT_PREFIX, params });
    }
    Ok(())
}

fn put_user(u: &User) -> StoreResult<Statement<'_>> {
    let row =
        vec![id(u.id), text(u.email.as_str()), text(u.name.as_str()), owned(u.name.sort_key()), at(u.registered_at)?];
    statement(PUT_USER, row)
}

fn add_organisation_member(
    organisation: OrganisationId,
    user: UserId,
    joined_at: OffsetDateTime,
) -> StoreResult<Statement<'static>> {
    statement(ADD_ORGANISATION_MEMBER, vec![id(organisation), id(user), at(joined_at)?])
}

/// The workspace's row, then its search prefixes (R11): the old ones deleted, and while
/// it is active the prefixes of its name's words inserted.
fn put_workspace<'w>(w: &'w Workspace, out: &mut Vec<Statement<'w>>) -> StoreResult<()> {
    let row = vec![
        id(w.id),
        id(w.organisation),
        text(w.name.as_str()),
        owned(w.name.key()),
        int(i64::from(w.speciality.code())),
        text(w.description.as_str()),
        text(w.status.as_str()),
        id(w.created_by),
        at(w.created_at)?,
    ];
    out.push(Statement { sql: PUT_WORKSPACE, params: row });
    out.push(Statement { sql: DELETE_WORKSPACE_PREFIXES, params: vec![id(w.id)] });
    if w.is_active() {
        let key = w.name.key();
        for (prefix, _) in carespace::directory::indexed_prefixes(w.name.as_str()) {
            let params = vec![id(w.organisation), owned(prefix), owned(key.clone()), id(w.id)];
            out.push(Statement { sql: PUT_WORKSPACE_PREFIX, params });
        }
    }
    Ok(())
}

fn put_personal(p: &PersonalWorkspace) -> StoreResult<Statement<'_>> {
    statement(PUT_PERSONAL, vec![id(p.id), id(p.organisation), id(p.owner), at(p.created_at)?, opt_at(p.archived_at)?])
}

/// [`PUT_MEMBERSHIP`] or [`Dialect::UPDATE_MEMBERSHIP`] with the membership's values.
fn write_membership<'m>(sql: &'static str, m: &'m Membership) -> StoreResult<Statement<'m>> {
    statement(
        sql,
        vec![
            id(m.workspace),
            id(m.user),
            text(m.state.role().as_str()),
            text(m.state.status().as_str()),
            at(m.joined_at)?,
            at(m.updated_at)?,
            opt_at(m.ends_at)?,
            opt_text(m.end_notice.map(EndNotice::as_str)),
            opt_at(m.escalated_at)?,
            int(i64::from(m.state.list_rank())),
        ],
    )
}

fn delete_membership(workspace: WorkspaceId, user: UserId) -> Statement<'static> {
    Statement { sql: DELETE_MEMBERSHIP, params: vec![id(workspace), id(user)] }
}

fn put_invite(i: &Invite) -> StoreResult<Statement<'_>> {
    statement(
        PUT_INVITE,
        vec![
            id(i.id),
            id(i.workspace),
            text(i.email.as_str()),
            id(i.invited_by),
            at(i.created_at)?,
            at(i.expires_at)?,
            text(i.status.as_str()),
            opt_at(i.resolved_at)?,
            opt_id(i.resolved_by),
        ],
    )
}

fn put_decline(d: &Decline) -> StoreResult<Statement<'_>> {
    statement(PUT_DECLINE, vec![id(d.workspace), id(d.user), at(d.declined_at)?])
}

fn put_conversation(c: &Conversation) -> StoreResult<Statement<'_>> {
    statement(PUT_CONVERSATION, vec![id(c.id), id(c.workspace), id(c.started_by), at(c.started_at)?])
}

fn put_consumer(c: &Consumer) -> StoreResult<Statement<'_>> {
    let acknowledged = i64::try_from(c.acknowledged).map_err(|e| corrupt("event number", e))?;
    statement(PUT_CONSUMER, vec![text(c.name.as_str()), int(acknowledged), at(c.created_at)?, at(c.updated_at)?])
}

/// The values of [`Dialect::APPEND_EVENT`] for one event: when, by whom, its type and
/// its JSON payload (a backend also finds a command's event by them).
pub fn event_params(
    when: OffsetDateTime,
    actor: Option<UserId>,
    kind: &carespace::EventKind,
) -> StoreResult<Vec<Value<'static>>> {
    let payload = serde_json::to_string(kind).map_err(|e| corrupt("event", e))?;
    Ok(vec![at(when)?, opt_id(actor), text(kind.type_name()), owned(payload)])
}

impl<C: Conn + Dialect> WriteTx for SqlTx<C> {
    fn reader(&self) -> &dyn ReadTx {
        self
    }

    fn put_organisation(&mut self, organisation: &Organisation) -> StoreResult<()> {
        let mut statements = Vec::new();
        put_organisation(organisation, &mut statements)?;
        self.0.exec_all(&statements)
    }

    fn put_user(&mut self, user: &User) -> StoreResult<()> {
        self.run(put_user(user)?)
    }

    fn add_organisation_member(
        &mut self,
        organisation: OrganisationId,
        user: UserId,
        joined_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.run(add_organisation_member(organisation, user, joined_at)?)
    }

    fn put_workspace(&mut self, workspace: &Workspace) -> StoreResult<()> {
        let mut statements = Vec::new();
        put_workspace(workspace, &mut statements)?;
        self.0.exec_all(&statements)
    }

    fn put_personal_workspace(&mut self, workspace: &PersonalWorkspace) -> StoreResult<()> {
        self.run(put_personal(workspace)?)
    }

    fn put_membership(&mut self, membership: &Membership) -> StoreResult<()> {
        self.run(write_membership(PUT_MEMBERSHIP, membership)?)
    }

    fn update_membership(&mut self, membership: &Membership) -> StoreResult<()> {
        self.run(write_membership(C::UPDATE_MEMBERSHIP, membership)?)
    }

    fn delete_membership(&mut self, workspace: WorkspaceId, user: UserId) -> StoreResult<()> {
        self.run(delete_membership(workspace, user))
    }

    fn put_invite(&mut self, invite: &Invite) -> StoreResult<()> {
        self.run(put_invite(invite)?)
    }

    fn put_decline(&mut self, decline: &Decline) -> StoreResult<()> {
        self.run(put_decline(decline)?)
    }

    fn put_conversation(&mut self, conversation: &Conversation) -> StoreResult<()> {
        self.run(put_conversation(conversation)?)
    }

    fn put_consumer(&mut self, consumer: &Consumer) -> StoreResult<()> {
        self.run(put_consumer(consumer)?)
    }

    fn append_event(&mut self, event: NewEvent) -> StoreResult<Event> {
        let params = event_params(event.at, event.actor, &event.kind)?;
        let seq =
            self.0.one(C::APPEND_EVENT, &params, row::seq)?.ok_or_else(|| corrupt("event number", "none returned"))?;
        Ok(event.with_seq(seq))
    }

    /// The plan's rows, then its events, as one batch of statements ([`Conn::exec_all`]).
    fn apply(&mut self, plan: &Plan, when: OffsetDateTime, actor: Option<UserId>) -> StoreResult<()> {
        let mut statements = Vec::with_capacity(plan.changes.len() + plan.events.len());
        for change in &plan.changes {
            writes_of::<C>(change, when, &mut statements)?;
        }
        for kind in &plan.events {
            statements.push(Statement { sql: C::APPEND_PLANNED_EVENT, params: event_params(when, actor, kind)? });
        }
        self.0.exec_all(&statements)
    }
}

impl<C: Conn> SqlTx<C> {
    fn run(&self, statement: Statement<'_>) -> StoreResult<()> {
        self.0.exec(statement.sql, &statement.params)
    }
}
