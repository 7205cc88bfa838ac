//! Fixtures for the benchmarks: a populated Carespace world on each backend, and the
//! hand-written baselines that do the same work with the bare database client on the
//! same data and settings (the ceiling Carespace is measured against, in the same run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // benchmark set-up: a panic is a broken fixture

mod baseline;
pub mod peers;
pub mod scale;

pub use baseline::{HandWritten, PostgresBaseline, SqliteBaseline};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use carespace::{
    Carespace, Description, DiscoveryFilter, MemoryStore, NewWorkspace, Organisation, OrganisationKind, Speciality,
    Store, User, UserId, Workspace, WorkspaceId,
};
use carespace_postgres::{PostgresOptions, PostgresStore};
use carespace_sqlite::{Durability, SqliteOptions, SqliteStore};

/// Which store a fixture runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `MemoryStore`.
    Memory,
    /// `SqliteStore` on a file with `synchronous=NORMAL`.
    SqliteNormal,
    /// `SqliteStore` on a file with `synchronous=FULL`.
    SqliteFull,
    /// `PostgresStore` in a schema of its own in the database `CARESPACE_PG_URL` names.
    Postgres,
}

/// The variable naming the PostgreSQL database the `Postgres` backend uses
/// (`make bench` sets it to a throwaway cluster).
pub const POSTGRES_URL: &str = "CARESPACE_PG_URL";

impl Backend {
    /// All four.
    pub const ALL: [Backend; 4] = [Backend::Memory, Backend::SqliteNormal, Backend::SqliteFull, Backend::Postgres];

    /// The backends this run can measure: all four when `CARESPACE_PG_URL` is set, else
    /// the three that need no server.
    pub fn available() -> Vec<Backend> {
        let postgres = std::env::var_os(POSTGRES_URL).is_some();
        Self::ALL.into_iter().filter(|b| *b != Backend::Postgres || postgres).collect()
    }

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::SqliteNormal => "sqlite-normal",
            Backend::SqliteFull => "sqlite-full",
            Backend::Postgres => "postgres",
        }
    }

    /// A new, empty store: a file named after `label` in `dir` for SQLite (any old one
    /// removed), a new schema for PostgreSQL. The [`Place`] says where, for a baseline
    /// to open the same data; keep it as long as the store (it removes a PostgreSQL
    /// schema when dropped).
    pub fn open(self, dir: &Path, label: &str) -> (Arc<dyn Store>, Place) {
        match self {
            Backend::Memory => (Arc::new(MemoryStore::new()), Place::Memory),
            Backend::SqliteNormal | Backend::SqliteFull => {
                let durability = if self == Backend::SqliteFull { Durability::Full } else { Durability::Normal };
                let path = dir.join(format!("{label}-{}.sqlite3", self.name()));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                // Create the file fast, then reopen with the settings under test.
                let fast = SqliteOptions { durability: Durability::Normal, ..SqliteOptions::default() };
                drop(SqliteStore::open_with(&path, fast).unwrap());
                let options = SqliteOptions { durability, ..SqliteOptions::default() };
                (Arc::new(SqliteStore::open_with(&path, options).unwrap()), Place::Sqlite { path, durability })
            }
            Backend::Postgres => {
                static SCHEMAS: AtomicU32 = AtomicU32::new(0);
                let url = std::env::var(POSTGRES_URL)
                    .unwrap_or_else(|_| panic!("set {POSTGRES_URL} to measure or test on PostgreSQL"));
                let n = SCHEMAS.fetch_add(1, Ordering::Relaxed);
                let schema = format!("bench_{}_{}_{n}", label.replace('-', "_"), std::process::id());
                let options = PostgresOptions { schema: Some(schema.clone()), ..PostgresOptions::default() };
                (Arc::new(PostgresStore::connect_with(&url, options).unwrap()), Place::Postgres { url, schema })
            }
        }
    }
}

/// Where a store's data lives, for a baseline to open the same data.
#[derive(Debug)]
pub enum Place {
    /// In the store's memory: no baseline can share it.
    Memory,
    /// A SQLite file, opened with `durability`.
    Sqlite {
        /// The file.
        path: PathBuf,
        /// Its `synchronous` setting.
        durability: Durability,
    },
    /// A schema in a PostgreSQL database, dropped with the `Place`.
    Postgres {
        /// The database.
        url: String,
        /// The schema.
        schema: String,
    },
}

