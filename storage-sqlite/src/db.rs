//! SQLite's part of the row layer ([`carespace_sql`]): its rows and values, its
//! connection inside a transaction with cached statements, and the statements it writes
//! its own way (`INDEXED BY` hints, the event counter, JSON paths).

use carespace::StorageError;
use carespace::store::StoreResult;
use carespace_sql::{Conn, Dialect, Row, SqlTx, Value, corrupt};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{CachedStatement, Connection, ToSql};
use uuid::Uuid;

use crate::error::SqlResultExt;

/// A transaction's view of the database (the caller opened the transaction).
pub(crate) type SqliteTx<'a> = SqlTx<SqliteConn<'a>>;

/// A transaction's view of the database, for `conn` inside a transaction.
pub(crate) fn view(conn: &Connection) -> SqliteTx<'_> {
    SqlTx(SqliteConn { conn })
}

/// One SQLite connection inside its transaction.
#[derive(Debug)]
pub(crate) struct SqliteConn<'a> {
    conn: &'a Connection,
}

impl SqliteConn<'_> {
    /// `sql` from the connection's statement cache with `params` bound. SQLite reads
    /// `$1`, `$2`, … as named parameters numbered by first appearance, so each is bound
    /// by its name's number, whatever order the text names them in.
    fn bound(&self, sql: &str, params: &[Value<'_>]) -> StoreResult<CachedStatement<'_>> {
        let mut stmt = self.conn.prepare_cached(sql).sql()?;
        let count = stmt.parameter_count();
        for index in 1..=count {
            let value = stmt
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1))
                .and_then(|n| params.get(n))
                .ok_or_else(|| unbound(sql, params.len()))?;
            stmt.raw_bind_parameter(index, Bind(value)).sql()?;
        }
        if count != params.len() {
            return Err(unbound(sql, params.len()));
        }
        Ok(stmt)
    }
}

/// A statement whose parameters do not match its values: a bug in Carespace's SQL.
fn unbound(sql: &str, given: usize) -> StorageError {
    StorageError::new(
        carespace::StorageErrorKind::Other,
        format!("the statement's parameters do not match the {given} values given: {sql}"),
    )
}

impl Conn for SqliteConn<'_> {
    fn each(
        &self,
        sql: &'static str,
        params: &[Value<'_>],
        f: &mut dyn FnMut(&dyn Row) -> StoreResult<()>,
    ) -> StoreResult<()> {
        #[cfg(test)]
        tests::record(sql);
        let mut stmt = self.bound(sql, params)?;
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().sql()? {
            f(&SqliteRow(row))?;
        }
        Ok(())
    }

    fn exec(&self, sql: &'static str, params: &[Value<'_>]) -> StoreResult<()> {
        // One step runs the whole statement, a `RETURNING` one included.
        let mut stmt = self.bound(sql, params)?;
        stmt.raw_query().next().sql()?;
        let changed = self.conn.changes();
        if sql == Self::UPDATE_MEMBERSHIP && changed != 1 {
            return Err(StorageError::new(
                carespace::StorageErrorKind::Other,
                format!("the update of a membership changed {changed} rows where it must change one"),
            ));
        }
        Ok(())
    }
}

/// A [`Value`] as rusqlite binds it: ids as 16-byte blobs.
struct Bind<'v, 'a>(&'v Value<'a>);

impl ToSql for Bind<'_, '_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Id(Some(id)) => ToSqlOutput::Borrowed(ValueRef::Blob(id.as_bytes())),
            Value::Int(Some(n)) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
            Value::Text(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Id(None) | Value::Int(None) | Value::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// A rusqlite row, read by reference where it can be.
struct SqliteRow<'r, 's>(&'r rusqlite::Row<'s>);

impl SqliteRow<'_, '_> {
    fn value(&self, i: usize) -> StoreResult<ValueRef<'_>> {
        self.0.get_ref(i).sql()
    }
}

impl Row for SqliteRow<'_, '_> {
    fn id(&self, i: usize) -> StoreResult<Option<Uuid>> {
        let bytes = self.value(i)?.as_blob_or_null().map_err(|e| corrupt("id", e))?;
        bytes.map(|b| Uuid::from_slice(b).map_err(|e| corrupt("id", e))).transpose()
    }

    fn int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.value(i)?.as_i64_or_null().map_err(|e| corrupt("number", e))
    }

    fn text(&self, i: usize) -> StoreResult<Option<&str>> {
        self.value(i)?.as_str_or_null().map_err(|e| corrupt("text", e))
    }

    fn flag(&self, i: usize) -> StoreResult<bool> {
        Ok(self.value(i)?.as_i64().map_err(|e| corrupt("flag", e))? != 0)
    }
}

