//! The single mapping from PostgreSQL and pool errors to core's [`StorageError`]:
//! serialization failures and deadlocks are retryable conflicts, integrity violations
//! are constraint errors, everything else is "other".

use carespace::{StorageError, StorageErrorKind};
use postgres::error::SqlState;

/// `.pg()` on a postgres result: its error as a [`StorageError`].
pub(crate) trait PgResultExt<T> {
    fn pg(self) -> Result<T, StorageError>;
}

impl<T> PgResultExt<T> for Result<T, postgres::Error> {
    fn pg(self) -> Result<T, StorageError> {
        self.map_err(storage)
    }
}

/// A postgres error as a [`StorageError`] of the right kind.
pub(crate) fn storage(err: postgres::Error) -> StorageError {
    let kind = match err.code() {
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED => {
            StorageErrorKind::Conflict
        }
        Some(code) if code.code().starts_with("23") => StorageErrorKind::Constraint,
        _ => StorageErrorKind::Other,
    };
    let message = match err.as_db_error() {
        Some(db) => format!("PostgreSQL: {} ({})", db.message(), db.code().code()),
        None => format!("PostgreSQL: {err}"),
    };
    StorageError::new(kind, message).with_source(err)
}

/// A pool error (no connection within the timeout, or one that could not be made).
pub(crate) fn pool(err: r2d2::Error) -> StorageError {
    StorageError::new(StorageErrorKind::Other, format!("no PostgreSQL connection: {err}")).with_source(err)
}

/// Data read back that Carespace does not write.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StorageError {
    StorageError::new(StorageErrorKind::Corrupt, format!("unreadable {what} in the database: {detail}"))
}
