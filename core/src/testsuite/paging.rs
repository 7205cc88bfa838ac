//! The conformance cases of paging (R43): every list that grows with an organisation —
//! discovery, members, pending requests, pending invites, membership history — in pages
//! whose cursors return each entry once, even while others write, and refuse a limit or
//! a cursor that is not theirs.

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;

use super::{Harness, WholeLists};
use crate::page::{Cursor, Page, PageRequest};
use crate::{DiscoveryFilter, Error, Organisation, Store, User, Workspace};

/// Follows `list`'s cursors `limit` at a time; checks that every page but the last is
/// full and that the last says there is no next.
fn pages<T: Clone + Debug>(limit: u32, list: impl Fn(&PageRequest) -> Result<Page<T>, Error>) -> Vec<T> {
    let mut all = Vec::new();
    let mut request = PageRequest::first(limit);
    loop {
        let page = list(&request).unwrap_or_else(|e| panic!("a page: {e}"));
        all.extend(page.items.iter().cloned());
        match page.next {
            Some(next) => {
                assert_eq!(page.items.len(), limit as usize, "only the last page may be short");
                request = PageRequest::after(next, Some(limit));
            }
            None => return all,
        }
    }
}

/// The request for the page after `page`, two at a time.
fn after<T>(page: &Page<T>) -> PageRequest {
    PageRequest::after(page.next.clone().expect("a next page"), Some(2))
}

/// A ward with an admin (Alice), `approved` approved members, `waiting` requesters and
/// `invited` pending invites.
fn busy_ward(h: &Harness, approved: usize, waiting: usize, invited: usize) -> (Organisation, User, Workspace) {
    let org = h.trust("Trust");
    let alice = h.member_of(&org, "Alice", "alice@nhs.net");
    let ward = h.workspace(&alice, &org, "Maternity - Ward 2");
    for i in 0..approved {
        let person = h.member_of(&org, &format!("Member {i:02}"), &format!("member.{i}@nhs.net"));
        h.approved(&ward, &alice, &person);
    }
    for i in 0..waiting {
        let person = h.member_of(&org, &format!("Requester {i:02}"), &format!("requester.{i}@nhs.net"));
        h.ok(|s| s.request_to_join(person.id, ward.id));
    }
    for i in 0..invited {
        h.ok(|s| s.invite(alice.id, ward.id, format!("invited.{i}@nhs.uk").parse()?));
    }
    (org, alice, ward)
}

