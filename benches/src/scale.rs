//! An NHS-England-sized world, written through the documented bulk path: the store's own
//! [`WriteTx`] (the same SQL, constraints and event log the commands use), many rows per
//! transaction, with exactly the rows and events the commands would have written. The
//! rules are not asked row by row; the generator keeps them (one admin creates each
//! workspace, names are unique, R27's archival happens on the first shared membership),
//! and `tests/scale.rs` checks the invariants of a small build.

use std::collections::HashMap;
use std::time::Instant;

use carespace::directory::{OdsFile, plan_import, read_ods};
use carespace::store::Change;
use carespace::{
    ArchiveReason, Description, Error, EventKind, Membership, MembershipState, NewEvent, OrganisationId,
    OrganisationKind, PersonalWorkspace, Role, Speciality, Store, User, UserId, Workspace, WorkspaceId,
    WorkspaceStatus, WriteTx,
};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::peers::SplitMix;

/// How big a world to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    /// NHS trusts with users and workspaces: the first open trusts of the ODS file (all
    /// of the file's 241 trusts are in the directory).
    pub trusts: usize,
    /// GP practices and other prescribing settings in the directory: the first of the
    /// ODS file's 14,357 (R40), without users.
    pub practices: usize,
    /// Users, spread evenly over the trusts.
    pub users: usize,
    /// Shared workspaces, spread evenly over the trusts.
    pub workspaces: usize,
    /// Memberships of shared workspaces, each workspace's creator's included.
    pub memberships: usize,
}

impl Scale {
    /// About NHS England: 220 trusts, every practice of the ODS file, 1.5M users, 300k
    /// workspaces, 5M memberships.
    pub const NHS_ENGLAND: Scale =
        Scale { trusts: 220, practices: 14_357, users: 1_500_000, workspaces: 300_000, memberships: 5_000_000 };

    /// This scale times `factor` (at least one trust, user and workspace each).
    pub fn times(self, factor: f64) -> Scale {
        let f = |n: usize| ((n as f64 * factor).round() as usize).max(1);
        Scale {
            trusts: f(self.trusts),
            practices: f(self.practices),
            users: f(self.users),
            workspaces: f(self.workspaces),
            memberships: f(self.memberships).max(f(self.workspaces)),
        }
    }
}

/// What was built, by index, for the measurements that follow.
#[derive(Debug, Default)]
pub struct Built {
    /// Trust ids.
    pub trusts: Vec<OrganisationId>,
    /// User ids; user `i` belongs to trust `i % trusts`.
    pub users: Vec<UserId>,
    /// Workspace ids; workspace `w` belongs to trust `w % trusts`.
    pub workspaces: Vec<WorkspaceId>,
    /// Each workspace's creator (an admin), by user index.
    pub creators: Vec<u32>,
    /// Memberships that are current and approved: `(user, workspace)` by index.
    pub approved: Vec<(u32, u32)>,
    /// Unapproved memberships (join requests waiting): `(user, workspace)` by index.
    pub pending: Vec<(u32, u32)>,
    /// How many memberships of each state: unapproved, member, admin, archived
    /// ([`state_index`]).
    pub states: [usize; 4],
}

/// Progress reports: phase name, done, total.
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize);

/// The NHS Organisation Data Service's files (R40): the world's organisations are the
/// real trusts and practices, as an import writes them.
const NHS_TRUSTS: &[u8] = include_bytes!("../../data/ods/etr.csv");
const GP_PRACTICES: &[u8] = include_bytes!("../../data/ods/epraccur.csv");

/// Rows per transaction.
const BATCH: usize = 20_000;

