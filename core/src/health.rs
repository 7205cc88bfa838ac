//! Health checks of a whole store: the invariants every command keeps (R25 and the
//! rules it summarises), a gap-free event log (R32), and the narrow reads a backend may
//! override answering as their default compositions do. The conformance suite runs
//! them after its steps; the `carespace check` command runs them on a host's store.

use std::collections::{BTreeMap, HashSet};

use time::OffsetDateTime;

use crate::store::StoreResult;
use crate::{Error, Event, MembersPage, NhsEmail, Organisation, ReadTx, Store, User, UserId, Workspace, WorkspaceId};

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
///
/// The first problem found, if any; [`invariant_problems`] lists them all.
pub fn check_invariants(store: &dyn Store, now: OffsetDateTime) -> Result<(), String> {
    match invariant_problems(store, now).map_err(|e| e.to_string())?.into_iter().next() {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

/// Every problem [`check_invariants`] looks for, in one read of the whole store: empty
/// when it is sound. `Err` only if the store could not be read.
pub fn invariant_problems(store: &dyn Store, now: OffsetDateTime) -> Result<Vec<String>, Error> {
    let mut problems = Vec::new();
    store.read(&mut |r| {
        // A read retried from the start finds the problems again.
        problems.clear();
        check_tx(r, now, &mut problems)
    })?;
    Ok(problems)
}

fn check_tx(r: &dyn ReadTx, now: OffsetDateTime, problems: &mut Vec<String>) -> Result<(), Error> {
    for org in r.organisations()? {
        let mut names = HashSet::new();
        for ws in r.workspaces_of(org.id)? {
            let members = r.memberships_of_workspace(ws.id)?;
            let distinct: HashSet<UserId> = members.iter().map(|m| m.user).collect();
            if distinct.len() != members.len() {
                problems.push(format!("{}: a user has two memberships", ws.name));
            }
            for m in &members {
                if m.workspace != ws.id {
                    problems.push(format!("{}: membership filed under the wrong workspace", ws.name));
                }
                if crate::MembershipState::from_parts(m.state.role(), m.state.status()) != Some(m.state) {
                    problems.push(format!("{}: an admin who is not approved", ws.name));
                }
                if m.state.is_current() {
                    let personal = r.personal_workspace_of(m.user, org.id)?;
                    if personal.as_ref().is_none_or(|p| p.is_active()) {
                        problems
                            .push(format!("{}: member {} still has an active (or no) My Workspace", ws.name, m.user));
                    }
                    if !r.is_organisation_member(org.id, m.user)? {
                        problems.push(format!("{}: member {} is not in the organisation", ws.name, m.user));
                    }
                }
            }
            let current = members.iter().filter(|m| m.state.is_current()).count();
            let admins = members.iter().filter(|m| m.state == crate::MembershipState::Admin).count();
            let invites: Vec<_> =
                r.pending_invites_of_workspace(ws.id)?.into_iter().filter(|i| i.is_pending_at(now)).collect();
            if ws.is_active() {
                if current > 0 && admins == 0 {
                    problems.push(format!("{}: active with {current} members and no admin", ws.name));
                }
                if !names.insert(ws.name.key()) {
                    problems.push(format!("{}: two active workspaces share the name", ws.name));
                }
            } else if current > 0 || !invites.is_empty() {
                problems.push(format!("{}: archived with current members or pending invites", ws.name));
            }
            for invite in invites {
                if invite.workspace != ws.id {
                    problems.push(format!("{}: invite filed under the wrong workspace", ws.name));
                }
                if let Some(user) = r.user_by_email(&invite.email)?
                    && members.iter().any(|m| m.user == user.id && m.state.is_current())
                {
                    problems.push(format!("{}: pending invite to current member {}", ws.name, invite.email));
                }
            }
        }
    }
    let events = r.events_after(0, usize::MAX)?;
    for (i, event) in events.iter().enumerate() {
        if event.seq != i as u64 + 1 {
            problems.push(format!("event log has a gap: position {} holds seq {}", i + 1, event.seq));
            break;
        }
    }
    if r.last_event_seq()? != events.len() as u64 {
        problems.push("last_event_seq disagrees with the log".into());
    }
    // R26: one My Workspace per (user, organisation) the user belongs to.
    let mut per_pair: BTreeMap<(UserId, crate::OrganisationId), usize> = BTreeMap::new();
    for event in &events {
        if let crate::EventKind::OrganisationJoined { organisation, user, .. } = &event.kind {
            *per_pair.entry((*user, *organisation)).or_default() += 1;
        }
    }
    for ((user, organisation), count) in per_pair {
        let Some(personal) = r.personal_workspace_of(user, organisation)?.filter(|_| count == 1) else {
            problems.push(format!("user {user} has {count} organisation joins / no My Workspace in {organisation}"));
            continue;
        };
        // R41: with no current shared membership there, the My Workspace is active.
        let mut holds_current = false;
        for m in r.memberships_of_user(user)? {
            let here = r.workspace(m.workspace)?.is_some_and(|w| w.organisation == organisation);
            holds_current |= here && m.state.is_current();
        }
        if !holds_current && !personal.is_active() {
            problems.push(format!(
                "user {user} holds no current membership in {organisation} but their My Workspace is archived"
            ));
        }
    }
    Ok(())
}

/// Checks that the store's narrow reads ([`ReadTx::access`], [`ReadTx::admins_of`],
/// [`ReadTx::discovery_page`], the sweep's and the audit's reads, …) answer exactly as
/// their default implementations,
/// composed from the plain reads, do — for every workspace and every registered user.
/// A backend may override them with one query of its own; the answers must not change.
/// The conformance suite runs it at the end of every case.
pub fn check_narrow_reads(store: &dyn Store) -> Result<(), String> {
    check_narrow_reads_of(store, usize::MAX)
}

/// [`check_narrow_reads`] for the first `users` registered users only (and one who does
/// not exist): what the `carespace check` command runs, since the whole check asks
/// about every user in every workspace of their organisations.
pub fn check_narrow_reads_of(store: &dyn Store, users: usize) -> Result<(), String> {
    let mut result = Ok(Vec::new());
    store
        .read(&mut |r| {
            result = narrow_reads_tx(r, users);
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

fn narrow_reads_tx(r: &dyn ReadTx, at_most: usize) -> Result<AccessAnswers, String> {
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
    users.truncate(at_most);
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
    let mut instants: Vec<OffsetDateTime> =
        times.first().map(|&first| first - time::Duration::days(1)).into_iter().collect();
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
        if let Some(user) = ev.person() {
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
            // The store's pages of two, followed key to key, give the composition's list
            // in its order (R43's boundaries included).
            let all =
                composed.members_page(&MembersPage { workspace: ws, after: None, limit: usize::MAX }).map_err(e)?;
            let mut paged: Vec<(crate::Membership, User)> = Vec::new();
            for _ in 0..=all.len() / 2 + 1 {
                let after = paged.last().map(|(m, user)| crate::store::member_key(m.state, user));
                let page = r.members_page(&MembersPage { workspace: ws, after, limit: 2 }).map_err(e)?;
                let last = page.len() < 2;
                paged.extend(page);
                if last {
                    break;
                }
            }
            if paged != all {
                return Err(format!("members_page({ws}) disagrees with its composition"));
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
                // Which members, which invites, whether the decline, whether to settle.
                let shapes = [
                    (crate::Members::Every, crate::Invites::Every, true, true),
                    (crate::Members::Approvers(crate::Approvers::Admins), crate::Invites::ToActor, false, false),
                    (
                        crate::Members::Approvers(crate::Approvers::ApprovedMembers),
                        crate::Invites::To(invitee.as_ref().unwrap_or(&nobody)),
                        true,
                        true,
                    ),
                    (crate::Members::Approvers(crate::Approvers::Admins), crate::Invites::Nobody, false, false),
                    (crate::Members::Named, crate::Invites::Nobody, false, false),
                ];
                for (members, invites, decline, settle) in shapes {
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
