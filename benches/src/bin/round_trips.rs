//! Round trips and statements per operation on PostgreSQL, Carespace beside the
//! hand-written baseline: statements from the server's statement statistics
//! (`pg_stat_statements`, which the throwaway cluster loads), round trips from
//! [`carespace_postgres::round_trips`] (the baseline's client sends one statement per
//! round trip). `make bench` runs it; it needs `CARESPACE_PG_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool: a panic is a broken fixture

use carespace::Action;
use carespace_benches::{Backend, Fixture, POSTGRES_URL};

/// Each operation is measured over this many calls.
const CALLS: u64 = 20;

/// Statements the server has run so far in this database, its own counting excluded.
fn statements(admin: &mut postgres::Client) -> i64 {
    let sql = "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements \
               WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND query NOT LIKE '%pg_stat_statements%'";
    admin.query_one(sql, &[]).expect("pg_stat_statements is not loaded").get(0)
}

/// Statements and client round trips per call.
type Cost = (f64, f64);

/// Statements and client round trips per call of `op`, each call after its `setup`.
fn measure<T>(admin: &mut postgres::Client, mut setup: impl FnMut() -> T, mut op: impl FnMut(T)) -> Cost {
    let (mut statements_run, mut trips) = (0, 0);
    for _ in 0..CALLS {
        let input = setup();
        let (before, trips_before) = (statements(admin), carespace_postgres::round_trips());
        op(input);
        trips += carespace_postgres::round_trips() - trips_before;
        statements_run += statements(admin) - before;
    }
    (statements_run as f64 / CALLS as f64, trips as f64 / CALLS as f64)
}

fn main() {
    let Ok(url) = std::env::var(POSTGRES_URL) else {
        eprintln!("{POSTGRES_URL} is not set: run `make bench`, or set it to a server that loads pg_stat_statements");
        std::process::exit(2);
    };
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    admin.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").expect("pg_stat_statements");
    let dir = std::env::temp_dir().join(format!("carespace-round-trips-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let f = Fixture::new(Backend::Postgres, &dir);
    let bl = std::cell::RefCell::new(f.place.baseline().expect("the PostgreSQL baseline"));
    // Once each first, so that every statement is prepared on its connection.
    let _ = f.service.start_conversation(f.member.id, f.ward.id);
    let _ = f.service.approve(f.admin.id, f.ward.id, f.requester());
    let _ = f.service.request_to_join(f.newcomer(), f.ward.id);
    let _ = f.create_workspace();
    let _ = f.service.my_workspaces(f.switcher.id);
    let _ = f.service.can(f.member.id, f.ward.id, Action::ViewAllConversations);

    let mut rows: Vec<(&str, Cost, Cost)> = Vec::new();
    let can = measure(
        &mut admin,
        || (),
        |()| assert!(f.service.can(f.member.id, f.ward.id, Action::ViewAllConversations).unwrap()),
    );
    let can_bl = measure(&mut admin, || (), |()| assert!(bl.borrow_mut().can_view_all(f.ward.id, f.member.id)));
    rows.push(("can", can, can_bl));
    let ours = measure(&mut admin, || (), |()| assert_eq!(f.service.my_workspaces(f.switcher.id).unwrap().len(), 6));
    let base = measure(&mut admin, || (), |()| assert_eq!(bl.borrow_mut().my_workspaces(f.switcher.id), 6));
    rows.push(("my_workspaces", ours, base));
    let ours = measure(
        &mut admin,
        || (),
        |()| {
            let _ = f.service.start_conversation(f.member.id, f.ward.id).unwrap();
        },
    );
    let base = measure(&mut admin, || (), |()| bl.borrow_mut().start_conversation(f.ward.id, f.member.id));
    rows.push(("start_conversation", ours, base));
    let ours = measure(
        &mut admin,
        || f.newcomer(),
        |u| {
            let _ = f.service.request_to_join(u, f.ward.id).unwrap();
        },
    );
    let base = measure(&mut admin, || f.newcomer(), |u| bl.borrow_mut().request_to_join(f.trust.id, f.ward.id, u));
    rows.push(("request_to_join", ours, base));
    let ours = measure(
        &mut admin,
        || f.requester(),
        |u| {
            let _ = f.service.approve(f.admin.id, f.ward.id, u).unwrap();
        },
    );
    let base = measure(&mut admin, || f.requester(), |u| bl.borrow_mut().approve(f.ward.id, f.admin.id, u));
    rows.push(("approve", ours, base));
    let ours = measure(
        &mut admin,
        || (),
        |()| {
            f.create_workspace();
        },
    );
    let base = measure(&mut admin, || f.next(), |n| bl.borrow_mut().create_workspace(f.trust.id, f.admin.id, n));
    rows.push(("create_workspace", ours, base));

    println!("\n**PostgreSQL round trips per call** ({CALLS} calls each; statements from pg_stat_statements)\n");
    println!(
        "| operation | Carespace statements | Carespace round trips | baseline statements (= round trips) | \
         round trips over the baseline |\n|---|---|---|---|---|"
    );
    for (op, (statements, trips), (base_statements, _)) in rows {
        println!("| {op} | {statements:.1} | {trips:.1} | {base_statements:.1} | {:+.1} |", trips - base_statements);
    }
    println!("\n**Server time per statement** (pg_stat_statements, the ten with the most in total)\n");
    println!("| calls | mean | statement |\n|---|---|---|");
    let sql = "SELECT calls, mean_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) FROM pg_stat_statements \
               WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 10";
    for row in admin.query(sql, &[]).expect("pg_stat_statements") {
        let (calls, mean, query): (i64, f64, String) = (row.get(0), row.get(1), row.get(2));
        println!("| {calls} | {:.1} µs | `{query}` |", mean * 1000.0);
    }
    drop(f);
    let _ = std::fs::remove_dir_all(&dir);
}
