//! Model-based property test (issues 4 and 8): random sequences of every command, with random
//! actors (including ones not allowed, unknown ids, invalid emails and names, and clock
//! advances that expire invites and cool-downs), applied in lock-step to the reference
//! model in `model/`, to `MemoryStore` and to `SqliteStore`. After every step: the same
//! outcome (value or error kind) from all three, the same events, the same observable
//! state (switcher, discovery, members, visible conversations, pending requests,
//! invites), and the R25 invariants on both stores. At the end of a sequence, the
//! point-in-time queries (R37) at every instant the sequence passed through must give
//! the state the model had then.
//!
//! `PROPTEST_CASES` sets the number of cases (256 by default); failures shrink to a
//! minimal sequence and are kept in `proptest-regressions/`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code: a panic is a failed test

mod model;

use std::collections::HashMap;
use std::sync::Arc;

use carespace::page::{Page, PageRequest};
use carespace::testsuite::{START, check_invariants, check_narrow_reads};
use carespace::{
    Action, ArchiveReason, Carespace, ConversationId, Description, DiscoveryEntry, DiscoveryFilter, Error, Event,
    EventKind, InviteId, ManualClock, MemoryStore, NameWarning, NewWorkspace, OrganisationId, OrganisationKind, Policy,
    SettingsChange, Speciality, Store, SwitcherEntry, UserId, WorkspaceId,
};
use carespace_sqlite::SqliteStore;
use model::{DESCRIPTIONS, EMAILS, KINDS, Model, ODS, ORG_NAMES, Out, SPECIALITIES, WS_NAMES};
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use time::Duration;

#[derive(Debug, Clone)]
enum Cmd {
    RegisterOrganisation { name: usize, kind: usize, ods: usize },
    RegisterUser { email: usize },
    JoinOrganisation { actor: u8, org: u8 },
    CreateWorkspace { actor: u8, org: u8, name: usize, speciality: usize },
    JoinExample { actor: u8, org: u8, speciality: usize },
    RequestToJoin { actor: u8, place: u8 },
    MemberOp { op: usize, actor: u8, place: u8, target: u8 },
    Invite { actor: u8, place: u8, email: usize },
    Accept { actor: u8, invite: u8 },
    Revoke { actor: u8, invite: u8 },
    Leave { actor: u8, place: u8 },
    Settings { actor: u8, place: u8, name: Option<usize>, speciality: Option<usize>, description: Option<usize> },
    Start { actor: u8, place: u8 },
    Can { actor: u8, place: u8, action: usize },
    Signature { place: u8 },
    Advance { hours: i64 },
    SetEnd { actor: u8, place: u8, target: u8, hours: Option<i64> },
    Sweep,
}

/// Every case starts from this world, so that random steps mostly meet real people and
/// workspaces: a trust (o0) and a GP practice (o1); users u0–u4 in the trust, u3 also in
/// the practice (My Workspaces p0–p5); "Ward 1" (p6) with u0 as admin, u1 approved and
/// u2 waiting for approval. Indices follow `pick`: `k` names entity `k` while `k < len`.
fn seed() -> Vec<Cmd> {
    let mut cmds = vec![
        Cmd::RegisterOrganisation { name: 0, kind: 0, ods: 1 },
        Cmd::RegisterOrganisation { name: 2, kind: 2, ods: 0 },
    ];
    cmds.extend((0..5).map(|email| Cmd::RegisterUser { email }));
    cmds.extend((0..5).map(|actor| Cmd::JoinOrganisation { actor, org: 0 }));
    cmds.push(Cmd::JoinOrganisation { actor: 3, org: 1 });
    cmds.push(Cmd::CreateWorkspace { actor: 0, org: 0, name: 0, speciality: 0 });
    cmds.push(Cmd::RequestToJoin { actor: 1, place: 6 });
    cmds.push(Cmd::MemberOp { op: 0, actor: 0, place: 6, target: 1 });
    cmds.push(Cmd::RequestToJoin { actor: 2, place: 6 });
    cmds
}

const MEMBER_OPS: [&str; 6] = ["Approve", "Decline", "ArchiveMember", "UnarchiveMember", "Promote", "Demote"];

/// Resolves a random index against `len` existing entities: `None` (an unknown id) one
/// time in `len + 1`.
fn pick(idx: u8, len: usize) -> Option<usize> {
    let i = idx as usize % (len + 1);
    (i < len).then_some(i)
}

