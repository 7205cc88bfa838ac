//! Point-in-time access (R37): who could see a workspace's conversations at an instant,
//! which workspaces a person could see then, and a workspace's membership history —
//! answered by replaying the event log, never from the current rows, so that an answer
//! about the past stays the same whatever happens afterwards.
//!
//! # What "at T" means
//! The state at `T` is the state after the longest prefix of the log (in commit order)
//! whose events all happened at or before `T`: a state the store really was in. Events
//! carry the time their command read from the service's clock; a clock that goes back
//! in time (a host's, not this library's) could add events "in the past" after the fact.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::page::{Listing, Page, PageRequest};
use crate::views::Person;
use crate::{
    Carespace, Entity, Error, Event, EventKind, MembershipState, OrganisationId, PersonalWorkspace, Role, UserId,
    WorkspaceId,
};

/// Why someone could see a workspace's conversations (R30, R28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Sight {
    /// An approved member without the admin role.
    Member,
    /// An admin.
    Admin,
    /// The owner of a My Workspace.
    Owner,
}

/// Someone who could see a workspace's conversations at an instant (R37).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Viewer {
    /// The person (their name as it is now).
    pub person: Person,
    /// As what.
    pub sight: Sight,
    /// Since when, without a break: when they were approved (or made the workspace, or
    /// got their My Workspace). Promotions and demotions do not break it.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

/// A workspace someone could see at an instant (R37).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VisibleWorkspace {
    /// The workspace (shared, or a My Workspace).
    pub workspace: WorkspaceId,
    /// Its organisation.
    pub organisation: OrganisationId,
    /// Its name as it was at the instant asked about ("My Workspace" for a My
    /// Workspace).
    pub name: String,
    /// As what they could see it.
    pub sight: Sight,
    /// Since when, without a break.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

/// One stretch of time in which someone held one state in a workspace (R37).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StateSpan {
    /// The state: unapproved, approved member, admin or archived.
    pub state: MembershipState,
    /// From when.
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    /// Until when (`None`: still so).
    #[serde(with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

/// Someone's states in a workspace over time, oldest first (R37).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PersonTimeline {
    /// The person (their name as it is now).
    pub person: Person,
    /// Their states, oldest first; a gap between two spans is a time they were not a
    /// member (they left, or were declined, and came back).
    pub spans: Vec<StateSpan>,
}

/// A shared workspace's whole membership history as states over time (R37): what an
/// information-governance lead draws to see who could see what, when.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Timeline {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// Its name now.
    pub name: String,
    /// Everyone who was ever a member (or asked to be), in the order they first were.
    pub people: Vec<PersonTimeline>,
    /// The membership events the states come from, oldest first.
    pub events: Vec<Event>,
}

/// A shared workspace's name as it was at `at`: the name it was created with, or the
/// last rename at or before `at` (R37); the present name if the log has neither.
fn name_at(r: &dyn crate::store::ReadTx, workspace: &crate::Workspace, at: OffsetDateTime) -> Result<String, Error> {
    let events = r.events_of_workspace(workspace.id)?;
    let name = events.iter().take_while(|e| e.at <= at).fold(None, |name, e| match &e.kind {
        EventKind::WorkspaceCreated { name, .. } | EventKind::SettingsChanged { name: Some(name), .. } => Some(name),
        _ => name,
    });
    Ok(name.unwrap_or(&workspace.name).to_string())
}

/// Memberships rebuilt from events: each (workspace, user) with its state and, while
/// approved, since when.
#[derive(Debug, Default)]
struct Replay {
    members: BTreeMap<(WorkspaceId, UserId), (MembershipState, OffsetDateTime)>,
    personal: BTreeMap<WorkspaceId, (OrganisationId, OffsetDateTime)>,
}