/// R43: each list, paged 4 at a time, is the whole list (once each, in order), every
/// page but the last is full, and the last has no next cursor.
pub fn r43_every_list_pages_each_entry_once_and_the_last_page_says_so(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (org, alice, ward) = busy_ward(&h, 6, 5, 7);
    for i in 0..9 {
        h.workspace(&alice, &org, &format!("Clinic {i}"));
    }
    // Workspaces named as examples hide them (R9) on every page, a page ending on one
    // included.
    for name in ["Cardiology", "Obstetrics", "Cardiac Surgery"] {
        h.workspace(&alice, &org, name);
    }
    let archived = h.ok(|s| s.members_all(alice.id, ward.id)).current[3].user.id;
    h.ok(|s| s.archive_member(alice.id, ward.id, archived));

    let s = &h.service;
    let filters = [
        DiscoveryFilter::default(),
        DiscoveryFilter { name: Some("clinic".into()), ..Default::default() },
        DiscoveryFilter { speciality: Some(ward.speciality), ..Default::default() },
    ];
    for filter in &filters {
        for limit in [1, 3, 4] {
            let paged = pages(limit, |p| s.discover(alice.id, org.id, filter, p));
            assert_eq!(paged, h.ok(|s| s.discover_all(alice.id, org.id, filter)), "{filter:?}, {limit}");
            let names: Vec<String> = paged.iter().map(|e| e.name().to_lowercase()).collect();
            assert!(names.is_sorted(), "discovery by name: {names:?}");
            let unique: HashSet<&String> = names.iter().collect();
            assert_eq!(unique.len(), names.len(), "no example beside a workspace of its name: {filter:?}, {limit}");
        }
    }
    let every = h.ok(|s| s.discover_all(alice.id, org.id, &filters[0]));
    assert!(every.len() > 13 + 100, "the ward, twelve more and the examples: {}", every.len());

    let members = pages(4, |p| s.members(alice.id, ward.id, p));
    assert_eq!(members.len(), 1 + 6 + 5, "Alice, six members (one archived), five requesters");
    let states: Vec<_> = members.iter().map(|m| m.state).collect();
    let rank = |state: crate::MembershipState| match state {
        crate::MembershipState::Admin => 0,
        crate::MembershipState::Member => 1,
        crate::MembershipState::Unapproved => 2,
        crate::MembershipState::Archived => 3,
    };
    assert!(states.iter().map(|s| rank(*s)).collect::<Vec<_>>().is_sorted(), "members by role: {states:?}");
    assert_eq!(members.last().map(|m| m.user.id), Some(archived), "the archived member last");
    let unique: HashSet<_> = members.iter().map(|m| m.user.id).collect();
    assert_eq!(unique.len(), members.len(), "each member once");

    let requests = pages(2, |p| s.pending_requests(alice.id, p));
    assert_eq!(requests, h.ok(|s| s.pending_requests_all(alice.id)));
    assert_eq!(requests.len(), 5);
    let invites = pages(3, |p| s.pending_invites(alice.id, ward.id, p));
    assert_eq!(invites.len(), 7);
    assert_eq!(invites, h.ok(|s| s.pending_invites_all(alice.id, ward.id)));
    let history = pages(5, |p| s.membership_history(ward.id, p));
    assert!(history.windows(2).all(|w| w[0].seq < w[1].seq), "history by sequence");
    assert_eq!(history, h.ok(|s| s.membership_history_all(ward.id)));

    // A list that fits one page has no next cursor.
    let one = h.ok(|s| s.pending_requests(alice.id, &PageRequest::first(1000)));
    assert_eq!((one.items.len(), one.next), (5, None));
}

/// R43: a limit of 0 or over 1,000 is refused; a cursor from another list, another
/// workspace, another filter, or none at all is refused — a typed error, never another
/// list's entries.
pub fn r43_limits_and_cursors_that_are_not_the_lists_are_refused(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (org, alice, ward) = busy_ward(&h, 4, 3, 3);
    let other = h.workspace(&alice, &org, "Ward 3");
    for limit in [0, 1_001] {
        let err = h.err(|s| s.members(alice.id, ward.id, &PageRequest::first(limit)));
        assert!(matches!(err, Error::InvalidLimit { limit: l, max: 1_000 } if l == limit), "{err:?}");
        let err = h.err(|s| s.discover(alice.id, org.id, &DiscoveryFilter::default(), &PageRequest::first(limit)));
        assert!(matches!(err, Error::InvalidLimit { .. }), "{err:?}");
    }
    let members = h.ok(|s| s.members(alice.id, ward.id, &PageRequest::first(2)));
    let cursor = members.next.expect("more members than a page");
    let next = |cursor: &Cursor| PageRequest::after(cursor.clone(), Some(2));
    assert!(h.ok(|s| s.members(alice.id, ward.id, &next(&cursor))).items.len() == 2, "its own list reads on");
    let refused = [
        h.err(|s| s.members(alice.id, other.id, &next(&cursor))),
        h.err(|s| s.pending_invites(alice.id, ward.id, &next(&cursor))),
        h.err(|s| s.membership_history(ward.id, &next(&cursor))),
        h.err(|s| s.pending_requests(alice.id, &next(&cursor))),
        h.err(|s| s.discover(alice.id, org.id, &DiscoveryFilter::default(), &next(&cursor))),
        h.err(|s| s.members(alice.id, ward.id, &next(&Cursor::from_text("not a cursor")))),
    ];
    for err in refused {
        assert!(matches!(err, Error::InvalidCursor { .. }), "{err:?}");
    }
    let all = DiscoveryFilter::default();
    let first = h.ok(|s| s.discover(alice.id, org.id, &all, &PageRequest::first(3)));
    let clinics = DiscoveryFilter { name: Some("ward".into()), ..Default::default() };
    let err = h.err(|s| s.discover(alice.id, org.id, &clinics, &next(first.next.as_ref().unwrap())));
    assert!(matches!(err, Error::InvalidCursor { list: "discovery" }), "another filter's cursor: {err:?}");
}

