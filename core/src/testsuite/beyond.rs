//! The conformance cases of the rules beyond the product (R37–R39): point-in-time
//! access from the event log, the sweep, and time-boxed memberships.

use super::WholeLists;
use std::sync::Arc;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{Harness, START};
use crate::{
    Approvers, ArchiveReason, Clock, Error, Event, EventKind, InviteStatus, MembershipState, Policy, Role, Sight,
    Store, Swept, User, UserId, WorkspaceId,
};

fn email(s: &str) -> crate::NhsEmail {
    s.parse().unwrap()
}

fn day(n: i64) -> OffsetDateTime {
    START + Duration::days(n)
}

/// Moves the harness's clock to `at` (never backwards).
fn set_clock(h: &Harness, at: OffsetDateTime) {
    let now = h.clock.now();
    assert!(at >= now, "the clock only moves forward");
    h.clock.advance(at - now);
}

/// Who could see `ws` at `at`, as (user, sight), sorted by user.
fn viewers(h: &Harness, ws: WorkspaceId, at: OffsetDateTime) -> Vec<(UserId, Sight)> {
    let mut out: Vec<_> = h.ok(|s| s.viewers_at(ws, at)).into_iter().map(|v| (v.person.id, v.sight)).collect();
    out.sort();
    out
}

fn sorted(mut pairs: Vec<(UserId, Sight)>) -> Vec<(UserId, Sight)> {
    pairs.sort();
    pairs
}

fn sweep(h: &Harness) -> (Swept, Vec<Event>) {
    let now = h.clock.now();
    h.events_of(|s| s.sweep(now))
}

/// A trust with Alice, Bob and Carol in it.
fn trio(h: &Harness) -> (crate::Organisation, User, User, User) {
    let org = h.trust("Trust");
    let [alice, bob, carol] =
        ["Alice", "Bob", "Carol"].map(|n| h.member_of(&org, n, &format!("{}@nhs.net", n.to_lowercase())));
    (org, alice, bob, carol)
}

