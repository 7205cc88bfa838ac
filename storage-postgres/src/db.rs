//! PostgreSQL's part of the row layer ([`carespace_sql`]): its rows and values (uuid
//! ids, bigint nanoseconds, int speciality codes, jsonb payloads read as text), its
//! connection with prepared statements, pipelined batches, and the statements it writes
//! its own way (the event counter, jsonb paths).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};

use carespace::store::{Access, ReadTx, StoreResult};
use carespace::{UserId, WorkspaceId};
use carespace_sql::{Conn, Dialect, Row, SqlTx, Statement as Write, Value, corrupt};
use futures_util::TryFutureExt;
use futures_util::future::Either;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use crate::error::PgResultExt;
use crate::link::Io;

/// A transaction's view of the database: statements sent on its connection inside the
/// transaction its [`Bracket`] opens.
pub(crate) type PgTx<'c> = SqlTx<PgConn<'c>>;

/// A connection's prepared statements, by their SQL text.
pub(crate) type Statements = foldhash::HashMap<String, Statement>;

/// What opens, commits and rolls back a transaction: plain statements (no values), sent
/// in the same round trip as the statements beside them.
#[derive(Debug, Default)]
pub(crate) struct Bracket {
    /// Sent ahead of the transaction's first statement.
    pub open: Vec<String>,
    /// Sent after its last write when it succeeds.
    pub commit: Vec<String>,
    /// Sent instead when it fails (or is dropped half-way).
    pub rollback: Vec<String>,
    /// Whether to learn the transaction's id with its first round trip, so that a
    /// commit whose answer was lost can be looked up ([`PgConn::in_doubt`]).
    pub learn_xid: bool,
}

/// Asks for the transaction's id (assigning one, as its first write would), when the
/// server started, and the log's last number: an id is only worth asking about later on
/// the same server run, since a crash can hand out again the ids it had not yet made
/// durable; the number says where the transaction's first event goes, as the store's
/// write lock keeps every other writer out until it ends.
const XID: &str = "SELECT txid_current(), pg_postmaster_start_time()::text, (SELECT last FROM event_counter)";

/// Whether the log holds, at a given number, the event a transaction appended first:
/// the values of [`Dialect::APPEND_EVENT`] and the number.
const WRITTEN: &str = "SELECT EXISTS (SELECT 1 FROM events WHERE seq = $5 AND at = $1 \
     AND actor IS NOT DISTINCT FROM $2 AND type = $3 AND payload = $4::text::jsonb)";

/// What the first round trip of a write learns ([`XID`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Learned {
    /// The transaction's id.
    pub xid: i64,
    /// When the server it runs on started.
    pub started: String,
    /// The log's last number when it began.
    pub head: i64,
}

/// A transaction whose `COMMIT` was sent but whose answer never came: the connection
/// broke on the way, so the server may or may not have committed it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InDoubt {
    /// What its first round trip learned, if that came back.
    pub learned: Option<Learned>,
    /// The values of the first event it appended, if any.
    pub first_event: Option<Vec<Value<'static>>>,
}

impl InDoubt {
    /// Whether the log holds this transaction's first event where it would be, asked on
    /// `client`: `None` if the transaction appended none or its first round trip never
    /// came back. Definitive only once the transaction can no longer commit (the server
    /// restarted since): while the store's write lock was held, no other writer could
    /// take that number, so its event is there if and only if it committed.
    pub(crate) fn written(&self, client: &Client, io: &Io) -> StoreResult<Option<bool>> {
        let (Some(learned), Some(event)) = (&self.learned, &self.first_event) else { return Ok(None) };
        let mut values = event.clone();
        values.push(Value::Int(Some(learned.head.saturating_add(1))));
        let binds = binds(&values);
        let row = io.wait(client.query_one(WRITTEN, &bound(&binds))).pg()?;
        Ok(Some(row.try_get(0).pg()?))
    }
}

