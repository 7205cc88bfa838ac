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
    let hint = match err.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => {
            "; the disk (or the file size limit) is full: free space, then retry — the command wrote nothing"
        }
        Some(ErrorCode::ReadOnly) => "; the file, its directory or its file system is read-only",
        Some(ErrorCode::CannotOpen) => {
            "; check that the file and its directory exist and are writable (a live database cannot be read-only)"
        }
        Some(ErrorCode::SystemIoFailure) => "; the operating system reported an I/O error on the database file",
        Some(ErrorCode::NotADatabase) => "; the file is not a SQLite database, or it is damaged",
        Some(ErrorCode::DatabaseCorrupt) => "; restore it from a backup (`carespace check` says what is wrong)",
        _ => "",
    };
    StorageError::new(kind, format!("SQLite: {err}{hint}")).with_source(err)
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