/// R37: a ward's story over a week, asked about at noon of each day.
pub fn r37_who_could_see_a_workspace_and_what_a_person_could_see_at_past_instants(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (org, alice, bob, carol) = trio(&h);
    let ws = h.workspace(&alice, &org, "Maternity - Ward 2");
    h.ok(|s| s.request_to_join(bob.id, ws.id)); // day 0: Bob asks (unapproved: sees only his own)
    set_clock(&h, day(1));
    h.ok(|s| s.approve(alice.id, ws.id, bob.id));
    set_clock(&h, day(2));
    let invite = h.ok(|s| s.invite(bob.id, ws.id, carol.email.clone()));
    h.ok(|s| s.accept_invite(carol.id, invite.id));
    set_clock(&h, day(3));
    h.ok(|s| s.archive_member(alice.id, ws.id, bob.id));
    set_clock(&h, day(4));
    h.ok(|s| s.unarchive_member(alice.id, ws.id, bob.id));
    h.ok(|s| s.promote(alice.id, ws.id, bob.id));
    set_clock(&h, day(5));
    h.ok(|s| s.leave(carol.id, ws.id));

    let noon = |n: i64| day(n) + Duration::hours(3);
    assert!(viewers(&h, ws.id, START - Duration::seconds(1)).is_empty(), "before the ward existed");
    assert_eq!(viewers(&h, ws.id, noon(0)), vec![(alice.id, Sight::Admin)]);
    assert_eq!(viewers(&h, ws.id, noon(1)), sorted(vec![(alice.id, Sight::Admin), (bob.id, Sight::Member)]));
    assert_eq!(
        viewers(&h, ws.id, noon(2)),
        sorted(vec![(alice.id, Sight::Admin), (bob.id, Sight::Member), (carol.id, Sight::Member)])
    );
    assert_eq!(viewers(&h, ws.id, noon(3)), sorted(vec![(alice.id, Sight::Admin), (carol.id, Sight::Member)]));
    assert_eq!(
        viewers(&h, ws.id, noon(4)),
        sorted(vec![(alice.id, Sight::Admin), (bob.id, Sight::Admin), (carol.id, Sight::Member)])
    );
    assert_eq!(viewers(&h, ws.id, noon(5)), sorted(vec![(alice.id, Sight::Admin), (bob.id, Sight::Admin)]));
    // The instant of a command already includes it.
    assert_eq!(viewers(&h, ws.id, day(1)).len(), 2);
    // Since when: Bob's stretch restarts at his unarchival, and a promotion does not break it.
    let bob_then = h.ok(|s| s.viewers_at(ws.id, noon(5))).into_iter().find(|v| v.person.id == bob.id).unwrap();
    assert_eq!(bob_then.since, day(4));

    // What Bob could see: his My Workspace from day 0 (archived by his request, but still
    // his, R28), the ward while approved.
    let seen = |at| -> Vec<(WorkspaceId, Sight)> {
        h.ok(|s| s.workspaces_visible_at(bob.id, at)).into_iter().map(|v| (v.workspace, v.sight)).collect()
    };
    let personal = h.ok(|s| s.join_organisation(bob.id, org.id)).id;
    assert_eq!(seen(noon(0)), vec![(personal, Sight::Owner)], "unapproved: only his own");
    assert_eq!(seen(noon(1)), vec![(ws.id, Sight::Member), (personal, Sight::Owner)]);
    assert_eq!(seen(noon(3)), vec![(personal, Sight::Owner)]);
    assert_eq!(seen(noon(4)), vec![(ws.id, Sight::Admin), (personal, Sight::Owner)]);
    let carols = h.ok(|s| s.workspaces_visible_at(carol.id, noon(5)));
    assert!(carols.iter().all(|v| v.sight == Sight::Owner), "Carol left on day 5: {carols:?}");
    // A My Workspace is seen by its owner alone, from when it was made.
    assert_eq!(viewers(&h, personal, noon(0)), vec![(bob.id, Sight::Owner)]);
    assert!(viewers(&h, personal, START - Duration::seconds(1)).is_empty());

    // Unknown ids.
    let unknown = WorkspaceId::from_uuid(uuid::Uuid::max());
    assert!(matches!(h.service.viewers_at(unknown, noon(1)), Err(Error::NotFound { .. })));
    assert!(matches!(
        h.service.workspaces_visible_at(UserId::from_uuid(uuid::Uuid::max()), noon(1)),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(h.service.membership_history_all(personal), Err(Error::NotFound { .. })));
}

/// R37: answers about the past are the same after anything that happens later.
pub fn r37_answers_about_the_past_never_change(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (org, alice, bob, carol) = trio(&h);
    let ws = h.workspace(&alice, &org, "Ward 1");
    h.approved(&ws, &alice, &bob);
    h.ok(|s| s.request_to_join(carol.id, ws.id));
    set_clock(&h, day(1));
    let rename = |h: &Harness, to: &str| {
        let change = crate::SettingsChange { name: Some(to.parse().unwrap()), ..Default::default() };
        h.ok(|s| s.update_settings(alice.id, ws.id, change.clone()));
    };
    rename(&h, "Ward 1a");
    let instants = [START, day(1) - Duration::seconds(1), day(1)];
    // Names as they were: before the rename, and after it (R37).
    let names = |at| h.ok(|s| s.workspaces_visible_at(bob.id, at)).into_iter().map(|v| v.name).collect::<Vec<_>>();
    assert_eq!(names(day(1) - Duration::seconds(1)), ["My Workspace", "Ward 1"]);
    assert_eq!(names(day(1)), ["My Workspace", "Ward 1a"]);
    let snapshot = |h: &Harness| {
        instants
            .iter()
            .map(|&at| {
                let users = [alice.id, bob.id, carol.id].map(|u| h.ok(|s| s.workspaces_visible_at(u, at)));
                (h.ok(|s| s.viewers_at(ws.id, at)), users)
            })
            .collect::<Vec<_>>()
    };
    let history = h.ok(|s| s.membership_history_all(ws.id));
    let before = snapshot(&h);
    // The present moves on: everything that could rewrite a naive answer.
    set_clock(&h, day(2));
    h.ok(|s| s.approve(alice.id, ws.id, carol.id));
    h.ok(|s| s.promote(alice.id, ws.id, bob.id));
    rename(&h, "Ward 1b");
    h.ok(|s| s.leave(alice.id, ws.id));
    h.ok(|s| s.set_membership_end(bob.id, ws.id, carol.id, Some(day(3))));
    set_clock(&h, day(4));
    sweep(&h);
    h.ok(|s| s.leave(bob.id, ws.id)); // the last member: the ward is archived
    assert_eq!(snapshot(&h), before);
    let now = h.ok(|s| s.membership_history_all(ws.id));
    assert_eq!(now[..history.len()], history[..], "the history only grows");
    assert!(h.ok(|s| s.viewers_at(ws.id, day(4))).is_empty(), "archived with nobody in it");
}

/// "Ward 1", made by Alice: Carol asks and is declined; a day later Bob is approved and
/// promoted to admin.
fn declined_then_promoted(h: &Harness) -> (User, User, User, crate::Workspace) {
    let (org, alice, bob, carol) = trio(h);
    let ws = h.workspace(&alice, &org, "Ward 1");
    h.ok(|s| s.request_to_join(carol.id, ws.id));
    h.ok(|s| s.decline(alice.id, ws.id, carol.id));
    set_clock(h, day(1));
    h.approved(&ws, &alice, &bob);
    h.ok(|s| s.promote(alice.id, ws.id, bob.id));
    (alice, bob, carol, ws)
}

/// R37: the history lists every membership change with its actor and time.
pub fn r37_membership_history_names_every_change_with_actor_and_time(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (alice, bob, carol, ws) = declined_then_promoted(&h);
    h.ok(|s| s.demote(bob.id, ws.id, alice.id));
    h.ok(|s| s.start_conversation(bob.id, ws.id)); // not a membership change
    h.ok(|s| s.set_membership_end(bob.id, ws.id, alice.id, Some(day(2))));
    set_clock(&h, day(2));
    sweep(&h);
    let history = h.ok(|s| s.membership_history_all(ws.id));
    let lines: Vec<(String, Option<UserId>, OffsetDateTime)> =
        history.iter().map(|e| (e.kind.type_name().to_owned(), e.actor, e.at)).collect();
    let expected = vec![
        ("workspace_created", Some(alice.id), START),
        ("join_requested", Some(carol.id), START),
        ("join_declined", Some(alice.id), START),
        ("join_requested", Some(bob.id), day(1)),
        ("join_approved", Some(alice.id), day(1)),
        ("role_changed", Some(alice.id), day(1)),
        ("role_changed", Some(bob.id), day(1)),
        ("membership_end_changed", Some(bob.id), day(1)),
        ("member_archived", None, day(2)),
    ];
    let expected: Vec<_> = expected.into_iter().map(|(t, a, at)| (t.to_owned(), a, at)).collect();
    assert_eq!(lines, expected);
    assert!(history.windows(2).all(|w| w[0].seq < w[1].seq), "in log order");
    assert!(matches!(
        history.last().unwrap().kind,
        EventKind::MemberArchived { reason: ArchiveReason::MembershipEnded, user, .. } if user == alice.id
    ));
}

/// R37: the timeline gives each person's states as spans that meet end to end, from
/// the same log the history reads; a decline leaves a gap, a comeback a new span.
pub fn r37_membership_timeline_spans_each_state(store: Arc<dyn Store>) {
    type S = MembershipState;
    let h = Harness::new(store);
    let (alice, bob, carol, ws) = declined_then_promoted(&h);
    set_clock(&h, day(2));
    h.ok(|s| s.demote(alice.id, ws.id, bob.id));
    h.ok(|s| s.archive_member(alice.id, ws.id, bob.id));
    set_clock(&h, day(10));
    h.ok(|s| s.request_to_join(carol.id, ws.id));
    let timeline = h.ok(|s| s.membership_timeline(ws.id));
    assert_eq!(timeline.name, "Ward 1");
    assert_eq!(timeline.events, h.ok(|s| s.membership_history_all(ws.id)));
    let spans = |user: UserId| -> Vec<(S, OffsetDateTime, Option<OffsetDateTime>)> {
        let person = timeline.people.iter().find(|p| p.person.id == user).expect("on the timeline");
        person.spans.iter().map(|s| (s.state, s.from, s.until)).collect()
    };
    assert_eq!(spans(alice.id), [(S::Admin, START, None)]);
    assert_eq!(
        spans(bob.id),
        [
            (S::Unapproved, day(1), Some(day(1))),
            (S::Member, day(1), Some(day(1))),
            (S::Admin, day(1), Some(day(2))),
            (S::Member, day(2), Some(day(2))),
            (S::Archived, day(2), None),
        ]
    );
    // Declined: a span that ends, then a gap, then a new request.
    assert_eq!(spans(carol.id), [(S::Unapproved, START, Some(START)), (S::Unapproved, day(10), None)]);
    assert_eq!(timeline.people.iter().map(|p| p.person.id).collect::<Vec<_>>(), [alice.id, carol.id, bob.id]);
    let err = h.err(|s| s.membership_timeline(WorkspaceId::from_uuid(uuid::Uuid::max())));
    assert_eq!(err.code(), "not_found");
}

/// R38: invites past their date are expired by the sweep, once, with one event.
pub fn r38_sweep_expires_invites_once(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    let old = h.ok(|s| s.invite(alice.id, ws.id, email("dan@nhs.net")));
    set_clock(&h, day(10));
    let young = h.ok(|s| s.invite(alice.id, ws.id, email("erin@nhs.net")));
    let (swept, events) = sweep(&h);
    assert!(swept.is_empty() && events.is_empty(), "nothing has expired yet");
    set_clock(&h, day(14));
    let (swept, events) = sweep(&h);
    assert_eq!(swept, Swept { invites_expired: 1, ..Swept::default() });
    assert_eq!(events.len(), 1);
    assert!(matches!(&events[0].kind, EventKind::InviteExpired { invite, .. } if *invite == old.id));
    assert_eq!(events[0].actor, None, "the sweep acts for nobody");
    assert_eq!(h.ok(|s| s.invite_details(alice.id, old.id)).status, InviteStatus::Expired);
    assert_eq!(h.ok(|s| s.invite_details(alice.id, young.id)).status, InviteStatus::Pending);
    // Twice with the same now: nothing; a new invite to the address is a fresh one.
    let (swept, events) = sweep(&h);
    assert!(swept.is_empty() && events.is_empty());
    let (fresh, events) = h.events_of(|s| s.invite(alice.id, ws.id, email("dan@nhs.net")));
    assert_ne!(fresh.id, old.id);
    assert!(events.iter().all(|e| !matches!(e.kind, EventKind::InviteExpired { .. })), "already expired: {events:?}");
}

/// A ward with Alice as admin, Bob and Carol approved, and Dan and Erin in the trust.
fn ward(h: &Harness) -> (Vec<User>, WorkspaceId) {
    let org = h.trust("Trust");
    let people: Vec<User> = ["Alice", "Bob", "Carol", "Dan", "Erin"]
        .iter()
        .map(|n| h.member_of(&org, n, &format!("{}@nhs.net", n.to_lowercase())))
        .collect();
    let ws = h.workspace(&people[0], &org, "Ward 1");
    h.approved(&ws, &people[0], &people[1]);
    h.approved(&ws, &people[0], &people[2]);
    (people, ws.id)
}

/// R38: a request nobody handled for the policy's time is escalated once, to every
/// approved member, naming who can approve.
pub fn r38_stale_join_requests_are_escalated_once(fresh: &dyn Fn() -> Arc<dyn Store>) {
    for approvers in [Approvers::Admins, Approvers::ApprovedMembers] {
        let h = Harness::with_policy(fresh(), Policy::default().with_approvers(approvers));
        let (p, ws) = ward(&h);
        let (alice, bob, carol, dan, erin) = (&p[0], &p[1], &p[2], &p[3], &p[4]);
        h.ok(|s| s.request_to_join(dan.id, ws));
        h.ok(|s| s.request_to_join(erin.id, ws));
        set_clock(&h, day(2));
        h.ok(|s| s.approve(alice.id, ws, erin.id)); // handled in time: never escalated
        set_clock(&h, day(3) - Duration::seconds(1));
        assert!(sweep(&h).0.is_empty(), "three days have not passed");
        set_clock(&h, day(3));
        let (swept, events) = sweep(&h);
        assert_eq!(swept, Swept { requests_escalated: 1, ..Swept::default() });
        let EventKind::JoinRequestEscalated { user, requested_at, approvers: can, escalated_to, .. } = &events[0].kind
        else {
            panic!("{events:?}")
        };
        assert_eq!((*user, *requested_at), (dan.id, START));
        let mut everyone = vec![alice.id, bob.id, carol.id, erin.id];
        everyone.sort();
        let mut to = escalated_to.clone();
        to.sort();
        assert_eq!(to, everyone, "every approved member");
        let mut can = can.clone();
        can.sort();
        let expected = match approvers {
            Approvers::Admins => vec![alice.id],
            Approvers::ApprovedMembers => everyone.clone(),
        };
        assert_eq!(can, expected, "the requester is told who can approve");
        let membership = h.ok(|s| s.members_all(alice.id, ws)).current.into_iter().find(|m| m.user.id == dan.id);
        assert_eq!(membership.map(|m| m.state), Some(MembershipState::Unapproved), "still waiting");
        set_clock(&h, day(30));
        assert!(sweep(&h).0.is_empty(), "escalated once");
        // A request made again after a decline waits its own three days.
        h.ok(|s| s.decline(alice.id, ws, dan.id));
        set_clock(&h, day(40));
        h.ok(|s| s.request_to_join(dan.id, ws));
        set_clock(&h, day(43));
        assert_eq!(sweep(&h).0.requests_escalated, 1);
    }
}

/// R38: several sweeps at once do each effect exactly once, with one event each.
pub fn r38_concurrent_sweeps_do_each_effect_once(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (p, ws) = ward(&h);
    let (alice, bob, carol, dan, erin) = (&p[0], &p[1], &p[2], &p[3], &p[4]);
    for n in 0..5 {
        h.ok(|s| s.invite(alice.id, ws, email(&format!("invitee{n}@nhs.net"))));
    }
    h.ok(|s| s.request_to_join(dan.id, ws));
    h.ok(|s| s.request_to_join(erin.id, ws));
    h.ok(|s| s.set_membership_end(alice.id, ws, bob.id, Some(day(20))));
    h.ok(|s| s.set_membership_end(alice.id, ws, carol.id, Some(day(25))));
    let at = day(20);
    let expected = Swept {
        invites_expired: 5,
        requests_escalated: 2,
        end_reminders: 1,
        memberships_ended: 1,
        last_admins_kept: 0,
    };
    let before = h.events().len();
    let results: Vec<Swept> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let service = h.service.clone();
                scope.spawn(move || service.sweep(at))
            })
            .collect();
        handles.into_iter().map(|t| t.join().unwrap().unwrap()).collect()
    });
    h.check();
    let total: Swept = results.iter().copied().sum();
    assert_eq!(total, expected, "each effect once across {results:?}");
    assert_eq!(results.iter().filter(|s| !s.is_empty()).count(), 1, "one sweep did it all: {results:?}");
    let events = h.ok(|s| s.events_since(before as u64, 100));
    let count = |t: &str| events.iter().filter(|e| e.kind.type_name() == t).count();
    assert_eq!(count("invite_expired"), 5);
    assert_eq!(count("join_request_escalated"), 2);
    assert_eq!(count("membership_ending_soon"), 1);
    assert_eq!(count("member_archived"), 1);
    assert!(h.ok(|s| s.sweep(at)).is_empty());
}