/// A view of `client` inside the transaction `bracket` opens (none: each statement
/// alone, in autocommit), with the connection's prepared statements.
pub(crate) fn view<'c>(client: &'c Client, io: &'c Io, statements: &'c mut Statements, bracket: Bracket) -> PgTx<'c> {
    SqlTx(PgConn {
        client,
        io,
        statements: RefCell::new(statements),
        queued: RefCell::new(
            bracket
                .open
                .iter()
                .cloned()
                .map(Queued::Plain)
                .chain(bracket.learn_xid.then(|| Queued::Write(XID, Vec::new())))
                .collect(),
        ),
        bracket,
        state: Cell::new(State::Unsent),
        learned: RefCell::new(None),
        first_event: RefCell::new(None),
        in_doubt: Cell::new(false),
    })
}

/// One connection with its prepared statements, and the statements waiting to go with
/// the next request: the transaction's opening, then its writes. Nothing waits for a
/// write's answer until a read needs the database's state or the transaction ends, so a
/// command's `BEGIN` travels with its context read, and its plan with its `COMMIT`:
/// two round trips for the whole command.
pub(crate) struct PgConn<'c> {
    client: &'c Client,
    io: &'c Io,
    statements: RefCell<&'c mut Statements>,
    queued: RefCell<Vec<Queued>>,
    bracket: Bracket,
    state: Cell<State>,
    /// What the first round trip learned, once it came back.
    learned: RefCell<Option<Learned>>,
    /// The values of the first event the transaction appends, once queued.
    first_event: RefCell<Option<Vec<Value<'static>>>>,
    /// Whether its commit was lost on the way.
    in_doubt: Cell<bool>,
}

/// A statement waiting for the next round trip.
enum Queued {
    /// Without values, by the simple-query protocol (`BEGIN`, `COMMIT`, a lock).
    Plain(String),
    /// A write with its values.
    Write(&'static str, Vec<Value<'static>>),
}

/// A statement as it is sent.
enum Request<'q> {
    Plain(&'q str),
    Prepared(Statement),
}

/// Where the transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing sent yet: the server knows of no transaction.
    Unsent,
    /// Something sent, not yet committed or rolled back.
    Open,
    /// Committed or rolled back (or given up for a failure that ended it).
    Ended,
}

