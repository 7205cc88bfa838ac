//! The backend conformance suite (feature `test-suite`): cases written once against the
//! service over any [`Store`], an invariant checker (R25) run after every step, and the
//! [`conformance_suite!`](crate::conformance_suite) macro that stamps one `#[test]` per
//! case for a backend crate.
//!
//! ```ignore
//! // In a backend's tests/conformance.rs:
//! carespace::conformance_suite!(|| my_backend::MyStore::open_in_memory().unwrap());
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{BTreeMap, HashSet};
use std::fmt::Debug;
use std::sync::Arc;

use time::OffsetDateTime;
use time::macros::datetime;

use crate::store::StoreResult;
use crate::{
    Carespace, Error, Event, ManualClock, NhsEmail, Organisation, OrganisationId, OrganisationKind, Policy, ReadTx,
    Speciality, Store, User, UserId, Workspace, WorkspaceId,
};

mod beyond;
pub mod cases;
mod consumers;
mod directory;
mod matrix;
mod paging;

/// Whole lists for tests: each follows the cursors of the paged list (R43) from the
/// first page to the last ([`every_page`](crate::page::every_page)).
pub trait WholeLists {
    /// Every entry of [`Carespace::discover`](crate::Carespace::discover).
    fn discover_all(
        &self,
        actor: UserId,
        organisation: OrganisationId,
        filter: &crate::DiscoveryFilter,
    ) -> Result<Vec<crate::DiscoveryEntry>, Error>;
    /// Every member ([`Carespace::members`](crate::Carespace::members)), split as
    /// current and archived.
    fn members_all(&self, actor: UserId, workspace: WorkspaceId) -> Result<crate::MemberList, Error>;
    /// Every request of [`Carespace::pending_requests`](crate::Carespace::pending_requests).
    fn pending_requests_all(&self, actor: UserId) -> Result<Vec<crate::PendingRequest>, Error>;
    /// Every invite of [`Carespace::pending_invites`](crate::Carespace::pending_invites).
    fn pending_invites_all(&self, actor: UserId, workspace: WorkspaceId) -> Result<Vec<crate::Invite>, Error>;
    /// Every event of [`Carespace::membership_history`](crate::Carespace::membership_history).
    fn membership_history_all(&self, workspace: WorkspaceId) -> Result<Vec<crate::Event>, Error>;
}

impl WholeLists for Carespace {
    fn discover_all(
        &self,
        actor: UserId,
        organisation: OrganisationId,
        filter: &crate::DiscoveryFilter,
    ) -> Result<Vec<crate::DiscoveryEntry>, Error> {
        crate::page::every_page(|page| Carespace::discover(self, actor, organisation, filter, page))
    }

    fn members_all(&self, actor: UserId, workspace: WorkspaceId) -> Result<crate::MemberList, Error> {
        crate::page::every_page(|page| Carespace::members(self, actor, workspace, page)).map(Into::into)
    }

    fn pending_requests_all(&self, actor: UserId) -> Result<Vec<crate::PendingRequest>, Error> {
        crate::page::every_page(|page| Carespace::pending_requests(self, actor, page))
    }

    fn pending_invites_all(&self, actor: UserId, workspace: WorkspaceId) -> Result<Vec<crate::Invite>, Error> {
        crate::page::every_page(|page| Carespace::pending_invites(self, actor, workspace, page))
    }

    fn membership_history_all(&self, workspace: WorkspaceId) -> Result<Vec<crate::Event>, Error> {
        crate::page::every_page(|page| Carespace::membership_history(self, workspace, page))
    }
}

/// The instant every conformance case starts at.
pub const START: OffsetDateTime = datetime!(2026-03-03 09:00 UTC);

/// A service over the backend under test, a clock the case moves, and checks that run
/// after every step (the invariants) and when the case ends ([`check_narrow_reads`]).
pub struct Harness {
    /// The service under test.
    pub service: Carespace,
    /// Its clock.
    pub clock: ManualClock,
    /// The store behind it.
    pub store: Arc<dyn Store>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        // At the end of a case that passed so far: the narrow reads on the world it built.
        if !std::thread::panicking()
            && let Err(problem) = check_narrow_reads(self.store.as_ref())
        {
            panic!("narrow read broken: {problem}");
        }
    }
}