/// R39: admins set, extend, bring forward and clear end dates, for current members,
/// never in the past.
pub fn r39_admins_set_extend_and_clear_membership_ends(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (p, ws) = ward(&h);
    let (alice, bob, carol, dan) = (&p[0], &p[1], &p[2], &p[3]);
    h.forbidden(|s| s.set_membership_end(bob.id, ws, carol.id, Some(day(30))));
    let err = h.err(|s| s.set_membership_end(alice.id, ws, bob.id, Some(START)));
    assert!(matches!(err, Error::EndDateNotInFuture { .. }), "{err}");
    assert!(err.to_string().contains("is not in the future"), "{err}");
    let err = h.err(|s| s.set_membership_end(alice.id, ws, dan.id, Some(day(30))));
    assert!(matches!(err, Error::NotAMember { .. }), "{err}");
    let (set, events) = h.events_of(|s| s.set_membership_end(alice.id, ws, bob.id, Some(day(30))));
    assert_eq!(set.ends_at, Some(day(30)));
    assert_eq!(
        events.iter().map(|e| e.kind.clone()).collect::<Vec<_>>(),
        vec![EventKind::MembershipEndChanged { workspace: ws, user: bob.id, ends_at: Some(day(30)), previous: None }]
    );
    let (_, events) = h.events_of(|s| s.set_membership_end(alice.id, ws, bob.id, Some(day(30))));
    assert!(events.is_empty(), "the same date again is a no-op");
    let (extended, events) = h.events_of(|s| s.set_membership_end(alice.id, ws, bob.id, Some(day(60))));
    assert_eq!(extended.ends_at, Some(day(60)));
    assert!(matches!(events[0].kind, EventKind::MembershipEndChanged { previous: Some(p), .. } if p == day(30)));
    let (cleared, _) = h.events_of(|s| s.set_membership_end(alice.id, ws, bob.id, None));
    assert_eq!(cleared.ends_at, None);
    // An unapproved member may be time-boxed too; an archived one may not.
    h.ok(|s| s.request_to_join(dan.id, ws));
    h.ok(|s| s.set_membership_end(alice.id, ws, dan.id, Some(day(5))));
    h.ok(|s| s.archive_member(alice.id, ws, carol.id));
    let err = h.err(|s| s.set_membership_end(alice.id, ws, carol.id, Some(day(5))));
    assert!(matches!(err, Error::NotAMember { .. }), "{err}");
    // Archiving ends the time box: an unarchived member starts without an end date.
    h.ok(|s| s.archive_member(alice.id, ws, dan.id));
    let back = h.ok(|s| s.unarchive_member(alice.id, ws, dan.id));
    assert_eq!(back.ends_at, None);
}

