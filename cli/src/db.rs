//! The store a `--db` URL names: a SQLite file (`sqlite:PATH`) or a PostgreSQL database
//! (`postgresql://…`), opened as the library opens it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use carespace::{Carespace, Store};
use carespace_postgres::{PostgresOptions, PostgresStore};
use carespace_sqlite::SqliteStore;

use crate::failure::Failure;

/// An open store.
pub(crate) enum Db {
    /// A SQLite file.
    Sqlite(Arc<SqliteStore>),
    /// A PostgreSQL database.
    Postgres(Arc<PostgresStore>),
}

/// What a `--db` URL names.
enum Target<'a> {
    Sqlite(PathBuf),
    Postgres(&'a str),
}

fn target(url: &str) -> Result<Target<'_>, Failure> {
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        if path.is_empty() {
            return Err(Failure::Usage(
                "--db sqlite: needs a path: sqlite:/var/lib/carespace/workspaces.sqlite3".into(),
            ));
        }
        return Ok(Target::Sqlite(PathBuf::from(path)));
    }
    // A URL, or libpq's `key=value` form (`host=/run/postgresql dbname=carespace`).
    let keywords = url.split_whitespace().all(|pair| pair.split_once('=').is_some_and(|(key, _)| !key.is_empty()));
    if url.starts_with("postgresql://") || url.starts_with("postgres://") || (keywords && url.contains('=')) {
        return Ok(Target::Postgres(url));
    }
    Err(Failure::Usage(format!("--db {:?} is neither sqlite:PATH nor postgresql://…", redact(url))))
}

/// A `--db` value fit to print: any password in it replaced.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = url.get(scheme + 3..at).unwrap_or_default();
            match credentials.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    url.get(..scheme + 3).unwrap_or_default(),
                    url.get(at..).unwrap_or_default()
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Db {
    /// Opens an existing store; a SQLite file that does not exist is an error (`init`
    /// creates one).
    pub(crate) fn open(url: &str) -> Result<Self, Failure> {
        match target(url)? {
            Target::Sqlite(path) if !path.exists() => Err(Failure::File(format!(
                "no database at {}: run `carespace init --db sqlite:{}` to create one",
                path.display(),
                path.display()
            ))),
            target => Self::connect(target),
        }
    }

    /// Opens the store, creating a SQLite file if there is none; both backends bring
    /// the schema up to date.
    pub(crate) fn create(url: &str) -> Result<Self, Failure> {
        Self::connect(target(url)?)
    }

    fn connect(target: Target<'_>) -> Result<Self, Failure> {
        Ok(match target {
            Target::Sqlite(path) => Self::Sqlite(Arc::new(SqliteStore::open(path)?)),
            Target::Postgres(url) => {
                let options = PostgresOptions {
                    schema: std::env::var("CARESPACE_PG_SCHEMA").ok().filter(|s| !s.is_empty()),
                    ..PostgresOptions::default()
                };
                Self::Postgres(Arc::new(PostgresStore::connect_with(url, options)?))
            }
        })
    }

    /// The store, for the library's service and checks.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// The service over the store, with the default policy and the system clock.
    pub(crate) fn service(&self) -> Carespace {
        Carespace::from_arc(self.store())
    }

    /// The SQLite file, if it is one.
    pub(crate) fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Self::Sqlite(store) => store.path(),
            Self::Postgres(_) => None,
        }
    }

    /// What the store is, for messages (never the URL, which may hold a password).
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Sqlite(store) => {
                format!("SQLite file {}", store.path().map_or_else(|| "(memory)".into(), |p| p.display().to_string()))
            }
            Self::Postgres(_) => "PostgreSQL database".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_backend_and_passwords_are_not_printed() {
        assert!(
            matches!(target("sqlite:/var/lib/x.sqlite3"), Ok(Target::Sqlite(p)) if p == Path::new("/var/lib/x.sqlite3"))
        );
        assert!(matches!(target("sqlite://x.sqlite3"), Ok(Target::Sqlite(p)) if p == Path::new("x.sqlite3")));
        assert!(matches!(target("postgresql://u:p@db/carespace"), Ok(Target::Postgres(_))));
        assert!(matches!(target("host=/run/postgresql dbname=carespace"), Ok(Target::Postgres(_))));
        for bad in ["sqlite:", "mysql://u:secret@db/x", "x.sqlite3", "=x"] {
            assert!(matches!(target(bad), Err(Failure::Usage(_))), "{bad}");
        }
        let Err(Failure::Usage(message)) = target("mysql://u:secret@db/x") else { panic!() };
        assert!(!message.contains("secret"), "{message}");
    }
}
