//! Copying a whole store into an empty one, on any two backends (SQLite to PostgreSQL
//! when a deployment outgrows one machine), and checking that the copy is the same.
//!
//! [`copy_store`] reads the source in one read transaction (one consistent snapshot,
//! while others go on writing) and writes the target in one write transaction: a copy
//! interrupted half way (an error, a kill, a lost connection) leaves the target as it
//! was, empty. The rows go through the target's own [`WriteTx`] (its constraints and
//! derived tables kept as every command keeps them), then every event is appended in
//! order, so the target's log has the same sequence numbers, times, actors and payloads.
//! [`verify_copy`] then compares the two stores row by row and event by event, and
//! checks the invariants on the target.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use time::OffsetDateTime;

use crate::health::invariant_problems;
use crate::store::{ReadTx, Store, StoreResult, WriteTx};
use crate::{
    Consumer, Conversation, Decline, Error, EventKind, Invite, Membership, NewEvent, Organisation, OrganisationId,
    PersonalWorkspace, User, UserId, Workspace,
};

/// How many events one read of the source's log fetches.
const EVENTS_PER_READ: usize = 10_000;

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The target already holds something: a copy only goes into an empty store.
    #[error(
        "the target is not empty: it holds {events} events and {organisations} organisations; copy only into an empty store"
    )]
    TargetNotEmpty {
        /// Events in the target's log.
        events: u64,
        /// Organisations in the target.
        organisations: usize,
    },
    /// Reading the source or writing the target failed; the target is as it was.
    #[error(transparent)]
    Carespace(#[from] Error),
}

/// What a copy wrote, row kind by row kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Counts {
    /// Organisations.
    pub organisations: u64,
    /// Users.
    pub users: u64,
    /// Organisation memberships.
    pub organisation_members: u64,
    /// Shared workspaces.
    pub workspaces: u64,
    /// My Workspaces.
    pub personal_workspaces: u64,
    /// Memberships of shared workspaces.
    pub memberships: u64,
    /// Invites, whatever their status.
    pub invites: u64,
    /// Declined requests on record.
    pub declines: u64,
    /// Conversation headers.
    pub conversations: u64,
    /// Event consumers (R42).
    pub consumers: u64,
    /// Events.
    pub events: u64,
}

/// How far a copy has got, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Rows written so far (every kind but events).
    pub rows: u64,
    /// Events appended so far.
    pub events: u64,
    /// Events in the source's log.
    pub events_total: u64,
}

/// One row of a store, as the copy reads and writes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Row {
    Organisation(String),
    User(String),
    OrganisationMember(OrganisationId, UserId, OffsetDateTime),
    Workspace(String),
    Personal(String),
    Membership(String),
    Invite(String),
    Decline(String),
    Conversation(String),
    Consumer(String),
}