#[derive(Debug, Clone)]
struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Cmd;

    fn init_state() -> BoxedStrategy<Model> {
        any::<bool>()
            .prop_map(|members_approve| {
                let mut m = Model { members_approve, ..Model::default() };
                for cmd in seed() {
                    m = Reference::apply(m, &cmd);
                    assert!(matches!(m.last, Out::Ok(_)), "seed step {cmd:?}: {:?}", m.last);
                }
                m.events.clear();
                m
            })
            .boxed()
    }

    fn transitions(m: &Model) -> BoxedStrategy<Cmd> {
        // Mostly aim where something can happen (a current member in their workspace, a
        // shared workspace, an invite and its addressee); sometimes anywhere at all.
        let i = || any::<u8>().boxed();
        let members: Vec<(u8, u8)> = m
            .states
            .iter()
            .filter(|(_, s)| **s != model::St::Archived)
            .map(|((p, u), _)| (*p as u8, *u as u8))
            .collect();
        let shared: Vec<u8> = (0..m.places.len())
            .filter(|&p| matches!(m.places[p], model::Place::Shared { .. }))
            .map(|p| p as u8)
            .collect();
        let addressed: Vec<(u8, u8)> = (0..m.invites.len())
            .filter_map(|k| {
                let person = m.invites[k].person;
                (0..m.users.len()).find(|&u| m.users[u].person == person).map(|u| (k as u8, u as u8))
            })
            .collect();
        let senders: Vec<(u8, u8)> = (0..m.invites.len()).map(|k| (k as u8, m.invites[k].by as u8)).collect();
        let focus = |pairs: Vec<(u8, u8)>| -> BoxedStrategy<(u8, u8)> {
            if pairs.is_empty() {
                (i(), i()).boxed()
            } else {
                prop_oneof![4 => proptest::sample::select(pairs), 1 => (i(), i())].boxed()
            }
        };
        let place =
            if shared.is_empty() { i() } else { prop_oneof![3 => proptest::sample::select(shared), 1 => i()].boxed() };
        let in_place = focus(members);
        let in_place_end = in_place.clone();
        prop_oneof![
            1 => (0..ORG_NAMES.len(), 0..KINDS.len(), 0..ODS.len()).prop_map(|(name, kind, ods)| Cmd::RegisterOrganisation { name, kind, ods }),
            2 => (0..EMAILS.len()).prop_map(|email| Cmd::RegisterUser { email }),
            2 => (i(), i()).prop_map(|(actor, org)| Cmd::JoinOrganisation { actor, org }),
            3 => (i(), i(), 0..WS_NAMES.len(), 0..SPECIALITIES.len())
                .prop_map(|(actor, org, name, speciality)| Cmd::CreateWorkspace { actor, org, name, speciality }),
            2 => (i(), i(), 0..SPECIALITIES.len()).prop_map(|(actor, org, speciality)| Cmd::JoinExample { actor, org, speciality }),
            4 => (i(), place.clone()).prop_map(|(actor, place)| Cmd::RequestToJoin { actor, place }),
            10 => (0..MEMBER_OPS.len(), in_place.clone(), i()).prop_map(|(op, (place, actor), target)| Cmd::MemberOp { op, actor, place, target }),
            4 => (in_place.clone(), 0..EMAILS.len()).prop_map(|((place, actor), email)| Cmd::Invite { actor, place, email }),
            3 => focus(addressed.clone()).prop_map(|(invite, actor)| Cmd::Accept { actor, invite }),
            2 => focus(senders).prop_map(|(invite, actor)| Cmd::Revoke { actor, invite }),
            3 => in_place.clone().prop_map(|(place, actor)| Cmd::Leave { actor, place }),
            2 => (in_place.clone(), proptest::option::of(0..WS_NAMES.len()), proptest::option::of(0..SPECIALITIES.len()), proptest::option::of(0..DESCRIPTIONS.len()))
                .prop_map(|((place, actor), name, speciality, description)| Cmd::Settings { actor, place, name, speciality, description }),
            3 => prop_oneof![in_place.clone(), (i(), i())].prop_map(|(place, actor)| Cmd::Start { actor, place }),
            1 => (prop_oneof![in_place, (i(), i())], 0..Action::ALL.len()).prop_map(|((place, actor), action)| Cmd::Can { actor, place, action }),
            1 => place.prop_map(|place| Cmd::Signature { place }),
            2 => prop_oneof![Just(1i64), Just(24), Just(3 * 24), Just(7 * 24), Just(15 * 24)].prop_map(|hours| Cmd::Advance { hours }),
            3 => (in_place_end, i(), proptest::option::of(proptest::sample::select(vec![-1i64, 0, 1, 24, 3 * 24, 7 * 24, 8 * 24, 30 * 24])))
                .prop_map(|((place, actor), target, hours)| Cmd::SetEnd { actor, place, target, hours }),
            3 => Just(Cmd::Sweep),
        ]
        .boxed()
    }

    fn apply(mut m: Model, cmd: &Cmd) -> Model {
        m.events.clear();
        let (nu, no, np, ni) = (m.users.len(), m.orgs.len(), m.places.len(), m.invites.len());
        let result = match *cmd {
            Cmd::RegisterOrganisation { name, kind, ods } => m.register_organisation(name, kind, ods),
            Cmd::RegisterUser { email } => m.register_user(email),
            Cmd::JoinOrganisation { actor, org } => m.join_organisation(pick(actor, nu), pick(org, no)),
            Cmd::CreateWorkspace { actor, org, name, speciality } => {
                m.create_workspace(pick(actor, nu), pick(org, no), name, speciality)
            }
            Cmd::JoinExample { actor, org, speciality } => m.join_example(pick(actor, nu), pick(org, no), speciality),
            Cmd::RequestToJoin { actor, place } => m.request_to_join(pick(actor, nu), pick(place, np)),
            Cmd::MemberOp { op, actor, place, target } => {
                m.member_op(MEMBER_OPS[op], pick(actor, nu), pick(place, np), pick(target, nu))
            }
            Cmd::Invite { actor, place, email } => m.invite(pick(actor, nu), pick(place, np), email),
            Cmd::Accept { actor, invite } => m.accept(pick(actor, nu), pick(invite, ni)),
            Cmd::Revoke { actor, invite } => m.revoke_invite(pick(actor, nu), pick(invite, ni)),
            Cmd::Leave { actor, place } => m.leave(pick(actor, nu), pick(place, np)),
            Cmd::Settings { actor, place, name, speciality, description } => {
                m.update_settings(pick(actor, nu), pick(place, np), name, speciality, description)
            }
            Cmd::Start { actor, place } => m.start(pick(actor, nu), pick(place, np)),
            Cmd::Can { actor, place, action } => m.can(pick(actor, nu), pick(place, np), action_name(action)),
            Cmd::Signature { place } => m.signature(pick(place, np)),
            Cmd::Advance { hours } => {
                m.now += hours;
                Ok(String::new())
            }
            Cmd::SetEnd { actor, place, target, hours } => {
                m.set_end(pick(actor, nu), pick(place, np), pick(target, nu), hours)
            }
            Cmd::Sweep => m.sweep(),
        };
        m.last = match result {
            Ok(v) => Out::Ok(v),
            Err(e) => Out::Err(e),
        };
        m.events.sort();
        m.snapshot();
        m
    }
}