/// R39: a reminder a week before, once per end date; archival with the reason
/// "membership ended" at the end, with the member's invites revoked.
pub fn r39_reminder_then_archival_at_the_end(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (p, ws) = ward(&h);
    let (alice, bob) = (&p[0], &p[1]);
    h.ok(|s| s.set_membership_end(alice.id, ws, bob.id, Some(day(30))));
    set_clock(&h, day(23) - Duration::seconds(1));
    assert!(sweep(&h).0.is_empty(), "more than seven days before the end");
    set_clock(&h, day(23));
    let (swept, events) = sweep(&h);
    assert_eq!(swept.end_reminders, 1);
    assert_eq!(
        events[0].kind,
        EventKind::MembershipEndingSoon { workspace: ws, user: bob.id, ends_at: day(30), admins: vec![alice.id] }
    );
    assert!(sweep(&h).0.is_empty(), "reminded once");
    // Extending earns a new reminder before the new end.
    h.ok(|s| s.set_membership_end(alice.id, ws, bob.id, Some(day(40))));
    set_clock(&h, day(33));
    assert_eq!(sweep(&h).0.end_reminders, 1);
    let bobs_invite = h.ok(|s| s.invite(bob.id, ws, email("friend@nhs.net")));
    set_clock(&h, day(40));
    let (swept, events) = sweep(&h);
    assert_eq!(swept, Swept { memberships_ended: 1, ..Swept::default() });
    assert!(
        events.iter().any(|e| e.kind
            == EventKind::MemberArchived { workspace: ws, user: bob.id, reason: ArchiveReason::MembershipEnded })
    );
    assert!(
        events.iter().any(|e| matches!(e.kind, EventKind::InviteRevoked { invite, .. } if invite == bobs_invite.id))
    );
    let list = h.ok(|s| s.members_all(alice.id, ws));
    assert!(list.archived.iter().any(|m| m.user.id == bob.id && m.state == MembershipState::Archived));
    h.forbidden(|s| s.conversations(bob.id, ws));
    assert!(sweep(&h).0.is_empty());
}

