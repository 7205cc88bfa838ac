//! A transaction on one PostgreSQL connection: its prepared statements, the statements
//! waiting for the next round trip, the two ways a round trip's statements travel, and
//! a commit whose answer was lost (in doubt). [`PgConn`] is the [`carespace_sql::Conn`]
//! the shared queries run on; the rows and values are [`crate::db`]'s.
//!
//! # How a round trip travels
//! A command's statements go together: its context reads in one round trip, its plan
//! and `COMMIT` in the next. Two ways, chosen by the transaction ([`Bracket::strings`]):
//!
//! - **A pipeline** (reads): each statement prepared once per connection by the
//!   extended protocol and sent with its values in binary, all before any answer is
//!   awaited. tokio-postgres closes each request with its own `Sync`, and the server
//!   flushes its answer at every `Sync`, so each statement's answer wakes the waiting
//!   thread once. Reads send one or two statements at a time and get rows back in
//!   binary, the cheapest to decode (a page of a thousand workspaces).
//! - **One string** (writes): the round trip's statements in one simple-query message,
//!   `BEGIN …; LOCK …; EXECUTE carespace_3('…', '…'); EXECUTE carespace_7(…)`, which
//!   the server answers with one flush. A write's round trips carry four to six
//!   statements; as a pipeline, approving someone woke the waiting thread ten times.
//!   Each statement is still planned once per connection: the first time a connection
//!   meets an SQL text, `PREPARE carespace_N AS …` goes just before its first
//!   `EXECUTE`, in the same string. The values travel as literals, and [`literal`] is
//!   the one place that writes them: NULL, a uuid or a number in quotes, or text as an
//!   escape string (`E'…'`) with every `\` and `'` doubled, which reads the same whatever
//!   `standard_conforming_strings` says, so no value can end its literal (a driver that
//!   interpolates on the client, as psycopg does, writes the same). Answers come back
//!   as text, read by [`TextRow`].
//!
//! Values in the text have one consequence outside Carespace: PostgreSQL logs the text
//! of a statement that fails (`log_min_error_statement`), so a failed write's line in
//! the server's log can hold the names and addresses it wrote (the README says how to
//! turn that off for the role).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::pin::pin;

use carespace::store::{Access, ReadTx, StoreResult};
use carespace::{StorageErrorKind, UserId, WorkspaceId};
use carespace_sql::{Conn, Dialect, Row, SqlTx, Statement as Write, Value};
use futures_util::future::Either;
use futures_util::{StreamExt, TryFutureExt};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, SimpleQueryMessage, SimpleQueryRow, Statement};

use crate::db::{Bind, PgRow, TextRow, binds, bound, literal};
use crate::error::PgResultExt;
use crate::link::Io;

/// A transaction's view of the database: statements sent on its connection inside the
/// transaction its [`Bracket`] opens.
pub(crate) type PgTx<'c> = SqlTx<PgConn<'c>>;

/// A connection's prepared statements, by their SQL text: those prepared for pipelines,
/// and the number in the name of those prepared for strings (`carespace_N`) with how
/// many numbers were handed out. A number is never handed out twice, so a `PREPARE`
/// whose string failed before it ran (and may run later under another number) never
/// meets a name already taken.
#[derive(Debug, Default)]
pub(crate) struct Statements {
    prepared: foldhash::HashMap<&'static str, Statement>,
    numbers: foldhash::HashMap<&'static str, u32>,
    handed_out: u32,
}

/// What opens, commits and rolls back a transaction: plain statements (no values), sent
/// in the same string as the statements beside them.
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
    /// Whether each round trip goes as one string rather than a pipeline (the module's
    /// documentation says why writes go one way and reads the other).
    pub strings: bool,
}

/// Asks for the transaction's id (assigning one, as its first write would), when the
/// server started, and the log's last number: an id is only worth asking about later on
/// the same server run, since a crash can hand out again the ids it had not yet made
/// durable; the number says where the transaction's first event goes, as the store's
/// write lock keeps every other writer out until it ends.
const XID: &str = "SELECT txid_current(), pg_postmaster_start_time()::text, (SELECT last FROM event_counter)";

