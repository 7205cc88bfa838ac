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
    let fsync =
        matches!(&err, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_IOERR_FSYNC);
    let hint = match err.sqlite_error_code() {
        // The commit's frames are in the `-wal` but not yet part of the database: this
        // process and every other see the command as not done, and its next write
        // overwrites them; a crash before that lets SQLite's recovery find them.
        Some(ErrorCode::SystemIoFailure) if fsync => {
            "; the operating system reported an I/O error flushing the database file to disk (fsync failed): the command is not done, \
             though if this process stops before its next write SQLite may still recover it on reopening"
        }
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
