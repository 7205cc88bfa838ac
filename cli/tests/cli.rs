//! The `carespace` binary run as an operator runs it, against real SQLite files (and the
//! throwaway PostgreSQL cluster): every subcommand, its exit codes, and its output as a
//! table, CSV and JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use carespace::{Carespace, ManualClock, NewWorkspace, Speciality, WorkspaceId};
use carespace_sqlite::SqliteStore;
use time::OffsetDateTime;
use time::macros::datetime;

const START: OffsetDateTime = datetime!(2026-03-01 09:00 UTC);

/// The ODS extracts kept in the repository (R40).
fn ods(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/ods").join(file)
}

/// A `carespace` command on `db`, with no `CARESPACE_DB` from the environment.
fn carespace(db: &str) -> Command {
    let mut command = Command::cargo_bin("carespace").unwrap();
    command.env_remove("CARESPACE_DB").env_remove("CARESPACE_PG_SCHEMA").arg("--db").arg(db);
    command
}

/// What a finished command did.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(command: &mut Command) -> Ran {
    let out = command.output().unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Runs `args` and expects exit 0; returns stdout.
fn ok(db: &str, args: &[&str]) -> String {
    let ran = run(carespace(db).args(args));
    assert_eq!(ran.code, 0, "carespace {args:?}: {}{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.is_empty(), "carespace {args:?} wrote to stderr: {}", ran.stderr);
    ran.stdout
}

/// Runs `args` and expects exit `code` with one line on stderr; returns that line.
fn fails(db: &str, args: &[&str], code: i32) -> String {
    let ran = run(carespace(db).args(args));
    assert_eq!(ran.code, code, "carespace {args:?}: {}{}", ran.stdout, ran.stderr);
    ran.stderr
}

/// The ward's world, on a SQLite file: East London NHS Foundation Trust (from the real
/// ODS file), "Maternity - Ward 2" made by Alice on 1 March; Bob asked on 2 March and was
/// approved on 3 March; Carol asked on 4 March and waits; Dan was approved on 2 March
/// and archived on 5 March; an invite to Erin is pending.
struct World {
    dir: tempfile::TempDir,
    db: String,
    ward: WorkspaceId,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("carespace.sqlite3");
    let db = format!("sqlite:{}", path.display());
    ok(&db, &["init"]);
    ok(&db, &["orgs", "import", ods("etr.csv").to_str().unwrap()]);
    let clock = ManualClock::new(START);
    let service = Carespace::new(SqliteStore::open(&path).unwrap()).with_clock(clock.clone());
    let trust = service.organisation_by_ods(&"RWK".parse().unwrap()).unwrap().unwrap();
    let mut people = Vec::new();
    for (email, name) in [
        ("alice@nhs.net", "Alice Smith"),
        ("bob@nhs.net", "Bob O'Brien"),
        ("carol@elft.nhs.uk", "Carol White"),
        ("dan@nhs.net", "Dan Brown"),
    ] {
        let user = service.register_user(email.parse().unwrap(), name.parse().unwrap()).unwrap();
        service.join_organisation(user.id, trust.id).unwrap();
        people.push(user);
    }
    let [alice, bob, carol, dan] = <[_; 4]>::try_from(people).unwrap();
    let new = NewWorkspace {
        name: "Maternity - Ward 2".parse().unwrap(),
        speciality: Speciality::from_code(501).unwrap(),
        description: Default::default(),
    };
    let ward = service.create_workspace(alice.id, trust.id, new).unwrap().workspace.id;
    let day = time::Duration::days(1);
    clock.advance(day);
    service.request_to_join(bob.id, ward).unwrap();
    service.request_to_join(dan.id, ward).unwrap();
    service.approve(alice.id, ward, dan.id).unwrap();
    clock.advance(day);
    service.approve(alice.id, ward, bob.id).unwrap();
    clock.advance(day);
    service.request_to_join(carol.id, ward).unwrap();
    clock.advance(day);
    service.archive_member(alice.id, ward, dan.id).unwrap();
    service.invite(alice.id, ward, "erin@nhs.net".parse().unwrap()).unwrap();
    World { dir, db, ward }
}

impl World {
    fn path(&self) -> PathBuf {
        self.dir.path().join("carespace.sqlite3")
    }
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("x.sqlite3").display());
    // No database at all.
    let mut bare = Command::cargo_bin("carespace").unwrap();
    let ran = run(bare.env_remove("CARESPACE_DB").arg("check"));
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("no database given"), "{}", ran.stderr);
    // A scheme it does not know; the password is not repeated.
    let line = fails("mysql://ops:hunter2@db/carespace", &["check"], 2);
    assert!(line.contains("neither sqlite:PATH nor postgresql://") && !line.contains("hunter2"), "{line}");
    // clap's own: an unknown subcommand, a bad time, a bad duration, a missing option.
    fails(&db, &["frobnicate"], 2);
    let line = fails(&db, &["audit", "viewers", "--workspace", "Ward", "--at", "3 March"], 2);
    assert!(line.contains("is not a time"), "{line}");
    let line = fails(&db, &["sweep", "--every", "fortnightly"], 2);
    assert!(line.contains("is not a duration"), "{line}");
    fails(&db, &["audit", "viewers", "--workspace", "Ward"], 2);
    fails(&db, &["audit", "history", "--workspace", "Ward", "--csv", "--json"], 2);
}