impl PgConn<'_> {
    /// `sql` prepared on this connection once, and kept for its later calls (inside a
    /// transaction or outside: a statement belongs to the connection); parsing on every
    /// call would cost a round trip each.
    fn statement(&self, sql: &str) -> StoreResult<Statement> {
        let mut statements = self.statements.borrow_mut();
        if let Some(statement) = statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.io.wait(self.client.prepare(sql)).pg()?;
        statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// The queued statements, then `queries`, all sent before any answer is awaited: one
    /// round trip. The server runs them in order; after the first failure inside a
    /// transaction the rest fail too (and a `COMMIT` rolls back), and the first error is
    /// the one returned. `f` sees the rows of `queries` with each one's index.
    fn send(&self, queries: &[Write<'_>], f: &mut dyn FnMut(usize, &dyn Row) -> StoreResult<()>) -> StoreResult<()> {
        let queued = std::mem::take(&mut *self.queued.borrow_mut());
        if queued.is_empty() && queries.is_empty() {
            return Ok(());
        }
        let mut requests = Vec::with_capacity(queued.len() + queries.len());
        for q in &queued {
            requests.push(match q {
                Queued::Plain(sql) => Request::Plain(sql),
                Queued::Write(sql, _) => Request::Prepared(self.statement(sql)?),
            });
        }
        for q in queries {
            requests.push(Request::Prepared(self.statement(q.sql)?));
        }
        let values = queued.iter().map(|q| match q {
            Queued::Plain(_) => &[][..],
            Queued::Write(_, values) => &values[..],
        });
        let binds: Vec<Vec<Bind<'_, '_>>> = values.chain(queries.iter().map(|q| &q.params[..])).map(binds).collect();
        let params: Vec<Vec<&(dyn ToSql + Sync)>> = binds.iter().map(|b| bound(b)).collect();
        let sent = requests.iter().zip(&params).map(|(request, params)| match request {
            Request::Plain(sql) => Either::Left(self.client.batch_execute(sql).map_ok(|()| Vec::new())),
            Request::Prepared(statement) => Either::Right(self.client.query(statement, params)),
        });
        if self.state.get() == State::Unsent {
            self.state.set(State::Open);
        }
        let answers = self.io.wait(futures_util::future::try_join_all(sent)).pg()?;
        for (q, rows) in queued.iter().zip(&answers) {
            if let (Queued::Write(XID, _), Some(row)) = (q, rows.first()) {
                *self.learned.borrow_mut() = match (row.try_get(0), row.try_get(1), row.try_get(2)) {
                    (Ok(xid), Ok(started), Ok(head)) => Some(Learned { xid, started, head }),
                    _ => None,
                };
            }
        }
        for (i, rows) in answers.iter().enumerate().skip(queued.len()) {
            rows.iter().try_for_each(|row| f(i - queued.len(), &PgRow(row)))?;
        }
        Ok(())
    }

    /// Commits: the queued writes and the bracket's commit in one round trip. A
    /// transaction that sent nothing has nothing to commit.
    pub(crate) fn commit(&self) -> StoreResult<()> {
        if self.state.get() == State::Unsent && self.queued.borrow().len() == self.bracket.open.len() {
            self.state.set(State::Ended);
            return Ok(());
        }
        self.queued.borrow_mut().extend(self.bracket.commit.iter().cloned().map(Queued::Plain));
        let sent = self.send(&[], &mut |_, _| Ok(()));
        // Sent (the server ran the rest after any failure, the unlock included) or the
        // connection failed (and the server ended the session): nothing to roll back.
        self.state.set(State::Ended);
        // The connection lost, or the server going away (a shutdown's FATAL may answer
        // the unlock after the `COMMIT` went through, before the socket closes): the
        // transaction may have committed. A statement's own error (a conflict, a
        // constraint) aborted it.
        if let Err(e) = &sent
            && (self.client.is_closed() || e.kind() == carespace::StorageErrorKind::Unavailable)
        {
            self.in_doubt.set(true);
        }
        sent
    }

    /// Whether the commit's answer was lost with the connection, and the transaction's
    /// id if it was learned: the server may have committed it or not.
    pub(crate) fn in_doubt(&self) -> Option<InDoubt> {
        self.in_doubt
            .get()
            .then(|| InDoubt { learned: self.learned.borrow().clone(), first_event: self.first_event.borrow().clone() })
    }

    /// Rolls back, dropping the queued writes: one round trip, none if nothing was sent.
    pub(crate) fn rollback(&self) -> StoreResult<()> {
        self.queued.borrow_mut().clear();
        if self.state.replace(State::Ended) != State::Open {
            return Ok(());
        }
        self.queued.borrow_mut().extend(self.bracket.rollback.iter().cloned().map(Queued::Plain));
        self.send(&[], &mut |_, _| Ok(()))
    }
}

impl Drop for PgConn<'_> {
    /// A transaction left open (its caller panicked) is rolled back before the
    /// connection goes back to the pool, so it never returns holding a lock.
    fn drop(&mut self) {
        // Nothing to report to; if this fails the connection is broken, and closing it
        // ends the transaction and releases the lock.
        let _ = self.rollback();
    }
}

/// The values of one statement as the driver takes them.
fn bound<'v>(binds: &'v [Bind<'v, '_>]) -> Vec<&'v (dyn ToSql + Sync)> {
    binds.iter().map(|b| b as &(dyn ToSql + Sync)).collect()
}

fn binds<'v, 'a>(params: &'v [Value<'a>]) -> Vec<Bind<'v, 'a>> {
    params.iter().map(Bind).collect()
}