fn action_name(i: usize) -> &'static str {
    model::actions()[i]
}

/// One backend under test, with the ids it has handed out in creation order (the
/// model's indices).
struct Backend {
    name: &'static str,
    service: Carespace,
    store: Arc<dyn Store>,
    clock: ManualClock,
    orgs: Vec<OrganisationId>,
    users: Vec<UserId>,
    places: Vec<WorkspaceId>,
    invites: Vec<InviteId>,
    convs: Vec<ConversationId>,
    seen: u64,
}

const UNKNOWN: uuid::Uuid = uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);

fn person_of(email: &str) -> usize {
    (0..6).find(|&n| model::canonical_email(n) == email).expect("a pool address")
}

impl Backend {
    fn new(name: &'static str, store: Arc<dyn Store>, members_approve: bool) -> Self {
        let clock = ManualClock::new(START);
        let policy = if members_approve {
            Policy::default().with_approvers(carespace::Approvers::ApprovedMembers)
        } else {
            Policy::default()
        };
        let service = Carespace::from_arc(store.clone()).with_clock(clock.clone()).with_policy(policy);
        Self {
            name,
            service,
            store,
            clock,
            orgs: vec![],
            users: vec![],
            places: vec![],
            invites: vec![],
            convs: vec![],
            seen: 0,
        }
    }

    fn user(&self, i: u8) -> UserId {
        pick(i, self.users.len()).map_or(UserId::from_uuid(UNKNOWN), |i| self.users[i])
    }
    fn org(&self, i: u8) -> OrganisationId {
        pick(i, self.orgs.len()).map_or(OrganisationId::from_uuid(UNKNOWN), |i| self.orgs[i])
    }
    fn place(&self, i: u8) -> WorkspaceId {
        pick(i, self.places.len()).map_or(WorkspaceId::from_uuid(UNKNOWN), |i| self.places[i])
    }
    fn invite(&self, i: u8) -> InviteId {
        pick(i, self.invites.len()).map_or(InviteId::from_uuid(UNKNOWN), |i| self.invites[i])
    }

