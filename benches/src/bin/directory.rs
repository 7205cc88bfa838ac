//! The organisation directory measured (R40, issue 18): `cargo run --release -p
//! carespace-benches --bin directory` (`make bench-directory`).
//!
//! - **Import** of both real ODS files (241 trusts, 14,357 practices) into an empty
//!   SQLite file (`synchronous=FULL`) through `import_organisations`, against a
//!   hand-written bulk load of the same rows: the same parser, then one transaction of
//!   prepared INSERTs — each organisation, its search prefixes (with their order) and
//!   its event. Paired:
//!   ours and the baseline alternate on fresh files, and the ratio is the median of the
//!   per-round ratios.
//! - **Re-import** of the same files, unchanged, against the read it cannot avoid:
//!   parsing the files and loading every organisation.
//! - **Search**: p50 and p99 over queries drawn from the real names (a word prefix, two
//!   word prefixes), postcodes (outward code) and ODS codes, on SQLite and, with
//!   `CARESPACE_PG_URL` set, PostgreSQL; and in a `MemoryStore`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a measuring tool

use std::path::{Path, PathBuf};
use std::time::Instant;

use carespace::directory::{
    ImportOptions, OdsFile, OdsRecord, OrganisationSearch, indexed_prefixes, read_ods, search_words,
};
use carespace::page::PageRequest;
use carespace::{Carespace, EventKind, OrganisationId, Store};
use carespace_benches::{POSTGRES_URL, human};
use carespace_sqlite::{Durability, SqliteOptions, SqliteStore};

const ROUNDS: usize = 5;
const QUERIES: usize = 2_000;

fn ods(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/ods").join(name)
}

fn files() -> [(OdsFile, Vec<u8>); 2] {
    [
        (OdsFile::Trusts, std::fs::read(ods("etr.csv")).unwrap()),
        (OdsFile::Practices, std::fs::read(ods("epraccur.csv")).unwrap()),
    ]
}

fn sqlite(path: &Path) -> SqliteStore {
    let options = SqliteOptions { durability: Durability::Full, ..SqliteOptions::default() };
    SqliteStore::open_with(path, options).unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn seconds<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let started = Instant::now();
    let out = f();
    (started.elapsed().as_secs_f64(), out)
}

/// Ours: both files through the service (each file one transaction).
fn import(service: &Carespace, files: &[(OdsFile, Vec<u8>)]) {
    for (file, bytes) in files {
        let report = service.import_organisations(*file, bytes.as_slice(), ImportOptions::default()).unwrap();
        assert!(report.rejected.is_empty());
    }
}

