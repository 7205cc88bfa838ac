//! Throughput of mixed commands on PostgreSQL with 1, 2, 4 and 8 concurrent client
//! processes (issue 9): `cargo run --release -p carespace-benches --bin pg_scaling`
//! with `CARESPACE_PG_URL` set (`make bench-postgres` starts a throwaway cluster).
//!
//! Each client process has its own service and pool and, for `SECONDS` seconds, repeats
//! a mix a ward sees: a newcomer registers, joins the trust and asks to join the shared
//! ward; the admin approves; the newcomer starts a conversation and reads the switcher;
//! two permission checks. Every client works on the same ward, so the approvals and the
//! event counter are contended, as they are in a trust's busiest workspace.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a measuring tool: a panic is a broken run

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use carespace::{Action, Carespace, NewWorkspace, OrganisationKind, Speciality, UserId, WorkspaceId};
use carespace_postgres::{PostgresOptions, PostgresStore};

const SECONDS: u64 = 10;
const CLIENTS: [usize; 4] = [1, 2, 4, 8];
/// The commands (and queries) one round of the mix runs.
const PER_ROUND: u64 = 8;

fn store(url: &str, schema: &str) -> PostgresStore {
    let options = PostgresOptions { pool_size: 2, schema: Some(schema.to_owned()), ..PostgresOptions::default() };
    PostgresStore::connect_with(url, options).unwrap()
}

fn main() {
    let url = std::env::var("CARESPACE_PG_URL").expect("set CARESPACE_PG_URL to a PostgreSQL database");
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, schema, client, org, ward, admin] = args.as_slice()
        && flag == "--client"
    {
        let service = Carespace::new(store(&url, schema));
        let rounds = client_loop(&service, client, org.parse().unwrap(), ward.parse().unwrap(), admin.parse().unwrap());
        println!("ROUNDS {rounds}");
        return;
    }
    println!("| client processes | commands/s | × one process |\n|---|---|---|");
    let mut single = None;
    for clients in CLIENTS {
        let schema = format!("scaling_{}_{clients}", std::process::id());
        let service = Carespace::new(store(&url, &schema));
        let org = service.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
        let admin = service.register_user("admin@nhs.net".parse().unwrap(), "Admin".parse().unwrap()).unwrap();
        service.join_organisation(admin.id, org.id).unwrap();
        let new = NewWorkspace {
            name: "Maternity - Ward 2".parse().unwrap(),
            speciality: Speciality::from_code(501).unwrap(),
            description: Default::default(),
        };
        let ward = service.create_workspace(admin.id, org.id, new).unwrap().workspace;
        let started = Instant::now();
        let children: Vec<_> = (0..clients)
            .map(|c| {
                Command::new(std::env::current_exe().unwrap())
                    .args([
                        "--client",
                        &schema,
                        &c.to_string(),
                        &org.id.to_string(),
                        &ward.id.to_string(),
                        &admin.id.to_string(),
                    ])
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut rounds = 0u64;
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "a client failed");
            let text = String::from_utf8(out.stdout).unwrap();
            rounds += text.lines().find_map(|l| l.strip_prefix("ROUNDS ")).unwrap().trim().parse::<u64>().unwrap();
        }
        let elapsed = started.elapsed().as_secs_f64().max(SECONDS as f64);
        let rate = (rounds * PER_ROUND) as f64 / elapsed;
        let base = *single.get_or_insert(rate);
        println!("| {clients} | {rate:.0} | {:.2}× |", rate / base);
        let events = service.events_since(0, carespace::MAX_EVENT_PAGE).unwrap();
        assert!(events.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1), "the log has a gap");
    }
}

/// One client's rounds of the mix until the time is up.
fn client_loop(s: &Carespace, client: &str, org: carespace::OrganisationId, ward: WorkspaceId, admin: UserId) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let mut rounds = 0u64;
    while Instant::now() < deadline {
        let email = format!("c{client}.n{rounds}@nhs.net").parse().unwrap();
        let user = s.register_user(email, "Newcomer".parse().unwrap()).unwrap();
        s.join_organisation(user.id, org).unwrap();
        s.request_to_join(user.id, ward).unwrap();
        s.approve(admin, ward, user.id).unwrap();
        s.start_conversation(user.id, ward).unwrap();
        assert_eq!(s.my_workspaces(user.id).unwrap().len(), 2);
        assert!(s.can(user.id, ward, Action::ViewAllConversations).unwrap());
        assert!(s.can(admin, ward, Action::Approve).unwrap());
        rounds += 1;
    }
    rounds
}