/// The event's insert: the next number is taken inside it, under the write lock, so
/// there is no gap and no race.
macro_rules! append_event {
    () => {
        "INSERT INTO events (seq, at, actor, type, payload) \
         VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM events), $1, $2, $3, $4)"
    };
}

impl Dialect for SqliteConn<'_> {
    /// A shared workspace with the user's membership, or else a My Workspace. A
    /// membership implies the user exists (a foreign key). The planner would pick the
    /// unique index on `id` and then read the table row; the covering index answers from
    /// one B-tree.
    const ACCESS: &'static str = "SELECT w.organisation, 0, w.status = 'active', m.role, m.status, 0, \
           EXISTS (SELECT 1 FROM organisation_members o WHERE o.organisation = w.organisation AND o.user = $2), \
           CASE WHEN m.user IS NOT NULL THEN 1 ELSE EXISTS (SELECT 1 FROM users u WHERE u.id = $2) END \
         FROM workspaces w INDEXED BY workspaces_access \
           LEFT JOIN memberships m ON m.workspace = w.id AND m.user = $2 WHERE w.id = $1 \
         UNION ALL \
         SELECT p.organisation, 1, p.archived_at IS NULL, NULL, NULL, p.owner = $2, \
           EXISTS (SELECT 1 FROM organisation_members o WHERE o.organisation = p.organisation AND o.user = $2), \
           EXISTS (SELECT 1 FROM users u WHERE u.id = $2) \
         FROM personal_workspaces p WHERE p.id = $1 \
         LIMIT 1";
    const LAST_EVENT_SEQ: &'static str = "SELECT coalesce(max(seq), 0) FROM events";
    const APPEND_EVENT: &'static str = concat!(append_event!(), " RETURNING seq");
    const APPEND_PLANNED_EVENT: &'static str = append_event!();
    const EVENTS_AFTER: &'static str =
        "SELECT seq, at, actor, payload FROM events WHERE seq > $1 ORDER BY seq LIMIT $2";
    /// The expression must be the index's, character for character.
    const EVENTS_OF_WORKSPACE: &'static str = "SELECT seq, at, actor, payload FROM events \
         INDEXED BY events_by_workspace WHERE json_extract(payload, '$.workspace') = $1 ORDER BY seq";
    const EVENTS_OF_USER: &'static str = "SELECT seq, at, actor, payload FROM events INDEXED BY events_by_user \
           WHERE json_extract(payload, '$.user') = $1 \
         UNION ALL \
         SELECT seq, at, actor, payload FROM events INDEXED BY events_created_by \
           WHERE type = 'workspace_created' AND actor = $2 \
         ORDER BY seq";

    // Without statistics the planner would walk the whole workspace by primary key, or
    // every pending invite, request or membership.
    const ADMINS_OF: &'static str = concat!(
        carespace_sql::select_membership!(),
        " INDEXED BY memberships_admins WHERE workspace = $1 AND role = 'admin' ORDER BY user"
    );
    const INVITES_EXPIRED_BY: &'static str = concat!(
        carespace_sql::select_invite!(),
        " INDEXED BY invites_pending_by_expiry WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at, id"
    );
    const REQUESTS_WAITING_SINCE: &'static str = concat!(
        carespace_sql::select_membership!(),
        " INDEXED BY memberships_waiting WHERE status = 'unapproved' AND escalated_at IS NULL AND joined_at <= $1 \
         ORDER BY joined_at, workspace, user"
    );
    const MEMBERSHIPS_ENDING_BY: &'static str = concat!(
        carespace_sql::select_membership!(),
        " INDEXED BY memberships_ending WHERE ends_at IS NOT NULL AND ends_at <= $1 AND status != 'archived' \
         ORDER BY ends_at, workspace, user"
    );
    const DISCOVERY_PAGES: [&'static str; 4] = carespace_sql::discovery_pages!(
        "",
        " INDEXED BY memberships_by_user",
        "(SELECT group_concat(hex(u.id) || ' ' || u.name, char(10)) FROM memberships a \
           INDEXED BY memberships_admins JOIN users u INDEXED BY users_names ON u.id = a.user \
           WHERE a.workspace = w.id AND a.role = 'admin')"
    );
}

#[cfg(test)]
mod tests {
    //! Query plans: the reads behind the permission check, the switcher and discovery
    //! use an index or a primary key, never a full scan.
    use carespace::testsuite::WholeLists;
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