/// Every row of a store, in an order its foreign keys allow (organisations, users, …),
/// each handed to `visit` as the record and as its comparable form.
fn each_row(r: &dyn ReadTx, visit: &mut dyn FnMut(Record<'_>) -> Result<(), Error>) -> Result<(), Error> {
    // The log names every user, invite and declined request there has been.
    let (mut users, mut invites, mut declines) = (Vec::new(), BTreeSet::new(), BTreeSet::new());
    let mut after = 0;
    loop {
        let events = r.events_after(after, EVENTS_PER_READ)?;
        let Some(last) = events.last() else { break };
        after = last.seq;
        for event in &events {
            match &event.kind {
                EventKind::UserRegistered { user, .. } => users.push(*user),
                EventKind::Invited { invite, .. } => {
                    invites.insert(*invite);
                }
                EventKind::JoinDeclined { workspace, user } => {
                    declines.insert((*workspace, *user));
                }
                _ => {}
            }
        }
    }
    let organisations = r.organisations()?;
    for organisation in &organisations {
        visit(Record::Organisation(organisation))?;
    }
    let mut loaded = Vec::with_capacity(users.len());
    for id in users {
        let user = r.user(id)?.ok_or_else(|| missing("user", id))?;
        visit(Record::User(&user))?;
        loaded.push(user);
    }
    let mut personal = Vec::new();
    for user in &loaded {
        for workspace in r.personal_workspaces_of(user.id)? {
            personal.push(workspace);
        }
        for organisation in r.organisations_of(user.id)? {
            // A member's My Workspace was made when they joined (R26).
            let joined_at = r
                .personal_workspace_of(user.id, organisation)?
                .map(|p| p.created_at)
                .ok_or_else(|| missing("My Workspace of an organisation member", user.id))?;
            visit(Record::OrganisationMember(organisation, user.id, joined_at))?;
        }
    }
    let mut shared = Vec::new();
    for organisation in &organisations {
        for workspace in r.workspaces_of(organisation.id)? {
            visit(Record::Workspace(&workspace))?;
            shared.push(workspace);
        }
    }
    for workspace in &personal {
        visit(Record::Personal(workspace))?;
    }
    for workspace in &shared {
        for membership in r.memberships_of_workspace(workspace.id)? {
            visit(Record::Membership(&membership))?;
        }
    }
    for id in invites {
        let invite = r.invite(id)?.ok_or_else(|| missing("invite", id))?;
        visit(Record::Invite(&invite))?;
    }
    for (workspace, user) in declines {
        // A later request may have cleared it.
        if let Some(decline) = r.decline(workspace, user)? {
            visit(Record::Decline(&decline))?;
        }
    }
    for id in shared.iter().map(|w| w.id).chain(personal.iter().map(|p| p.id)) {
        for conversation in r.conversations_of(id)? {
            visit(Record::Conversation(&conversation))?;
        }
    }
    for consumer in r.consumers()? {
        visit(Record::Consumer(&consumer))?;
    }
    Ok(())
}

/// A row as read.
enum Record<'a> {
    Organisation(&'a Organisation),
    User(&'a User),
    OrganisationMember(OrganisationId, UserId, OffsetDateTime),
    Workspace(&'a Workspace),
    Personal(&'a PersonalWorkspace),
    Membership(&'a Membership),
    Invite(&'a Invite),
    Decline(&'a Decline),
    Conversation(&'a Conversation),
    Consumer(&'a Consumer),
}

impl Record<'_> {
    /// Writes it to `w`, counting it.
    fn put(&self, w: &mut dyn WriteTx, counts: &mut Counts) -> StoreResult<()> {
        let (written, count) = match self {
            Self::Organisation(o) => (w.put_organisation(o), &mut counts.organisations),
            Self::User(u) => (w.put_user(u), &mut counts.users),
            Self::OrganisationMember(o, u, at) => {
                (w.add_organisation_member(*o, *u, *at), &mut counts.organisation_members)
            }
            Self::Workspace(ws) => (w.put_workspace(ws), &mut counts.workspaces),
            Self::Personal(p) => (w.put_personal_workspace(p), &mut counts.personal_workspaces),
            Self::Membership(m) => (w.put_membership(m), &mut counts.memberships),
            Self::Invite(i) => (w.put_invite(i), &mut counts.invites),
            Self::Decline(d) => (w.put_decline(d), &mut counts.declines),
            Self::Conversation(c) => (w.put_conversation(c), &mut counts.conversations),
            Self::Consumer(c) => (w.put_consumer(c), &mut counts.consumers),
        };
        written?;
        *count += 1;
        Ok(())
    }

    /// Its comparable form.
    fn row(&self) -> Row {
        match self {
            Self::Organisation(o) => Row::Organisation(format!("{o:?}")),
            Self::User(u) => Row::User(format!("{u:?}")),
            Self::OrganisationMember(o, u, at) => Row::OrganisationMember(*o, *u, *at),
            Self::Workspace(ws) => Row::Workspace(format!("{ws:?}")),
            Self::Personal(p) => Row::Personal(format!("{p:?}")),
            Self::Membership(m) => Row::Membership(format!("{m:?}")),
            Self::Invite(i) => Row::Invite(format!("{i:?}")),
            Self::Decline(d) => Row::Decline(format!("{d:?}")),
            Self::Conversation(c) => Row::Conversation(format!("{c:?}")),
            Self::Consumer(c) => Row::Consumer(format!("{c:?}")),
        }
    }
}

fn missing(what: &str, id: impl std::fmt::Display) -> Error {
    let message = format!("the source's log names a {what} ({id}) its tables do not hold; run `carespace check` on it");
    Error::Storage(crate::StorageError::new(crate::StorageErrorKind::Corrupt, message))
}

/// Copies everything in `from` into the empty store `to`, in one transaction of
/// `to`'s, calling `progress` as it goes. See the [module](self) for what is promised.
///
/// ```
/// use std::sync::Arc;
/// use carespace::{Carespace, MemoryStore, OrganisationKind};
/// use carespace::copy::{copy_store, verify_copy};
/// let (from, to) = (Arc::new(MemoryStore::new()), MemoryStore::new());
/// let service = Carespace::from_arc(from.clone());
/// service.register_organisation("Barts Health NHS Trust".parse()?, OrganisationKind::NhsTrust, None)?;
/// let counts = copy_store(from.as_ref(), &to, &mut |_| {})?;
/// assert_eq!((counts.organisations, counts.events), (1, 1));
/// assert!(verify_copy(from.as_ref(), &to)?.is_empty());
/// // Only into an empty store.
/// assert!(copy_store(from.as_ref(), &to, &mut |_| {}).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn copy_store(from: &dyn Store, to: &dyn Store, progress: &mut dyn FnMut(Progress)) -> Result<Counts, CopyError> {
    let mut outcome: Result<Counts, CopyError> = Ok(Counts::default());
    from.read(&mut |r| {
        let events_total = r.last_event_seq()?;
        let mut refused = None;
        let mut copied = Counts::default();
        let written = to.write(&mut |w| {
            copied = Counts::default();
            let target = w.reader();
            let (events, organisations) = (target.last_event_seq()?, target.organisations()?.len());
            if events > 0 || organisations > 0 || !target.consumers()?.is_empty() {
                refused = Some(CopyError::TargetNotEmpty { events, organisations });
                return Ok(());
            }
            let mut rows = 0;
            each_row(r, &mut |record| {
                record.put(w, &mut copied)?;
                rows += 1;
                if rows % 1_000 == 0 {
                    progress(Progress { rows, events: 0, events_total });
                }
                Ok(())
            })?;
            let mut after = 0;
            loop {
                let batch = r.events_after(after, EVENTS_PER_READ)?;
                let Some(last) = batch.last() else { break };
                after = last.seq;
                for event in batch {
                    let seq = event.seq;
                    let appended = w.append_event(NewEvent { at: event.at, actor: event.actor, kind: event.kind })?;
                    if appended.seq != seq {
                        let message = format!("the target numbered event {seq} as {}", appended.seq);
                        return Err(Error::Storage(crate::StorageError::new(crate::StorageErrorKind::Other, message)));
                    }
                    copied.events += 1;
                }
                progress(Progress { rows, events: copied.events, events_total });
            }
            Ok(())
        });
        outcome = match (written, refused.take()) {
            (Err(error), _) => Err(error.into()),
            (Ok(()), Some(refusal)) => Err(refusal),
            (Ok(()), None) => Ok(copied),
        };
        Ok(())
    })?;
    outcome
}

/// Everything that differs between `from` and its copy `to` (rows, the event log) and
/// every invariant problem of `to`: empty when the copy is faithful. Meant to run with
/// no one writing to either store.
pub fn verify_copy(from: &dyn Store, to: &dyn Store) -> Result<Vec<String>, Error> {
    let rows = |store: &dyn Store| -> Result<BTreeMap<Row, usize>, Error> {
        let mut rows = BTreeMap::new();
        store.read(&mut |r| {
            rows.clear();
            each_row(r, &mut |record| {
                *rows.entry(record.row()).or_insert(0) += 1;
                Ok(())
            })
        })?;
        Ok(rows)
    };
    let (source, target) = (rows(from)?, rows(to)?);
    let mut problems = Vec::new();
    let only_in = |a: &BTreeMap<Row, usize>, b: &BTreeMap<Row, usize>| a.keys().filter(|k| !b.contains_key(k)).count();
    let (missing, extra) = (only_in(&source, &target), only_in(&target, &source));
    if missing > 0 || extra > 0 {
        problems.push(format!(
            "{missing} rows of the source are not in the copy, and {extra} rows of the copy are not in the source"
        ));
    }
    let mut after = 0;
    loop {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        from.read(&mut |r| {
            a = r.events_after(after, EVENTS_PER_READ)?;
            Ok(())
        })?;
        to.read(&mut |r| {
            b = r.events_after(after, EVENTS_PER_READ)?;
            Ok(())
        })?;
        if a != b {
            let at =
                a.iter().zip(&b).find(|(x, y)| x != y).map_or(after + 1 + a.len().min(b.len()) as u64, |(x, _)| x.seq);
            problems.push(format!("the event logs differ from event {at} on"));
            break;
        }
        match a.last() {
            Some(last) => after = last.seq,
            None => break,
        }
    }
    problems.extend(invariant_problems(to, OffsetDateTime::now_utc())?);
    Ok(problems)
}

#[cfg(all(test, feature = "test-suite"))]
mod tests {
    use super::*;
    use crate::testsuite::trust_with_ward;
    use crate::{Carespace, MemoryStore};

    #[test]
    fn a_copy_holds_every_row_and_event_and_a_tampered_one_is_caught() {
        let from = std::sync::Arc::new(MemoryStore::new());
        let service = Carespace::from_arc(from.clone());
        let (_, people, ward) = trust_with_ward(&service, 5);
        service.invite(people[0].id, ward.id, "new@nhs.net".parse().unwrap()).unwrap();
        service.request_to_join(people[1].id, ward.id).unwrap();
        service.decline(people[0].id, ward.id, people[1].id).unwrap();
        service.start_conversation(people[0].id, ward.id).unwrap();
        service.register_consumer(&"emails".parse().unwrap(), crate::ConsumerStart::Beginning).unwrap();
        let to = MemoryStore::new();
        let mut seen = Vec::new();
        let counts = copy_store(from.as_ref(), &to, &mut |p| seen.push(p)).unwrap();
        assert_eq!((counts.users, counts.invites, counts.declines, counts.consumers), (5, 1, 1, 1));
        assert_eq!(counts.events, service.head().unwrap());
        assert_eq!(seen.last().map(|p| (p.events, p.events_total)), Some((counts.events, counts.events)));
        assert_eq!(verify_copy(from.as_ref(), &to).unwrap(), Vec::<String>::new());
        // A change to either side shows.
        service.register_user("late@nhs.net".parse().unwrap(), "Late".parse().unwrap()).unwrap();
        let problems = verify_copy(from.as_ref(), &to).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("1 rows of the source are not in the copy"), "{problems:?}");
        assert!(problems[1].contains("differ from event"), "{problems:?}");
        // Refused into a store that is not empty, writing nothing.
        let before = crate::testsuite::dump(&to);
        assert!(matches!(copy_store(from.as_ref(), &to, &mut |_| {}), Err(CopyError::TargetNotEmpty { .. })));
        assert_eq!(crate::testsuite::dump(&to), before);
    }
}
