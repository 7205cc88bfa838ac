//! The conformance cases of event consumers (R42): positions the store keeps, receiving
//! after them in order until acknowledged, acknowledgements that never go backwards or
//! past the log's end, and a wait that wakes when a later event commits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Harness;
use crate::{ConsumerName, ConsumerStart, Entity, Error, Event, Store};

fn name(s: &str) -> ConsumerName {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// R42: a consumer receives the events after its position, in order, the same ones
/// again until it acknowledges them, and never one it acknowledged; acknowledging
/// appends no event; an acknowledgement behind its position or past the log's end is a
/// typed error that changes nothing.
pub fn r42_consumers_receive_in_order_until_acknowledged(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let emails = name("emails");
    let consumer = h.ok(|s| s.register_consumer(&emails, ConsumerStart::Beginning));
    assert_eq!(consumer.acknowledged, 0);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    h.workspace(&alice, &org, "Maternity - Ward 2");
    let all = h.events();
    assert!(all.len() >= 5, "{all:?}");
    let head = h.ok(|s| s.head());
    assert_eq!(head, all.last().map(|e| e.seq).unwrap_or_default());

    // In order, from the start; the same again while unacknowledged.
    let first = h.ok(|s| s.receive(&emails, 3));
    assert_eq!(first, all[..3]);
    assert_eq!(h.ok(|s| s.receive(&emails, 3)), first);
    // Acknowledging moves the position and appends no event.
    let moved = h.ok(|s| s.acknowledge(&emails, first[1].seq));
    assert_eq!(moved.acknowledged, first[1].seq);
    assert_eq!(h.ok(|s| s.head()), head, "an acknowledgement appended an event");
    assert_eq!(h.ok(|s| s.receive(&emails, 3)), all[2..5]);
    // Acknowledging the position again changes nothing.
    assert_eq!(h.ok(|s| s.acknowledge(&emails, first[1].seq)).acknowledged, first[1].seq);

    // Backwards, or past the end: refused, position kept.
    for seq in [first[0].seq, head + 1, u64::MAX] {
        match h.err(|s| s.acknowledge(&emails, seq)) {
            Error::AcknowledgementOutOfRange { consumer, seq: given, acknowledged, head: end } => {
                assert_eq!((consumer.as_str(), given, acknowledged, end), ("emails", seq, first[1].seq, head));
            }
            other => panic!("acknowledging {seq}: {other:?}"),
        }
        assert_eq!(h.ok(|s| s.consumer(&emails)).acknowledged, first[1].seq);
    }

    // Following the log with acknowledgements returns every later event once.
    let mut received: Vec<Event> = h.ok(|s| s.receive(&emails, 1)).into_iter().collect();
    loop {
        let last = received.last().map(|e| e.seq).unwrap_or_default();
        h.ok(|s| s.acknowledge(&emails, last));
        let next = h.ok(|s| s.receive(&emails, 2));
        if next.is_empty() {
            break;
        }
        assert!(next.iter().all(|e| e.seq > last), "an acknowledged event came back: {next:?}");
        received.extend(next);
    }
    assert_eq!(received, all[2..]);

    // Limits as R43's pages have them.
    for limit in [0, 1001] {
        assert!(matches!(h.err(|s| s.receive(&emails, limit)), Error::InvalidLimit { .. }), "{limit}");
    }
    // An unknown consumer is not found, for each call that names one.
    let unknown = name("nobody");
    for err in
        [h.err(|s| s.receive(&unknown, 10)), h.err(|s| s.acknowledge(&unknown, 1)), h.err(|s| s.consumer(&unknown))]
    {
        assert!(matches!(err, Error::NotFound { entity: Entity::Consumer, .. }), "{err:?}");
    }
    h.check();
}

/// R42: registering is idempotent (a host registers at every start-up), a consumer
/// started at the head receives only what follows, and consumers are listed by name,
/// each with its own position.
pub fn r42_consumers_start_at_the_beginning_or_the_head_and_keep_their_own_positions(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    h.member_of(&org, "Alice", "alice@nhs.net");
    let head = h.ok(|s| s.head());
    let (audit, emails) = (name("audit-export"), name("emails"));
    assert_eq!(h.ok(|s| s.register_consumer(&emails, ConsumerStart::Head)).acknowledged, head);
    assert_eq!(h.ok(|s| s.register_consumer(&audit, ConsumerStart::Beginning)).acknowledged, 0);
    assert!(h.ok(|s| s.receive(&emails, 10)).is_empty());
    let (_, events) = h.events_of(|s| s.register_user("bob@nhs.net".parse()?, "Bob".parse()?));
    assert_eq!(h.ok(|s| s.receive(&emails, 10)), events);
    h.ok(|s| s.acknowledge(&emails, events[0].seq));
    // Registering again returns it as it is, whatever the start asked for.
    for start in [ConsumerStart::Beginning, ConsumerStart::Head] {
        assert_eq!(h.ok(|s| s.register_consumer(&emails, start)).acknowledged, events[0].seq);
    }
    // The other consumer's position is its own.
    assert_eq!(h.ok(|s| s.receive(&audit, 1000)).len() as u64, head + 1);
    let listed: Vec<(String, u64)> =
        h.ok(|s| s.consumers()).into_iter().map(|c| (c.name.to_string(), c.acknowledged)).collect();
    assert_eq!(listed, [("audit-export".to_string(), 0), ("emails".to_string(), events[0].seq)]);
    h.check();
}

/// R42: a wait for an event after the head returns `false` when nothing commits in
/// time, and `true` soon after another thread commits one, well before its timeout.
pub fn r42_a_wait_returns_when_a_later_event_commits(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    h.trust("Trust");
    let head = h.ok(|s| s.head());
    assert!(h.ok(|s| s.wait_for_event(head - 1, Duration::from_secs(10))), "an event already there");
    assert!(!h.ok(|s| s.wait_for_event(head, Duration::from_millis(50))), "nothing committed");

    let service = h.service.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        service.register_user("late@nhs.net".parse()?, "Late".parse()?)
    });
    let started = Instant::now();
    let woke = h.ok(|s| s.wait_for_event(head, Duration::from_secs(10)));
    let waited = started.elapsed();
    writer.join().unwrap_or_else(|_| panic!("the writer panicked")).unwrap_or_else(|e| panic!("{e}"));
    assert!(woke, "the wait timed out");
    // Woken by the commit, not by the timeout nor a slow fallback (PostgreSQL re-reads
    // the log each second should its notifications be lost).
    assert!(waited < Duration::from_millis(900), "woke after {waited:?}");
    assert!(h.ok(|s| s.head()) > head);
}