impl Harness {
    /// A harness with the default policy.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_policy(store, Policy::default())
    }

    /// A harness with `policy`.
    pub fn with_policy(store: Arc<dyn Store>, policy: Policy) -> Self {
        let clock = ManualClock::new(START);
        let service = Carespace::from_arc(store.clone()).with_clock(clock.clone()).with_policy(policy);
        Self { service, clock, store }
    }

    /// A second harness on the same store with another policy (same clock).
    pub fn sibling(&self, policy: Policy) -> Self {
        let service = Carespace::from_arc(self.store.clone()).with_clock(self.clock.clone()).with_policy(policy);
        Self { service, clock: self.clock.clone(), store: self.store.clone() }
    }

    /// Runs a step that must succeed, then checks the invariants.
    #[track_caller]
    pub fn ok<T>(&self, step: impl FnOnce(&Carespace) -> Result<T, Error>) -> T {
        let out = step(&self.service).unwrap_or_else(|e| panic!("expected success, got: {e}"));
        self.check();
        out
    }

    /// Runs a step that must fail, checks that it wrote nothing (R35), then the invariants.
    #[track_caller]
    pub fn err<T: Debug>(&self, step: impl FnOnce(&Carespace) -> Result<T, Error>) -> Error {
        let before = dump(self.store.as_ref());
        let err = match step(&self.service) {
            Ok(out) => panic!("expected an error, got: {out:?}"),
            Err(e) => e,
        };
        assert_eq!(dump(self.store.as_ref()), before, "a failed command changed state: {err}");
        self.check();
        err
    }

    /// Runs a step that must be refused by the permission table (R34).
    #[track_caller]
    pub fn forbidden<T: Debug>(&self, step: impl FnOnce(&Carespace) -> Result<T, Error>) -> Error {
        let err = self.err(step);
        assert!(err.is_forbidden(), "expected Forbidden, got: {err}");
        err
    }

    /// Checks the R25 invariants and the event log; panics with what is wrong.
    #[track_caller]
    pub fn check(&self) {
        if let Err(problem) = check_invariants(self.store.as_ref(), self.clock_now()) {
            panic!("invariant broken: {problem}");
        }
    }

    fn clock_now(&self) -> OffsetDateTime {
        crate::Clock::now(&self.clock)
    }

    /// A registered NHS trust.
    pub fn trust(&self, name: &str) -> Organisation {
        self.ok(|s| s.register_organisation(name.parse()?, OrganisationKind::NhsTrust, None))
    }

    /// A registered user (in no organisation).
    pub fn user(&self, name: &str, email: &str) -> User {
        self.ok(|s| s.register_user(email.parse()?, name.parse()?))
    }

    /// A registered user who joined `organisation`.
    pub fn member_of(&self, organisation: &Organisation, name: &str, email: &str) -> User {
        let user = self.user(name, email);
        self.ok(|s| s.join_organisation(user.id, organisation.id));
        user
    }

    /// A workspace created by `admin` with the Obstetrics speciality.
    pub fn workspace(&self, admin: &User, organisation: &Organisation, name: &str) -> Workspace {
        self.ok(|s| {
            s.create_workspace(
                admin.id,
                organisation.id,
                crate::NewWorkspace {
                    name: name.parse()?,
                    speciality: Speciality::from_code(501)?,
                    description: crate::Description::default(),
                },
            )
        })
        .workspace
    }

    /// `user` requests to join and `approver` approves.
    pub fn approved(&self, workspace: &Workspace, approver: &User, user: &User) {
        self.ok(|s| s.request_to_join(user.id, workspace.id));
        self.ok(|s| s.approve(approver.id, workspace.id, user.id));
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.ok(|s| s.events_since(0, crate::MAX_EVENT_PAGE))
    }

    /// The events appended by `step`.
    #[track_caller]
    pub fn events_of<T>(&self, step: impl FnOnce(&Carespace) -> Result<T, Error>) -> (T, Vec<Event>) {
        let last = self.events().last().map_or(0, |e| e.seq);
        let out = self.ok(step);
        let events = self.ok(|s| s.events_since(last, crate::MAX_EVENT_PAGE));
        (out, events)
    }
}

/// A textual image of everything reachable in the store, to compare before and after a
/// failed command.
pub fn dump(store: &dyn Store) -> String {
    let mut out = String::new();
    store
        .read(&mut |r| {
            out = dump_tx(r)?;
            Ok(())
        })
        .expect("reading the store");
    out
}

fn dump_tx(r: &dyn ReadTx) -> Result<String, Error> {
    use std::fmt::Write;
    let mut out = String::new();
    let events = r.events_after(0, usize::MAX)?;
    let mut users: HashSet<UserId> = HashSet::new();
    for e in &events {
        if let crate::EventKind::UserRegistered { user, .. } = e.kind {
            users.insert(user);
        }
    }
    let _ = writeln!(out, "events: {events:?}");
    let _ = writeln!(out, "consumers: {:?}", r.consumers()?);
    for org in r.organisations()? {
        let _ = writeln!(out, "{org:?}");
        for ws in r.workspaces_of(org.id)? {
            let _ = writeln!(out, "  {ws:?}");
            let _ = writeln!(out, "    {:?}", r.memberships_of_workspace(ws.id)?);
            let _ = writeln!(out, "    {:?}", r.pending_invites_of_workspace(ws.id)?);
            let _ = writeln!(out, "    {:?}", r.conversations_of(ws.id)?);
        }
    }
    let mut users: Vec<UserId> = users.into_iter().collect();
    users.sort();
    for user in users {
        let _ = writeln!(out, "{:?} orgs {:?}", r.user(user)?, r.organisations_of(user)?);
        for p in r.personal_workspaces_of(user)? {
            let _ = writeln!(out, "  {p:?} {:?}", r.conversations_of(p.id)?);
        }
        let _ = writeln!(out, "  {:?}", r.memberships_of_user(user)?);
    }
    Ok(out)
}