    fn ix<T: PartialEq + std::fmt::Debug>(list: &[T], id: &T) -> usize {
        list.iter().position(|x| x == id).unwrap_or_else(|| panic!("unmapped id {id:?}"))
    }
    fn u(&self, id: UserId) -> String {
        format!("u{}", Self::ix(&self.users, &id))
    }
    fn p(&self, id: WorkspaceId) -> String {
        format!("p{}", Self::ix(&self.places, &id))
    }
    fn o(&self, id: OrganisationId) -> String {
        format!("o{}", Self::ix(&self.orgs, &id))
    }
    fn i(&self, id: InviteId) -> String {
        format!("i{}", Self::ix(&self.invites, &id))
    }

    /// Users as the model lists them: by index, comma-separated.
    fn users_list(&self, users: &[UserId]) -> String {
        let mut ix: Vec<usize> = users.iter().map(|x| Self::ix(&self.users, x)).collect();
        ix.sort();
        ix.iter().map(|x| format!("u{x}")).collect::<Vec<_>>().join(",")
    }

    /// Registers the ids new events introduce, then describes each event as the model does.
    fn take_events(&mut self) -> Vec<String> {
        let events: Vec<Event> = self.service.events_since(self.seen, carespace::MAX_EVENT_PAGE).unwrap();
        let mut out = Vec::new();
        for e in events {
            assert_eq!(e.seq, self.seen + 1, "{}: gap in the log", self.name);
            self.seen = e.seq;
            match &e.kind {
                EventKind::OrganisationRegistered { organisation } => self.orgs.push(*organisation),
                EventKind::UserRegistered { user, .. } => self.users.push(*user),
                EventKind::OrganisationJoined { my_workspace, .. } => self.places.push(*my_workspace),
                EventKind::WorkspaceCreated { workspace, .. } => self.places.push(*workspace),
                EventKind::Invited { invite, refreshed: false, .. } => self.invites.push(*invite),
                EventKind::ConversationStarted { conversation, .. } => self.convs.push(*conversation),
                _ => {}
            }
            out.push(self.describe(&e.kind));
        }
        out.sort();
        out
    }

    fn describe(&self, kind: &EventKind) -> String {
        match kind {
            EventKind::OrganisationRegistered { organisation } => {
                format!("organisation_registered {}", self.o(*organisation))
            }
            EventKind::UserRegistered { user, email } => {
                format!("user_registered {} e{}", self.u(*user), person_of(email.as_str()))
            }
            EventKind::OrganisationJoined { organisation, user, my_workspace } => {
                format!("organisation_joined {} {} {}", self.o(*organisation), self.u(*user), self.p(*my_workspace))
            }
            EventKind::WorkspaceCreated { workspace, organisation, speciality, from_example, .. } => format!(
                "workspace_created {} {} s{} example={from_example}",
                self.p(*workspace),
                self.o(*organisation),
                speciality.code()
            ),
            EventKind::JoinRequested { workspace, user, approvers } => {
                format!(
                    "join_requested {} {} approvers=[{}]",
                    self.p(*workspace),
                    self.u(*user),
                    self.users_list(approvers)
                )
            }
            EventKind::JoinApproved { workspace, user } => {
                format!("join_approved {} {}", self.p(*workspace), self.u(*user))
            }
            EventKind::JoinDeclined { workspace, user } => {
                format!("join_declined {} {}", self.p(*workspace), self.u(*user))
            }
            EventKind::Invited { invite, workspace, email, refreshed, .. } => format!(
                "invited {} {} e{} refreshed={refreshed}",
                self.i(*invite),
                self.p(*workspace),
                person_of(email.as_str())
            ),
            EventKind::InviteAccepted { invite, workspace, user } => {
                format!("invite_accepted {} {} {}", self.i(*invite), self.p(*workspace), self.u(*user))
            }
            EventKind::InviteRevoked { invite, workspace, email } => {
                format!("invite_revoked {} {} e{}", self.i(*invite), self.p(*workspace), person_of(email.as_str()))
            }
            EventKind::InviteExpired { invite, workspace, email } => {
                format!("invite_expired {} {} e{}", self.i(*invite), self.p(*workspace), person_of(email.as_str()))
            }
            EventKind::MemberLeft { workspace, user } => {
                format!("member_left {} {}", self.p(*workspace), self.u(*user))
            }
            EventKind::WorkspaceArchived { workspace } => format!("workspace_archived {}", self.p(*workspace)),
            EventKind::MemberArchived { workspace, user, reason } => {
                let reason = match reason {
                    ArchiveReason::ByAdmin => "ByAdmin",
                    ArchiveReason::MembershipEnded => "MembershipEnded",
                };
                format!("member_archived {} {} {reason}", self.p(*workspace), self.u(*user))
            }
            EventKind::MemberUnarchived { workspace, user } => {
                format!("member_unarchived {} {}", self.p(*workspace), self.u(*user))
            }
            EventKind::RoleChanged { workspace, user, role } => {
                format!("role_changed {} {} {role:?}", self.p(*workspace), self.u(*user))
            }
            EventKind::SettingsChanged { workspace, name, speciality, description } => format!(
                "settings_changed {} {:?} {:?} {:?}",
                self.p(*workspace),
                name.as_ref().map(|n| n.to_string()),
                speciality.map(|s| s.code()),
                description.as_ref().map(|d| d.to_string())
            ),
            EventKind::MyWorkspaceArchived { workspace, organisation, user } => {
                format!("my_workspace_archived {} {} {}", self.p(*workspace), self.o(*organisation), self.u(*user))
            }
            EventKind::MyWorkspaceReactivated { workspace, organisation, user } => {
                format!("my_workspace_reactivated {} {} {}", self.p(*workspace), self.o(*organisation), self.u(*user))
            }
            EventKind::ConversationStarted { conversation, workspace, user } => format!(
                "conversation_started c{} {} {}",
                Self::ix(&self.convs, conversation),
                self.p(*workspace),
                self.u(*user)
            ),
            EventKind::MembershipEndChanged { workspace, user, ends_at, previous } => format!(
                "membership_end_changed {} {} ends={:?} previous={:?}",
                self.p(*workspace),
                self.u(*user),
                ends_at.map(hours),
                previous.map(hours)
            ),
            EventKind::MembershipEndingSoon { workspace, user, ends_at, admins } => format!(
                "membership_ending_soon {} {} ends={} admins=[{}]",
                self.p(*workspace),
                self.u(*user),
                hours(*ends_at),
                self.users_list(admins)
            ),
            EventKind::LastAdminKept { workspace, user, ends_at } => {
                format!("last_admin_kept {} {} ends={}", self.p(*workspace), self.u(*user), hours(*ends_at))
            }
            EventKind::JoinRequestEscalated { workspace, user, requested_at, approvers, escalated_to } => format!(
                "join_request_escalated {} {} requested={} approvers=[{}] to=[{}]",
                self.p(*workspace),
                self.u(*user),
                hours(*requested_at),
                self.users_list(approvers),
                self.users_list(escalated_to)
            ),
            other => panic!("event the model does not know: {other:?}"),
        }
    }
}

