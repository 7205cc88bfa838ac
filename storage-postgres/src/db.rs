//! PostgreSQL's part of the row layer ([`carespace_sql`]): its rows and values (uuid
//! ids, bigint nanoseconds, int speciality codes, jsonb payloads read as text, values
//! written as literals into a string) and the statements it writes its own way (the
//! event counter, jsonb paths). The connection they travel on is [`crate::conn`]'s.

use std::fmt::Write as _;

use carespace::store::StoreResult;
use carespace::{StorageError, StorageErrorKind};
use carespace_sql::{Dialect, Row, Value, corrupt};
use tokio_postgres::SimpleQueryRow;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use uuid::Uuid;

use crate::conn::PgConn;

/// `value` written into `sql` as a literal the server reads back as it was: NULL, a uuid
/// or a number in quotes (the parameter's type gives it its meaning), or text as an
/// escape string with every `\` and `'` doubled. PostgreSQL cannot hold a NUL character
/// in text, and a query string cannot carry one: such text is refused here.
pub(crate) fn literal(sql: &mut String, value: &Value<'_>) -> StoreResult<()> {
    match value {
        Value::Id(None) | Value::Int(None) | Value::Text(None) => sql.push_str("NULL"),
        Value::Id(Some(id)) => {
            let _ = write!(sql, "'{id}'");
        }
        Value::Int(Some(n)) => {
            let _ = write!(sql, "'{n}'");
        }
        Value::Text(Some(text)) => {
            if text.contains('\0') {
                return Err(StorageError::new(
                    StorageErrorKind::Other,
                    "PostgreSQL cannot store text holding a NUL character",
                ));
            }
            sql.push_str("E'");
            for c in text.chars() {
                if c == '\\' || c == '\'' {
                    sql.push(c);
                }
                sql.push(c);
            }
            sql.push('\'');
        }
    }
    Ok(())
}

/// The values of one statement as the driver takes them.
pub(crate) fn bound<'v>(binds: &'v [Bind<'v, '_>]) -> Vec<&'v (dyn ToSql + Sync)> {
    binds.iter().map(|b| b as &(dyn ToSql + Sync)).collect()
}

pub(crate) fn binds<'v, 'a>(params: &'v [Value<'a>]) -> Vec<Bind<'v, 'a>> {
    params.iter().map(Bind).collect()
}

/// A [`Value`] as a pipeline binds it: an integer narrowed to `int` where the column is
/// one (speciality codes).
#[derive(Debug)]
pub(crate) struct Bind<'v, 'a>(&'v Value<'a>);

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

/// A row of a pipeline's answer, in binary.
pub(crate) struct PgRow<'r>(pub(crate) &'r tokio_postgres::Row);

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

/// A row of a simple-query answer: every value in PostgreSQL's text form.
pub(crate) struct TextRow<'r>(pub(crate) &'r SimpleQueryRow);

impl TextRow<'_> {
    fn value(&self, i: usize) -> StoreResult<Option<&str>> {
        self.0.try_get(i).map_err(|e| corrupt("column", e))
    }
}

impl Row for TextRow<'_> {
    fn id(&self, i: usize) -> StoreResult<Option<Uuid>> {
        self.value(i)?.map(|v| Uuid::parse_str(v).map_err(|e| corrupt("id", e))).transpose()
    }

    fn int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.value(i)?.map(|v| v.parse().map_err(|e| corrupt("number", e))).transpose()
    }

    fn text(&self, i: usize) -> StoreResult<Option<&str>> {
        self.value(i)
    }

    fn flag(&self, i: usize) -> StoreResult<bool> {
        match self.value(i)? {
            Some("t") => Ok(true),
            Some("f") => Ok(false),
            Some(_) => Err(corrupt("flag", "neither true nor false")),
            None => Err(corrupt("flag", "NULL")),
        }
    }
}

/// The event's insert: the counter's row lock orders appenders, and a rollback undoes
/// the increment; one statement takes the number and writes the event.
macro_rules! append_event {
    () => {
        "WITH next AS (UPDATE event_counter SET last = last + 1 RETURNING last) \
         INSERT INTO events (seq, at, actor, type, payload) \
         SELECT last, $1, $2, $3, $4::text::jsonb FROM next"
    };
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
    /// A write goes with its `COMMIT` (no answer is seen before), so the update checks
    /// itself (migration 8).
    const UPDATE_MEMBERSHIP: &'static str =
        "SELECT carespace_update_membership($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    const APPEND_EVENT: &'static str = concat!(append_event!(), " RETURNING seq");
    const APPEND_PLANNED_EVENT: &'static str = append_event!();
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