impl Place {
    /// The hand-written baseline on the same data and settings (`None` in memory).
    pub fn baseline(&self) -> Option<Box<dyn HandWritten>> {
        match self {
            Place::Memory => None,
            Place::Sqlite { path, durability } => Some(Box::new(SqliteBaseline::open(path, *durability))),
            Place::Postgres { url, schema } => Some(Box::new(PostgresBaseline::open(url, schema))),
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Place::Postgres { url, schema } = self {
            // Leave the database as it was found: it may not be a throwaway one.
            if let Ok(mut client) = url.parse::<postgres::Config>().and_then(|c| c.connect(postgres::NoTls)) {
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// How many workspaces the discovery organisation holds.
pub const DISCOVERY_WORKSPACES: usize = 1_000;
/// How many workspaces the switcher user belongs to.
pub const SWITCHER_WORKSPACES: usize = 5;

/// A populated world: a trust with an admin, an approved member and an unapproved member
/// of `ward`; a switcher user in 5 workspaces; a second trust with 1,000 workspaces.
pub struct Fixture {
    /// The backend.
    pub backend: Backend,
    /// The service.
    pub service: Carespace,
    /// Its store, for checks beside the service.
    pub store: Arc<dyn Store>,
    /// The main trust.
    pub trust: Organisation,
    /// The ward's admin.
    pub admin: User,
    /// An approved member of the ward.
    pub member: User,
    /// An unapproved member of the ward.
    pub unapproved: User,
    /// The ward.
    pub ward: Workspace,
    /// A user in `SWITCHER_WORKSPACES` workspaces.
    pub switcher: User,
    /// The trust with `DISCOVERY_WORKSPACES` workspaces.
    pub big_trust: Organisation,
    /// Their creator, a member of `big_trust`.
    pub big_admin: User,
    /// Counter for unique names.
    next: std::cell::Cell<u64>,
    /// Where the data lives (last: a PostgreSQL schema is dropped after the service's
    /// connections closed).
    pub place: Place,
}

fn new_ws(name: &str) -> NewWorkspace {
    NewWorkspace {
        name: name.parse().unwrap(),
        speciality: Speciality::from_code(501).unwrap(),
        description: Description::default(),
    }
}

impl Fixture {
    /// Builds the world on `backend`, in `dir` for SQLite, in a new schema of the
    /// `CARESPACE_PG_URL` database for PostgreSQL.
    pub fn new(backend: Backend, dir: &Path) -> Self {
        let (store, place) = backend.open(dir, "fixture");
        let service = Carespace::from_arc(Arc::clone(&store));
        let trust =
            service.register_organisation("Bench Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
        let person = |name: &str, org: &Organisation| {
            let u = service.register_user(format!("{name}@nhs.net").parse().unwrap(), name.parse().unwrap()).unwrap();
            service.join_organisation(u.id, org.id).unwrap();
            u
        };
        let admin = person("admin", &trust);
        let member = person("member", &trust);
        let unapproved = person("unapproved", &trust);
        let switcher = person("switcher", &trust);
        let ward = service.create_workspace(admin.id, trust.id, new_ws("Ward")).unwrap().workspace;
        service.request_to_join(member.id, ward.id).unwrap();
        service.approve(admin.id, ward.id, member.id).unwrap();
        service.request_to_join(unapproved.id, ward.id).unwrap();
        for i in 0..SWITCHER_WORKSPACES {
            service.create_workspace(switcher.id, trust.id, new_ws(&format!("Switcher {i}"))).unwrap();
        }
        for i in 0..20 {
            service.start_conversation(member.id, ward.id).unwrap();
            let _ = i;
        }
        let big_trust =
            service.register_organisation("Big Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
        let big_admin = person("bigadmin", &big_trust);
        let helper = person("helper", &big_trust);
        for i in 0..DISCOVERY_WORKSPACES {
            let ws = service
                .create_workspace(big_admin.id, big_trust.id, new_ws(&format!("Team {i:04}")))
                .unwrap()
                .workspace;
            if i % 3 == 0 {
                service.request_to_join(helper.id, ws.id).unwrap();
            }
        }
        Fixture {
            backend,
            service,
            store,
            trust,
            admin,
            member,
            unapproved,
            ward,
            switcher,
            big_trust,
            big_admin,
            next: std::cell::Cell::new(0),
            place,
        }
    }

    /// A fresh number, for unique names and emails.
    pub fn next(&self) -> u64 {
        let n = self.next.get() + 1;
        self.next.set(n);
        n
    }

    /// A new member of the trust (for request-to-join measurements).
    pub fn newcomer(&self) -> UserId {
        let n = self.next();
        let u = self
            .service
            .register_user(format!("newcomer{n}@nhs.net").parse().unwrap(), "Newcomer".parse().unwrap())
            .unwrap();
        self.service.join_organisation(u.id, self.trust.id).unwrap();
        u.id
    }

    /// A newcomer who has asked to join the ward (for approval measurements).
    pub fn requester(&self) -> UserId {
        let u = self.newcomer();
        self.service.request_to_join(u, self.ward.id).unwrap();
        u
    }

    /// The discovery the benchmarks measure: the whole list, every page (R43).
    pub fn discover_all(&self) -> usize {
        let discover =
            |page: &_| self.service.discover(self.big_admin.id, self.big_trust.id, &DiscoveryFilter::default(), page);
        carespace::page::every_page(discover).unwrap().len()
    }

    /// Creates a uniquely named workspace in the trust.
    pub fn create_workspace(&self) -> WorkspaceId {
        let n = self.next();
        self.service.create_workspace(self.admin.id, self.trust.id, new_ws(&format!("Bench {n}"))).unwrap().workspace.id
    }
}

/// A duration in nanoseconds, for the report tables: ns, µs or ms with two decimals.
pub fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}
