//! A tokio service's use of Carespace: many concurrent requests — join requests,
//! approvals, permission checks, discovery — served through
//! `carespace::tokio::AsyncCarespace`, on a SQLite file, and on PostgreSQL too when built
//! with `--features postgres` and `CARESPACE_PG_URL` is set. `make test` runs both.
//!
//! ```sh
//! cargo run --example tokio_service -- [PATH.sqlite3]
//! ```

use std::time::Instant;

use carespace::page::PageRequest;
use carespace::tokio::AsyncCarespace;
use carespace::{Action, Carespace, DiscoveryFilter, Error, NewWorkspace, OrganisationKind, Speciality};
use carespace_sqlite::SqliteStore;

/// How many staff ask to join at once.
const STAFF: usize = 200;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "carespace-tokio-service.sqlite3".into());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    serve("SQLite", AsyncCarespace::new(Carespace::new(SqliteStore::open(&path)?))).await?;
    #[cfg(feature = "postgres")]
    if let Ok(url) = std::env::var("CARESPACE_PG_URL") {
        let options = carespace_postgres::PostgresOptions {
            schema: Some(format!("tokio_example_{}", std::process::id())),
            ..Default::default()
        };
        // Connecting blocks (round trips, and the migration), so it too runs off the workers.
        let store = tokio::task::spawn_blocking(move || carespace_postgres::PostgresStore::connect_with(&url, options))
            .await
            .map_err(|e| {
                Error::Storage(carespace::StorageError::new(carespace::StorageErrorKind::Other, e.to_string()))
            })??;
        // Dropped here, on a worker: the store stops its I/O thread without waiting.
        serve("PostgreSQL", AsyncCarespace::new(Carespace::new(store))).await?;
    }
    Ok(())
}

/// One trust, one ward, and `STAFF` people who each ask to join, are approved by the
/// ward's admin, check what they may do and look at discovery — all at once.
async fn serve(backend: &str, service: AsyncCarespace) -> Result<(), Error> {
    let started = Instant::now();
    let trust =
        service.register_organisation("Barts Health NHS Trust".parse()?, OrganisationKind::NhsTrust, None).await?;
    let admin = service.register_user("ward.manager@nhs.net".parse()?, "Ward Manager".parse()?).await?;
    service.join_organisation(admin.id, trust.id).await?;
    let new = NewWorkspace {
        name: "Maternity - Ward 2".parse()?,
        speciality: Speciality::from_code(501)?,
        description: Default::default(),
    };
    let ward = service.create_workspace(admin.id, trust.id, new).await?.workspace;

    let mut requests = tokio::task::JoinSet::new();
    for i in 0..STAFF {
        let service = service.clone();
        requests.spawn(async move {
            let person =
                service.register_user(format!("staff.{i}@nhs.net").parse()?, format!("Staff {i}").parse()?).await?;
            service.join_organisation(person.id, trust.id).await?;
            service.request_to_join(person.id, ward.id).await?;
            service.approve(admin.id, ward.id, person.id).await?;
            let sees_everything = service.can(person.id, ward.id, Action::ViewAllConversations).await?;
            let listed = service
                .discover(person.id, trust.id, DiscoveryFilter::default(), PageRequest::default())
                .await?
                .items
                .len();
            Ok::<_, Error>(sees_everything && listed > 0)
        });
    }
    let mut served = 0;
    while let Some(outcome) = requests.join_next().await {
        let ok = outcome.map_err(|e| {
            Error::Storage(carespace::StorageError::new(carespace::StorageErrorKind::Other, e.to_string()))
        })??;
        served += usize::from(ok);
    }
    // The members come in pages (R43): follow the cursors.
    let (mut members, mut page) = (0, PageRequest::default());
    loop {
        let found = service.members(admin.id, ward.id, page).await?;
        members += found.items.len();
        match found.next {
            Some(next) => page = PageRequest::after(next, None),
            None => break,
        }
    }
    println!(
        "{backend}: {served} of {STAFF} staff joined and approved concurrently in {:.0?}; the ward has {members} members",
        started.elapsed()
    );
    if served != STAFF || members != STAFF + 1 {
        return Err(Error::Storage(carespace::StorageError::new(
            carespace::StorageErrorKind::Other,
            format!("expected {STAFF} served and {} members", STAFF + 1),
        )));
    }
    Ok(())
}