    /// Every statement `run` issues is planned with an index or primary key, and none
    /// walks all of an organisation's workspaces.
    fn assert_indexed(store: &SqliteStore, what: &str, run: impl FnOnce()) -> Vec<String> {
        take();
        run();
        let statements = take();
        assert!(!statements.is_empty());
        let plans: Vec<String> = statements.iter().map(|sql| plan(store, sql)).collect();
        for (sql, plan) in statements.iter().zip(&plans) {
            // A scan of a subquery's rows (a co-routine, already cut by its LIMIT) reads no table.
            let subquery = |step: &str| plan.contains(&format!("CO-ROUTINE {}", step.trim_start_matches("SCAN ")));
            let scans = plan
                .split("; ")
                .filter(|step| step.starts_with("SCAN ") && *step != "SCAN CONSTANT ROW" && !subquery(step));
            assert_eq!(scans.count(), 0, "{what}: full scan in\n  {sql}\n  {plan}");
            assert!(plan.contains("SEARCH"), "{what}: {sql}: {plan}");
            // Nor a walk of an organisation's workspaces (thousands in a big trust).
            assert!(
                !plan.contains("workspaces_by_organisation"),
                "{what}: walks an organisation in\n  {sql}\n  {plan}"
            );
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
        // A member's permission check is one seek of the membership's primary key (R34).
        assert_eq!(plans, ["SEARCH memberships USING PRIMARY KEY (workspace=? AND user=?)"]);
        // Anyone else's finds no membership, then asks the statement that answers for all.
        let bob = service.register_user("bob@nhs.net".parse().unwrap(), "Bob".parse().unwrap()).unwrap();
        let plans = assert_indexed(&store, "can() of a non-member", || {
            assert!(!service.can(bob.id, ws.id, Action::ViewAllConversations).unwrap());
        });
        assert_eq!(plans.len(), 2, "{plans:?}");
        assert!(plans[1].contains("SEARCH m USING PRIMARY KEY (workspace=? AND user=?)"), "{plans:?}");
        assert!(plans[1].contains("SEARCH w USING COVERING INDEX workspaces_access (id=?)"), "{plans:?}");
        let plans = assert_indexed(&store, "my_workspaces()", || {
            assert_eq!(service.my_workspaces(alice.id).unwrap().len(), 2);
        });
        assert!(plans.iter().any(|p| p.contains("memberships_by_user")), "{plans:?}");
        // A page of discovery (R11, R43) walks an index in name order from the cursor's,
        // chosen by its filter: no sort, except of a colleague's few memberships.
        let obstetrics = Speciality::from_code(501).unwrap();
        let speciality = Some(obstetrics);
        let new =
            NewWorkspace { name: "Ward 3".parse().unwrap(), speciality: obstetrics, description: Default::default() };
        service.create_workspace(alice.id, trust.id, new).unwrap();
        let cases = [
            (DiscoveryFilter::default(), "SEARCH w USING INDEX workspaces_active_name (organisation=? AND name_key>?)"),
            (
                DiscoveryFilter { speciality, ..Default::default() },
                "SEARCH w USING INDEX workspaces_by_speciality (organisation=? AND speciality=? AND name_key>?)",
            ),
            (
                DiscoveryFilter { name: Some("wa".into()), speciality, ..Default::default() },
                "SEARCH p USING PRIMARY KEY (organisation=? AND prefix=? AND name_key>?)",
            ),
            (
                DiscoveryFilter { name: Some("wa".into()), colleague: Some(alice.id), speciality },
                "SEARCH c USING INDEX memberships_by_user (user=?)",
            ),
        ];
        for (filter, walk) in cases {
            let plans = assert_indexed(&store, "discover()", || {
                let page = carespace::page::PageRequest::first(1);
                let first = service.discover(alice.id, trust.id, &filter, &page).unwrap();
                let next = carespace::page::PageRequest::after(first.next.unwrap(), Some(1));
                service.discover(alice.id, trust.id, &filter, &next).unwrap();
            });
            assert!(plans.iter().any(|p| p.contains(walk)), "{filter:?}: {plans:#?}");
            // The admins' names come from one covering index, not the users table.
            let admins = "SEARCH u USING COVERING INDEX users_names (id=?)";
            assert!(plans.iter().any(|p| p.contains(admins)), "{filter:?}: {plans:#?}");
            if filter.colleague.is_none() {
                assert!(!plans.iter().any(|p| p.contains("TEMP B-TREE")), "{filter:?}: {plans:#?}");
            }
        }
        assert_indexed(&store, "create_workspace()", || {
            let new = NewWorkspace {
                name: "Ward 2".parse().unwrap(),
                speciality: Speciality::from_code(501).unwrap(),
                description: Default::default(),
            };
            service.create_workspace(alice.id, trust.id, new).unwrap();
        });
        service.join_organisation(bob.id, trust.id).unwrap();
        // Whether the requester is in another of the organisation's workspaces (R27) is
        // read from their memberships, never by walking the organisation's workspaces.
        // The request names its approvers (R16): the admins, from their index.
        let plans = assert_indexed(&store, "request_to_join()", || {
            service.request_to_join(bob.id, ws.id).unwrap();
        });
        assert!(plans.iter().any(|p| p.contains("memberships_admins")), "{plans:?}");
        // Approving reads the approver's and the requester's memberships alone.
        let plans = assert_indexed(&store, "approve()", || {
            service.approve(alice.id, ws.id, bob.id).unwrap();
        });
        assert!(!plans.iter().any(|p| p.contains("memberships_admins")), "{plans:?}");
        assert!(plans.iter().any(|p| p.contains("USING PRIMARY KEY (workspace=? AND user=?)")), "{plans:?}");
        // A page of members (R22, R43) walks the list's index from the cursor's key: no
        // sort, and no read of the ward's other members.
        let plans = assert_indexed(&store, "members()", || {
            let first = service.members(alice.id, ws.id, &carespace::page::PageRequest::first(1)).unwrap();
            let next = carespace::page::PageRequest::after(first.next.unwrap(), Some(1));
            service.members(alice.id, ws.id, &next).unwrap();
        });
        let walk = "SEARCH m USING INDEX memberships_page (workspace=? AND (list_rank,name_key,user)>(?,?,?))";
        assert!(plans.iter().any(|p| p.contains(walk)), "{plans:#?}");
        assert!(!plans.iter().any(|p| p.contains("TEMP B-TREE")), "{plans:#?}");
        assert_indexed(&store, "pending_requests()", || {
            service.pending_requests_all(alice.id).unwrap();
        });
        assert_indexed(&store, "events_since()", || {
            service.events_since(3, 10).unwrap();
        });
    }

    /// R40: a search by name fragment seeks the prefix index's primary key and walks it
    /// in its order (no sort), probing the other words' prefixes by the second index;
    /// by postcode it is a range of the postcode index, by code the unique index; none
    /// scans.
    #[test]
    fn r40_directory_searches_use_indexes() {
        use carespace::directory::{ImportOptions, OdsFile, OrganisationSearch};
        use carespace::page::PageRequest;

        let store = std::sync::Arc::new(SqliteStore::open_in_memory().unwrap());
        let service = Carespace::from_arc(store.clone());
        let practices = include_str!("../../core/src/testsuite/ods/epraccur.csv");
        service.import_organisations(OdsFile::Practices, practices.as_bytes(), ImportOptions::default()).unwrap();
        let search = |q: OrganisationSearch| {
            assert!(!service.search_organisations(&q, &PageRequest::default()).unwrap().items.is_empty(), "{q:?}");
        };
        let seek = "SEARCH p USING PRIMARY KEY (prefix=? AND ";
        let probe = "SEARCH q USING COVERING INDEX organisation_prefixes_of (organisation=? AND prefix=?)";
        for query in ["surg", "densham surg", "st marys surg"] {
            let plans = assert_indexed(&store, query, || search(OrganisationSearch::Name(query.into())));
            assert!(plans.iter().any(|p| p.contains(seek)), "{query}: {plans:?}");
            assert!(!plans.iter().any(|p| p.contains("TEMP B-TREE")), "{query}: {plans:?}");
            assert!(plans.iter().any(|p| p.contains(probe)), "{query}: {plans:?}");
        }
        // A multi-word search whose other word is rare reads that word's candidates.
        let plans = assert_indexed(&store, "candidates of a prefix", || {
            let candidates = carespace::directory::Candidates::Prefix("densham".into());
            carespace::Store::read(&*store, &mut |r| {
                r.organisation_candidates(&candidates).map(drop).map_err(Into::into)
            })
            .unwrap();
        });
        assert!(plans.iter().any(|p| p.contains("SEARCH p USING PRIMARY KEY (prefix=?)")), "{plans:?}");
        let plans =
            assert_indexed(&store, "search by postcode", || search(OrganisationSearch::Postcode("TS18".into())));
        assert!(plans.iter().any(|p| p.contains("organisations_by_postcode (postcode>? AND postcode<?)")), "{plans:?}");
        assert_indexed(&store, "search by code", || search(OrganisationSearch::OdsCode("a81001".into())));
    }
}