/// An instant as the model counts time: whole hours since [`START`].
fn hours(at: time::OffsetDateTime) -> i64 {
    (at - START).whole_hours()
}

fn kind(e: &Error) -> String {
    match e {
        Error::InvalidEmail(_) => "InvalidEmail".into(),
        Error::InvalidText(_) => "InvalidText".into(),
        Error::UnknownSpeciality { .. } => "UnknownSpeciality".into(),
        Error::NotFound { entity, .. } => format!("NotFound({entity:?})"),
        Error::Forbidden { action, .. } => format!("Forbidden({action:?})"),
        other => {
            let debug = format!("{other:?}");
            debug.split([' ', '(', '{']).next().unwrap_or_default().to_owned()
        }
    }
}

fn warnings(w: &[NameWarning]) -> String {
    let names: Vec<&str> = w
        .iter()
        .map(|w| match w {
            NameWarning::OrganisationName => "organisation_name",
            NameWarning::TooGeneric { .. } => "too_generic",
        })
        .collect();
    format!("[{}]", names.join(","))
}

/// Runs a command on one backend; returns its outcome (described once the new events'
/// ids are known) and its events.
fn run(b: &mut Backend, cmd: &Cmd) -> (Out, Vec<String>) {
    let s = b.service.clone();
    // Each arm returns the raw result and a describer run after the events are mapped.
    type Describe = Box<dyn FnOnce(&Backend) -> String>;
    let result: Result<Describe, Error> = (|| -> Result<Describe, Error> {
        Ok(match *cmd {
            Cmd::RegisterOrganisation { name, kind, ods } => {
                let name = ORG_NAMES[name].0.parse()?;
                let ods = match ODS[ods].0 {
                    "" => None,
                    code => Some(code.parse()?),
                };
                let kind = OrganisationKind::ALL[KINDS[kind]];
                let o = s.register_organisation(name, kind, ods)?;
                Box::new(move |b| b.o(o.id))
            }
            Cmd::RegisterUser { email } => {
                let email = EMAILS[email].0.parse()?;
                let person = person_of(&carespace::NhsEmail::to_string(&email));
                let u = s.register_user(email, format!("User {person}").parse()?)?;
                Box::new(move |b| b.u(u.id))
            }
            Cmd::JoinOrganisation { actor, org } => {
                let p = s.join_organisation(b.user(actor), b.org(org))?;
                Box::new(move |b| b.p(p.id))
            }
            Cmd::CreateWorkspace { actor, org, name, speciality } => {
                let name = WS_NAMES[name].0.parse()?;
                let speciality = Speciality::from_code(SPECIALITIES[speciality].0)?;
                let out = s.create_workspace(
                    b.user(actor),
                    b.org(org),
                    NewWorkspace { name, speciality, description: Description::default() },
                )?;
                Box::new(move |b| format!("{} {}", b.p(out.workspace.id), warnings(&out.warnings)))
            }
            Cmd::JoinExample { actor, org, speciality } => {
                let speciality = Speciality::from_code(SPECIALITIES[speciality].0)?;
                let j = s.join_example(b.user(actor), b.org(org), speciality)?;
                Box::new(move |b| format!("{:?} {} {:?}", j.outcome, b.p(j.workspace.id), j.membership.state))
            }
            Cmd::RequestToJoin { actor, place } => {
                let j = s.request_to_join(b.user(actor), b.place(place))?;
                Box::new(move |b| format!("{:?} {} {:?}", j.outcome, b.p(j.workspace.id), j.membership.state))
            }
            Cmd::MemberOp { op, actor, place, target } => {
                let (a, p, t) = (b.user(actor), b.place(place), b.user(target));
                let state = match MEMBER_OPS[op] {
                    "Approve" => format!("{:?}", s.approve(a, p, t)?.state),
                    "Decline" => s.decline(a, p, t).map(|()| "declined".to_owned())?,
                    "ArchiveMember" => format!("{:?}", s.archive_member(a, p, t)?.state),
                    "UnarchiveMember" => format!("{:?}", s.unarchive_member(a, p, t)?.state),
                    "Promote" => format!("{:?}", s.promote(a, p, t)?.state),
                    _ => format!("{:?}", s.demote(a, p, t)?.state),
                };
                Box::new(move |_| state)
            }
            Cmd::Invite { actor, place, email } => {
                let email = EMAILS[email].0.parse()?;
                let i = s.invite(b.user(actor), b.place(place), email)?;
                Box::new(move |b| b.i(i.id))
            }
            Cmd::Accept { actor, invite } => {
                let j = s.accept_invite(b.user(actor), b.invite(invite))?;
                Box::new(move |b| format!("{:?} {} {:?}", j.outcome, b.p(j.workspace.id), j.membership.state))
            }
            Cmd::Revoke { actor, invite } => {
                let i = s.revoke_invite(b.user(actor), b.invite(invite))?;
                Box::new(move |_| format!("{:?}", i.status))
            }
            Cmd::Leave { actor, place } => {
                let left = s.leave(b.user(actor), b.place(place))?;
                Box::new(move |_| format!("archived={}", left.workspace_archived))
            }
            Cmd::Settings { actor, place, name, speciality, description } => {
                let change = SettingsChange {
                    name: name.map(|n| WS_NAMES[n].0.parse()).transpose()?,
                    speciality: speciality.map(|c| Speciality::from_code(SPECIALITIES[c].0)).transpose()?,
                    description: description.map(|d| DESCRIPTIONS[d].parse()).transpose()?,
                };
                let out = s.update_settings(b.user(actor), b.place(place), change)?;
                Box::new(move |b| format!("{} {}", b.p(out.workspace.id), warnings(&out.warnings)))
            }
            Cmd::Start { actor, place } => {
                let c = s.start_conversation(b.user(actor), b.place(place))?;
                Box::new(move |b| format!("c{}", Backend::ix(&b.convs, &c.id)))
            }
            Cmd::Can { actor, place, action } => {
                let yes = s.can(b.user(actor), b.place(place), Action::ALL[action])?;
                Box::new(move |_| yes.to_string())
            }
            Cmd::Signature { place } => {
                let sig = s.signature(b.place(place))?;
                Box::new(move |_| sig)
            }
            Cmd::Advance { hours } => {
                b.clock.advance(Duration::hours(hours));
                Box::new(|_| String::new())
            }
            Cmd::SetEnd { actor, place, target, hours: h } => {
                let ends_at = h.map(|h| carespace::Clock::now(&b.clock) + Duration::hours(h));
                let m = s.set_membership_end(b.user(actor), b.place(place), b.user(target), ends_at)?;
                Box::new(move |_| format!("{:?} ends={:?}", m.state, m.ends_at.map(hours)))
            }
            Cmd::Sweep => {
                let w = s.sweep(carespace::Clock::now(&b.clock))?;
                Box::new(move |_| {
                    format!(
                        "expired={} escalated={} reminded={} ended={} kept={}",
                        w.invites_expired,
                        w.requests_escalated,
                        w.end_reminders,
                        w.memberships_ended,
                        w.last_admins_kept
                    )
                })
            }
        })
    })();
    let events = b.take_events();
    let out = match result {
        Ok(describe) => Out::Ok(describe(b)),
        Err(e) => Out::Err(kind(&e)),
    };
    (out, events)
}