/// Checks R25 and the event log over the whole store at `now`:
/// - a user has at most one membership per workspace;
/// - admins are approved (and the stored role/status pair is a valid one);
/// - every active workspace with a current member has an admin;
/// - no pending invite is addressed to a current member of its workspace;
/// - an archived workspace has no current members, pending requests or invites;
/// - active workspace names are unique per organisation (R6);
/// - a user with a shared membership in an organisation has an archived My Workspace
///   there (R27), one with none an active one (R41), and every organisation member has
///   exactly one My Workspace (R26);
/// - event sequence numbers run 1, 2, 3, … without gaps (R32).
pub fn check_invariants(store: &dyn Store, now: OffsetDateTime) -> Result<(), String> {
    let mut result = Ok(());
    store
        .read(&mut |r| {
            result = check_tx(r, now);
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    result
}

fn check_tx(r: &dyn ReadTx, now: OffsetDateTime) -> Result<(), String> {
    let e = |err: crate::StorageError| err.to_string();
    for org in r.organisations().map_err(e)? {
        let mut names = HashSet::new();
        for ws in r.workspaces_of(org.id).map_err(e)? {
            let members = r.memberships_of_workspace(ws.id).map_err(e)?;
            let distinct: HashSet<UserId> = members.iter().map(|m| m.user).collect();
            if distinct.len() != members.len() {
                return Err(format!("{}: a user has two memberships", ws.name));
            }
            for m in &members {
                if m.workspace != ws.id {
                    return Err(format!("{}: membership filed under the wrong workspace", ws.name));
                }
                if crate::MembershipState::from_parts(m.state.role(), m.state.status()) != Some(m.state) {
                    return Err(format!("{}: an admin who is not approved", ws.name));
                }
                if m.state.is_current() {
                    let personal = r.personal_workspace_of(m.user, org.id).map_err(e)?;
                    if personal.as_ref().is_none_or(|p| p.is_active()) {
                        return Err(format!("{}: member {} still has an active (or no) My Workspace", ws.name, m.user));
                    }
                    if !r.is_organisation_member(org.id, m.user).map_err(e)? {
                        return Err(format!("{}: member {} is not in the organisation", ws.name, m.user));
                    }
                }
            }
            let current = members.iter().filter(|m| m.state.is_current()).count();
            let admins = members.iter().filter(|m| m.state == crate::MembershipState::Admin).count();
            let invites: Vec<_> = r
                .pending_invites_of_workspace(ws.id)
                .map_err(e)?
                .into_iter()
                .filter(|i| i.is_pending_at(now))
                .collect();
            if ws.is_active() {
                if current > 0 && admins == 0 {
                    return Err(format!("{}: active with {current} members and no admin", ws.name));
                }
                if !names.insert(ws.name.key()) {
                    return Err(format!("{}: two active workspaces share the name", ws.name));
                }
            } else if current > 0 || !invites.is_empty() {
                return Err(format!("{}: archived with current members or pending invites", ws.name));
            }
            for invite in invites {
                if invite.workspace != ws.id {
                    return Err(format!("{}: invite filed under the wrong workspace", ws.name));
                }
                if let Some(user) = r.user_by_email(&invite.email).map_err(e)?
                    && members.iter().any(|m| m.user == user.id && m.state.is_current())
                {
                    return Err(format!("{}: pending invite to current member {}", ws.name, invite.email));
                }
            }
        }
    }
    let events = r.events_after(0, usize::MAX).map_err(e)?;
    for (i, event) in events.iter().enumerate() {
        if event.seq != i as u64 + 1 {
            return Err(format!("event log has a gap: position {} holds seq {}", i + 1, event.seq));
        }
    }
    if r.last_event_seq().map_err(e)? != events.len() as u64 {
        return Err("last_event_seq disagrees with the log".into());
    }
    // R26: one My Workspace per (user, organisation) the user belongs to.
    let mut per_pair: BTreeMap<(UserId, crate::OrganisationId), usize> = BTreeMap::new();
    for event in &events {
        if let crate::EventKind::OrganisationJoined { organisation, user, .. } = &event.kind {
            *per_pair.entry((*user, *organisation)).or_default() += 1;
        }
    }
    for ((user, organisation), count) in per_pair {
        let Some(personal) = r.personal_workspace_of(user, organisation).map_err(e)?.filter(|_| count == 1) else {
            return Err(format!("user {user} has {count} organisation joins / no My Workspace in {organisation}"));
        };
        // R41: with no current shared membership there, the My Workspace is active.
        let mut holds_current = false;
        for m in r.memberships_of_user(user).map_err(e)? {
            let here = r.workspace(m.workspace).map_err(e)?.is_some_and(|w| w.organisation == organisation);
            holds_current |= here && m.state.is_current();
        }
        if !holds_current && !personal.is_active() {
            return Err(format!(
                "user {user} holds no current membership in {organisation} but their My Workspace is archived"
            ));
        }
    }
    Ok(())
}

/// A trust with `n` members (`p0@nhs.net`, …); the first created "Ward 1". The world the
/// backends' race tests start from.
pub fn trust_with_ward(service: &Carespace, n: usize) -> (Organisation, Vec<User>, Workspace) {
    let org = service.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    let users: Vec<User> = (0..n)
        .map(|i| {
            let u = service
                .register_user(format!("p{i}@nhs.net").parse().unwrap(), format!("Person {i}").parse().unwrap())
                .unwrap();
            service.join_organisation(u.id, org.id).unwrap();
            u
        })
        .collect();
    let new = crate::NewWorkspace {
        name: "Ward 1".parse().unwrap(),
        speciality: Speciality::from_code(501).unwrap(),
        description: crate::Description::default(),
    };
    let ws = service.create_workspace(users[0].id, org.id, new).unwrap().workspace;
    (org, users, ws)
}

/// A backlog for racing sweeps (R38, R39): `wards` wards, each with two invites that
/// expire 14 days after `start`, two join requests, a member whose membership ends 20
/// days after `start`, one who ends 45 days after, and its only admin ending at 20 days.
/// Returns what one sweep 40 days after `start` does.
pub fn sweep_backlog(service: &Carespace, start: OffsetDateTime, wards: u32) -> crate::Swept {
    let org = service.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    let person = |name: String| {
        let u = service.register_user(format!("{name}@nhs.net").parse().unwrap(), "Someone".parse().unwrap()).unwrap();
        service.join_organisation(u.id, org.id).unwrap();
        u
    };
    for w in 0..wards {
        let admin = person(format!("admin.w{w}"));
        let new = crate::NewWorkspace {
            name: format!("Ward {w}").parse().unwrap(),
            speciality: Speciality::from_code(501).unwrap(),
            description: crate::Description::default(),
        };
        let ws = service.create_workspace(admin.id, org.id, new).unwrap().workspace;
        for n in 0..2 {
            service.invite(admin.id, ws.id, format!("invitee.w{w}.n{n}@nhs.net").parse().unwrap()).unwrap();
            service.request_to_join(person(format!("requester.w{w}.n{n}")).id, ws.id).unwrap();
        }
        for (label, days) in [("ended", 20), ("ending", 45)] {
            let member = person(format!("{label}.w{w}"));
            service.request_to_join(member.id, ws.id).unwrap();
            service.approve(admin.id, ws.id, member.id).unwrap();
            service.set_membership_end(admin.id, ws.id, member.id, Some(start + time::Duration::days(days))).unwrap();
        }
        service.set_membership_end(admin.id, ws.id, admin.id, Some(start + time::Duration::days(20))).unwrap();
    }
    crate::Swept {
        invites_expired: 2 * wards,
        requests_escalated: 2 * wards,
        end_reminders: wards,
        memberships_ended: wards,
        last_admins_kept: wards,
    }
}

/// The id of the first workspace in a list of discovery entries with this name.
pub fn discovered(entries: &[crate::DiscoveryEntry], name: &str) -> Option<WorkspaceId> {
    entries.iter().find_map(|entry| match entry {
        crate::DiscoveryEntry::Workspace { workspace, .. } if workspace.name.as_str() == name => Some(workspace.id),
        _ => None,
    })
}

/// Stamps one `#[test]` per conformance case, each on a fresh store from `$new_store`
/// (an expression evaluating to a closure that returns a `Store`). Cases that need many
/// independent worlds (the permission matrix) get the closure itself.
#[macro_export]
macro_rules! conformance_suite {
    ($new_store:expr) => {
        $crate::conformance_suite!(@cases $new_store;
            r1_organisations_have_validated_names_kinds_and_unique_ods_codes,
            r2_only_nhs_emails_are_accepted,
            r3_emails_are_unique_case_insensitively,
            r4_joining_an_organisation_gives_a_my_workspace_and_is_idempotent,
            r5_workspaces_have_a_speciality_and_a_description,
            r6_names_are_unique_among_active_workspaces_ignoring_case,
            r7_only_organisation_members_of_allowed_kinds_create,
            r8_the_creator_is_admin,
            r9_examples_are_listed_and_joining_one_creates_or_requests,
            r9_concurrent_example_joins_create_exactly_one_workspace,
            r10_custom_workspaces_pick_a_catalogue_speciality,
            r11_discovery_counts_filters_sorts_and_hides_from_outsiders,
            r11_r15_lookups_of_a_workspace_a_membership_and_organisations,
            r12_signature_is_name_and_organisation_on_two_lines,
            r13_broad_names_warn_but_succeed,
            r14_request_to_join_notifies_every_admin_and_repeats_are_noops,
            r15_unapproved_members_send_but_see_only_their_own,
            r16_approvers_follow_the_policy_and_reapproval_is_a_noop,
            r17_decline_ends_the_request_and_starts_a_cool_down,
            r18_invites_refresh_and_refuse_members,
            r19_only_the_addressee_accepts_in_time,
            r19_a_request_with_a_pending_invite_accepts_it,
            r20_sender_or_admin_revokes,
            r21_leaving_last_admin_and_archival,
            r22_archiving_and_unarchiving_members,
            r23_promote_and_demote_never_the_last_admin,
            r24_admins_change_settings,
            r25_invariants_hold_through_a_busy_week,
            r25_concurrent_admin_commands_keep_the_invariants,
            r26_my_workspace_is_private,
            r27_my_workspace_is_archived_on_first_shared_membership,
            r28_my_workspace_conversations_stay_with_their_owner,
            r29_conversations_start_only_where_allowed,
            r30_visibility_of_conversations,
            r31_switcher_lists_everything_at_once,
            r32_events_are_gap_free_with_actor_and_time,
            r33_pending_approvals_prompt,
            r34_forbidden_names_the_action,
            r34_every_refusal_for_lack_of_rights_is_one_kind,
            r35_failed_commands_write_nothing,
            r36_time_comes_from_the_injected_clock,
            r37_who_could_see_a_workspace_and_what_a_person_could_see_at_past_instants,
            r37_answers_about_the_past_never_change,
            r37_membership_history_names_every_change_with_actor_and_time,
            r38_sweep_expires_invites_once,
            r38_concurrent_sweeps_do_each_effect_once,
            r39_admins_set_extend_and_clear_membership_ends,
            r39_reminder_then_archival_at_the_end,
            r39_an_ending_admin_is_demoted_first_and_a_last_admin_is_kept,
            r38_r39_times_outside_the_supported_range_are_refused_alike,
            r18_r38_policy_durations_past_the_supported_times_mean_never,
            r41_no_one_is_stranded,
            r40_importing_ods_files_is_idempotent_and_each_change_is_one_event,
            r40_bad_rows_are_reported_and_strict_imports_write_nothing,
            r40_search_by_name_code_and_postcode_open_first_and_paged,
            r40_a_closed_organisation_accepts_nothing_new,
            r43_every_list_pages_each_entry_once_and_the_last_page_says_so,
            r43_limits_and_cursors_that_are_not_the_lists_are_refused,
            r43_permission_checks_apply_to_every_page,
            r43_following_cursors_while_others_write_returns_each_lasting_entry_once,
            r42_consumers_receive_in_order_until_acknowledged,
            r42_consumers_start_at_the_beginning_or_the_head_and_keep_their_own_positions,
            r42_a_wait_returns_when_a_later_event_commits,
            store_lists_keep_their_documented_orders,
            r35_r38_an_instant_no_store_holds_is_refused_alike,
        );
        $crate::conformance_suite!(@factory_cases $new_store;
            r34_permission_matrix,
            r38_stale_join_requests_are_escalated_once,
        );
    };
    (@factory_cases $new_store:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let make = $new_store;
                $crate::testsuite::cases::$case(&|| -> ::std::sync::Arc<dyn $crate::Store> { ::std::sync::Arc::new(make()) });
            }
        )*
    };
    (@cases $new_store:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let make = $new_store;
                let store: ::std::sync::Arc<dyn $crate::Store> = ::std::sync::Arc::new(make());
                $crate::testsuite::cases::$case(store);
            }
        )*
    };
}