/// The baseline: the same parse, then one transaction per file of prepared INSERTs
/// into the same (migrated, empty) schema.
fn bulk_load(path: &Path, files: &[(OdsFile, Vec<u8>)]) {
    drop(sqlite(path)); // create and migrate the file as ours does
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let nanos = i64::try_from(now.unix_timestamp_nanos()).unwrap();
    let mut seq: i64 = 0;
    for (file, bytes) in files {
        let rows = read_ods(*file, bytes.as_slice()).unwrap();
        let tx = conn.transaction().unwrap();
        {
            let mut org = tx
                .prepare(
                    "INSERT INTO organisations (id, name, kind, ods_code, registered_at, source_name, postcode, \
                     closed_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .unwrap();
            let mut word = tx
                .prepare(
                    "INSERT INTO organisation_prefixes (prefix, organisation, closed, relevance, name_key) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .unwrap();
            let mut event =
                tx.prepare("INSERT INTO events (seq, at, actor, type, payload) VALUES (?1, ?2, NULL, ?3, ?4)").unwrap();
            for record in &rows.records {
                let id = OrganisationId::from_uuid(uuid::Uuid::now_v7());
                let key = id.as_uuid().into_bytes();
                let closed = closed_on(record, now.date()).map(|d| d.to_string());
                org.execute(rusqlite::params![
                    key,
                    record.name.as_str(),
                    record.kind.as_str(),
                    record.code.as_str(),
                    nanos,
                    record.source_name,
                    record.postcode,
                    closed,
                ])
                .unwrap();
                let name_key = record.name.as_str().to_lowercase();
                for (w, relevance) in indexed_prefixes(record.name.as_str()) {
                    word.execute(rusqlite::params![w, key, closed.is_some(), relevance, name_key]).unwrap();
                }
                seq += 1;
                let kind = EventKind::OrganisationRegistered { organisation: id };
                let payload = serde_json::to_string(&kind).unwrap();
                event.execute(rusqlite::params![seq, nanos, kind.type_name(), payload]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
}

fn closed_on(record: &OdsRecord, today: time::Date) -> Option<time::Date> {
    record.close_date.or_else(|| record.closed().then_some(today))
}

/// The re-import's floor: parse both files and read every organisation.
fn read_all(store: &dyn Store, files: &[(OdsFile, Vec<u8>)]) -> usize {
    let parsed: usize = files.iter().map(|(f, b)| read_ods(*f, b.as_slice()).unwrap().records.len()).sum();
    let mut count = 0;
    store
        .read(&mut |r| {
            count = r.organisations()?.len();
            Ok(())
        })
        .unwrap();
    assert_eq!(parsed, count);
    count
}

/// Queries a person would type, drawn from the directory itself.
fn queries(service: &Carespace) -> Vec<OrganisationSearch> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(1000);
    loop {
        let found = service.search_organisations(&OrganisationSearch::Name("a".into()), &page).unwrap();
        all.extend(found.items);
        match found.next {
            Some(next) => page = PageRequest::after(next, Some(1000)),
            None => break,
        }
    }
    let mut out = Vec::new();
    for (i, o) in all.iter().enumerate().step_by(all.len() / (QUERIES / 4) + 1) {
        let words = search_words(o.name.as_str());
        let prefix = |w: &String| w.chars().take(4).collect::<String>();
        out.push(OrganisationSearch::Name(prefix(&words[i % words.len()])));
        if words.len() > 1 {
            out.push(OrganisationSearch::Name(format!("{} {}", words[0], prefix(&words[1]))));
        }
        if let Some(postcode) = &o.postcode {
            out.push(OrganisationSearch::Postcode(postcode.split(' ').next().unwrap_or_default().to_owned()));
        }
        if let Some(code) = &o.ods_code {
            out.push(OrganisationSearch::OdsCode(code.as_str().to_lowercase()));
        }
    }
    out
}

/// Nanoseconds for the first page of each query: p50, p90, p99, and the slowest query
/// with how many organisations it matched.
fn search_latencies(service: &Carespace, queries: &[OrganisationSearch]) -> (f64, f64, f64, String) {
    let mut times: Vec<(f64, &OrganisationSearch)> = queries
        .iter()
        .map(|q| {
            let started = Instant::now();
            service.search_organisations(q, &PageRequest::default()).unwrap();
            (started.elapsed().as_nanos() as f64, q)
        })
        .collect();
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let at = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize].0;
    let (worst, query) = times[times.len() - 1];
    let matched = count(service, query);
    (at(0.5), at(0.9), at(0.99), format!("{query:?}: {} ({matched} matches)", human(worst)))
}

/// How many organisations a query matches (following its pages).
fn count(service: &Carespace, query: &OrganisationSearch) -> usize {
    let (mut n, mut page) = (0, PageRequest::first(1000));
    loop {
        let found = service.search_organisations(query, &page).unwrap();
        n += found.items.len();
        match found.next {
            Some(next) => page = PageRequest::after(next, Some(1000)),
            None => return n,
        }
    }
}

fn main() {
    let files = files();
    let dir = std::env::temp_dir().join(format!("carespace-directory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fresh = |label: &str, round: usize| {
        let path = dir.join(format!("{label}-{round}.sqlite3"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        path
    };

    let (mut ours, mut base, mut again, mut floor) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let path = fresh("ours", round);
        let service = Carespace::new(sqlite(&path));
        let (t, ()) = seconds(|| import(&service, &files));
        ours.push(t);
        let (t, ()) = seconds(|| bulk_load(&fresh("base", round), &files));
        base.push(t);
        let (t, ()) = seconds(|| import(&service, &files));
        again.push(t);
        let store = sqlite(&path);
        let (t, n) = seconds(|| read_all(&store, &files));
        assert_eq!(n, 14_598);
        floor.push(t);
    }
    let ratio = |a: &[f64], b: &[f64]| median(a.iter().zip(b).map(|(x, y)| x / y).collect());
    let import_ratio = ratio(&ours, &base);
    let reimport_ratio = ratio(&again, &floor);
    println!(
        "Directory on the real ODS files (14,598 organisations), SQLite synchronous=FULL, {ROUNDS} paired rounds\n"
    );
    println!("| operation | ours | baseline | ratio | target |\n|---|---|---|---|---|");
    println!(
        "| import both files into an empty file | {} | {} (bulk INSERTs) | {import_ratio:.2}× | ≤ 1.5× {} |",
        human(median(ours) * 1e9),
        human(median(base) * 1e9),
        if import_ratio <= 1.5 { "met" } else { "MISSED" }
    );
    println!(
        "| import them again, unchanged | {} | {} (parse + read all) | {reimport_ratio:.2}× | ≤ 2× {} |",
        human(median(again) * 1e9),
        human(median(floor) * 1e9),
        if reimport_ratio <= 2.0 { "met" } else { "MISSED" }
    );

    println!(
        "\n| search, first page of 50 | queries | p50 | p90 | p99 | target p99 < 1 ms |\n|---|---|---|---|---|---|"
    );
    let service = Carespace::new(sqlite(&dir.join("ours-0.sqlite3")));
    let queries = queries(&service);
    let (p50, p90, p99, worst) = search_latencies(&service, &queries);
    let verdict = if p99 < 1e6 { "met" } else { "MISSED" };
    println!("| SQLite FULL | {} | {} | {} | {} | {verdict} |", queries.len(), human(p50), human(p90), human(p99));
    let mut slowest = vec![format!("SQLite: {worst}")];
    let memory = Carespace::new(carespace::MemoryStore::new());
    import(&memory, &files);
    let (p50, p90, p99, worst) = search_latencies(&memory, &queries);
    let verdict = if p99 < 1e6 { "met" } else { "MISSED" };
    println!("| MemoryStore | {} | {} | {} | {} | {verdict} |", queries.len(), human(p50), human(p90), human(p99));
    slowest.push(format!("MemoryStore: {worst}"));
    if let Ok(url) = std::env::var(POSTGRES_URL) {
        let schema = format!("directory_{}", std::process::id());
        let options = carespace_postgres::PostgresOptions { schema: Some(schema.clone()), ..Default::default() };
        let service = Carespace::new(carespace_postgres::PostgresStore::connect_with(&url, options).unwrap());
        import(&service, &files);
        let (p50, p90, p99, worst) = search_latencies(&service, &queries);
        println!("| PostgreSQL | {} | {} | {} | {} | (reported) |", queries.len(), human(p50), human(p90), human(p99));
        slowest.push(format!("PostgreSQL: {worst}"));
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
    }
    println!("\nThe slowest query: {}", slowest.join("; "));
    let _ = std::fs::remove_dir_all(&dir);
}
