//! The sweep (R38, R39): the time-driven work a scheduler asks for — invites past their
//! expiry, join requests nobody answered, and time-boxed memberships that end soon or
//! have ended — as one idempotent command.
//!
//! # Why it is safe to run from anywhere at any frequency
//! A sweep is one write transaction. It reads what is due *inside* that transaction and
//! every effect changes the row that made it due (the invite is no longer pending, the
//! request is marked escalated, the reminder or the last-admin decision is recorded on
//! the membership, the member is archived). Write transactions on one store are
//! serialized, so of two sweeps racing — threads or processes — the second sees the
//! first's effects and finds nothing left to do: each effect happens once, with one
//! event. Calling it again with the same `now` changes nothing.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::rules::{Change, Ctx, Plan, Shared, with_state};
use crate::service::{apply, settle_personal};
use crate::store::{Context, ContextQuery, Invites, Members, PersonInOrganisation, ReadTx, WriteTx};
use crate::{
    ArchiveReason, Carespace, EndNotice, Error, EventKind, Invite, InviteStatus, Membership, MembershipState, Role,
    StorageError, StorageErrorKind, WorkspaceId,
};

/// What one [`Carespace::sweep`] did; each count is also a number of events appended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Swept {
    /// Invites marked expired ([`EventKind::InviteExpired`]).
    pub invites_expired: u32,
    /// Join requests escalated ([`EventKind::JoinRequestEscalated`]).
    pub requests_escalated: u32,
    /// Reminders that a membership ends soon ([`EventKind::MembershipEndingSoon`]).
    pub end_reminders: u32,
    /// Members archived because their membership ended ([`EventKind::MemberArchived`]
    /// with [`ArchiveReason::MembershipEnded`]), admins among them first demoted.
    pub memberships_ended: u32,
    /// Last admins kept past their end date ([`EventKind::LastAdminKept`]).
    pub last_admins_kept: u32,
}

impl Swept {
    /// Whether the sweep found nothing to do.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl std::ops::Add for Swept {
    type Output = Swept;

    /// What two sweeps did together (each count saturates).
    fn add(self, other: Swept) -> Swept {
        Swept {
            invites_expired: self.invites_expired.saturating_add(other.invites_expired),
            requests_escalated: self.requests_escalated.saturating_add(other.requests_escalated),
            end_reminders: self.end_reminders.saturating_add(other.end_reminders),
            memberships_ended: self.memberships_ended.saturating_add(other.memberships_ended),
            last_admins_kept: self.last_admins_kept.saturating_add(other.last_admins_kept),
        }
    }
}

impl std::iter::Sum for Swept {
    /// What several sweeps did together: a scheduler's tally, or racing sweeps' total.
    fn sum<I: Iterator<Item = Swept>>(iter: I) -> Swept {
        iter.fold(Swept::default(), |a, b| a + b)
    }
}