/// Everything a user of the system can observe, described with model indices.
fn observe(b: &Backend) -> Vec<String> {
    let s = &b.service;
    let mut out = Vec::new();
    let res = |r: Result<Vec<String>, Error>| -> String {
        match r {
            Ok(mut v) => {
                v.sort();
                format!("{v:?}")
            }
            Err(e) => kind(&e),
        }
    };
    for (ui, &u) in b.users.iter().enumerate() {
        let switcher = s.my_workspaces(u).map(|es| {
            es.iter()
                .map(|e| match e {
                    SwitcherEntry::Shared { workspace, state, .. } => format!("{} {state:?}", b.p(workspace.id)),
                    SwitcherEntry::Personal { workspace, .. } => {
                        format!("{} personal archived={}", b.p(workspace.id), !workspace.is_active())
                    }
                })
                .collect()
        });
        out.push(format!("switcher u{ui} {}", res(switcher)));
        let pending = in_pages(2, |page| s.pending_requests(u, page))
            .map(|rs| rs.iter().map(|r| format!("{} {}", b.p(r.workspace), b.u(r.requester.id))).collect());
        out.push(format!("pending u{ui} {}", res(pending)));
        let invites = s.invites_for_me(u).map(|is| is.iter().map(|i| b.i(i.id)).collect());
        out.push(format!("invites u{ui} {}", res(invites)));
        for (oi, &o) in b.orgs.iter().enumerate() {
            let listing = in_pages(60, |page| s.discover(u, o, &DiscoveryFilter::default(), page)).map(|entries| {
                let mut v: Vec<String> = entries
                    .iter()
                    .filter_map(|e| match e {
                        DiscoveryEntry::Workspace { workspace, member_count, admins } => {
                            let mut a: Vec<usize> = admins.iter().map(|x| Backend::ix(&b.users, &x.id)).collect();
                            a.sort();
                            let a: Vec<String> = a.iter().map(|x| format!("u{x}")).collect();
                            Some(format!(
                                "{} {} members={member_count} admins=[{}]",
                                b.p(workspace.id),
                                workspace.name,
                                a.join(",")
                            ))
                        }
                        DiscoveryEntry::Example { .. } => None,
                    })
                    .collect();
                v.sort();
                let examples = entries.iter().filter(|e| matches!(e, DiscoveryEntry::Example { .. })).count();
                v.push(format!("examples={examples}"));
                v
            });
            out.push(format!(
                "discover u{ui} o{oi} {}",
                match listing {
                    Ok(v) => format!("{v:?}"),
                    Err(e) => kind(&e),
                }
            ));
        }
        for (pi, &p) in b.places.iter().enumerate() {
            let members = in_pages(2, |page| s.members(u, p, page)).map(|list| {
                list.iter()
                    .map(|m| format!("{} {:?} ends={:?}", b.u(m.user.id), m.state, m.ends_at.map(hours)))
                    .collect()
            });
            out.push(format!("members u{ui} p{pi} {}", res(members)));
            let convs = s
                .conversations(u, p)
                .map(|cs| cs.iter().map(|c| format!("c{}", Backend::ix(&b.convs, &c.id))).collect());
            out.push(format!("conversations u{ui} p{pi} {}", res(convs)));
        }
    }
    out
}