/// Whether the log holds, at a given number, the event a transaction appended first:
/// the values of [`Dialect::APPEND_PLANNED_EVENT`] and the number.
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
    pub(crate) fn written(&self, client: &Client, io: &Io, statements: &mut Statements) -> StoreResult<Option<bool>> {
        let (Some(learned), Some(event)) = (&self.learned, &self.first_event) else { return Ok(None) };
        let mut values = event.clone();
        values.push(Value::Int(Some(learned.head.saturating_add(1))));
        let found = view(client, io, statements, Bracket::default()).0.one(WRITTEN, &values, |row| row.flag(0))?;
        Ok(Some(found.unwrap_or(false)))
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
        last_ran: Cell::new(false),
        learned: RefCell::new(None),
        first_event: RefCell::new(None),
        in_doubt: Cell::new(false),
    })
}

/// One connection with its prepared statements, and the statements waiting to go with
/// the next round trip: the transaction's opening, then its writes. Nothing waits for a
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
    /// Whether the last round trip's last statement ran (its `COMMIT`, when it carries
    /// one). A string that failed earlier had the rest skipped by the server, and one
    /// refused before it was sent ran nothing: either leaves the transaction open.
    last_ran: Cell<bool>,
    /// What the first round trip learned, once it came back.
    learned: RefCell<Option<Learned>>,
    /// The values of the first event the transaction appends, once queued.
    first_event: RefCell<Option<Vec<Value<'static>>>>,
    /// Whether its commit was lost on the way.
    in_doubt: Cell<bool>,
}

/// A statement waiting for the next round trip.
enum Queued {
    /// Without values, sent as it is by the simple-query protocol (`BEGIN`, `COMMIT`,
    /// a lock).
    Plain(String),
    /// A write with its values.
    Write(&'static str, Vec<Value<'static>>),
}

/// A statement as a pipeline sends it.
enum Request<'q> {
    Plain(&'q str),
    Prepared(Statement),
}

/// What one statement of a round trip's string is, to place the rows that come back.
enum Sent {
    /// The `PREPARE` of a text met for the first time, under its number.
    Prepare(&'static str, u32),
    /// The queued statement at this index.
    Queued(usize),
    /// The query at this index of the round trip's own queries.
    Query(usize),
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
    /// Adds `sql` with `values` to the round trip's string `text` as one statement
    /// (two, with its `PREPARE`, the first time this connection meets `sql`), noting in
    /// `sent` what each statement is.
    fn add(
        &self,
        text: &mut String,
        sent: &mut Vec<Sent>,
        (sql, values): (&'static str, &[Value<'_>]),
        what: Sent,
    ) -> StoreResult<()> {
        let mut statements = self.statements.borrow_mut();
        // Prepared on this connection before, or earlier in this string.
        let prepared_here = || {
            sent.iter().find_map(|s| match s {
                Sent::Prepare(text, number) if *text == sql => Some(*number),
                _ => None,
            })
        };
        let number = match statements.numbers.get(sql).copied().or_else(prepared_here) {
            Some(number) => number,
            None => {
                statements.handed_out += 1;
                let number = statements.handed_out;
                let _ = write!(text, "PREPARE carespace_{number} AS {sql};");
                sent.push(Sent::Prepare(sql, number));
                number
            }
        };
        let _ = write!(text, "EXECUTE carespace_{number}");
        for (i, value) in values.iter().enumerate() {
            text.push_str(if i == 0 { "(" } else { ", " });
            literal(text, value)?;
        }
        text.push_str(if values.is_empty() { ";" } else { ");" });
        sent.push(what);
        Ok(())
    }