/// R43: the permission checks apply to every page: a member archived between two pages
/// is refused the second.
pub fn r43_permission_checks_apply_to_every_page(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (org, alice, ward) = busy_ward(&h, 5, 0, 4);
    let bob = h.ok(|s| s.members_all(alice.id, ward.id)).current[1].user.clone();
    let first = h.ok(|s| s.members(bob.id, ward.id, &PageRequest::first(2)));
    let invites = h.ok(|s| s.pending_invites(bob.id, ward.id, &PageRequest::first(2)));
    h.ok(|s| s.archive_member(alice.id, ward.id, bob.id));
    assert!(matches!(h.err(|s| s.members(bob.id, ward.id, &after(&first))), Error::Forbidden { .. }));
    assert!(matches!(h.err(|s| s.pending_invites(bob.id, ward.id, &after(&invites))), Error::Forbidden { .. }));
    // Someone outside the organisation cannot page its discovery, cursor or not.
    let outsider = h.user("Olive", "olive@nhs.net");
    let page = h.ok(|s| s.discover(alice.id, org.id, &DiscoveryFilter::default(), &PageRequest::first(2)));
    let err = h.err(|s| s.discover(outsider.id, org.id, &DiscoveryFilter::default(), &after(&page)));
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
}

/// R43: following the members' cursors while others join, are declined and leave
/// returns every member who was there throughout exactly once — pages between the
/// writes, then pages beside a writing thread.
pub fn r43_following_cursors_while_others_write_returns_each_lasting_entry_once(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let (org, alice, ward) = busy_ward(&h, 12, 0, 0);
    let lasting: HashSet<_> = h.ok(|s| s.members_all(alice.id, ward.id)).current.iter().map(|m| m.user.id).collect();
    // Newcomers whose names sort before, among and after the lasting members'.
    let newcomers: Vec<User> = (0..12)
        .map(|i| {
            let name = ["Aaron", "Member 05b", "Zed"][i % 3];
            h.member_of(&org, &format!("{name} {i:02}"), &format!("new.{i}@nhs.net"))
        })
        .collect();
    let mut seen = Vec::new();
    let mut request = PageRequest::first(3);
    let mut step = 0;
    loop {
        let page = h.ok(|s| s.members(alice.id, ward.id, &request));
        seen.extend(page.items.iter().map(|m| m.user.id));
        // Between pages: one newcomer asks to join; the one before is declined.
        if let Some(person) = newcomers.get(step) {
            h.ok(|s| s.request_to_join(person.id, ward.id));
            if step > 0 {
                h.ok(|s| s.decline(alice.id, ward.id, newcomers[step - 1].id));
            }
        }
        step += 1;
        match page.next {
            Some(next) => request = PageRequest::after(next, Some(3)),
            None => break,
        }
    }
    // Each member there throughout is seen exactly once. A newcomer whose key moves
    // (asked, approved, left, asked again) may be seen on either side of the cursor.
    let counted = |seen: &[crate::UserId]| -> Result<(), String> {
        for member in &lasting {
            match seen.iter().filter(|u| *u == member).count() {
                1 => {}
                n => return Err(format!("{member} was there throughout and was seen {n} times")),
            }
        }
        Ok(())
    };
    counted(&seen).unwrap();

    // Beside a thread that keeps members joining and leaving.
    let churners: Vec<User> =
        (0..4).map(|i| h.member_of(&org, &format!("Member {i:02}b"), &format!("churn.{i}@nhs.net"))).collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let service = &h.service;
        let writer = scope.spawn(|| {
            for person in churners.iter().cycle().take(200) {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                service.request_to_join(person.id, ward.id).unwrap();
                service.approve(alice.id, ward.id, person.id).unwrap();
                service.leave(person.id, ward.id).unwrap();
            }
        });
        for _ in 0..8 {
            let seen: Vec<_> = pages(2, |p| service.members(alice.id, ward.id, p)).iter().map(|m| m.user.id).collect();
            counted(&seen).unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
    });
    h.check();
}
