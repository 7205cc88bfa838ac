//! Fuzz target: an arbitrary sequence of commands (sweeps, end dates and audit queries
//! at arbitrary instants among them), by arbitrary actors on arbitrary ids, applied to
//! `MemoryStore` and to an in-memory `SqliteStore` side by side. Nothing
//! panics, both backends give the same outcome kind at every step, and the R25
//! invariants hold on both after every step.
#![no_main]

use carespace::testsuite::WholeLists;
use std::sync::Arc;

use arbitrary::Arbitrary;
use carespace::testsuite::{check_invariants, START};
use carespace::{
    Action, Carespace, Description, DiscoveryFilter, Error, InviteId, ManualClock, MemoryStore, NewWorkspace,
    OrganisationId, OrganisationKind, SettingsChange, Speciality, Store, UserId, WorkspaceId,
};
use carespace_sqlite::SqliteStore;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Cmd {
    Org { name: String, kind: u8, ods: Option<String> },
    User { email: String, name: String },
    JoinOrg { actor: u8, org: u8 },
    Create { actor: u8, org: u8, name: String, speciality: u16, description: String },
    Example { actor: u8, org: u8, speciality: u16 },
    Request { actor: u8, ws: u8 },
    Approve { actor: u8, ws: u8, target: u8 },
    Decline { actor: u8, ws: u8, target: u8 },
    Archive { actor: u8, ws: u8, target: u8 },
    Unarchive { actor: u8, ws: u8, target: u8 },
    Promote { actor: u8, ws: u8, target: u8 },
    Demote { actor: u8, ws: u8, target: u8 },
    Invite { actor: u8, ws: u8, email: String },
    Accept { actor: u8, invite: u8 },
    Revoke { actor: u8, invite: u8 },
    Leave { actor: u8, ws: u8 },
    Settings { actor: u8, ws: u8, name: Option<String>, description: Option<String> },
    Start { actor: u8, ws: u8 },
    Read { actor: u8, ws: u8, org: u8, action: u8 },
    Advance { hours: u16 },
    SetEnd { actor: u8, ws: u8, target: u8, hours: Option<i32> },
    Sweep { hours: i32 },
    Audit { actor: u8, ws: u8, hours: i32 },
}

struct Side {
    service: Carespace,
    store: Arc<dyn Store>,
    clock: ManualClock,
    orgs: Vec<OrganisationId>,
    users: Vec<UserId>,
    places: Vec<WorkspaceId>,
    invites: Vec<InviteId>,
}

fn at<T: Copy>(list: &[T], i: u8, unknown: T) -> T {
    list.get(i as usize % (list.len() + 1)).copied().unwrap_or(unknown)
}

impl Side {
    fn new(store: Arc<dyn Store>) -> Self {
        let clock = ManualClock::new(START);
        let service = Carespace::from_arc(store.clone()).with_clock(clock.clone());
        Self { service, store, clock, orgs: vec![], users: vec![], places: vec![], invites: vec![] }
    }
    fn u(&self, i: u8) -> UserId {
        at(&self.users, i, UserId::from_uuid(uuid_nil()))
    }
    fn o(&self, i: u8) -> OrganisationId {
        at(&self.orgs, i, OrganisationId::from_uuid(uuid_nil()))
    }
    fn w(&self, i: u8) -> WorkspaceId {
        at(&self.places, i, WorkspaceId::from_uuid(uuid_nil()))
    }
    fn i(&self, i: u8) -> InviteId {
        at(&self.invites, i, InviteId::from_uuid(uuid_nil()))
    }

    /// The clock's time moved by `hours` (either way).
    fn shifted(&self, hours: i32) -> time::OffsetDateTime {
        carespace::Clock::now(&self.clock).saturating_add(time::Duration::hours(i64::from(hours)))
    }