#[test]
fn a_missing_file_exits_4_until_init_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("carespace.sqlite3");
    let db = format!("sqlite:{}", path.display());
    let line = fails(&db, &["events", "tail"], 4);
    assert!(line.starts_with("carespace: no database at ") && line.contains("carespace init"), "{line}");
    assert!(!path.exists(), "a read must not create the file");
    assert!(ok(&db, &["init"]).contains("is ready (0 events in its log)"));
    // Twice is fine.
    assert_eq!(ok(&db, &["--json", "init"]).trim(), r#"{"events":0,"ready":true}"#);
    // A file from a newer Carespace: refused, unchanged.
    let store = SqliteStore::open(&path).unwrap();
    store.with_connection(|c| c.pragma_update(None, "user_version", 999)).unwrap();
    drop(store);
    let line = fails(&db, &["check"], 4);
    assert!(
        line.contains("newer than this version of Carespace") && line.ends_with("(storage_incompatible)\n"),
        "{line}"
    );
    // A file that is not a database.
    let junk = dir.path().join("junk.sqlite3");
    std::fs::write(&junk, b"not a database, just some text\n".repeat(200)).unwrap();
    let line = fails(&format!("sqlite:{}", junk.display()), &["check"], 4);
    assert!(line.contains("not a database"), "{line}");
}