/// R39 with R25: an ending admin is demoted, then archived; a last admin is kept, with
/// one event saying why, until another admin exists.
pub fn r39_an_ending_admin_is_demoted_first_and_a_last_admin_is_kept(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (p, ws) = ward(&h);
    let (alice, bob, carol, dan) = (&p[0], &p[1], &p[2], &p[3]);
    h.ok(|s| s.promote(alice.id, ws, bob.id));
    // The only two admins both end: the earlier end goes (demoted first), the later is
    // then the last admin and stays.
    h.ok(|s| s.set_membership_end(alice.id, ws, alice.id, Some(day(10))));
    h.ok(|s| s.set_membership_end(alice.id, ws, bob.id, Some(day(12))));
    set_clock(&h, day(12));
    let (swept, events) = sweep(&h);
    assert_eq!(swept, Swept { memberships_ended: 1, last_admins_kept: 1, ..Swept::default() });
    let kinds: Vec<&EventKind> = events.iter().map(|e| &e.kind).collect();
    let demoted =
        kinds.iter().position(|k| **k == EventKind::RoleChanged { workspace: ws, user: alice.id, role: Role::Member });
    let archived = kinds.iter().position(|k| matches!(k, EventKind::MemberArchived { user, .. } if *user == alice.id));
    assert!(demoted.is_some() && demoted < archived, "demoted, then archived: {kinds:?}");
    assert!(kinds.contains(&&EventKind::LastAdminKept { workspace: ws, user: bob.id, ends_at: day(12) }));
    assert_eq!(h.ok(|s| s.standing(bob.id, ws)), crate::Standing::Admin, "kept in place");
    set_clock(&h, day(13));
    assert!(sweep(&h).0.is_empty(), "said once");
    // Another admin appears: the next sweep ends the kept admin's membership.
    h.ok(|s| s.promote(bob.id, ws, carol.id));
    let (swept, _) = sweep(&h);
    assert_eq!(swept.memberships_ended, 1);
    assert_eq!(h.ok(|s| s.standing(bob.id, ws)), crate::Standing::Archived);
    assert_eq!(h.ok(|s| s.standing(carol.id, ws)), crate::Standing::Admin);

    // Equal end dates: no arbitrary tie-break, both stay, each with its event.
    h.ok(|s| s.request_to_join(dan.id, ws));
    h.ok(|s| s.approve(carol.id, ws, dan.id));
    h.ok(|s| s.promote(carol.id, ws, dan.id));
    for who in [carol, dan] {
        h.ok(|s| s.set_membership_end(carol.id, ws, who.id, Some(day(20))));
    }
    set_clock(&h, day(20));
    let (swept, _) = sweep(&h);
    assert_eq!(swept, Swept { last_admins_kept: 2, ..Swept::default() });
    assert_eq!(h.ok(|s| s.standing(dan.id, ws)), crate::Standing::Admin);
    assert_eq!(h.ok(|s| s.standing(carol.id, ws)), crate::Standing::Admin);
}

