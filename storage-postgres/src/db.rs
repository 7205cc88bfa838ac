//! PostgreSQL's part of the row layer ([`carespace_sql`]): its rows and values (uuid
//! ids, bigint nanoseconds, int speciality codes, jsonb payloads read as text), its
//! connection with prepared statements, pipelined batches, and the statements it writes
//! its own way (the event counter, jsonb paths).

use std::cell::RefCell;
use std::collections::HashMap;

use carespace::store::{Access, ReadTx, StoreResult};
use carespace::{UserId, WorkspaceId};
use carespace_sql::{Conn, Dialect, Row, SqlTx, Statement as Write, Value, corrupt};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use crate::error::PgResultExt;
use crate::wait;

/// A transaction's view of the database: the connection the store began the
/// transaction on (statements sent on it run inside the transaction).
pub(crate) type PgTx<'c> = SqlTx<PgConn<'c>>;

/// The view of `client`, inside the transaction the caller began on it, with the
/// connection's prepared statements.
pub(crate) fn view<'c>(client: &'c Client, statements: &'c mut HashMap<String, Statement>) -> PgTx<'c> {
    SqlTx(PgConn { client, statements: RefCell::new(statements) })
}

/// One connection with its prepared statements: a statement is parsed once per
/// connection, not on every call (which cost a round trip each).
pub(crate) struct PgConn<'c> {
    client: &'c Client,
    statements: RefCell<&'c mut HashMap<String, Statement>>,
}

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

impl PgConn<'_> {
    fn statement(&self, sql: &str) -> StoreResult<Statement> {
        cached(self.client, &mut self.statements.borrow_mut(), sql).pg()
    }
}

/// The values of one statement as the driver takes them.
fn bound<'v>(binds: &'v [Bind<'v, '_>]) -> Vec<&'v (dyn ToSql + Sync)> {
    binds.iter().map(|b| b as &(dyn ToSql + Sync)).collect()
}

fn binds<'v, 'a>(params: &'v [Value<'a>]) -> Vec<Bind<'v, 'a>> {
    params.iter().map(Bind).collect()
}

impl Conn for PgConn<'_> {
    fn each(
        &self,
        sql: &'static str,
        params: &[Value<'_>],
        f: &mut dyn FnMut(&dyn Row) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let statement = self.statement(sql)?;
        let binds = binds(params);
        let rows = wait(self.client.query(&statement, &bound(&binds))).pg()?;
        rows.iter().try_for_each(|row| f(&PgRow(row)))
    }

    fn exec(&self, sql: &'static str, params: &[Value<'_>]) -> StoreResult<()> {
        self.exec_all(&[Write { sql, params: params.to_vec() }])
    }

    /// A plan's statements as one [`PgConn::batch`] (their rows, an event's number,
    /// ignored).
    fn exec_all(&self, writes: &[Write<'_>]) -> StoreResult<()> {
        self.batch(writes, &mut |_, _| Ok(()))
    }

    /// Every statement sent before any answer is awaited: one round trip for a whole
    /// context or plan (once its statements are prepared on this connection). The server
    /// runs them in order; after the first failure the rest fail too, and the first error
    /// is the one returned.
    fn batch(&self, queries: &[Write<'_>], f: &mut dyn FnMut(usize, &dyn Row) -> StoreResult<()>) -> StoreResult<()> {
        let statements = queries.iter().map(|q| self.statement(q.sql)).collect::<StoreResult<Vec<_>>>()?;
        let binds: Vec<Vec<Bind<'_, '_>>> = queries.iter().map(|q| binds(&q.params)).collect();
        let params: Vec<Vec<&(dyn ToSql + Sync)>> = binds.iter().map(|b| bound(b)).collect();
        let sent = statements.iter().zip(&params).map(|(statement, params)| self.client.query(statement, params));
        let answers = wait(futures_util::future::try_join_all(sent)).pg()?;
        for (i, rows) in answers.iter().enumerate() {
            rows.iter().try_for_each(|row| f(i, &PgRow(row)))?;
        }
        Ok(())
    }
}

/// [`ReadTx::access`] as one statement outside any transaction: in autocommit a single
/// statement sees one snapshot by itself, and the check saves a `BEGIN` and a `COMMIT`
/// round trip.
pub(crate) fn access_alone(
    client: &Client,
    statements: &mut HashMap<String, Statement>,
    workspace: WorkspaceId,
    user: UserId,
) -> StoreResult<Option<Access>> {
    view(client, statements).access(workspace, user)
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