/// Builds `scale` into `store`, calling `progress` as it goes. Every id and choice is
/// made before the writes, so a transaction the store retries writes the same rows.
pub fn build(store: &dyn Store, scale: Scale, progress: Progress<'_>) -> Result<Built, Error> {
    const START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
    let mut w = Writer { store, clock: START };
    let mut rng = SplitMix::new(0x5CA1E);
    let new_id = || uuid::Uuid::now_v7();
    let per_trust = |trust: usize| (scale.users - trust).div_ceil(scale.trusts);

    // The plan: trusts, users (user i in trust i % trusts, with a My Workspace there),
    // workspaces (workspace j in trust j % trusts, created by a random user of it), and
    // the other memberships, workspace by workspace so the primary key grows in order:
    // 70% approved members, 15% waiting requests, 10% archived, 5% promoted admins.
    // The directory: every organisation of the ODS files, planned as an import plans
    // them; the world's trusts are the first `scale.trusts` open NHS trusts.
    let mut records = read_ods(OdsFile::Trusts, NHS_TRUSTS)?.records;
    records.extend(read_ods(OdsFile::Practices, GP_PRACTICES)?.records.into_iter().take(scale.practices));
    let (directory, _) = plan_import(&records, &HashMap::new(), START);
    let trusts: Vec<OrganisationId> = directory
        .changes
        .iter()
        .filter_map(|change| match change {
            Change::Organisation(o) if o.kind == OrganisationKind::NhsTrust && o.closed_on.is_none() => Some(o.id),
            _ => None,
        })
        .take(scale.trusts)
        .collect();
    assert_eq!(trusts.len(), scale.trusts, "the ODS file has fewer open trusts than the scale asks for");
    let users: Vec<UserId> = (0..scale.users).map(|_| UserId::from_uuid(new_id())).collect();
    let personal: Vec<WorkspaceId> = (0..scale.users).map(|_| WorkspaceId::from_uuid(new_id())).collect();
    let workspaces: Vec<WorkspaceId> = (0..scale.workspaces).map(|_| WorkspaceId::from_uuid(new_id())).collect();
    let creators: Vec<u32> = (0..scale.workspaces)
        .map(|j| {
            let trust = j % scale.trusts;
            (trust + scale.trusts * rng.below(per_trust(trust))) as u32
        })
        .collect();
    let extra = scale.memberships - scale.workspaces;
    let mut plan: Vec<(u32, u32, MembershipState)> = Vec::with_capacity(extra);
    for (j, &creator) in creators.iter().enumerate() {
        let trust = j % scale.trusts;
        let want = extra / scale.workspaces + usize::from(j < extra % scale.workspaces);
        let mut chosen = std::collections::HashSet::with_capacity(want);
        while chosen.len() < want.min(per_trust(trust) - 1) {
            let user = (trust + scale.trusts * rng.below(per_trust(trust))) as u32;
            if user != creator {
                chosen.insert(user);
            }
        }
        let mut chosen: Vec<u32> = chosen.into_iter().collect();
        chosen.sort_unstable();
        for user in chosen {
            let state = match rng.below(20) {
                0..=13 => MembershipState::Member,
                14..=16 => MembershipState::Unapproved,
                17 | 18 => MembershipState::Archived,
                _ => MembershipState::Admin,
            };
            plan.push((user, j as u32, state));
        }
    }
    // R27: a shared membership (creating or requesting) archives an active My Workspace;
    // R41: an archived member left with no current membership has it back. Every user
    // belongs to one trust, so counting their current memberships is enough.
    let mut current = vec![0u32; scale.users];
    let enter = |current: &mut [u32], user: u32| {
        current[user as usize] += 1;
        current[user as usize] == 1
    };
    let creator_enters: Vec<bool> = creators.iter().map(|&c| enter(&mut current, c)).collect();
    let mut member_enters = Vec::with_capacity(plan.len());
    let mut member_returns = Vec::with_capacity(plan.len());
    for &(user, _, state) in &plan {
        member_enters.push(enter(&mut current, user));
        let archived = state == MembershipState::Archived;
        if archived {
            current[user as usize] -= 1;
        }
        member_returns.push(archived && current[user as usize] == 0);
    }

    // One organisation and its `organisation_registered` event per item.
    assert_eq!(directory.changes.len(), directory.events.len());
    w.batches("directory", directory.changes.len(), progress, |tx, i, now| {
        if let Some(Change::Organisation(organisation)) = directory.changes.get(i) {
            tx.put_organisation(organisation)?;
        }
        match directory.events.get(i) {
            Some(kind) => event(tx, now, None, kind.clone()),
            None => Ok(()),
        }
    })?;

    w.batches("users", scale.users, progress, |tx, i, now| {
        let user = User {
            id: users[i],
            email: format!("user{i}@nhs.net").parse()?,
            name: format!("User {i}").parse()?,
            registered_at: now,
        };
        let organisation = trusts[i % scale.trusts];
        let mine =
            PersonalWorkspace { id: personal[i], organisation, owner: user.id, created_at: now, archived_at: None };
        tx.put_user(&user)?;
        event(tx, now, Some(user.id), EventKind::UserRegistered { user: user.id, email: user.email.clone() })?;
        tx.add_organisation_member(organisation, user.id, now)?;
        tx.put_personal_workspace(&mine)?;
        event(
            tx,
            now,
            Some(user.id),
            EventKind::OrganisationJoined { organisation, user: user.id, my_workspace: mine.id },
        )
    })?;

    // Archives a user's My Workspace as they enter (R27), or brings it back when `by`
    // archived their last membership (R41), with its event.
    let settle_mine =
        |tx: &mut dyn WriteTx, user: usize, now: OffsetDateTime, by: Option<UserId>| -> Result<(), Error> {
            let archive = by.is_none();
            let organisation = trusts[user % scale.trusts];
            let mine = PersonalWorkspace {
                id: personal[user],
                organisation,
                owner: users[user],
                // Written by the users phase, one microsecond per item after the trusts.
                created_at: START + time::Duration::microseconds((scale.trusts + user + 1) as i64),
                archived_at: archive.then_some(now),
            };
            tx.put_personal_workspace(&mine)?;
            let (workspace, user) = (mine.id, mine.owner);
            match by {
                None => event(tx, now, Some(user), EventKind::MyWorkspaceArchived { workspace, organisation, user }),
                by => event(tx, now, by, EventKind::MyWorkspaceReactivated { workspace, organisation, user }),
            }
        };

    w.batches("workspaces", scale.workspaces, progress, |tx, j, now| {
        let creator = creators[j] as usize;
        // Each trust has workspaces of every speciality, named as a ward of it.
        let speciality = Speciality::from_code(SPECIALITIES[(j / scale.trusts) % SPECIALITIES.len()])?;
        let workspace = Workspace {
            id: workspaces[j],
            organisation: trusts[j % scale.trusts],
            name: format!("{} - Ward {j}", speciality.example_name()).parse()?,
            speciality,
            description: Description::default(),
            status: WorkspaceStatus::Active,
            created_by: users[creator],
            created_at: now,
        };
        tx.put_workspace(&workspace)?;
        tx.put_membership(&membership(&workspace, users[creator], MembershipState::Admin, now))?;
        let created = EventKind::WorkspaceCreated {
            workspace: workspace.id,
            organisation: workspace.organisation,
            name: workspace.name.clone(),
            speciality: workspace.speciality,
            from_example: false,
        };
        event(tx, now, Some(users[creator]), created)?;
        if creator_enters[j] { settle_mine(tx, creator, now, None) } else { Ok(()) }
    })?;

    w.batches("memberships", plan.len(), progress, |tx, k, now| {
        let (user, j, state) = plan[k];
        let (u, ws) = (users[user as usize], workspaces[j as usize]);
        let admin = users[creators[j as usize] as usize];
        tx.put_membership(&Membership::new(ws, u, state, now))?;
        event(tx, now, Some(u), EventKind::JoinRequested { workspace: ws, user: u, approvers: vec![admin] })?;
        if member_enters[k] {
            settle_mine(tx, user as usize, now, None)?;
        }
        if state != MembershipState::Unapproved {
            event(tx, now, Some(admin), EventKind::JoinApproved { workspace: ws, user: u })?;
        }
        match state {
            MembershipState::Archived => {
                event(
                    tx,
                    now,
                    Some(admin),
                    EventKind::MemberArchived { workspace: ws, user: u, reason: ArchiveReason::ByAdmin },
                )?;
                if member_returns[k] { settle_mine(tx, user as usize, now, Some(admin)) } else { Ok(()) }
            }
            MembershipState::Admin => {
                event(tx, now, Some(admin), EventKind::RoleChanged { workspace: ws, user: u, role: Role::Admin })
            }
            MembershipState::Member | MembershipState::Unapproved => Ok(()),
        }
    })?;

    let mut built = Built { trusts, users, workspaces, ..Built::default() };
    built.states[state_index(MembershipState::Admin)] += scale.workspaces;
    built.approved.extend(creators.iter().enumerate().map(|(j, &c)| (c, j as u32)));
    for &(user, j, state) in &plan {
        built.states[state_index(state)] += 1;
        match state {
            MembershipState::Unapproved => built.pending.push((user, j)),
            MembershipState::Member | MembershipState::Admin => built.approved.push((user, j)),
            MembershipState::Archived => {}
        }
    }
    built.creators = creators;
    Ok(built)
}

