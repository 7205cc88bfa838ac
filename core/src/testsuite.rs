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

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;

use time::OffsetDateTime;
use time::macros::datetime;

use crate::{
    Carespace, Error, Event, ManualClock, Organisation, OrganisationId, OrganisationKind, Policy, ReadTx, Speciality,
    Store, User, UserId, Workspace, WorkspaceId,
};

pub use crate::health::{check_invariants, check_narrow_reads};

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
            r37_membership_timeline_spans_each_state,
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
            r35_updating_a_membership_that_is_not_there_writes_nothing,
            r16_memberships_with_access_read_each_membership_once_with_its_access,
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
            let email: crate::NhsEmail = format!("p{i}@nhs.net").parse().unwrap();
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