/// Checks that the store's narrow reads ([`ReadTx::access`], [`ReadTx::admins_of`],
/// [`ReadTx::discovery_page`], the sweep's and the audit's reads, …) answer exactly as
/// their default implementations,
/// composed from the plain reads, do — for every workspace and every registered user.
/// A backend may override them with one query of its own; the answers must not change.
/// The conformance suite runs it at the end of every case.
pub fn check_narrow_reads(store: &dyn Store) -> Result<(), String> {
    let mut result = Ok(Vec::new());
    store
        .read(&mut |r| {
            result = narrow_reads_tx(r);
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    // The store's own permission-check read, outside any transaction.
    for (ws, user, expected) in result? {
        if store.access(ws, user).map_err(|e| e.to_string())? != expected {
            return Err(format!("Store::access({ws}, {user}) disagrees with its composition"));
        }
    }
    Ok(())
}

type AccessAnswers = Vec<(WorkspaceId, UserId, Option<crate::Access>)>;

fn narrow_reads_tx(r: &dyn ReadTx) -> Result<AccessAnswers, String> {
    let mut answers = Vec::new();
    let e = |err: crate::StorageError| err.to_string();
    let events = r.events_after(0, usize::MAX).map_err(e)?;
    let composed = Composed(r);
    let mut users: Vec<UserId> = events
        .iter()
        .filter_map(|ev| match &ev.kind {
            crate::EventKind::UserRegistered { user, .. } => Some(*user),
            _ => None,
        })
        .collect();
    users.push(UserId::from_uuid(uuid::Uuid::max()));
    for &user in &users {
        let sorted = |mut rows: crate::SwitcherRows| {
            rows.personal.sort_by_key(|(p, _)| p.id);
            rows.shared.sort_by_key(|(m, _, _)| m.workspace);
            rows
        };
        if sorted(r.switcher_rows(user).map_err(e)?) != sorted(composed.switcher_rows(user).map_err(e)?) {
            return Err(format!("switcher_rows({user}) disagrees with its composition"));
        }
    }
    // The sweep's reads (R38, R39) at instants around every time the log mentions, and
    // the log by workspace and by user (R37).
    // Up to 16 of the log's distinct times, evenly spread (a bulk-built world has
    // thousands, and each instant costs the compositions a scan of every row).
    let mut times: Vec<OffsetDateTime> = events.iter().map(|ev| ev.at).collect();
    times.sort();
    times.dedup();
    let step = times.len().div_ceil(16).max(1);
    let mut instants: Vec<OffsetDateTime> = vec![START - time::Duration::days(1)];
    for &at in times.iter().step_by(step).chain(times.last()) {
        instants.extend([at, at + time::Duration::days(3), at + time::Duration::days(30)]);
    }
    instants.sort();
    instants.dedup();
    for &at in &instants {
        if r.invites_expired_by(at).map_err(e)? != composed.invites_expired_by(at).map_err(e)? {
            return Err(format!("invites_expired_by({at}) disagrees with its composition"));
        }
        if r.requests_waiting_since(at).map_err(e)? != composed.requests_waiting_since(at).map_err(e)? {
            return Err(format!("requests_waiting_since({at}) disagrees with its composition"));
        }
        if r.memberships_ending_by(at).map_err(e)? != composed.memberships_ending_by(at).map_err(e)? {
            return Err(format!("memberships_ending_by({at}) disagrees with its composition"));
        }
    }
    // The log by person and by workspace, grouped in one pass with the predicates the
    // default implementations filter by (those are checked against it for a few ids:
    // calling them for every id would scan the whole log each time).
    let mut by_user: BTreeMap<UserId, Vec<Event>> = BTreeMap::new();
    let mut by_workspace: BTreeMap<WorkspaceId, Vec<Event>> = BTreeMap::new();
    for ev in &events {
        let created_by = matches!(ev.kind, crate::EventKind::WorkspaceCreated { .. }).then_some(ev.actor).flatten();
        if let Some(user) = ev.kind.user().or(created_by) {
            by_user.entry(user).or_default().push(ev.clone());
        }
        if let Some(ws) = ev.kind.workspace() {
            by_workspace.entry(ws).or_default().push(ev.clone());
        }
    }
    for (n, &user) in users.iter().enumerate() {
        let expected = by_user.remove(&user).unwrap_or_default();
        if r.events_of_user(user).map_err(e)? != expected
            || (n < 8 && composed.events_of_user(user).map_err(e)? != expected)
        {
            return Err(format!("events_of_user({user}) disagrees with its composition"));
        }
    }
    let mut places: Vec<WorkspaceId> = by_workspace.keys().copied().collect();
    places.push(WorkspaceId::from_uuid(uuid::Uuid::max()));
    for (n, ws) in places.into_iter().enumerate() {
        let expected = by_workspace.remove(&ws).unwrap_or_default();
        if r.events_of_workspace(ws).map_err(e)? != expected
            || (n < 8 && composed.events_of_workspace(ws).map_err(e)? != expected)
        {
            return Err(format!("events_of_workspace({ws}) disagrees with its composition"));
        }
    }
    // The directory's candidates (R40): by each organisation's words' and postcode's
    // prefixes (for 8 organisations: the composition reads them all each time, and a
    // bulk-built world holds the whole directory).
    let ids = |found: Vec<Organisation>| {
        let mut ids: Vec<_> = found.into_iter().map(|o| o.id).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    for org in r.organisations().map_err(e)?.into_iter().take(8) {
        let mut queries: Vec<crate::directory::Candidates> = Vec::new();
        let words = crate::directory::search_words(org.name.as_str());
        for word in &words {
            queries.push(crate::directory::Candidates::Prefix(word.chars().take(3).collect()));
        }
        if let Some(postcode) = &org.postcode {
            let prefix: String = postcode.chars().take(3).collect();
            queries.push(crate::directory::Candidates::Postcode { to: format!("{prefix}\u{10FFFF}"), from: prefix });
        }
        if let Some(code) = &org.ods_code {
            queries.push(crate::directory::Candidates::OdsCode(code.clone()));
        }
        // A page of the prefix index, from the start and after its own second row, with
        // and without the name's other words; its count, whole and capped.
        for (i, word) in words.iter().enumerate() {
            let prefix: String = word.chars().take(2).collect();
            for at_most in [3, u64::MAX] {
                if r.count_prefix(&prefix, at_most).map_err(e)? != composed.count_prefix(&prefix, at_most).map_err(e)? {
                    return Err(format!("count_prefix({prefix}, {at_most}) disagrees with its composition"));
                }
            }
            let others: Vec<String> = words.iter().skip(i + 1).map(|w| w.chars().take(1).collect()).collect();
            for also in [Vec::new(), others.into_iter().take(crate::directory::PrefixPage::MAX_ALSO).collect()] {
                let mut page = crate::directory::PrefixPage { prefix: prefix.clone(), also, after: None, limit: 5 };
                for _ in 0..2 {
                    let rows = r.organisations_by_prefix(&page).map_err(e)?;
                    if rows != composed.organisations_by_prefix(&page).map_err(e)? {
                        return Err(format!("organisations_by_prefix({page:?}) disagrees with its composition"));
                    }
                    page.after = rows.get(1).map(|(key, _)| key.clone());
                }
            }
        }
        for query in queries {
            if ids(r.organisation_candidates(&query).map_err(e)?)
                != ids(composed.organisation_candidates(&query).map_err(e)?)
            {
                return Err(format!("organisation_candidates({query:?}) disagrees with its composition"));
            }
        }
    }
    // Who belongs where: a My Workspace is looked for only where its owner joined, and a
    // workspace that does not exist is asked about once, not once per organisation (a
    // bulk-built world holds the whole ODS directory: 14,598 organisations).
    let mut joined = HashSet::new();
    for &user in &users {
        for org in r.organisations_of(user).map_err(e)? {
            joined.insert((org, user));
        }
    }
    let mut nowhere = Some(WorkspaceId::from_uuid(uuid::Uuid::max()));
    // Organisations nobody joined hold no workspace (creating one takes a member): eight
    // of them stand for the rest.
    let populated: HashSet<crate::OrganisationId> = joined.iter().map(|(org, _)| *org).collect();
    let mut unpopulated = 0;
    for org in r.organisations().map_err(e)? {
        if !populated.contains(&org.id) {
            unpopulated += 1;
            if unpopulated > 8 {
                continue;
            }
        }
        let sorted_admins = |mut rows: Vec<crate::DiscoveryRow>| {
            for row in &mut rows {
                row.admins.sort_by_key(|p| p.id);
            }
            rows
        };
        // Discovery's pages (R43): from the start and after the second row, unfiltered
        // and by each filter the first row passes (its speciality, its name's first
        // word's first two letters, its first admin as colleague) alone and together.
        let page = |speciality, word, colleague| crate::DiscoveryPage {
            organisation: org.id,
            speciality,
            word,
            colleague,
            after: None,
            limit: 3,
        };
        let first = r.discovery_page(&page(None, None, None)).map_err(e)?.into_iter().next();
        let speciality = first.as_ref().map(|row| row.workspace.speciality);
        let word = first.as_ref().and_then(|row| {
            crate::directory::search_words(row.workspace.name.as_str())
                .first()
                .map(|w| w.chars().take(2).collect::<String>())
        });
        let colleague = first.as_ref().and_then(|row| row.admins.first().map(|p| p.id));
        let pages = [
            page(None, None, None),
            page(speciality, None, None),
            page(None, word.clone(), None),
            page(None, None, colleague),
            page(speciality, word.clone(), None),
            page(speciality, word, colleague),
        ];
        for mut page in pages {
            for _ in 0..2 {
                let rows = sorted_admins(r.discovery_page(&page).map_err(e)?);
                if rows != sorted_admins(composed.discovery_page(&page).map_err(e)?) {
                    return Err(format!("{}: discovery_page({page:?}) disagrees with its composition", org.name));
                }
                page.after = rows.get(1).map(|row| crate::store::discovery_key(&row.workspace));
            }
        }
        let mut places: Vec<WorkspaceId> = r.workspaces_of(org.id).map_err(e)?.iter().map(|w| w.id).collect();
        for &user in users.iter().filter(|&&user| joined.contains(&(org.id, user))) {
            places.extend(r.personal_workspace_of(user, org.id).map_err(e)?.map(|p| p.id));
        }
        places.extend(nowhere.take());
        for &ws in &places {
            let sorted_members = |mut rows: Vec<(crate::Membership, User)>| {
                rows.sort_by_key(|(m, _)| m.user);
                rows
            };
            if sorted_members(r.members_with_users(ws).map_err(e)?)
                != sorted_members(composed.members_with_users(ws).map_err(e)?)
            {
                return Err(format!("members_with_users({ws}) disagrees with its composition"));
            }
            for &user in &users {
                let expected = composed.access(ws, user).map_err(e)?;
                if r.access(ws, user).map_err(e)? != expected {
                    return Err(format!("access({ws}, {user}) disagrees with its composition"));
                }
                answers.push((ws, user, expected));
            }
            // A command's context read, in each of its shapes, for a few actors (and one
            // who does not exist), each naming the next user as the person it concerns.
            let invitee = r.pending_invites_of_workspace(ws).map_err(e)?.into_iter().next().map(|i| i.email);
            let nobody = NhsEmail::parse("nobody.invited@nhs.net").map_err(|err| err.to_string())?;
            let actors = users.iter().take(12).chain(users.last());
            for (n, &actor) in actors.enumerate() {
                let target = users.get(n + 1).copied();
                let shapes = [
                    (crate::Members::Every, crate::Invites::Every, true),
                    (crate::Members::Approvers(crate::Approvers::Admins), crate::Invites::ToActor, false),
                    (
                        crate::Members::Approvers(crate::Approvers::ApprovedMembers),
                        crate::Invites::To(invitee.as_ref().unwrap_or(&nobody)),
                        true,
                    ),
                    (crate::Members::Approvers(crate::Approvers::Admins), crate::Invites::Nobody, false),
                ];
                for ((members, invites, decline), settle) in shapes.into_iter().zip([true, false, true, false]) {
                    let query = crate::ContextQuery { workspace: ws, actor, target, members, invites, decline, settle };
                    if r.context(&query).map_err(e)? != composed.context(&query).map_err(e)? {
                        return Err(format!("context({query:?}) disagrees with its composition"));
                    }
                }
            }
            if r.admins_of(ws).map_err(e)? != composed.admins_of(ws).map_err(e)? {
                return Err(format!("admins_of({ws}) disagrees with its composition"));
            }
            for state in [
                crate::MembershipState::Unapproved,
                crate::MembershipState::Member,
                crate::MembershipState::Admin,
                crate::MembershipState::Archived,
            ] {
                if r.memberships_in_state(ws, state).map_err(e)?
                    != composed.memberships_in_state(ws, state).map_err(e)?
                {
                    return Err(format!("memberships_in_state({ws}, {state:?}) disagrees with its composition"));
                }
            }
            let mut emails: Vec<NhsEmail> =
                r.pending_invites_of_workspace(ws).map_err(e)?.into_iter().map(|i| i.email).collect();
            emails.extend(NhsEmail::parse("nobody.invited@nhs.net").ok());
            for email in &emails {
                if r.pending_invite_to(ws, email).map_err(e)? != composed.pending_invite_to(ws, email).map_err(e)? {
                    return Err(format!("pending_invite_to({ws}, {email}) disagrees with its composition"));
                }
            }
        }
    }
    Ok(answers)
}

/// A [`ReadTx`] that forwards the plain reads and keeps the default implementations
/// of the narrow ones, to compare a backend's overrides against.
struct Composed<'a>(&'a dyn ReadTx);

impl ReadTx for Composed<'_> {
    fn organisation(&self, id: crate::OrganisationId) -> StoreResult<Option<Organisation>> {
        self.0.organisation(id)
    }
    fn organisation_by_ods(&self, code: &crate::OdsCode) -> StoreResult<Option<Organisation>> {
        self.0.organisation_by_ods(code)
    }
    fn organisations(&self) -> StoreResult<Vec<Organisation>> {
        self.0.organisations()
    }
    fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.0.user(id)
    }
    fn user_by_email(&self, email: &NhsEmail) -> StoreResult<Option<User>> {
        self.0.user_by_email(email)
    }
    fn is_organisation_member(&self, organisation: crate::OrganisationId, user: UserId) -> StoreResult<bool> {
        self.0.is_organisation_member(organisation, user)
    }
    fn organisations_of(&self, user: UserId) -> StoreResult<Vec<crate::OrganisationId>> {
        self.0.organisations_of(user)
    }
    fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<Workspace>> {
        self.0.workspace(id)
    }
    fn active_workspace_named(
        &self,
        organisation: crate::OrganisationId,
        name_key: &str,
    ) -> StoreResult<Option<Workspace>> {
        self.0.active_workspace_named(organisation, name_key)
    }
    fn workspaces_of(&self, organisation: crate::OrganisationId) -> StoreResult<Vec<Workspace>> {
        self.0.workspaces_of(organisation)
    }
    fn personal_workspace(&self, id: WorkspaceId) -> StoreResult<Option<crate::PersonalWorkspace>> {
        self.0.personal_workspace(id)
    }
    fn personal_workspace_of(
        &self,
        user: UserId,
        organisation: crate::OrganisationId,
    ) -> StoreResult<Option<crate::PersonalWorkspace>> {
        self.0.personal_workspace_of(user, organisation)
    }
    fn personal_workspaces_of(&self, user: UserId) -> StoreResult<Vec<crate::PersonalWorkspace>> {
        self.0.personal_workspaces_of(user)
    }
    fn membership(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<crate::Membership>> {
        self.0.membership(workspace, user)
    }
    fn memberships_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<crate::Membership>> {
        self.0.memberships_of_workspace(workspace)
    }
    fn memberships_of_user(&self, user: UserId) -> StoreResult<Vec<crate::Membership>> {
        self.0.memberships_of_user(user)
    }
    fn invite(&self, id: crate::InviteId) -> StoreResult<Option<crate::Invite>> {
        self.0.invite(id)
    }
    fn pending_invites_of_workspace(&self, workspace: WorkspaceId) -> StoreResult<Vec<crate::Invite>> {
        self.0.pending_invites_of_workspace(workspace)
    }
    fn pending_invites_for(&self, email: &NhsEmail) -> StoreResult<Vec<crate::Invite>> {
        self.0.pending_invites_for(email)
    }
    fn decline(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<crate::Decline>> {
        self.0.decline(workspace, user)
    }
    fn conversations_of(&self, workspace: WorkspaceId) -> StoreResult<Vec<crate::Conversation>> {
        self.0.conversations_of(workspace)
    }
    fn events_after(&self, after: u64, limit: usize) -> StoreResult<Vec<Event>> {
        self.0.events_after(after, limit)
    }
    fn last_event_seq(&self) -> StoreResult<u64> {
        self.0.last_event_seq()
    }
    fn consumer(&self, name: &crate::ConsumerName) -> StoreResult<Option<crate::Consumer>> {
        self.0.consumer(name)
    }
    fn consumers(&self) -> StoreResult<Vec<crate::Consumer>> {
        self.0.consumers()
    }
}

/// For async hosts (feature `tokio`): many concurrent requests through
/// [`AsyncCarespace`](crate::tokio::AsyncCarespace) keep the invariants, and the
/// blocking API called straight on the runtime's thread works too (blocking that
/// thread, as documented) rather than panicking. A backend's tests call it from
/// `#[tokio::test]` on both runtime flavours.
#[cfg(feature = "tokio")]
pub async fn on_a_tokio_runtime(store: Arc<dyn Store>) {
    use crate::tokio::AsyncCarespace;

    let harness = Harness::new(store);
    let service = AsyncCarespace::new(harness.service.clone());
    let trust =
        service.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).await.unwrap();
    let admin = service.register_user("admin@nhs.net".parse().unwrap(), "Admin".parse().unwrap()).await.unwrap();
    service.join_organisation(admin.id, trust.id).await.unwrap();
    let new = crate::NewWorkspace {
        name: "Ward 1".parse().unwrap(),
        speciality: Speciality::from_code(501).unwrap(),
        description: crate::Description::default(),
    };
    let ward = service.create_workspace(admin.id, trust.id, new).await.unwrap().workspace;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let service = service.clone();
        tasks.push(::tokio::spawn(async move {
            let email: NhsEmail = format!("p{i}@nhs.net").parse().unwrap();
            let user = service.register_user(email, format!("Person {i}").parse().unwrap()).await.unwrap();
            service.join_organisation(user.id, trust.id).await.unwrap();
            service.request_to_join(user.id, ward.id).await.unwrap();
            service.approve(admin.id, ward.id, user.id).await.unwrap();
            service.can(user.id, ward.id, crate::Action::ViewAllConversations).await.unwrap()
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap());
    }
    // Errors come back as they would from the blocking call.
    let err = service.leave(admin.id, ward.id).await.unwrap_err();
    assert_eq!(err.code(), "last_admin");
    harness.check();
    let members = service.members(admin.id, ward.id, crate::page::PageRequest::default()).await.unwrap();
    assert_eq!(members.items.iter().filter(|m| m.state.is_current()).count(), 17);
    // On the runtime's own thread: it blocks this thread and answers.
    assert!(harness.service.can(admin.id, ward.id, crate::Action::ChangeSettings).unwrap());
    harness.service.start_conversation(admin.id, ward.id).unwrap();
}