/// The index of a state in [`Built::states`]: unapproved, member, admin, archived.
pub fn state_index(state: MembershipState) -> usize {
    match state {
        MembershipState::Unapproved => 0,
        MembershipState::Member => 1,
        MembershipState::Admin => 2,
        MembershipState::Archived => 3,
    }
}

/// Specialities the generated workspaces cycle through.
const SPECIALITIES: [u16; 6] = [100, 110, 120, 300, 420, 501];

fn membership(w: &Workspace, user: UserId, state: MembershipState, now: OffsetDateTime) -> Membership {
    Membership::new(w.id, user, state, now)
}

fn event(tx: &mut dyn WriteTx, at: OffsetDateTime, actor: Option<UserId>, kind: EventKind) -> Result<(), Error> {
    tx.append_event(NewEvent { at, actor, kind })?;
    Ok(())
}

struct Writer<'s> {
    store: &'s dyn Store,
    clock: OffsetDateTime,
}

impl Writer<'_> {
    /// Writes `total` items, `BATCH` per transaction; each item is one command's worth,
    /// a microsecond after the one before.
    fn batches(
        &mut self,
        phase: &str,
        total: usize,
        progress: Progress<'_>,
        mut item: impl FnMut(&mut dyn WriteTx, usize, OffsetDateTime) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut done = 0;
        while done < total {
            let end = (done + BATCH).min(total);
            let start = self.clock;
            let mut clock = start;
            self.store.write(&mut |tx| {
                clock = start; // a retried transaction starts again from the same time
                for i in done..end {
                    clock += time::Duration::MICROSECOND;
                    item(tx, i, clock)?;
                }
                Ok(())
            })?;
            self.clock = clock;
            done = end;
            progress(phase, done, total);
        }
        Ok(())
    }
}

/// A progress bar on standard error, redrawn at most twice a second.
pub fn progress_bar() -> impl FnMut(&str, usize, usize) {
    let started = Instant::now();
    let mut last = Instant::now() - std::time::Duration::from_secs(1);
    move |phase, done, total| {
        if last.elapsed().as_millis() < 500 && done < total {
            return;
        }
        last = Instant::now();
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        eprint!(
            "\r{phase:<12} [{}{}] {:>5.1}% {done:>9}/{total:<9} {:>6.0?}",
            "#".repeat(filled),
            ".".repeat(width - filled),
            100.0 * done as f64 / total.max(1) as f64,
            started.elapsed()
        );
        if done == total {
            eprintln!();
        }
    }
}