/// What a child process of the R42 process tests does, chosen by the parent: `"hold"`
/// receives a batch of `emails`, acknowledges its first half, and waits to be killed;
/// `"wait"` waits up to 30 s for an event after the head. Each step is a line on stdout
/// starting with [`CHILD_MARK`].
pub fn r42_child(service: &crate::Carespace, role: &str) {
    let emails = name("emails");
    match role {
        "hold" => {
            let batch = service.receive(&emails, 6).unwrap_or_else(|e| panic!("{e}"));
            let seqs: Vec<String> = batch.iter().map(|e| e.seq.to_string()).collect();
            println!("{CHILD_MARK} received {}", seqs.join(" "));
            let half = batch.get(batch.len() / 2 - 1).map(|e| e.seq).unwrap_or_default();
            service.acknowledge(&emails, half).unwrap_or_else(|e| panic!("{e}"));
            println!("{CHILD_MARK} acknowledged {half}");
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        "wait" => {
            let head = service.head().unwrap_or_else(|e| panic!("{e}"));
            println!("{CHILD_MARK} waiting after {head}");
            let woke = service.wait_for_event(head, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
            println!("{CHILD_MARK} {}", if woke { "woke" } else { "timed out" });
        }
        other => panic!("no child role {other}"),
    }
}

/// The prefix of a child's progress lines.
pub const CHILD_MARK: &str = "R42-CHILD";

/// The environment variable that gives a child its role.
const CHILD_ROLE: &str = "CARESPACE_R42_CHILD_ROLE";

/// The role this process was started with, if it is a child of the R42 process tests.
pub fn r42_child_role() -> Option<String> {
    std::env::var(CHILD_ROLE).ok()
}

/// A child process of the R42 process tests, with the lines it has printed so far.
pub struct Child {
    process: std::process::Child,
    /// The lines so far, and whether its stdout has ended.
    lines: Arc<std::sync::Mutex<(Vec<String>, bool)>>,
}

impl Child {
    /// Takes over `command` (stdout piped) and collects its [`CHILD_MARK`] lines.
    pub fn spawn(mut command: std::process::Command) -> Self {
        use std::io::BufRead;
        let mut process = command
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start a child: {e}"));
        let stdout = process.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let lines = Arc::new(std::sync::Mutex::new((Vec::new(), false)));
        let collected = Arc::clone(&lines);
        std::thread::spawn(move || {
            let lock = || collected.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                // The test harness may print "test … " on the same line first.
                if let Some((_, rest)) = line.split_once(CHILD_MARK) {
                    lock().0.push(rest.trim().to_owned());
                }
            }
            lock().1 = true;
        });
        Self { process, lines }
    }

    /// The running test binary again, as a child in `role` running only its test
    /// `r42_child`, with `store_var` set to `store` (where the child opens the store).
    pub fn of_this_test(role: &str, store_var: &str, store: &std::ffi::OsStr) -> Self {
        let binary = std::env::current_exe().unwrap_or_else(|e| panic!("the test binary: {e}"));
        let mut command = std::process::Command::new(binary);
        command
            .args(["--exact", "r42_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ROLE, role)
            .env(store_var, store)
            .stderr(std::process::Stdio::null());
        Self::spawn(command)
    }

    /// Waits (up to 60 s) for a line starting with `prefix`, and returns it.
    pub fn line(&mut self, prefix: &str) -> String {
        let started = Instant::now();
        loop {
            let (lines, ended) = self.lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
            if let Some(line) = lines.iter().find(|l| l.starts_with(prefix)) {
                return line.clone();
            }
            assert!(!ended, "the child's output ended without “{prefix}”; it printed {lines:?}");
            assert!(started.elapsed() < Duration::from_secs(60), "no “{prefix}” from the child: {lines:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILL, and reaps it.
    pub fn kill(mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// R42, across processes: a consumer killed (SIGKILL) between receiving a batch and
/// acknowledging all of it receives the unacknowledged part again, and never the part
/// it acknowledged. `spawn(role)` starts a child process running [`r42_child`] on the
/// same store as `service`.
pub fn r42_a_consumer_killed_before_acknowledging_receives_the_batch_again(
    service: &crate::Carespace,
    spawn: &dyn Fn(&str) -> Child,
) {
    let emails = name("emails");
    let position =
        service.register_consumer(&emails, ConsumerStart::Head).unwrap_or_else(|e| panic!("{e}")).acknowledged;
    for i in 0..8 {
        service
            .register_user(
                format!("person.{i}@nhs.net").parse().unwrap_or_else(|e| panic!("{e}")),
                "Person".parse().unwrap_or_else(|e| panic!("{e}")),
            )
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut child = spawn("hold");
    let received: Vec<u64> =
        child.line("received").split(' ').skip(1).map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))).collect();
    let acknowledged: u64 = child
        .line("acknowledged")
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no number"));
    child.kill();
    assert_eq!(received, ((position + 1)..=(position + 6)).collect::<Vec<_>>());
    assert_eq!(acknowledged, position + 3);
    let again: Vec<u64> = service.receive(&emails, 3).unwrap_or_else(|e| panic!("{e}")).iter().map(|e| e.seq).collect();
    assert_eq!(again, received[3..], "the unacknowledged half comes again, and only it");
}

/// R42, across processes: two processes waiting for the next event both wake when a
/// third (this one) commits one, long before their 30 s timeout.
pub fn r42_two_waiting_processes_both_wake_on_one_commit(service: &crate::Carespace, spawn: &dyn Fn(&str) -> Child) {
    let mut waiters = [spawn("wait"), spawn("wait")];
    for waiter in &mut waiters {
        waiter.line("waiting");
    }
    // Both are in their wait (or about to be: a commit before it starts is seen by its
    // first read of the head).
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    service
        .register_user(
            "wake.up@nhs.net".parse().unwrap_or_else(|e| panic!("{e}")),
            "Wake".parse().unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    for waiter in &mut waiters {
        assert_eq!(waiter.line("woke").as_str(), "woke");
    }
    assert!(started.elapsed() < Duration::from_secs(10), "woke after {:?}", started.elapsed());
}
