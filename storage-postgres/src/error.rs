//! The single mapping from PostgreSQL and pool errors to core's [`StorageError`]:
//! serialization failures and deadlocks are retryable conflicts, integrity violations
//! are constraint errors, a connection that cannot be made or is lost (a pool with none
//! free, too many clients, a server shutting down or restarting) is "unavailable",
//! everything else is "other". A connection lost while a command's `COMMIT` was on its
//! way is not decided here: the store asks the server what became of the transaction.

use carespace::{StorageError, StorageErrorKind};
use tokio_postgres::error::SqlState;

/// `.pg()` on a postgres result: its error as a [`StorageError`].
pub(crate) trait PgResultExt<T> {
    fn pg(self) -> Result<T, StorageError>;
}

impl<T> PgResultExt<T> for Result<T, tokio_postgres::Error> {
    fn pg(self) -> Result<T, StorageError> {
        self.map_err(storage)
    }
}

/// A postgres error as a [`StorageError`] of the right kind.
pub(crate) fn storage(err: tokio_postgres::Error) -> StorageError {
    let kind = match err.code() {
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED => {
            StorageErrorKind::Conflict
        }
        Some(code) if code.code().starts_with("23") => StorageErrorKind::Constraint,
        Some(code) if lost_or_refused(code) => StorageErrorKind::Unavailable,
        None if err.is_closed() || io_failed(&err) => StorageErrorKind::Unavailable,
        _ => StorageErrorKind::Other,
    };
    let message = match err.as_db_error() {
        Some(db) => format!("PostgreSQL: {} ({})", db.message(), db.code().code()),
        None => format!("PostgreSQL: {err}"),
    };
    StorageError::new(kind, message).with_source(err)
}

/// A server going away or turning clients away: a connection failure (class 08), an
/// administrator's or a crash's shutdown, a server still starting (57P01–57P03), too
/// many clients (53300).
fn lost_or_refused(code: &SqlState) -> bool {
    code.code().starts_with("08")
        || [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
        ]
        .contains(code)
}

/// Whether the connection's socket failed.
fn io_failed(err: &tokio_postgres::Error) -> bool {
    std::error::Error::source(err).is_some_and(|source| source.is::<std::io::Error>())
}

/// A pool error: no connection free within the timeout, or none could be made (the
/// message carries the last connection error).
pub(crate) fn pool(err: r2d2::Error) -> StorageError {
    StorageError::new(StorageErrorKind::Unavailable, format!("no PostgreSQL connection: {err}")).with_source(err)
}

/// The SQLSTATE of a failure, for traces (a code, never a message: messages can quote
/// the values in a row).
pub(crate) fn sqlstate(err: &StorageError) -> Option<&str> {
    let source = std::error::Error::source(err)?;
    Some(source.downcast_ref::<tokio_postgres::Error>()?.code()?.code())
}