/// A whole list read `limit` entries a page, following the cursors (R43): the model's
/// lists are compared with the service's pages.
fn in_pages<T>(limit: u32, list: impl Fn(&PageRequest) -> Result<Page<T>, Error>) -> Result<Vec<T>, Error> {
    let mut all = Vec::new();
    let mut request = PageRequest::first(limit);
    loop {
        let page = list(&request)?;
        all.extend(page.items);
        match page.next {
            Some(next) => request = PageRequest::after(next, Some(limit)),
            None => return Ok(all),
        }
    }
}

fn observe_model(m: &Model) -> Vec<String> {
    let mut out = Vec::new();
    let res = |r: Result<Vec<String>, String>| match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => e,
    };
    for u in 0..m.users.len() {
        out.push(format!("switcher u{u} {}", res(Ok(m.switcher(u)))));
        out.push(format!("pending u{u} {}", res(Ok(m.pending_requests(u)))));
        out.push(format!("invites u{u} {}", res(Ok(m.invites_for(u)))));
        for o in 0..m.orgs.len() {
            out.push(format!("discover u{u} o{o} {}", res(m.discover(u, o))));
        }
        for p in 0..m.places.len() {
            out.push(format!("members u{u} p{p} {}", res(m.members(u, p))));
            out.push(format!("conversations u{u} p{p} {}", res(m.conversations(u, p))));
        }
    }
    out
}