/// R38, R39 (and R36): an instant outside the times every backend can record — a sweep
/// for the year 2300, an end date then, a clock set there — is refused with the same
/// typed error on every backend, and nothing is written.
pub fn r38_r39_times_outside_the_supported_range_are_refused_alike(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (p, ws) = ward(&h);
    let (alice, bob) = (&p[0], &p[1]);
    let far = crate::SUPPORTED_TIMES.end;
    let err = h.err(|s| s.sweep(far));
    assert!(matches!(err, Error::TimeOutOfRange { at } if at == far), "{err}");
    assert!(err.to_string().contains("outside the times Carespace records"), "{err}");
    let err = h.err(|s| s.set_membership_end(alice.id, ws, bob.id, Some(far)));
    assert!(matches!(err, Error::TimeOutOfRange { .. }), "{err}");
    let just_inside = far - Duration::seconds(1);
    assert_eq!(h.ok(|s| s.set_membership_end(alice.id, ws, bob.id, Some(just_inside))).ends_at, Some(just_inside));
    set_clock(&h, far);
    let err = h.err(|s| s.start_conversation(alice.id, ws));
    assert!(matches!(err, Error::TimeOutOfRange { .. }), "{err}");
    // Reading about any instant is fine: nothing is written.
    assert_eq!(h.ok(|s| s.viewers_at(ws, far)).len(), 3);
}

/// R17, R18, R38, R39 (issue 16): policy durations that reach past the times Carespace
/// records mean "never", alike on every backend: an invite and a cool-down last until
/// the last recorded instant, sweeps run and escalate nothing, and a reminder comes as
/// early as it can. (SQLite used to fail every such invite and every sweep.)
pub fn r18_r38_policy_durations_past_the_supported_times_mean_never(store: Arc<dyn Store>) {
    let policy = Policy::default()
        .with_invite_lifetime(Duration::days(300 * 366))
        .with_rerequest_cooldown(Duration::MAX)
        .with_escalate_after(Duration::MAX)
        .with_end_reminder(Duration::MAX);
    let h = Harness::with_policy(store, policy);
    let (p, ws) = ward(&h);
    let (alice, bob, dan, erin) = (&p[0], &p[1], &p[3], &p[4]);
    let invite = h.ok(|s| s.invite(alice.id, ws, email("new.starter@nhs.net")));
    assert_eq!(invite.expires_at, crate::LAST_SUPPORTED_TIME);
    h.ok(|s| s.request_to_join(dan.id, ws));
    h.ok(|s| s.decline(alice.id, ws, dan.id));
    let err = h.err(|s| s.request_to_join(dan.id, ws));
    assert!(matches!(err, Error::CoolDown { until, .. } if until == crate::LAST_SUPPORTED_TIME), "{err}");
    h.ok(|s| s.request_to_join(erin.id, ws));
    let in_a_month = h.clock.now() + Duration::days(30);
    h.ok(|s| s.set_membership_end(alice.id, ws, bob.id, Some(in_a_month)));
    let counts =
        |swept: Swept| (swept.invites_expired, swept.requests_escalated, swept.end_reminders, swept.memberships_ended);
    let swept = h.ok(|s| s.sweep(h.clock.now() + Duration::days(1)));
    assert_eq!(counts(swept), (0, 0, 1, 0), "Bob is reminded as early as can be; nothing else");
    let swept = h.ok(|s| s.sweep(START + Duration::days(3650)));
    assert_eq!(counts(swept), (0, 0, 0, 1), "ten years on, nothing expires or escalates; Bob's membership ends");
    h.check();
}

/// The user's My Workspace in an organisation, as the switcher shows it.
fn my_workspace(h: &Harness, user: &User, organisation: crate::OrganisationId) -> crate::PersonalWorkspace {
    h.ok(|s| s.my_workspaces(user.id))
        .into_iter()
        .find_map(|entry| match entry {
            crate::SwitcherEntry::Personal { workspace, .. } if workspace.organisation == organisation => {
                Some(workspace)
            }
            _ => None,
        })
        .expect("a My Workspace in every organisation one belongs to")
}

/// The My Workspace events `step` appended, as (reactivated?, user).
fn my_workspace_events<T>(
    h: &Harness,
    step: impl FnOnce(&crate::Carespace) -> Result<T, Error>,
) -> Vec<(bool, UserId)> {
    let (_, events) = h.events_of(step);
    events
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::MyWorkspaceArchived { user, .. } => Some((false, user)),
            EventKind::MyWorkspaceReactivated { user, .. } => Some((true, user)),
            _ => None,
        })
        .collect()
}