    /// The queued statements, then `queries`: one round trip, as a pipeline or as one
    /// string ([`Bracket::strings`]). The server runs them in order, and the first
    /// failure's error is returned; `f` sees the rows of `queries` with each one's index.
    fn send(&self, queries: &[Write<'_>], f: &mut dyn FnMut(usize, &dyn Row) -> StoreResult<()>) -> StoreResult<()> {
        let queued = std::mem::take(&mut *self.queued.borrow_mut());
        if queued.is_empty() && queries.is_empty() {
            return Ok(());
        }
        if self.state.get() == State::Unsent {
            self.state.set(State::Open);
        }
        if self.bracket.strings { self.string(&queued, queries, f) } else { self.pipeline(&queued, queries, f) }
    }

    /// Sends the round trip as a pipeline. After the first failure inside a transaction
    /// the rest fail too (and a `COMMIT` rolls back).
    fn pipeline(
        &self,
        queued: &[Queued],
        queries: &[Write<'_>],
        f: &mut dyn FnMut(usize, &dyn Row) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let mut requests = Vec::with_capacity(queued.len() + queries.len());
        for q in queued {
            requests.push(match q {
                Queued::Plain(sql) => Request::Plain(sql),
                Queued::Write(sql, _) => Request::Prepared(self.prepared(sql)?),
            });
        }
        for q in queries {
            requests.push(Request::Prepared(self.prepared(q.sql)?));
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
        // Every statement of a pipeline runs, each closed by its own `Sync`.
        self.last_ran.set(true);
        let answers = self.io.wait(futures_util::future::try_join_all(sent)).pg()?;
        for (q, rows) in queued.iter().zip(&answers) {
            if let (Queued::Write(XID, _), Some(row)) = (q, rows.first()) {
                self.learn(&PgRow(row))?;
            }
        }
        for (i, rows) in answers.iter().enumerate().skip(queued.len()) {
            rows.iter().try_for_each(|row| f(i - queued.len(), &PgRow(row)))?;
        }
        Ok(())
    }

    /// `sql` prepared for pipelines on this connection once, and kept for its later calls
    /// (inside a transaction or outside: a statement belongs to the connection); parsing
    /// on every call would cost a round trip each.
    fn prepared(&self, sql: &'static str) -> StoreResult<Statement> {
        let mut statements = self.statements.borrow_mut();
        if let Some(statement) = statements.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.io.wait(self.client.prepare(sql)).pg()?;
        statements.prepared.insert(sql, statement.clone());
        Ok(statement)
    }

    /// Sends the round trip as one string. The server stops at the first failure
    /// (inside a transaction, which the failure aborts) and skips the rest.
    fn string(
        &self,
        queued: &[Queued],
        queries: &[Write<'_>],
        f: &mut dyn FnMut(usize, &dyn Row) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let mut text = String::new();
        let mut sent = Vec::with_capacity(queued.len() + queries.len());
        for (i, q) in queued.iter().enumerate() {
            match q {
                Queued::Plain(sql) => {
                    text.push_str(sql);
                    text.push(';');
                    sent.push(Sent::Queued(i));
                }
                Queued::Write(sql, values) => self.add(&mut text, &mut sent, (sql, values), Sent::Queued(i))?,
            }
        }
        for (i, q) in queries.iter().enumerate() {
            self.add(&mut text, &mut sent, (q.sql, &q.params), Sent::Query(i))?;
        }
        let (rows, failed) = self.io.wait(answers(self.client, &text));
        self.last_ran.set(failed.as_ref().is_none_or(|(at, _)| at + 1 == sent.len()));
        // The statements before a failure ran: the texts they prepared are ready.
        let ran = failed.as_ref().map_or(sent.len(), |(at, _)| *at);
        let mut statements = self.statements.borrow_mut();
        for s in sent.get(..ran).unwrap_or_default() {
            if let Sent::Prepare(sql, number) = s {
                statements.numbers.insert(sql, *number);
            }
        }
        drop(statements);
        if let Some((_, e)) = failed {
            return Err(e).pg();
        }
        for (at, row) in &rows {
            match sent.get(*at) {
                Some(Sent::Queued(i)) if matches!(queued.get(*i), Some(Queued::Write(XID, _))) => {
                    self.learn(&TextRow(row))?;
                }
                Some(Sent::Query(i)) => f(*i, &TextRow(row))?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Keeps what [`XID`] answered.
    fn learn(&self, row: &dyn Row) -> StoreResult<()> {
        let (xid, started, head) = (row.int(0)?, row.text(1)?, row.int(2)?);
        *self.learned.borrow_mut() = match (xid, started, head) {
            (Some(xid), Some(started), Some(head)) => Some(Learned { xid, started: started.into(), head }),
            _ => None,
        };
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
        self.last_ran.set(false);
        let sent = self.send(&[], &mut |_, _| Ok(()));
        match &sent {
            // The connection lost, or the server going away (a shutdown's FATAL may come
            // just after the `COMMIT` went through, before the socket closes): the
            // transaction may have committed, and the server ends the session.
            Err(e) if self.client.is_closed() || e.kind() == StorageErrorKind::Unavailable => {
                self.state.set(State::Ended);
                self.in_doubt.set(true);
            }
            // A write failed (a conflict, a constraint) and the server skipped the rest,
            // the `COMMIT` included, or a value was refused before anything was sent:
            // the transaction is still open.
            Err(_) if !self.last_ran.get() => {
                if let Err(e) = self.rollback() {
                    tracing::info!(target: crate::TARGET, error = %e, "a PostgreSQL rollback failed");
                }
            }
            // Committed, or the `COMMIT` itself failed and ended the transaction.
            _ => self.state.set(State::Ended),
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

/// The answer to the string `text`: the rows, each with the index of the statement that
/// returned it, and the failure that stopped the string with its statement's index.
/// Reading stops at the failure (a lost connection fails every read after it); the
/// connection reads past the rest of an answer nobody waits for.
async fn answers(
    client: &Client,
    text: &str,
) -> (Vec<(usize, SimpleQueryRow)>, Option<(usize, tokio_postgres::Error)>) {
    let mut stream = match client.simple_query_raw(text).await {
        Ok(stream) => pin!(stream),
        Err(e) => return (Vec::new(), Some((0, e))),
    };
    let (mut rows, mut at) = (Vec::new(), 0);
    while let Some(message) = stream.next().await {
        match message {
            Ok(SimpleQueryMessage::Row(row)) => rows.push((at, row)),
            Ok(SimpleQueryMessage::CommandComplete(_)) => at += 1,
            Ok(_) => {}
            Err(e) => return (rows, Some((at, e))),
        }
    }
    (rows, None)
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
            *first_event = writes
                .iter()
                .find(|w| w.sql == Self::APPEND_PLANNED_EVENT)
                .map(|w| w.params.iter().map(owned).collect());
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

#[cfg(test)]
mod tests {
    //! Values written as literals read back as they were, a write that fails half-way
    //! leaves its connection ready for the next command, and a commit in doubt is settled
    //! by its first event (R32: nothing acknowledged lost, nothing written twice), on
    //! `CARESPACE_PG_URL` as the crate's other tests.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

    use std::sync::Arc;

    use carespace::{Carespace, OrganisationKind};
    use uuid::Uuid;

    use super::*;
    use crate::{PostgresOptions, PostgresStore};

    /// A store on a schema of its own, named after `label`, with a table `t` for these
    /// tests (a text, a number that must be at least 0, a uuid; the number is the key).
    fn store(label: &str) -> (PostgresStore, String) {
        let url = std::env::var("CARESPACE_PG_URL").expect("set CARESPACE_PG_URL (make test-postgres does)");
        let schema = format!("{label}_{}", std::process::id());
        let options = PostgresOptions { schema: Some(schema.clone()), ..PostgresOptions::default() };
        let store = PostgresStore::connect_with(&url, options).unwrap();
        let conn = store.connection().unwrap();
        let create = "CREATE TABLE t (t text, n bigint PRIMARY KEY CHECK (n >= 0), u uuid)";
        conn.io.wait(conn.client.batch_execute(create)).unwrap();
        (store, schema)
    }

    fn drop_schema(store: &PostgresStore, schema: &str) {
        let conn = store.connection().unwrap();
        conn.io.wait(conn.client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))).unwrap();
    }

    const INSERT: &str = "INSERT INTO t (t, n, u) VALUES ($1, $2, $3)";
    const ALL: &str = "SELECT t, n, u FROM t ORDER BY n";

    /// Every row of `t`, read in a transaction of either kind.
    fn rows(store: &PostgresStore, strings: bool) -> Vec<(Option<String>, i64, Option<Uuid>)> {
        let mut conn = store.connection().unwrap();
        let crate::Connection { client, io, statements, .. } = &mut *conn;
        let bracket =
            Bracket { open: vec!["BEGIN".into()], commit: vec!["COMMIT".into()], strings, ..Bracket::default() };
        let tx = view(client, io, statements, bracket);
        let rows = tx.0.all(ALL, &[], |r| Ok((r.text(0)?.map(str::to_owned), r.int(1)?.unwrap(), r.id(2)?))).unwrap();
        tx.0.commit().unwrap();
        rows
    }

    #[test]
    fn text_written_as_a_literal_reads_back_as_it_was_whatever_it_holds() {
        let (store, schema) = store("literals");
        let texts = [
            "it's",
            "''",
            "back\\slash",
            "\\'",
            "\\",
            "'; DROP TABLE t; --",
            "E'x'",
            "$$dollar$$ $1",
            "Guy's and St Thomas' NHS Foundation Trust",
            "ünïcödé ✓ 🩺",
            "",
            "line\nbreak\ttab",
            "%s {} ?",
        ];
        let id = Uuid::now_v7();
        {
            let mut conn = store.connection().unwrap();
            let crate::Connection { client, io, statements, .. } = &mut *conn;
            let tx = view(client, io, statements, crate::write_bracket());
            let mut writes: Vec<Write<'_>> = texts
                .iter()
                .zip(0..)
                .map(|(text, n)| Write {
                    sql: INSERT,
                    params: vec![Value::Text(Some((*text).into())), Value::Int(Some(n)), Value::Id(Some(id))],
                })
                .collect();
            writes.push(Write { sql: INSERT, params: vec![Value::Text(None), Value::Int(Some(99)), Value::Id(None)] });
            tx.0.exec_all(&writes).unwrap();
            tx.0.commit().unwrap();
        }
        let mut expected: Vec<_> = texts.iter().zip(0..).map(|(t, n)| (Some((*t).to_owned()), n, Some(id))).collect();
        expected.push((None, 99, None));
        assert_eq!(rows(&store, false), expected, "read back in binary");
        assert_eq!(rows(&store, true), expected, "read back as text");
        drop_schema(&store, &schema);
    }

    #[test]
    fn text_holding_a_nul_is_refused_before_it_is_sent() {
        let mut sql = String::new();
        let refused = literal(&mut sql, &Value::Text(Some("a\0b".into()))).unwrap_err();
        assert_eq!(refused.kind(), StorageErrorKind::Other);
        assert!(refused.to_string().contains("NUL"), "{refused}");
    }

    #[test]
    fn a_value_refused_at_commit_rolls_back_and_releases_the_write_lock() {
        let (store, schema) = store("refused");
        let mut conn = store.connection().unwrap();
        let crate::Connection { client, io, statements, .. } = &mut *conn;
        let tx = view(client, io, statements, crate::write_bracket());
        // The context read sends `BEGIN` and the lock.
        assert_eq!(tx.0.all(ALL, &[], |r| r.int(1)).unwrap(), []);
        let nul =
            Write { sql: INSERT, params: vec![Value::Text(Some("a\0b".into())), Value::Int(Some(1)), Value::Id(None)] };
        tx.0.exec_all(&[nul]).unwrap();
        assert_eq!(tx.0.commit().unwrap_err().kind(), StorageErrorKind::Other);
        drop(tx);
        // Another connection takes the write lock at once: nobody holds it.
        let other = store.connection().unwrap();
        let take = "BEGIN; SET LOCAL lock_timeout = '2s'; LOCK TABLE event_counter IN EXCLUSIVE MODE; ROLLBACK";
        other.io.wait(other.client.batch_execute(take)).unwrap();
        drop((conn, other));
        drop_schema(&store, &schema);
    }

    #[test]
    fn a_write_failing_half_way_rolls_back_and_leaves_its_connection_ready() {
        let (store, schema) = store("half_way");
        let write = |n: i64| Write {
            sql: INSERT,
            params: vec![Value::Text(Some("x".into())), Value::Int(Some(n)), Value::Id(None)],
        };
        let mut conn = store.connection().unwrap();
        let crate::Connection { client, io, statements, .. } = &mut *conn;
        for failing in [vec![write(1), write(-1), write(2)], vec![write(1), write(1)]] {
            let tx = view(client, io, statements, crate::write_bracket());
            tx.0.exec_all(&failing).unwrap();
            let failed = tx.0.commit().unwrap_err();
            assert_eq!(failed.kind(), StorageErrorKind::Constraint, "{failed}");
            assert!(tx.0.in_doubt().is_none());
            drop(tx);
            // The same connection runs the next transaction, which sees nothing of the
            // failed one.
            let tx = view(client, io, statements, crate::write_bracket());
            tx.0.exec_all(&[write(3)]).unwrap();
            let seen = tx.0.all(ALL, &[], |r| r.int(1)).unwrap();
            assert_eq!(seen, [Some(3)]);
            tx.0.rollback().unwrap();
        }
        drop(conn);
        drop_schema(&store, &schema);
    }

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
        let mut conn = store.connection().unwrap();
        let crate::Connection { client, io, statements, .. } = &mut *conn;
        let mut written = |doubt: InDoubt| doubt.written(client, io, statements).unwrap();

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

        io.wait(client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))).unwrap();
    }
}