impl Carespace {
    /// Does the time-driven work due at `now` (R38, R39), in one transaction:
    /// - pending invites past their expiry are marked expired;
    /// - join requests waiting longer than [`Policy::escalate_after`](crate::Policy::escalate_after) (3 days by default)
    ///   are escalated, once, to every approved member, and the event names who can
    ///   approve, for the requester;
    /// - members whose end date is within [`Policy::end_reminder`](crate::Policy::end_reminder) (7 days by default) are
    ///   reminded, once per end date;
    /// - members whose end date has come are archived with the reason "membership ended"
    ///   (an admin is first demoted); a last admin is kept, with one event saying why,
    ///   and archived by the first sweep after another admin is promoted.
    ///
    /// Idempotent, and safe from several threads and processes at once: see the module
    /// documentation. Its events have no actor. `now` is normally the clock's time; a
    /// scheduler passes the instant it runs for.
    ///
    /// ```
    /// use carespace::{Carespace, MemoryStore, OrganisationKind};
    /// use time::{Duration, OffsetDateTime};
    ///
    /// let service = Carespace::new(MemoryStore::new());
    /// let trust = service.register_organisation("Barts Health NHS Trust".parse()?, OrganisationKind::NhsTrust, None)?;
    /// let alice = service.register_user("alice@nhs.net".parse()?, "Alice Smith".parse()?)?;
    /// service.join_organisation(alice.id, trust.id)?;
    /// let ward = service.join_example(alice.id, trust.id, carespace::Speciality::from_code(501)?)?.workspace;
    /// service.invite(alice.id, ward.id, "bob@nhs.net".parse()?)?;
    ///
    /// let later = OffsetDateTime::now_utc() + Duration::days(15);
    /// assert_eq!(service.sweep(later)?.invites_expired, 1);
    /// assert!(service.sweep(later)?.is_empty()); // the same `now` again: nothing to do
    /// # Ok::<(), carespace::Error>(())
    /// ```
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(now = %now))]
    pub fn sweep(&self, now: OffsetDateTime) -> Result<Swept, Error> {
        let swept = self.write_at(now, |tx, ctx| {
            let mut swept = Swept::default();
            expire_invites(tx, ctx, &mut swept)?;
            escalate_requests(tx, ctx, &mut swept)?;
            end_memberships(tx, ctx, &mut swept)?;
            Ok(swept)
        })?;
        tracing::info!(
            target: "carespace",
            invites_expired = swept.invites_expired,
            requests_escalated = swept.requests_escalated,
            end_reminders = swept.end_reminders,
            memberships_ended = swept.memberships_ended,
            last_admins_kept = swept.last_admins_kept,
            "swept"
        );
        Ok(swept)
    }
}

fn expire_invites(tx: &mut dyn WriteTx, ctx: Ctx<'_>, swept: &mut Swept) -> Result<(), Error> {
    let due = tx.reader().invites_expired_by(ctx.now)?;
    let mut plan = Plan::default();
    for invite in due {
        plan.event(EventKind::InviteExpired {
            invite: invite.id,
            workspace: invite.workspace,
            email: invite.email.clone(),
        });
        plan.change(Change::Invite(Invite { status: InviteStatus::Expired, resolved_at: Some(ctx.now), ..invite }));
        swept.invites_expired = swept.invites_expired.saturating_add(1);
    }
    apply(tx, ctx, None, plan)
}

fn escalate_requests(tx: &mut dyn WriteTx, ctx: Ctx<'_>, swept: &mut Swept) -> Result<(), Error> {
    let cutoff = crate::clock::earlier(ctx.now, ctx.policy.escalate_after());
    let due = tx.reader().requests_waiting_since(cutoff)?;
    let mut plan = Plan::default();
    for request in due {
        let (shared, _) = load_whole(tx.reader(), request.workspace, request.user)?;
        plan.event(EventKind::JoinRequestEscalated {
            workspace: request.workspace,
            user: request.user,
            requested_at: request.joined_at,
            approvers: shared.approvers(ctx.policy),
            escalated_to: shared.members.iter().filter(|m| m.state.is_approved()).map(|m| m.user).collect(),
        });
        plan.change(Change::UpdateMembership(Membership { escalated_at: Some(ctx.now), ..request }));
        swept.requests_escalated = swept.requests_escalated.saturating_add(1);
    }
    apply(tx, ctx, None, plan)
}

/// A shared workspace with every membership and pending invite, and `user` as seen
/// from its organisation (one [`ReadTx::context`] read).
fn load_whole(
    r: &dyn ReadTx,
    id: WorkspaceId,
    user: crate::UserId,
) -> Result<(Shared, Option<PersonInOrganisation>), Error> {
    let query = ContextQuery {
        workspace: id,
        actor: user,
        target: None,
        members: Members::Every,
        invites: Invites::Every,
        decline: false,
        settle: true,
    };
    let Context { workspace, organisation, mut people, members, invites, .. } =
        r.context(&query)?.ok_or_else(|| {
            Error::Storage(StorageError::new(
                StorageErrorKind::Corrupt,
                format!("membership of missing workspace {id}"),
            ))
        })?;
    let person = people.pop();
    Ok((Shared { workspace, organisation, members, invites, complete: true }, person))
}