/// R41: whoever no longer holds a current shared membership in an organisation — their
/// request declined, they left, an admin archived them, their time-boxed membership
/// ended — has their My Workspace back, with its conversations; it is archived again
/// when they next become a member (R27). Both are events, once each.
pub fn r41_no_one_is_stranded(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (org, alice, bob, carol) = trio(&h);
    let other = h.trust("Other Trust");
    h.ok(|s| s.join_organisation(alice.id, other.id));
    let ward = h.workspace(&alice, &org, "Ward 1");
    let clinic = h.workspace(&alice, &org, "Clinic 2");
    let elsewhere = h.workspace(&alice, &other, "Ward 9");
    let back = |u: &User| vec![(true, u.id)];
    let gone = |u: &User| vec![(false, u.id)];

    // Declined: Bob's My Workspace, archived when he asked, comes back with what he had
    // started there, and he can send from it again.
    let personal = my_workspace(&h, &bob, org.id).id;
    let old = h.ok(|s| s.start_conversation(bob.id, personal));
    assert_eq!(my_workspace_events(&h, |s| s.request_to_join(bob.id, ward.id)), gone(&bob));
    h.forbidden(|s| s.start_conversation(bob.id, personal));
    assert_eq!(my_workspace_events(&h, |s| s.decline(alice.id, ward.id, bob.id)), back(&bob));
    assert!(my_workspace(&h, &bob, org.id).is_active());
    assert!(h.ok(|s| s.conversations(bob.id, personal)).contains(&old));
    h.ok(|s| s.start_conversation(bob.id, personal));

    // Left: while Carol holds another current membership there, nothing comes back; her
    // last one ending brings it back. A membership in another organisation does not count.
    h.approved(&ward, &alice, &carol);
    h.approved(&clinic, &alice, &carol);
    h.ok(|s| s.join_organisation(carol.id, other.id));
    h.approved(&elsewhere, &alice, &carol);
    assert_eq!(my_workspace_events(&h, |s| s.leave(carol.id, ward.id)), vec![]);
    assert!(!my_workspace(&h, &carol, org.id).is_active());
    assert_eq!(my_workspace_events(&h, |s| s.leave(carol.id, clinic.id)), back(&carol));
    assert!(!my_workspace(&h, &carol, other.id).is_active(), "still a member of Ward 9 there");

    // Archived by an admin, then unarchived: back, then archived again (R27).
    h.approved(&clinic, &alice, &bob);
    assert!(!my_workspace(&h, &bob, org.id).is_active());
    assert_eq!(my_workspace_events(&h, |s| s.archive_member(alice.id, clinic.id, bob.id)), back(&bob));
    assert_eq!(my_workspace_events(&h, |s| s.unarchive_member(alice.id, clinic.id, bob.id)), gone(&bob));

    // A time-boxed membership ending at a sweep.
    h.ok(|s| s.set_membership_end(alice.id, clinic.id, bob.id, Some(day(10))));
    set_clock(&h, day(10));
    assert_eq!(my_workspace_events(&h, |s| s.sweep(day(10))), back(&bob));
    assert!(my_workspace(&h, &bob, org.id).is_active());
    assert_eq!(my_workspace_events(&h, |s| s.sweep(day(10))), vec![], "once");

    // The last member leaving archives the workspace and gives Alice hers back.
    h.ok(|s| s.leave(alice.id, clinic.id));
    assert_eq!(my_workspace_events(&h, |s| s.leave(alice.id, ward.id)), back(&alice));
    h.check();
}

/// R35, R38: an instant outside the supported times that reaches a store directly (core
/// refuses it before, with `TimeOutOfRange`) is refused by every backend alike: a
/// `Constraint` storage error naming it, and nothing written.
pub fn r35_r38_an_instant_no_store_holds_is_refused_alike(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    for at in [datetime!(1800-01-01 0:00 UTC), datetime!(2300-01-01 0:00 UTC)] {
        let organisation = crate::Organisation::new(
            crate::OrganisationId::from_uuid(uuid::Uuid::now_v7()),
            "Far Off Trust".parse().unwrap(),
            crate::OrganisationKind::NhsTrust,
            None,
            at,
        );
        let err = h.store.write(&mut |tx| Ok(tx.put_organisation(&organisation)?)).unwrap_err();
        assert!(matches!(&err, Error::Storage(e) if e.kind() == crate::StorageErrorKind::Constraint), "{at}: {err}");
        assert!(err.to_string().contains("outside the times Carespace stores"), "{err}");
        let mut found = None;
        h.store
            .read(&mut |r| {
                found = r.organisation(organisation.id)?;
                Ok(())
            })
            .unwrap();
        assert_eq!(found, None, "{at}: nothing written");
    }
    h.check();
}