/// `value` owning its text, to wait in the queue beyond the plan it came from.
fn owned(value: &Value<'_>) -> Value<'static> {
    match value {
        Value::Id(id) => Value::Id(*id),
        Value::Int(n) => Value::Int(*n),
        Value::Text(text) => Value::Text(text.as_ref().map(|t| Cow::Owned(t.clone().into_owned()))),
    }
}

impl Conn for PgConn<'_> {
    fn each(
        &self,
        sql: &'static str,
        params: &[Value<'_>],
        f: &mut dyn FnMut(&dyn Row) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.send(&[Write { sql, params: params.to_vec() }], &mut |_, row| f(row))
    }

    fn exec(&self, sql: &'static str, params: &[Value<'_>]) -> StoreResult<()> {
        self.exec_all(&[Write { sql, params: params.to_vec() }])
    }

    /// Queued, to go with the next read or the commit: a write's answer is only ever
    /// its success, and a failure fails that round trip instead, before the commit.
    fn exec_all(&self, writes: &[Write<'_>]) -> StoreResult<()> {
        let queued = writes.iter().map(|w| Queued::Write(w.sql, w.params.iter().map(owned).collect()));
        self.queued.borrow_mut().extend(queued);
        let mut first_event = self.first_event.borrow_mut();
        if first_event.is_none() {
            *first_event =
                writes.iter().find(|w| w.sql == Self::APPEND_EVENT).map(|w| w.params.iter().map(owned).collect());
        }
        Ok(())
    }

    /// One round trip for the queued statements and `queries` ([`PgConn::send`]).
    fn batch(&self, queries: &[Write<'_>], f: &mut dyn FnMut(usize, &dyn Row) -> StoreResult<()>) -> StoreResult<()> {
        self.send(queries, f)
    }
}

/// [`ReadTx::access`] outside any transaction: in autocommit each statement sees one
/// snapshot by itself, and the check saves a `BEGIN` and a `COMMIT`. A member's answer
/// is one statement; anyone else's is a second, which answers whole by itself (for a
/// membership made in between too).
pub(crate) fn access_alone(
    client: &Client,
    io: &Io,
    statements: &mut Statements,
    workspace: WorkspaceId,
    user: UserId,
) -> StoreResult<Option<Access>> {
    view(client, io, statements, Bracket::default()).access(workspace, user)
}

/// A [`Value`] as the driver binds it: an integer narrowed to `int` where the column is
/// one (speciality codes).
#[derive(Debug)]
struct Bind<'v, 'a>(&'v Value<'a>);

impl ToSql for Bind<'_, '_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Id(None) | Value::Int(None) | Value::Text(None) => Ok(IsNull::Yes),
            Value::Id(Some(id)) => id.to_sql_checked(ty, out),
            Value::Int(Some(n)) if *ty == Type::INT4 => i32::try_from(*n)?.to_sql_checked(ty, out),
            Value::Int(Some(n)) => n.to_sql_checked(ty, out),
            Value::Text(Some(s)) => s.as_ref().to_sql_checked(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A postgres row.
struct PgRow<'r>(&'r tokio_postgres::Row);

impl Row for PgRow<'_> {
    fn id(&self, i: usize) -> StoreResult<Option<Uuid>> {
        self.0.try_get(i).map_err(|e| corrupt("id", e))
    }

    fn int(&self, i: usize) -> StoreResult<Option<i64>> {
        let column = self.0.columns().get(i).map(|c| c.type_());
        match column {
            Some(&Type::INT4) => {
                Ok(self.0.try_get::<_, Option<i32>>(i).map_err(|e| corrupt("number", e))?.map(i64::from))
            }
            Some(&Type::INT2) => {
                Ok(self.0.try_get::<_, Option<i16>>(i).map_err(|e| corrupt("number", e))?.map(i64::from))
            }
            _ => self.0.try_get(i).map_err(|e| corrupt("number", e)),
        }
    }

    fn text(&self, i: usize) -> StoreResult<Option<&str>> {
        self.0.try_get(i).map_err(|e| corrupt("text", e))
    }

    fn flag(&self, i: usize) -> StoreResult<bool> {
        self.0.try_get(i).map_err(|e| corrupt("flag", e))
    }
}

impl Dialect for PgConn<'_> {
    /// A shared workspace with the user's membership, or else a My Workspace.
    const ACCESS: &'static str = "SELECT w.organisation, false, w.status = 'active', m.role, m.status, false, \
           EXISTS (SELECT 1 FROM organisation_members om WHERE om.organisation = w.organisation AND om.\"user\" = $2), \
           m.\"user\" IS NOT NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = $2) \
         FROM workspaces w LEFT JOIN memberships m ON m.workspace = w.id AND m.\"user\" = $2 WHERE w.id = $1 \
         UNION ALL \
         SELECT p.organisation, true, p.archived_at IS NULL, NULL, NULL, p.owner = $2, \
           EXISTS (SELECT 1 FROM organisation_members om WHERE om.organisation = p.organisation AND om.\"user\" = $2), \
           EXISTS (SELECT 1 FROM users u WHERE u.id = $2) \
         FROM personal_workspaces p WHERE p.id = $1";
    const LAST_EVENT_SEQ: &'static str = "SELECT last FROM event_counter";
    /// The counter's row lock orders appenders; a rollback undoes the increment. One
    /// statement takes the number and writes the event.
    const APPEND_EVENT: &'static str = "WITH next AS (UPDATE event_counter SET last = last + 1 RETURNING last) \
         INSERT INTO events (seq, at, actor, type, payload) \
         SELECT last, $1, $2, $3, $4::text::jsonb FROM next RETURNING seq";
    const EVENTS_AFTER: &'static str =
        "SELECT seq, at, actor, payload::text FROM events WHERE seq > $1 ORDER BY seq LIMIT $2";
    const EVENTS_OF_WORKSPACE: &'static str = "SELECT seq, at, actor, payload::text FROM events \
         WHERE payload ? 'workspace' AND payload ->> 'workspace' = $1 ORDER BY seq";
    const EVENTS_OF_USER: &'static str = "SELECT seq, at, actor, payload::text FROM events \
           WHERE payload ? 'user' AND payload ->> 'user' = $1 \
         UNION ALL \
         SELECT seq, at, actor, payload::text FROM events WHERE type = 'workspace_created' AND actor = $2 \
         ORDER BY 1";
}