#[test]
fn r40_orgs_import_reports_and_search_finds_by_name_code_and_postcode() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("carespace.sqlite3").display());
    ok(&db, &["init"]);
    let out = ok(&db, &["orgs", "import", ods("epraccur.csv").to_str().unwrap()]);
    assert!(out.contains("14357 added") || out.contains(" added, "), "{out}");
    let again = ok(&db, &["--json", "orgs", "import", ods("epraccur.csv").to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(report["added"], 0, "importing twice adds nothing: {report}");
    ok(&db, &["orgs", "import", ods("etr.csv").to_str().unwrap()]);
    let found = ok(&db, &["orgs", "search", "st thom"]);
    assert!(found.contains("Guy's and St Thomas' NHS Foundation Trust"), "{found}");
    assert!(ok(&db, &["orgs", "search", "RWK"]).contains("East London NHS Foundation Trust"));
    let by_postcode = ok(&db, &["--json", "orgs", "search", "--postcode", "E1 6"]);
    let orgs: Vec<serde_json::Value> = serde_json::from_str(&by_postcode).unwrap();
    assert!(!orgs.is_empty() && orgs.iter().all(|o| o["postcode"].as_str().unwrap().starts_with("E1 6")), "{orgs:?}");
    assert!(ok(&db, &["orgs", "search", "zzzz nowhere"]).contains("no organisation matches"));
    // A rejected row: reported with its line; --strict writes nothing and exits 3.
    let bad = dir.path().join("etr.csv");
    std::fs::write(&bad, "RQX,BAD ROW\n").unwrap();
    let out = ok(&db, &["orgs", "import", bad.to_str().unwrap()]);
    assert!(out.contains("1 rejected") && out.contains("rejected: line 1"), "{out}");
    let line = fails(&db, &["orgs", "import", "--strict", bad.to_str().unwrap()], 3);
    assert!(line.contains("(import_rejected)"), "{line}");
    let line = fails(&db, &["orgs", "import", "/no/such/etr.csv"], 3);
    assert!(line.contains("(unreadable)"), "{line}");
}

#[test]
fn r37_audit_answers_who_could_see_what_as_a_table_csv_and_json() {
    let w = world();
    let at = ["--at", "2026-03-03T12:00:00Z"];
    let viewers = ok(&w.db, &["audit", "viewers", "--workspace", "Maternity - Ward 2", at[0], at[1]]);
    let expected = "Who could see “Maternity - Ward 2” (East London NHS Foundation Trust) at 2026-03-03 12:00:00 UTC:\n\
                    NAME         EMAIL          AS      SINCE\n\
                    Alice Smith  alice@nhs.net  admin   2026-03-01 09:00:00 UTC\n\
                    Bob O'Brien  bob@nhs.net    member  2026-03-03 09:00:00 UTC\n\
                    Dan Brown    dan@nhs.net    member  2026-03-02 09:00:00 UTC\n";
    assert_eq!(viewers, expected);
    // After Dan's archival he could no longer see it; by id and with --org the same.
    let later = ok(&w.db, &["audit", "viewers", "--workspace", &w.ward.to_string(), "--at", "2026-03-06"]);
    assert!(!later.contains("Dan Brown") && later.contains("Bob O'Brien"), "{later}");
    let with_org =
        ok(&w.db, &["audit", "viewers", "--workspace", "maternity - ward 2", "--org", "RWK", "--at", "2026-03-06"]);
    assert_eq!(with_org, later);
    // Before it existed: no one.
    assert!(
        ok(&w.db, &["audit", "viewers", "--workspace", "Maternity - Ward 2", "--at", "2026-02-01"]).contains("no one")
    );

    let csv = ok(&w.db, &["audit", "viewers", "--workspace", "Maternity - Ward 2", at[0], at[1], "--csv"]);
    assert_eq!(csv.lines().next(), Some("NAME,EMAIL,AS,SINCE"));
    assert!(csv.contains("Bob O'Brien,bob@nhs.net,member,2026-03-03 09:00:00 UTC"), "{csv}");
    let json: Vec<serde_json::Value> = serde_json::from_str(&ok(
        &w.db,
        &["--json", "audit", "viewers", "--workspace", "Maternity - Ward 2", at[0], at[1]],
    ))
    .unwrap();
    assert_eq!(json.len(), 3);
    assert_eq!(json[0]["email"], "alice@nhs.net");
    assert_eq!(json[0]["as"], "admin");
    assert_eq!(json[1]["since"], "2026-03-03T09:00:00Z");

    let visible = ok(&w.db, &["audit", "visible", "--user", "dan@nhs.net", "--at", "2026-03-04"]);
    assert!(visible.contains("Maternity - Ward 2") && visible.contains("member"), "{visible}");
    let visible = ok(&w.db, &["--json", "audit", "visible", "--user", "DAN@nhs.net", "--at", "2026-03-06"]);
    let visible: Vec<serde_json::Value> = serde_json::from_str(&visible).unwrap();
    assert_eq!(visible.iter().map(|v| v["name"].as_str().unwrap()).collect::<Vec<_>>(), ["My Workspace"]);

    let history = ok(&w.db, &["audit", "history", "--workspace", "Maternity - Ward 2"]);
    let rows: Vec<&str> = history.lines().skip(2).collect();
    assert_eq!(rows.len(), 7, "{history}");
    assert!(rows[0].contains("workspace_created") && rows[0].contains("Alice Smith <alice@nhs.net>"), "{history}");
    assert!(history.contains("member_archived") && history.contains("Dan Brown <dan@nhs.net>"), "{history}");
    let csv = ok(&w.db, &["audit", "history", "--workspace", "Maternity - Ward 2", "--csv"]);
    assert_eq!(csv.lines().count(), 1 + 7);

    // Not found (exit 3), and bad input to Carespace (exit 3), each one line.
    let line = fails(&w.db, &["audit", "history", "--workspace", "Ward 99"], 3);
    assert_eq!(line, "carespace: no workspace found for “Ward 99” (not_found)\n");
    let line = fails(&w.db, &["audit", "visible", "--user", "dan@gmail.com", "--at", "2026-03-04"], 3);
    assert!(line.contains("(invalid_email)"), "{line}");
    fails(&w.db, &["audit", "history", "--workspace", "Ward", "--org", "NOPE1"], 3);
}

#[test]
fn a_name_two_organisations_use_asks_for_org() {
    let w = world();
    let service = Carespace::new(SqliteStore::open(w.path()).unwrap());
    let barts = service.organisation_by_ods(&"R1H".parse().unwrap()).unwrap().unwrap();
    let eve = service.register_user("eve@nhs.net".parse().unwrap(), "Eve Green".parse().unwrap()).unwrap();
    service.join_organisation(eve.id, barts.id).unwrap();
    let new = NewWorkspace {
        name: "Maternity - Ward 2".parse().unwrap(),
        speciality: Speciality::from_code(501).unwrap(),
        description: Default::default(),
    };
    service.create_workspace(eve.id, barts.id, new).unwrap();
    let line = fails(&w.db, &["audit", "history", "--workspace", "Maternity - Ward 2"], 2);
    assert!(line.contains("give --org with one of") && line.contains("RWK") && line.contains("R1H"), "{line}");
    assert!(
        ok(&w.db, &["audit", "history", "--workspace", "Maternity - Ward 2", "--org", "R1H"]).contains("Eve Green")
    );
}

#[test]
fn r38_sweep_at_a_time_and_every_interval() {
    let w = world();
    assert!(ok(&w.db, &["sweep", "--now", "2026-03-05T10:00:00Z"]).contains("nothing was due"));
    // Invites last 14 days; Carol's request has waited more than 3.
    let out = ok(&w.db, &["--json", "sweep", "--now", "2026-04-01"]);
    let swept: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((swept["invites_expired"].as_u64(), swept["requests_escalated"].as_u64()), (Some(1), Some(1)));
    // --every: sweeps at once and again after each interval, until stopped.
    let mut child = carespace(&w.db).args(["sweep", "--every", "1s"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(first.ends_with("nothing was due") && second.ends_with("nothing was due"), "{first} / {second}");
}

#[test]
fn r38_sweep_every_waits_out_another_writer_and_does_what_fell_due() {
    let w = world();
    let mut child = carespace(&w.db).args(["sweep", "--every", "1s"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.ends_with(
            "1 invites expired, 1 requests escalated, 0 end reminders, 0 memberships ended, 0 last admins kept"
        ),
        "{first}"
    );
    // An invite made in March is due to expire at the next sweep, but another process
    // holds the write lock for longer than the 5 s busy timeout.
    let service = Carespace::new(SqliteStore::open(w.path()).unwrap()).with_clock(ManualClock::new(START));
    let alice = service.user_by_email(&"alice@nhs.net".parse().unwrap()).unwrap().unwrap();
    service.invite(alice.id, w.ward, "frank@nhs.net".parse().unwrap()).unwrap();
    let blocker = SqliteStore::open(w.path()).unwrap();
    blocker.with_connection(|c| c.execute_batch("BEGIN EXCLUSIVE")).unwrap();
    std::thread::sleep(Duration::from_secs(7));
    blocker.with_connection(|c| c.execute_batch("COMMIT")).unwrap();
    let next = lines.next().unwrap().unwrap();
    assert!(next.contains(": 1 invites expired, 0 requests escalated"), "swept again once the lock went: {next}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn r42_events_tail_prints_follows_and_consumes_without_repeating() {
    let w = world();
    let last = ok(&w.db, &["events", "tail", "-n", "2"]);
    assert_eq!(last.lines().count(), 2, "{last}");
    assert!(last.contains("invited"), "{last}");
    let json = ok(&w.db, &["--json", "events", "tail", "-n", "1"]);
    let event: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(event["type"], "invited");
    let head = event["seq"].as_u64().unwrap();

    // A consumer named for the first time starts at the head: nothing yet.
    assert_eq!(ok(&w.db, &["events", "tail", "--consumer", "emails"]), "");
    // Following as that consumer: each new event is printed (and acknowledged) as it commits.
    let mut child = carespace(&w.db)
        .args(["--json", "events", "tail", "--follow", "--consumer", "emails"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let service = Carespace::new(SqliteStore::open(w.path()).unwrap());
    let started = Instant::now();
    service.register_user("late@nhs.net".parse().unwrap(), "Late Comer".parse().unwrap()).unwrap();
    let seen: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!((seen["seq"].as_u64(), seen["type"].as_str()), (Some(head + 1), Some("user_registered")));
    assert!(started.elapsed() < Duration::from_secs(10));
    // Printed, then acknowledged (at least once: a kill in between prints it again).
    let emails = "emails".parse().unwrap();
    while service.consumer(&emails).unwrap().acknowledged != head + 1 {
        assert!(started.elapsed() < Duration::from_secs(10), "not acknowledged");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Acknowledged: not printed again for that consumer.
    assert_eq!(ok(&w.db, &["events", "tail", "--consumer", "emails"]), "");
    let line = fails(&w.db, &["events", "tail", "--consumer", "two words"], 3);
    assert!(line.contains("(invalid_text)"), "{line}");
}

#[test]
fn r25_check_passes_on_a_sound_store_and_lists_what_is_wrong() {
    let w = world();
    let out = ok(&w.db, &["check"]);
    assert!(out.starts_with("ok: SQLite integrity_check, the invariants"), "{out}");
    // Break it behind Carespace's back: Alice's admin membership and an event vanish.
    let store = SqliteStore::open(w.path()).unwrap();
    store
        .with_connection(|c| {
            c.execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM events WHERE seq = 250;")?;
            c.execute("DELETE FROM memberships WHERE role = 'admin'", [])
        })
        .unwrap();
    drop(store);
    let ran = run(carespace(&w.db).arg("check"));
    assert_eq!(ran.code, 1, "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("problem: Maternity - Ward 2: active with"), "{}", ran.stdout);
    assert!(ran.stdout.contains("problem: event log has a gap: position 250 holds seq 251"), "{}", ran.stdout);
    assert!(ran.stdout.lines().filter(|l| l.starts_with("problem: ")).count() >= 2, "{}", ran.stdout);
    assert!(ran.stderr.starts_with("carespace: found ") && ran.stderr.ends_with(" problems\n"), "{}", ran.stderr);
    let ran = run(carespace(&w.db).args(["--json", "check"]));
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(report["ok"], false);
}

#[test]
fn backup_while_another_process_writes_and_never_overwrites() {
    let w = world();
    // Another process writes throughout the backup.
    let writer = {
        let path = w.path();
        std::thread::spawn(move || {
            let service = Carespace::new(SqliteStore::open(&path).unwrap());
            let trust = service.organisation_by_ods(&"RWK".parse().unwrap()).unwrap().unwrap();
            for i in 0..200 {
                let user =
                    service.register_user(format!("w{i}@nhs.net").parse().unwrap(), "W".parse().unwrap()).unwrap();
                service.join_organisation(user.id, trust.id).unwrap();
            }
        })
    };
    let copy = w.dir.path().join("backup.sqlite3");
    let out = ok(&w.db, &["backup", "--to", copy.to_str().unwrap()]);
    writer.join().unwrap();
    assert!(out.starts_with("backed up ") && out.contains("backup.sqlite3"), "{out}");
    // The copy is a sound store holding a prefix of the log.
    let copied = format!("sqlite:{}", copy.display());
    assert!(ok(&copied, &["check"]).starts_with("ok: "));
    let line = fails(&w.db, &["backup", "--to", copy.to_str().unwrap()], 4);
    assert!(line.contains("the file exists"), "{line}");
    assert!(ok(&copied, &["check"]).starts_with("ok: "), "a refused backup leaves the old one alone");
}

#[test]
fn r37_timeline_draws_every_person_state_and_event() {
    let w = world();
    let svg = w.dir.path().join("ward.svg");
    let out = ok(&w.db, &["audit", "timeline", "--workspace", "Maternity - Ward 2", "--out", svg.to_str().unwrap()]);
    assert!(out.contains("drew 4 people and 7 events"), "{out}");
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(!picture.contains("http://") || picture.matches("http://").count() == 1, "self-contained");
    // Bob O'Brien's name is escaped; every state's colour is used, each event marked.
    assert!(picture.contains("Bob O&apos;Brien") && !picture.contains("Bob O'Brien"));
    for colour in ["#e69f00", "#009e73", "#0072b2", "#999999"] {
        assert!(picture.matches(colour).count() >= 2, "{colour} in the legend and a span");
    }
    assert_eq!(picture.matches("<title>member_archived at").count(), 1);
    // A range: what lies outside it is not drawn.
    let range = ["--from", "2026-03-01T12:00:00Z", "--until", "2026-03-04T12:00:00Z"];
    ok(
        &w.db,
        &[&["audit", "timeline", "--workspace", "Maternity - Ward 2", "--out", svg.to_str().unwrap()], &range[..]]
            .concat(),
    );
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert_eq!(picture.matches("<title>member_archived at").count(), 0);
    assert_eq!(picture.matches("<title>join_approved at").count(), 2);
    let backwards = ["--from", "2026-03-04", "--until", "2026-03-01"];
    let line = fails(
        &w.db,
        &[&["audit", "timeline", "--workspace", "Maternity - Ward 2", "--out", "x.svg"], &backwards[..]].concat(),
        2,
    );
    assert!(line.contains("--from must be before --until"), "{line}");
    let html = w.dir.path().join("ward.html");
    ok(&w.db, &["audit", "timeline", "--workspace", "Maternity - Ward 2", "--out", html.to_str().unwrap()]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<svg"), "{page}");
}

/// The headless browser `make test` installs (Debian's chromium).
fn chromium() -> String {
    let path = std::env::var("CARESPACE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&path).exists(), "no chromium at {path}: run cli/provision/chromium.sh (make test does)");
    path
}

#[test]
fn r37_timeline_renders_in_a_real_browser_with_the_legend_colours() {
    let w = world();
    let html = w.dir.path().join("ward.html");
    let week = ["--from", "2026-02-28T12:00:00Z", "--until", "2026-03-07"];
    ok(
        &w.db,
        &[&["audit", "timeline", "--workspace", "Maternity - Ward 2", "--out", html.to_str().unwrap()], &week[..]]
            .concat(),
    );
    let png = w.dir.path().join("ward.png");
    let profile = w.dir.path().join("chromium-profile");
    let status = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,320",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "chromium failed: {status}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let channels = frame.color_type.samples();
    let rgb: Vec<[u8; 3]> = pixels[..frame.buffer_size()].chunks(channels).map(|p| [p[0], p[1], p[2]]).collect();
    let white = rgb.iter().filter(|p| **p == [255, 255, 255]).count();
    assert!(white < rgb.len() * 95 / 100, "the picture is (almost) blank");
    for (name, colour) in [
        ("unapproved", [0xe6, 0x9f, 0x00]),
        ("member", [0x00, 0x9e, 0x73]),
        ("admin", [0x00, 0x72, 0xb2]),
        ("archived", [0x99, 0x99, 0x99]),
    ] {
        let count = rgb.iter().filter(|p| **p == colour).count();
        // More than the legend's 16 × 16 swatch: its spans are drawn too.
        assert!(count > 1500, "{name}'s colour {colour:?} covers {count} pixels");
    }
    // The README's example picture comes from this test's world.
    if let Ok(keep) = std::env::var("CARESPACE_KEEP_TIMELINE") {
        std::fs::copy(&png, keep).unwrap();
    }
}

#[test]
fn postgresql_init_check_and_tail_through_the_same_command() {
    let pg = postgres("cli");
    let ran = pg(&["init"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("PostgreSQL database is ready (0 events"), "{}", ran.stdout);
    let ran = pg(&["orgs", "import", ods("etr.csv").to_str().unwrap()]);
    assert!(ran.stdout.contains("241 added"), "{}{}", ran.stdout, ran.stderr);
    let ran = pg(&["check"]);
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.starts_with("ok: the invariants"), "{}", ran.stdout);
    assert_eq!(pg(&["events", "tail", "-n", "3"]).stdout.lines().count(), 3);
    let ran = pg(&["backup", "--to", "/tmp/never.sqlite3"]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("pg_dump"), "{}", ran.stderr);
}

/// The throwaway cluster's URL, and a command on a schema of its own there.
fn postgres(schema: &str) -> impl Fn(&[&str]) -> Ran {
    let url = std::env::var("CARESPACE_PG_URL")
        .unwrap_or_else(|_| panic!("set CARESPACE_PG_URL (make test-rust starts a throwaway cluster and sets it)"));
    let schema = format!("{schema}_{}", std::process::id());
    move |args: &[&str]| {
        let mut command = carespace(&url);
        command.env("CARESPACE_PG_SCHEMA", &schema).args(args);
        run(&mut command)
    }
}

#[test]
fn copy_from_sqlite_to_postgresql_verifies_and_refuses_a_store_that_is_not_empty() {
    let w = world();
    let url = std::env::var("CARESPACE_PG_URL").expect("CARESPACE_PG_URL");
    let schema = format!("copy_{}", std::process::id());
    let copy = || run(carespace(&w.db).env("CARESPACE_PG_SCHEMA", &schema).args(["copy", "--to", &url]));
    let ran = copy();
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("4 users, 1 workspaces, 4 My Workspaces, 4 memberships, 1 invites"), "{}", ran.stdout);
    assert!(ran.stdout.contains("verified: every row and event the same"), "{}", ran.stdout);
    assert!(ran.stderr.is_empty(), "no progress bar when stderr is not a terminal: {}", ran.stderr);
    // The same answers from the copy.
    let pg = postgres("copy");
    let question = ["audit", "viewers", "--workspace", "Maternity - Ward 2", "--at", "2026-03-03T12:00:00Z"];
    assert_eq!(pg(&question).stdout, ok(&w.db, &question));
    assert_eq!(
        pg(&["--json", "events", "tail", "-n", "1000"]).stdout,
        ok(&w.db, &["--json", "events", "tail", "-n", "1000"])
    );
    // Never into a store that holds something.
    let ran = copy();
    assert_eq!(ran.code, 3, "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.contains("the target is not empty"), "{}", ran.stderr);
}

#[test]
fn an_interrupted_copy_leaves_the_target_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.sqlite3");
    let db = format!("sqlite:{}", path.display());
    ok(&db, &["init"]);
    ok(&db, &["orgs", "import", ods("etr.csv").to_str().unwrap()]);
    {
        let options =
            carespace_sqlite::SqliteOptions { durability: carespace_sqlite::Durability::Normal, ..Default::default() };
        let service = Carespace::new(SqliteStore::open_with(&path, options).unwrap());
        let trust = service.organisation_by_ods(&"RWK".parse().unwrap()).unwrap().unwrap();
        for i in 0..6_000 {
            let user = service.register_user(format!("u{i}@nhs.net").parse().unwrap(), "U".parse().unwrap()).unwrap();
            service.join_organisation(user.id, trust.id).unwrap();
        }
    }
    let url = std::env::var("CARESPACE_PG_URL").expect("CARESPACE_PG_URL");
    let schema = format!("cut_{}", std::process::id());
    let mut child = carespace(&db)
        .env("CARESPACE_PG_SCHEMA", &schema)
        .args(["copy", "--to", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The whole copy takes about 5 s here (a debug build); it is cut after 1.5 s.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the copy ended before it could be interrupted: make the source bigger"
    );
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let pg = postgres("cut");
    let ran = pg(&["--json", "init"]);
    assert_eq!(ran.stdout.trim(), r#"{"events":0,"ready":true}"#, "{}", ran.stderr);
    assert!(pg(&["orgs", "search", "RWK"]).stdout.contains("no organisation matches"));
    // And the copy can simply be run again.
    let ran = run(carespace(&db).env("CARESPACE_PG_SCHEMA", &schema).args(["copy", "--to", &url]));
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("6000 users") && ran.stdout.contains("verified"), "{}", ran.stdout);
}