/// R37: at every instant the sequence passed through (and just before it began), who
/// could see each workspace and what each user could see are the model's state then:
/// the last snapshot taken at or before that instant.
fn check_the_past(b: &Backend, m: &Model) {
    let mut instants: Vec<i64> = m.snapshots.iter().map(|s| s.now).collect();
    instants.dedup();
    let before = model::Snapshot { now: -1, states: Default::default(), places: 0 };
    for &h in std::iter::once(&-1).chain(&instants) {
        let snapshot = m.snapshots.iter().rev().find(|s| s.now <= h).unwrap_or(&before);
        let at = START + Duration::hours(h);
        let owned = |u: usize| -> Vec<(usize, &'static str)> {
            (0..snapshot.places)
                .filter(|&p| matches!(m.places[p], model::Place::Personal { owner, .. } if owner == u))
                .map(|p| (p, "Owner"))
                .collect()
        };
        for (p, &id) in b.places.iter().enumerate() {
            let mut seen: Vec<(usize, String)> = b
                .service
                .viewers_at(id, at)
                .unwrap()
                .iter()
                .map(|v| (Backend::ix(&b.users, &v.person.id), format!("{:?}", v.sight)))
                .collect();
            seen.sort();
            let mut want: Vec<(usize, String)> = match m.places[p] {
                model::Place::Shared { .. } => {
                    Model::approved_in(snapshot, p).into_iter().map(|(u, s)| (u, s.to_owned())).collect()
                }
                model::Place::Personal { owner, .. } if p < snapshot.places => vec![(owner, "Owner".to_owned())],
                model::Place::Personal { .. } => vec![],
            };
            want.sort();
            assert_eq!(seen, want, "{}: viewers of p{p} at hour {h}", b.name);
        }
        for (u, &id) in b.users.iter().enumerate() {
            let mut seen: Vec<(usize, String)> = b
                .service
                .workspaces_visible_at(id, at)
                .unwrap()
                .iter()
                .map(|v| (Backend::ix(&b.places, &v.workspace), format!("{:?}", v.sight)))
                .collect();
            seen.sort();
            let mut want: Vec<(usize, String)> = owned(u).into_iter().map(|(p, s)| (p, s.to_owned())).collect();
            for ((p, who), s) in &snapshot.states {
                match s {
                    model::St::Member if *who == u => want.push((*p, "Member".to_owned())),
                    model::St::Admin if *who == u => want.push((*p, "Admin".to_owned())),
                    _ => {}
                }
            }
            want.sort();
            assert_eq!(seen, want, "{}: what u{u} could see at hour {h}", b.name);
        }
    }
}

struct Sut {
    backends: Vec<Backend>,
}

struct LockStep;

impl StateMachineTest for LockStep {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(m: &Model) -> Sut {
        let mut backends = vec![
            Backend::new("memory", Arc::new(MemoryStore::new()), m.members_approve),
            Backend::new("sqlite", Arc::new(SqliteStore::open_in_memory().unwrap()), m.members_approve),
        ];
        for b in &mut backends {
            for cmd in seed() {
                let (out, _) = run(b, &cmd);
                assert!(matches!(out, Out::Ok(_)), "{}: seed step {cmd:?}: {out:?}", b.name);
            }
        }
        Sut { backends }
    }

    fn apply(mut sut: Sut, m: &Model, cmd: Cmd) -> Sut {
        for b in &mut sut.backends {
            let (out, events) = run(b, &cmd);
            assert_eq!(out, m.last, "{}: outcome of {cmd:?}", b.name);
            assert_eq!(events, m.events, "{}: events of {cmd:?}", b.name);
        }
        sut
    }

    fn check_invariants(sut: &Sut, m: &Model) {
        let expected = observe_model(m);
        for b in &sut.backends {
            let seen = observe(b);
            for (got, want) in seen.iter().zip(&expected) {
                assert_eq!(got, want, "{}: observable state", b.name);
            }
            assert_eq!(seen.len(), expected.len());
            check_invariants(b.store.as_ref(), carespace::Clock::now(&b.clock)).unwrap();
        }
    }

    fn teardown(sut: Sut, m: Model) {
        // The narrow reads on the world each sequence ends with (every step would double
        // the test's time).
        for b in &sut.backends {
            check_narrow_reads(b.store.as_ref()).unwrap_or_else(|p| panic!("{}: {p}", b.name));
            check_the_past(b, &m);
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/model_based.txt"))),
        .. ProptestConfig::default()
    })]

    #[test]
    fn model_memory_and_sqlite_agree(sequential 1..50 => LockStep);
}

#[test]
fn the_pools_cover_every_person() {
    let people: HashMap<usize, usize> = EMAILS.iter().filter_map(|(_, p)| *p).map(|p| (p, p)).collect();
    assert_eq!(people.len(), 6);
}