#[cfg(test)]
mod tests {
    //! A commit in doubt settled by its first event (R32: nothing acknowledged lost,
    //! nothing written twice), on `CARESPACE_PG_URL` as the crate's other tests.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

    use std::sync::Arc;

    use carespace::{Carespace, OrganisationKind};

    use super::*;
    use crate::{PostgresOptions, PostgresStore};

    #[test]
    fn a_commit_in_doubt_is_found_by_its_first_event_at_the_number_it_would_take() {
        let url = std::env::var("CARESPACE_PG_URL").expect("set CARESPACE_PG_URL (make test-postgres does)");
        let schema = format!("in_doubt_{}", std::process::id());
        let options = PostgresOptions { schema: Some(schema.clone()), ..PostgresOptions::default() };
        let store = Arc::new(PostgresStore::connect_with(&url, options).unwrap());
        let s = Carespace::from_arc(store.clone());
        s.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
        s.register_user("a@nhs.net".parse().unwrap(), "A".parse().unwrap()).unwrap();
        let event = s.events_since(0, 10).unwrap().pop().unwrap();
        let values = carespace_sql::event_params(event.at, event.actor, &event.kind).unwrap();
        let head = i64::try_from(event.seq).unwrap() - 1;
        let doubt = |head: i64, first_event: Option<Vec<Value<'static>>>| InDoubt {
            learned: Some(Learned { xid: 0, started: String::new(), head }),
            first_event,
        };
        let conn = store.connection().unwrap();
        let written = |doubt: InDoubt| doubt.written(&conn.client, &conn.io).unwrap();

        assert_eq!(written(doubt(head, Some(values.clone()))), Some(true), "its event is where it would be");
        assert_eq!(written(doubt(head - 1, Some(values.clone()))), Some(false), "another command's number");
        let mut other_payload = values.clone();
        other_payload[3] = Value::Text(Some(Cow::Owned(serde_json::json!({"user": Uuid::nil()}).to_string())));
        assert_eq!(written(doubt(head, Some(other_payload))), Some(false), "another event at its number");
        let mut other_time = values.clone();
        other_time[0] = Value::Int(Some(1));
        assert_eq!(written(doubt(head, Some(other_time))), Some(false), "an event of another time");
        assert_eq!(written(doubt(head, None)), None, "a command that appended no event");
        assert_eq!(written(InDoubt { learned: None, first_event: Some(values) }), None, "no first round trip");

        conn.io.wait(conn.client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))).unwrap();
    }
}
