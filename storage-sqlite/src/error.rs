//! Maps rusqlite's errors onto core's opaque [`StorageError`], in one place.

use carespace::{StorageError, StorageErrorKind};
use rusqlite::ErrorCode;

/// Wraps a rusqlite error, marking busy/locked databases as retryable conflicts and
/// constraint violations as such.
pub(crate) fn storage(err: rusqlite::Error) -> StorageError {
    let kind = match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StorageErrorKind::Conflict,
        Some(ErrorCode::ConstraintViolation) => StorageErrorKind::Constraint,
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StorageErrorKind::Corrupt,
        _ => StorageErrorKind::Other,
    };
    StorageError::new(kind, format!("SQLite: {err}")).with_source(err)
}

/// Converts rusqlite results.
pub(crate) trait SqlResultExt<T> {
    /// Wraps the error with [`storage`].
    fn sql(self) -> Result<T, StorageError>;
}

impl<T> SqlResultExt<T> for Result<T, rusqlite::Error> {
    fn sql(self) -> Result<T, StorageError> {
        self.map_err(storage)
    }
}