/// R35: the update of a membership that is not there fails the whole write on every
/// backend — the SQL stores update in one statement that must change one row — and
/// writes nothing, the rows before it and the events after it included.
pub fn r35_updating_a_membership_that_is_not_there_writes_nothing(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    let held = |user: UserId| held(&h, ws.id, user);
    let alices = held(alice.id).expect("the creator is the workspace's admin");
    // Bob holds no membership: an update of his must fail, on its own and in a plan.
    let bobs = crate::Membership { user: bob.id, ..alices.clone() };
    let reminded = crate::Membership { end_notice: Some(crate::EndNotice::Reminded), ..alices.clone() };
    let before = super::dump(h.store.as_ref());
    let alone = h.store.write(&mut |tx| Ok(tx.update_membership(&bobs)?)).unwrap_err();
    assert!(matches!(&alone, Error::Storage(e) if e.kind() == crate::StorageErrorKind::Other), "{alone}");
    let plan = crate::store::Plan {
        changes: vec![
            crate::store::Change::UpdateMembership(reminded.clone()),
            crate::store::Change::UpdateMembership(bobs),
        ],
        events: vec![EventKind::JoinApproved { workspace: ws.id, user: bob.id }],
    };
    let in_a_plan = h.store.write(&mut |tx| Ok(tx.apply(&plan, START, Some(alice.id))?)).unwrap_err();
    assert!(matches!(&in_a_plan, Error::Storage(e) if e.kind() == crate::StorageErrorKind::Other), "{in_a_plan}");
    assert_eq!(super::dump(h.store.as_ref()), before, "nothing written");
    assert_eq!(held(alice.id), Some(alices));
    assert_eq!(held(bob.id), None);
    // The same update of a membership that is there changes it.
    h.store.write(&mut |tx| Ok(tx.update_membership(&reminded)?)).unwrap();
    assert_eq!(held(alice.id), Some(reminded));
}

/// R16: the read that lets approving decide on the two memberships alone returns each
/// membership once, with the same access [`crate::store::ReadTx::access`] reads for
/// its holder, and leaves out a user with no membership there, on every backend.
pub fn r16_memberships_with_access_read_each_membership_once_with_its_access(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let bob = h.member_of(&org, "Bob", "bob@nhs.net");
    let carol = h.member_of(&org, "Carol", "carol@nhs.net");
    let dan = h.user("Dan", "dan@nhs.net");
    let ws = h.workspace(&alice, &org, "Ward 1");
    h.ok(|s| s.request_to_join(bob.id, ws.id));
    h.approved(&ws, &alice, &carol);
    h.ok(|s| s.archive_member(alice.id, ws.id, carol.id));
    let read = |users: [UserId; 2]| {
        let (mut found, mut expected) = (Vec::new(), Vec::new());
        h.store
            .read(&mut |r| {
                found = r.memberships_with_access(ws.id, users)?;
                expected.clear();
                for user in users {
                    if let Some(m) = r.membership(ws.id, user)?
                        && !expected.iter().any(|(e, _): &(crate::Membership, _)| e.user == user)
                    {
                        expected.push((m, r.access(ws.id, user)?.expect("a membership's access")));
                    }
                }
                Ok(())
            })
            .unwrap();
        found.sort_by_key(|(m, _)| users.iter().position(|&u| u == m.user));
        assert_eq!(found, expected, "{users:?}");
        found.into_iter().map(|(m, access)| (m.state, access.in_organisation, access.active)).collect::<Vec<_>>()
    };
    use crate::MembershipState as S;
    assert_eq!(read([alice.id, bob.id]), vec![(S::Admin, true, true), (S::Unapproved, true, true)]);
    assert_eq!(read([bob.id, alice.id]), vec![(S::Unapproved, true, true), (S::Admin, true, true)]);
    assert_eq!(read([alice.id, alice.id]), vec![(S::Admin, true, true)], "one user twice is read once");
    assert_eq!(read([carol.id, bob.id]), vec![(S::Archived, true, true), (S::Unapproved, true, true)]);
    assert_eq!(read([dan.id, bob.id]), vec![(S::Unapproved, true, true)], "no membership, left out");
    let mut elsewhere = None;
    h.store
        .read(&mut |r| {
            elsewhere = Some(
                r.memberships_with_access(crate::WorkspaceId::from_uuid(uuid::Uuid::now_v7()), [alice.id, bob.id])?,
            );
            Ok(())
        })
        .unwrap();
    assert_eq!(elsewhere, Some(Vec::new()), "no such workspace");
    h.check();
    // States the service never makes, written to the store directly, so that the copies
    // the SQL stores keep on each membership are seen to follow: a membership of someone
    // outside the organisation, then the workspace archived under its members.
    let bobs = held(&h, ws.id, bob.id).expect("Bob's request");
    let dans = crate::Membership { user: dan.id, state: S::Unapproved, ..bobs };
    h.store.write(&mut |tx| Ok(tx.put_membership(&dans)?)).unwrap();
    assert_eq!(read([dan.id, alice.id]), vec![(S::Unapproved, false, true), (S::Admin, true, true)]);
    let archived = crate::Workspace { status: crate::WorkspaceStatus::Archived, ..ws.clone() };
    h.store.write(&mut |tx| Ok(tx.put_workspace(&archived)?)).unwrap();
    assert_eq!(read([alice.id, dan.id]), vec![(S::Admin, true, false), (S::Unapproved, false, false)]);
}

/// `user`'s membership of `workspace` as the store holds it, read on its own.
fn held(h: &Harness, workspace: crate::WorkspaceId, user: UserId) -> Option<crate::Membership> {
    let mut found = None;
    h.store
        .read(&mut |r| {
            found = r.membership(workspace, user)?;
            Ok(())
        })
        .unwrap();
    found
}