    /// Runs one command; returns its outcome kind ("ok" or the error's variant).
    fn run(&mut self, cmd: &Cmd) -> String {
        let s = self.service.clone();
        let result: Result<(), Error> = (|| {
            match cmd {
                Cmd::Org { name, kind, ods } => {
                    let kind = OrganisationKind::ALL[*kind as usize % 4];
                    let ods = ods.as_deref().map(str::parse).transpose()?;
                    self.orgs.push(s.register_organisation(name.parse()?, kind, ods)?.id);
                }
                Cmd::User { email, name } => self.users.push(s.register_user(email.parse()?, name.parse()?)?.id),
                Cmd::JoinOrg { actor, org } => self.places.push(s.join_organisation(self.u(*actor), self.o(*org))?.id),
                Cmd::Create { actor, org, name, speciality, description } => {
                    let new = NewWorkspace {
                        name: name.parse()?,
                        speciality: Speciality::from_code(*speciality)?,
                        description: description.parse::<Description>()?,
                    };
                    self.places.push(s.create_workspace(self.u(*actor), self.o(*org), new)?.workspace.id);
                }
                Cmd::Example { actor, org, speciality } => {
                    let joined = s.join_example(self.u(*actor), self.o(*org), Speciality::from_code(*speciality)?)?;
                    self.places.push(joined.workspace.id);
                }
                Cmd::Request { actor, ws } => drop(s.request_to_join(self.u(*actor), self.w(*ws))?),
                Cmd::Approve { actor, ws, target } => drop(s.approve(self.u(*actor), self.w(*ws), self.u(*target))?),
                Cmd::Decline { actor, ws, target } => s.decline(self.u(*actor), self.w(*ws), self.u(*target))?,
                Cmd::Archive { actor, ws, target } => drop(s.archive_member(self.u(*actor), self.w(*ws), self.u(*target))?),
                Cmd::Unarchive { actor, ws, target } => {
                    drop(s.unarchive_member(self.u(*actor), self.w(*ws), self.u(*target))?)
                }
                Cmd::Promote { actor, ws, target } => drop(s.promote(self.u(*actor), self.w(*ws), self.u(*target))?),
                Cmd::Demote { actor, ws, target } => drop(s.demote(self.u(*actor), self.w(*ws), self.u(*target))?),
                Cmd::Invite { actor, ws, email } => self.invites.push(s.invite(self.u(*actor), self.w(*ws), email.parse()?)?.id),
                Cmd::Accept { actor, invite } => drop(s.accept_invite(self.u(*actor), self.i(*invite))?),
                Cmd::Revoke { actor, invite } => drop(s.revoke_invite(self.u(*actor), self.i(*invite))?),
                Cmd::Leave { actor, ws } => drop(s.leave(self.u(*actor), self.w(*ws))?),
                Cmd::Settings { actor, ws, name, description } => {
                    let change = SettingsChange {
                        name: name.as_deref().map(str::parse).transpose()?,
                        speciality: None,
                        description: description.as_deref().map(str::parse).transpose()?,
                    };
                    drop(s.update_settings(self.u(*actor), self.w(*ws), change)?);
                }
                Cmd::Start { actor, ws } => drop(s.start_conversation(self.u(*actor), self.w(*ws))?),
                Cmd::Read { actor, ws, org, action } => {
                    let (u, w) = (self.u(*actor), self.w(*ws));
                    let _ = s.can(u, w, Action::ALL[*action as usize % Action::ALL.len()]);
                    let _ = s.conversations(u, w);
                    let _ = s.members_all(u, w);
                    let _ = s.my_workspaces(u);
                    let _ = s.pending_requests_all(u);
                    let _ = s.invites_for_me(u);
                    let _ = s.signature(w);
                    s.discover_all(u, self.o(*org), &DiscoveryFilter::default())?;
                }
                Cmd::Advance { hours } => self.clock.advance(time::Duration::hours(i64::from(*hours))),
                Cmd::SetEnd { actor, ws, target, hours } => {
                    let ends_at = hours.map(|h| self.shifted(h));
                    drop(s.set_membership_end(self.u(*actor), self.w(*ws), self.u(*target), ends_at)?);
                }
                Cmd::Sweep { hours } => drop(s.sweep(self.shifted(*hours))?),
                Cmd::Audit { actor, ws, hours } => {
                    let at = self.shifted(*hours);
                    let _ = s.viewers_at(self.w(*ws), at);
                    let _ = s.workspaces_visible_at(self.u(*actor), at);
                    s.membership_history_all(self.w(*ws))?;
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("{e:?}").split([' ', '(', '{']).next().unwrap_or_default().to_owned(),
        }
    }
}

fn uuid_nil() -> uuid::Uuid {
    uuid::Uuid::nil()
}

fuzz_target!(|cmds: Vec<Cmd>| {
    let mut memory = Side::new(Arc::new(MemoryStore::new()));
    let mut sqlite = Side::new(Arc::new(SqliteStore::open_in_memory().expect("an in-memory database")));
    for cmd in cmds.iter().take(64) {
        let a = memory.run(cmd);
        let b = sqlite.run(cmd);
        assert_eq!(a, b, "{cmd:?}");
        for side in [&memory, &sqlite] {
            let now = carespace::Clock::now(&side.clock);
            if let Err(problem) = check_invariants(side.store.as_ref(), now) {
                panic!("after {cmd:?}: {problem}");
            }
        }
    }
});