fn end_memberships(tx: &mut dyn WriteTx, ctx: Ctx<'_>, swept: &mut Swept) -> Result<(), Error> {
    let horizon = crate::clock::later(ctx.now, ctx.policy.end_reminder());
    let due = tx.reader().memberships_ending_by(horizon)?;
    // One at a time, each written before the next is decided (an earlier item may have
    // archived an admin a later one counts on).
    for listed in due {
        let r = tx.reader();
        // Re-read: an earlier item of this sweep may have changed it.
        let Some(m) = r.membership(listed.workspace, listed.user)?.filter(|m| m.state.is_current()) else { continue };
        let Some(ends_at) = m.ends_at else { continue };
        let mut plan = Plan::default();
        if ends_at > ctx.now {
            if m.end_notice.is_none() {
                let admins = r.admins_of(m.workspace)?.into_iter().map(|a| a.user).collect();
                plan.event(EventKind::MembershipEndingSoon { workspace: m.workspace, user: m.user, ends_at, admins });
                plan.change(Change::UpdateMembership(Membership { end_notice: Some(EndNotice::Reminded), ..m }));
                swept.end_reminders = swept.end_reminders.saturating_add(1);
            }
        } else if m.state == MembershipState::Admin && must_keep(&r.admins_of(m.workspace)?, ctx.now, ends_at) {
            if m.end_notice != Some(EndNotice::KeptAsLastAdmin) {
                plan.event(EventKind::LastAdminKept { workspace: m.workspace, user: m.user, ends_at });
                plan.change(Change::UpdateMembership(Membership { end_notice: Some(EndNotice::KeptAsLastAdmin), ..m }));
                swept.last_admins_kept = swept.last_admins_kept.saturating_add(1);
            }
        } else {
            end_one(r, &mut plan, ctx, &m)?;
            swept.memberships_ended = swept.memberships_ended.saturating_add(1);
        }
        apply(tx, ctx, None, plan)?;
    }
    Ok(())
}

/// Whether an admin whose end date (`ends_at`) has come must be kept so that the
/// workspace keeps an admin (R25, R39). They may go if another admin is not ending, or
/// if another ending admin's end date is later (that one is kept instead). Admins whose
/// end dates are equal and latest are all kept: no tie is broken by an arbitrary order,
/// so the outcome does not depend on the order the sweep meets them in.
fn must_keep(admins: &[Membership], now: OffsetDateTime, ends_at: OffsetDateTime) -> bool {
    admins.iter().all(|a| a.ends_at.is_some_and(|end| end <= now && end <= ends_at))
}

/// Archives a member whose end date has come: an admin is demoted first, and the
/// invites they sent are revoked, as when an admin archives someone (R22); their My
/// Workspace comes back if that was their last current membership there (R41).
fn end_one(r: &dyn ReadTx, plan: &mut Plan, ctx: Ctx<'_>, m: &Membership) -> Result<(), Error> {
    if m.state == MembershipState::Admin {
        plan.event(EventKind::RoleChanged { workspace: m.workspace, user: m.user, role: Role::Member });
    }
    plan.change(Change::UpdateMembership(with_state(m, MembershipState::Archived, ctx.now)));
    plan.event(EventKind::MemberArchived {
        workspace: m.workspace,
        user: m.user,
        reason: ArchiveReason::MembershipEnded,
    });
    let (shared, person) = load_whole(r, m.workspace, m.user)?;
    shared.revoke_invites(plan, ctx, None, |i| i.invited_by == m.user);
    if let Some(person) = person {
        settle_personal(ctx, plan, &shared.workspace, &person, true);
    }
    Ok(())
}