impl Replay {
    /// Replays the prefix of `events` (in log order) that lies at or before `at`.
    fn until<'a>(events: impl IntoIterator<Item = &'a Event>, at: OffsetDateTime) -> Self {
        let mut replay = Self::default();
        for event in events.into_iter().take_while(|e| e.at <= at) {
            replay.apply(event);
        }
        replay
    }

    fn set(&mut self, workspace: WorkspaceId, user: UserId, state: MembershipState, at: OffsetDateTime) {
        let since = match self.members.get(&(workspace, user)) {
            Some((old, since)) if old.is_approved() && state.is_approved() => *since,
            _ => at,
        };
        self.members.insert((workspace, user), (state, since));
    }

    /// The effect of one event on memberships, as the rules define it.
    fn apply(&mut self, event: &Event) {
        use EventKind as K;
        match &event.kind {
            K::WorkspaceCreated { workspace, .. } => {
                if let Some(creator) = event.actor {
                    self.set(*workspace, creator, MembershipState::Admin, event.at);
                }
            }
            K::OrganisationJoined { organisation, my_workspace, .. } => {
                self.personal.insert(*my_workspace, (*organisation, event.at));
            }
            K::JoinRequested { workspace, user, .. } => {
                self.set(*workspace, *user, MembershipState::Unapproved, event.at);
            }
            K::JoinApproved { workspace, user } | K::MemberUnarchived { workspace, user } => {
                self.set(*workspace, *user, MembershipState::Member, event.at);
            }
            K::InviteAccepted { workspace, user, .. } => {
                let approved = self.members.get(&(*workspace, *user)).is_some_and(|(s, _)| s.is_approved());
                if !approved {
                    self.set(*workspace, *user, MembershipState::Member, event.at);
                }
            }
            K::JoinDeclined { workspace, user } | K::MemberLeft { workspace, user } => {
                self.members.remove(&(*workspace, *user));
            }
            K::MemberArchived { workspace, user, .. } => {
                self.set(*workspace, *user, MembershipState::Archived, event.at);
            }
            K::RoleChanged { workspace, user, role } => {
                let state = if *role == Role::Admin { MembershipState::Admin } else { MembershipState::Member };
                self.set(*workspace, *user, state, event.at);
            }
            _ => {}
        }
    }

    /// Each user's state in `workspace`.
    fn states_in(&self, workspace: WorkspaceId) -> impl Iterator<Item = (UserId, MembershipState)> + '_ {
        self.members.iter().filter(move |((w, _), _)| *w == workspace).map(|(&(_, u), &(state, _))| (u, state))
    }

    /// The approved memberships, with their sight and since when.
    fn approved(&self) -> impl Iterator<Item = (WorkspaceId, UserId, Sight, OffsetDateTime)> + '_ {
        self.members.iter().filter_map(|(&(w, u), &(state, since))| match state {
            MembershipState::Member => Some((w, u, Sight::Member, since)),
            MembershipState::Admin => Some((w, u, Sight::Admin, since)),
            MembershipState::Unapproved | MembershipState::Archived => None,
        })
    }
}

/// Whether an event belongs to a workspace's membership history (R37).
fn is_membership_history(kind: &EventKind) -> bool {
    use EventKind as K;
    matches!(
        kind,
        K::WorkspaceCreated { .. }
            | K::JoinRequested { .. }
            | K::JoinRequestEscalated { .. }
            | K::JoinApproved { .. }
            | K::JoinDeclined { .. }
            | K::InviteAccepted { .. }
            | K::MemberLeft { .. }
            | K::MemberArchived { .. }
            | K::MemberUnarchived { .. }
            | K::RoleChanged { .. }
            | K::MembershipEndChanged { .. }
            | K::MembershipEndingSoon { .. }
            | K::LastAdminKept { .. }
            | K::WorkspaceArchived { .. }
    )
}

impl Carespace {
    /// Who could see the conversations of `workspace` at `at` (R37): its approved members
    /// then, or the owner of a My Workspace once it existed; by name. Answered from the
    /// event log, so the answer about a past instant never changes.
    ///
    /// This and the other audit queries take no actor: they are for the host's
    /// information-governance tooling, which decides who may ask.
    ///
    /// ```
    /// use carespace::{Carespace, ManualClock, MemoryStore, OrganisationKind, Speciality};
    /// use time::{Duration, macros::datetime};
    ///
    /// let clock = ManualClock::new(datetime!(2026-03-01 09:00 UTC));
    /// let service = Carespace::new(MemoryStore::new()).with_clock(clock.clone());
    /// let trust = service.register_organisation("Barts Health NHS Trust".parse()?, OrganisationKind::NhsTrust, None)?;
    /// let alice = service.register_user("alice@nhs.net".parse()?, "Alice Smith".parse()?)?;
    /// let bob = service.register_user("bob@nhs.net".parse()?, "Bob Jones".parse()?)?;
    /// for user in [alice.id, bob.id] {
    ///     service.join_organisation(user, trust.id)?;
    /// }
    /// let ward = service.join_example(alice.id, trust.id, Speciality::from_code(501)?)?.workspace;
    /// service.request_to_join(bob.id, ward.id)?;
    /// service.approve(alice.id, ward.id, bob.id)?;
    /// clock.advance(Duration::days(10));
    /// service.leave(bob.id, ward.id)?;
    ///
    /// let on_3_march = service.viewers_at(ward.id, datetime!(2026-03-03 12:00 UTC))?;
    /// assert_eq!(on_3_march.len(), 2); // Bob had not left yet
    /// assert_eq!(service.viewers_at(ward.id, clock.now())?.len(), 1);
    /// # use carespace::Clock;
    /// # Ok::<(), carespace::Error>(())
    /// ```
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(workspace = %workspace, at = %at))]
    pub fn viewers_at(&self, workspace: WorkspaceId, at: OffsetDateTime) -> Result<Vec<Viewer>, Error> {
        self.read(|r, _| {
            let mut viewers = Vec::new();
            if r.workspace(workspace)?.is_some() {
                let events = r.events_of_workspace(workspace)?;
                for (_, user, sight, since) in Replay::until(&events, at).approved() {
                    viewers.push(Viewer { person: Person::from(&crate::service::load_user(r, user)?), sight, since });
                }
            } else {
                let personal = r
                    .personal_workspace(workspace)?
                    .ok_or_else(|| Error::NotFound { entity: Entity::Workspace, id: workspace.to_string() })?;
                if personal.created_at <= at {
                    let owner = crate::service::load_user(r, personal.owner)?;
                    viewers.push(Viewer {
                        person: Person::from(&owner),
                        sight: Sight::Owner,
                        since: personal.created_at,
                    });
                }
            }
            viewers.sort_by_cached_key(|v| (v.person.name.as_str().to_lowercase(), v.person.id));
            Ok(viewers)
        })
    }

    /// The workspaces whose conversations `user` could see at `at` (R37): shared ones
    /// where they were an approved member then, and their My Workspaces that existed;
    /// by name. Answered from the event log.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(user = %user, at = %at))]
    pub fn workspaces_visible_at(&self, user: UserId, at: OffsetDateTime) -> Result<Vec<VisibleWorkspace>, Error> {
        self.read(|r, _| {
            let user = crate::service::load_user(r, user)?;
            let events = r.events_of_user(user.id)?;
            let replay = Replay::until(&events, at);
            let mut visible = Vec::new();
            for (workspace, who, sight, since) in replay.approved() {
                if who != user.id {
                    continue;
                }
                let shared = r
                    .workspace(workspace)?
                    .ok_or_else(|| Error::NotFound { entity: Entity::Workspace, id: workspace.to_string() })?;
                let name = name_at(r, &shared, at)?;
                visible.push(VisibleWorkspace { workspace, organisation: shared.organisation, name, sight, since });
            }
            for (&workspace, &(organisation, since)) in &replay.personal {
                let name = PersonalWorkspace::NAME.to_owned();
                visible.push(VisibleWorkspace { workspace, organisation, name, sight: Sight::Owner, since });
            }
            visible.sort_by_cached_key(|v| (v.name.to_lowercase(), v.workspace));
            Ok(visible)
        })
    }

    /// The membership history of a shared workspace as each person's states over time
    /// (R37): the spans in which they were unapproved, an approved member, an admin or
    /// archived, replayed from the event log like [`Carespace::viewers_at`], with the
    /// events themselves.
    ///
    /// ```
    /// use carespace::{Carespace, MemoryStore, MembershipState, OrganisationKind};
    /// let service = Carespace::new(MemoryStore::new());
    /// let trust = service.register_organisation("Barts Health NHS Trust".parse()?, OrganisationKind::NhsTrust, None)?;
    /// let alice = service.register_user("alice@nhs.net".parse()?, "Alice Smith".parse()?)?;
    /// service.join_organisation(alice.id, trust.id)?;
    /// let ward = service.create_workspace(alice.id, trust.id, carespace::NewWorkspace {
    ///     name: "Maternity - Ward 2".parse()?,
    ///     speciality: carespace::Speciality::from_code(501)?,
    ///     description: Default::default(),
    /// })?.workspace;
    /// let timeline = service.membership_timeline(ward.id)?;
    /// assert_eq!(timeline.people[0].spans[0].state, MembershipState::Admin);
    /// assert_eq!(timeline.people[0].spans[0].until, None);
    /// # Ok::<(), carespace::Error>(())
    /// ```
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(workspace = %workspace))]
    pub fn membership_timeline(&self, workspace: WorkspaceId) -> Result<Timeline, Error> {
        self.read(|r, _| {
            let shared = r
                .workspace(workspace)?
                .ok_or_else(|| Error::NotFound { entity: Entity::Workspace, id: workspace.to_string() })?;
            let events: Vec<Event> =
                r.events_of_workspace(workspace)?.into_iter().filter(|e| is_membership_history(&e.kind)).collect();
            let mut replay = Replay::default();
            // Each person's spans, and the sequence number of the event that began the first.
            let mut spans: BTreeMap<UserId, (u64, Vec<StateSpan>)> = BTreeMap::new();
            for event in &events {
                let before: BTreeMap<UserId, MembershipState> = replay.states_in(workspace).collect();
                replay.apply(event);
                let after: BTreeMap<UserId, MembershipState> = replay.states_in(workspace).collect();
                let users: std::collections::BTreeSet<UserId> = before.keys().chain(after.keys()).copied().collect();
                for user in users {
                    let (was, is) = (before.get(&user), after.get(&user));
                    if was == is {
                        continue;
                    }
                    let (_, mine) = spans.entry(user).or_insert((event.seq, Vec::new()));
                    if let Some(open) = mine.last_mut().filter(|span| span.until.is_none()) {
                        open.until = Some(event.at);
                    }
                    if let Some(&state) = is {
                        mine.push(StateSpan { state, from: event.at, until: None });
                    }
                }
            }
            let mut arrivals: Vec<(u64, UserId, Vec<StateSpan>)> =
                spans.into_iter().map(|(user, (first, spans))| (first, user, spans)).collect();
            arrivals.sort_by_key(|(first, _, _)| *first);
            let mut people = Vec::with_capacity(arrivals.len());
            for (_, user, spans) in arrivals {
                people.push(PersonTimeline { person: Person::from(&crate::service::load_user(r, user)?), spans });
            }
            Ok(Timeline { workspace, name: shared.name.to_string(), people, events })
        })
    }

    /// A page of the membership events of a shared workspace, oldest first (R37, R43):
    /// its creation, each request, escalation, approval, decline, accepted invite, role
    /// change, end date, archive, unarchive and leave, each with its actor (`None` for
    /// the sweep) and time; and its archival if its last member left.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(workspace = %workspace))]
    pub fn membership_history(&self, workspace: WorkspaceId, page: &PageRequest) -> Result<Page<Event>, Error> {
        self.read(|r, _| {
            if r.workspace(workspace)?.is_none() {
                return Err(Error::NotFound { entity: Entity::Workspace, id: workspace.to_string() });
            }
            let events = r.events_of_workspace(workspace)?.into_iter().filter(|e| is_membership_history(&e.kind));
            let keyed = events.map(|e| ((e.seq,), e)).collect();
            Listing::new("membership history", workspace.to_string()).page(keyed, page)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn event(seq: u64, at: OffsetDateTime, actor: Option<UserId>, kind: EventKind) -> Event {
        Event { seq, at, actor, kind }
    }

    #[test]
    fn r37_replay_stops_at_the_first_event_after_the_instant() {
        let (w, alice, bob) = (
            WorkspaceId::new_v7(datetime!(2026-03-01 00:00 UTC)),
            UserId::new_v7(datetime!(2026-03-01 00:00 UTC)),
            UserId::new_v7(datetime!(2026-03-01 00:00 UTC)),
        );
        let (t1, t2, t3) =
            (datetime!(2026-03-01 09:00 UTC), datetime!(2026-03-02 09:00 UTC), datetime!(2026-03-03 09:00 UTC));
        let created = EventKind::WorkspaceCreated {
            workspace: w,
            organisation: OrganisationId::new_v7(t1),
            name: "Ward".parse().unwrap(),
            speciality: crate::Speciality::from_code(501).unwrap(),
            from_example: false,
        };
        let log = vec![
            event(1, t1, Some(alice), created),
            event(2, t1, Some(bob), EventKind::JoinRequested { workspace: w, user: bob, approvers: vec![alice] }),
            event(3, t2, Some(alice), EventKind::JoinApproved { workspace: w, user: bob }),
            event(4, t2, Some(alice), EventKind::RoleChanged { workspace: w, user: bob, role: Role::Admin }),
            event(5, t3, Some(bob), EventKind::MemberLeft { workspace: w, user: bob }),
            // Written later with an earlier clock reading: not part of the prefix at t2.
            event(6, t2, Some(alice), EventKind::MemberLeft { workspace: w, user: alice }),
        ];
        let seen = |at| Replay::until(&log, at).approved().map(|(_, u, s, since)| (u, s, since)).collect::<Vec<_>>();
        let mut expected = vec![(alice, Sight::Admin, t1)];
        assert_eq!(seen(t1), expected);
        expected.push((bob, Sight::Admin, t2));
        expected.sort();
        let mut got = seen(t2);
        got.sort();
        assert_eq!(got, expected, "promotion keeps the approval time; the late event is not applied");
        assert!(seen(t3).is_empty(), "by t3 both have left");
    }
}
