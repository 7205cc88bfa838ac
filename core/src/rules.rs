//! The rules, as plain functions over plain data (the functional core).
//!
//! Each command's rule takes what the service loaded (the workspace, its members and
//! pending invites, the actor and where they stand) and returns either a typed error or
//! a [`Plan`]: the rows to write and the events to append. Nothing here does I/O, so the
//! rules are tested without any store, and every backend applies the same decisions.

use time::OffsetDateTime;

use crate::permission::{Action, Denial, Standing, Target, permits, permits_in_organisation};
pub(crate) use crate::store::{Change, Plan};
use crate::views::{JoinOutcome, NameWarning, NewWorkspace, SettingsChange};
use crate::{
    Access, ArchiveReason, Conversation, ConversationId, Decline, Error, EventKind, Invite, InviteId, InviteStatus,
    Membership, MembershipState, NhsEmail, Organisation, OrganisationId, PersonalWorkspace, Policy, Role, User, UserId,
    Workspace, WorkspaceId, WorkspaceName, WorkspaceStatus,
};

/// The time and policy a command runs under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub(crate) now: OffsetDateTime,
    pub(crate) policy: &'a Policy,
}

/// The acting user, seen from one organisation.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub(crate) user: User,
    pub(crate) in_organisation: bool,
    /// Their My Workspace there, when the command read it: every command on a shared
    /// workspace does (its context read), and those in an organisation that can make the
    /// actor enter a shared workspace (create, join an example: R27).
    pub(crate) personal: Option<PersonalWorkspace>,
}

/// A shared workspace with what a command on it needs to decide.
///
/// Loading every member for every command would make a command's cost grow with the
/// ward, so the service reads what the command's rule reads (its
/// [`ContextQuery`](crate::ContextQuery)): always the
/// actor's membership, the memberships of the users the command names, and those of
/// everyone who may approve (so [`Shared::admins`] and [`Shared::approvers`] are whole);
/// every membership and pending invite only when `complete`.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub(crate) workspace: Workspace,
    pub(crate) organisation: Organisation,
    /// The loaded memberships, archived ones included, ordered by user.
    pub(crate) members: Vec<Membership>,
    /// The loaded invites whose status is `Pending` (some may be past their expiry).
    pub(crate) invites: Vec<Invite>,
    /// Whether `members` and `invites` hold every membership and pending invite.
    pub(crate) complete: bool,
}

/// A "Forbidden" error naming the actor, the action and the workspace (R34).
pub(crate) fn forbidden(action: Action, denial: Denial, actor: &User, workspace: &str) -> Error {
    Error::Forbidden { action, denial, actor: actor.name.to_string(), place: format!("“{workspace}”") }
}

/// Checks the organisation's rows of the permission table (R7, R11, R34); `Forbidden`,
/// naming the organisation, if they say no.
pub(crate) fn authorise_in_organisation(
    ctx: Ctx<'_>,
    actor: &Actor,
    organisation: &Organisation,
    action: Action,
) -> Result<(), Error> {
    permits_in_organisation(actor.in_organisation, organisation.kind, ctx.policy, action).map_err(|denial| {
        Error::Forbidden { action, denial, actor: actor.user.name.to_string(), place: organisation.name.to_string() }
    })
}

/// Checks the permission table for a My Workspace.
pub(crate) fn authorise_personal(
    ctx: Ctx<'_>,
    workspace: &PersonalWorkspace,
    actor: &Actor,
    action: Action,
) -> Result<(), Error> {
    let standing = Standing::in_personal(workspace.owner == actor.user.id, actor.in_organisation);
    let target = Target { personal: true, active: workspace.is_active() };
    permits(standing, target, ctx.policy.approvers(), action)
        .map_err(|denial| forbidden(action, denial, &actor.user, PersonalWorkspace::NAME))
}

impl Shared {
    pub(crate) fn membership(&self, user: UserId) -> Option<&Membership> {
        self.members.iter().find(|m| m.user == user)
    }

    pub(crate) fn state_of(&self, user: UserId) -> Option<MembershipState> {
        self.membership(user).map(|m| m.state)
    }

    pub(crate) fn standing(&self, user: UserId, in_organisation: bool) -> Standing {
        Standing::in_shared(self.state_of(user), in_organisation)
    }

    pub(crate) fn target(&self) -> Target {
        Target { personal: false, active: self.workspace.is_active() }
    }

    /// Checks the permission table; `Forbidden` if it says no.
    pub(crate) fn authorise(&self, ctx: Ctx<'_>, actor: &Actor, action: Action) -> Result<(), Error> {
        let standing = self.standing(actor.user.id, actor.in_organisation);
        permits(standing, self.target(), ctx.policy.approvers(), action)
            .map_err(|denial| forbidden(action, denial, &actor.user, self.workspace.name.as_str()))
    }

    pub(crate) fn name(&self) -> String {
        self.workspace.name.to_string()
    }

    pub(crate) fn admins(&self) -> impl Iterator<Item = UserId> + '_ {
        self.members.iter().filter(|m| m.state == MembershipState::Admin).map(|m| m.user)
    }

    /// Who may approve requests here under `policy` (R16).
    pub(crate) fn approvers(&self, policy: &Policy) -> Vec<UserId> {
        let target = self.target();
        self.members
            .iter()
            .filter(|m| {
                let standing = self.standing(m.user, true);
                permits(standing, target, policy.approvers(), Action::Approve).is_ok()
            })
            .map(|m| m.user)
            .collect()
    }

    fn current_members(&self) -> impl Iterator<Item = &Membership> + '_ {
        debug_assert!(self.complete, "counting members needs every membership loaded");
        self.members.iter().filter(|m| m.state.is_current())
    }

    /// The pending invite to `email`, if any (whatever its expiry).
    fn invite_to(&self, email: &NhsEmail) -> Option<&Invite> {
        self.invites.iter().find(|i| &i.email == email)
    }

    /// Revokes the loaded pending invites `which` selects, recording who revoked them.
    /// Selecting by anything but one invite's address needs every invite loaded.
    /// `by` is `None` when the sweep revokes them (R39).
    pub(crate) fn revoke_invites(
        &self,
        plan: &mut Plan,
        ctx: Ctx<'_>,
        by: Option<UserId>,
        which: impl Fn(&Invite) -> bool,
    ) {
        for invite in self.invites.iter().filter(|i| which(i)) {
            plan.change(Change::Invite(Invite {
                status: InviteStatus::Revoked,
                resolved_at: Some(ctx.now),
                resolved_by: by,
                ..invite.clone()
            }));
            plan.event(EventKind::InviteRevoked {
                invite: invite.id,
                workspace: invite.workspace,
                email: invite.email.clone(),
            });
        }
    }
}

fn membership(workspace: WorkspaceId, user: UserId, state: MembershipState, now: OffsetDateTime) -> Membership {
    Membership::new(workspace, user, state, now)
}

/// The membership in a new state. Archiving ends a time-boxed membership early: its end
/// date goes with it (R39), so an unarchived member starts without one.
pub(crate) fn with_state(m: &Membership, state: MembershipState, now: OffsetDateTime) -> Membership {
    let (ends_at, end_notice) =
        if state == MembershipState::Archived { (None, None) } else { (m.ends_at, m.end_notice) };
    Membership { state, updated_at: now, ends_at, end_notice, ..m.clone() }
}

fn user_name(user: &User) -> String {
    user.name.to_string()
}

/// A new My Workspace for `user` in `organisation` (R26).
pub(crate) fn new_personal(user: UserId, organisation: OrganisationId, now: OffsetDateTime) -> PersonalWorkspace {
    PersonalWorkspace { id: WorkspaceId::new_v7(now), organisation, owner: user, created_at: now, archived_at: None }
}

/// Refuses a closed organisation anything new (R40): a member, a workspace, a request
/// or an invite.
pub(crate) fn refuse_if_closed(organisation: &Organisation) -> Result<(), Error> {
    match organisation.closed_on {
        Some(closed_on) => Err(Error::OrganisationClosed { organisation: organisation.name.to_string(), closed_on }),
        None => Ok(()),
    }
}

/// Joining an organisation (R4): membership plus a My Workspace (R26). `None` when the
/// user already belongs (a no-op); refused when it closed (R40).
pub(crate) fn join_organisation(
    ctx: Ctx<'_>,
    actor: &Actor,
    organisation: &Organisation,
) -> Result<Option<(Plan, PersonalWorkspace)>, Error> {
    if actor.in_organisation {
        return Ok(None);
    }
    refuse_if_closed(organisation)?;
    Ok(joining(ctx, actor, organisation.id))
}

/// What joining an organisation writes, unless the actor already belongs.
fn joining(ctx: Ctx<'_>, actor: &Actor, organisation: OrganisationId) -> Option<(Plan, PersonalWorkspace)> {
    if actor.in_organisation {
        return None;
    }
    let mut plan = Plan::default();
    let personal = new_personal(actor.user.id, organisation, ctx.now);
    plan.change(Change::OrganisationMember(organisation, actor.user.id));
    plan.change(Change::Personal(personal.clone()));
    plan.event(EventKind::OrganisationJoined { organisation, user: actor.user.id, my_workspace: personal.id });
    Some((plan, personal))
}

/// What becoming a member of a shared workspace brings along: the organisation if the
/// user was not in it (R19, R4), and the archival of their My Workspace (R27).
fn enter_shared(plan: &mut Plan, ctx: Ctx<'_>, actor: &Actor, organisation: OrganisationId) {
    let personal = match joining(ctx, actor, organisation) {
        Some((joined, personal)) => {
            plan.changes.extend(joined.changes);
            plan.events.extend(joined.events);
            Some(personal)
        }
        None => actor.personal.clone(),
    };
    if let Some(personal) = personal {
        settle_personal(plan, ctx, &personal, true);
    }
}

/// Settles a My Workspace after its owner's memberships in its organisation changed:
/// archived while they hold a current membership of a shared workspace there (R27), and
/// active again, with its conversations, when they hold none (R41). `holds_current` is
/// the answer once the command's plan is applied.
pub(crate) fn settle_personal(plan: &mut Plan, ctx: Ctx<'_>, personal: &PersonalWorkspace, holds_current: bool) {
    let (workspace, organisation, user) = (personal.id, personal.organisation, personal.owner);
    if holds_current && personal.is_active() {
        plan.change(Change::Personal(PersonalWorkspace { archived_at: Some(ctx.now), ..personal.clone() }));
        plan.event(EventKind::MyWorkspaceArchived { workspace, organisation, user });
    } else if !holds_current && !personal.is_active() {
        plan.change(Change::Personal(PersonalWorkspace { archived_at: None, ..personal.clone() }));
        plan.event(EventKind::MyWorkspaceReactivated { workspace, organisation, user });
    }
}

/// Words too broad to name a team by (R13), compared on the folded lower-case name.
const GENERIC_NAMES: &[&str] = &[
    "staff",
    "all staff",
    "team",
    "the team",
    "all",
    "everyone",
    "everybody",
    "hospital",
    "trust",
    "general",
    "admin",
    "admins",
    "administration",
    "clinicians",
    "clinical",
    "clinical staff",
    "doctors",
    "nurses",
    "workspace",
    "department",
    "ward",
    "practice",
    "main",
    "shared",
    "group",
];

/// The generic-name warnings for `name` in `organisation` (R13).
pub(crate) fn name_warnings(name: &WorkspaceName, organisation: &Organisation) -> Vec<NameWarning> {
    let key = name.key();
    if key == organisation.name.key() {
        vec![NameWarning::OrganisationName]
    } else if GENERIC_NAMES.contains(&key.as_str()) {
        vec![NameWarning::TooGeneric { name: name.to_string() }]
    } else {
        Vec::new()
    }
}

/// Creating a shared workspace (R7, R8, R9, R27). `taken` is the active workspace of the
/// organisation with the same name key, if any.
pub(crate) fn create_workspace(
    ctx: Ctx<'_>,
    actor: &Actor,
    organisation: &Organisation,
    taken: Option<&Workspace>,
    new: NewWorkspace,
    from_example: bool,
) -> Result<(Plan, Workspace, Membership), Error> {
    authorise_in_organisation(ctx, actor, organisation, Action::CreateWorkspace)?;
    refuse_if_closed(organisation)?;
    if taken.is_some() {
        return Err(Error::WorkspaceNameTaken {
            name: new.name.to_string(),
            organisation: organisation.name.to_string(),
        });
    }
    let workspace = Workspace {
        id: WorkspaceId::new_v7(ctx.now),
        organisation: organisation.id,
        name: new.name,
        speciality: new.speciality,
        description: new.description,
        status: WorkspaceStatus::Active,
        created_by: actor.user.id,
        created_at: ctx.now,
    };
    let admin = membership(workspace.id, actor.user.id, MembershipState::Admin, ctx.now);
    let mut plan = Plan::default();
    plan.change(Change::Workspace(workspace.clone()));
    plan.change(Change::Membership(admin.clone()));
    plan.event(EventKind::WorkspaceCreated {
        workspace: workspace.id,
        organisation: organisation.id,
        name: workspace.name.clone(),
        speciality: workspace.speciality,
        from_example,
    });
    enter_shared(&mut plan, ctx, actor, organisation.id);
    Ok((plan, workspace, admin))
}

/// Requesting to join (R14), which accepts a pending invite instead where there is one
/// (R19) and respects the cool-down after a decline (R17).
pub(crate) fn request_to_join(
    ctx: Ctx<'_>,
    shared: &Shared,
    actor: &Actor,
    decline: Option<&Decline>,
) -> Result<(Plan, Membership, JoinOutcome), Error> {
    shared.authorise(ctx, actor, Action::RequestToJoin)?;
    if let Some(existing) = shared.membership(actor.user.id) {
        return Ok((Plan::default(), existing.clone(), JoinOutcome::AlreadyMember));
    }
    refuse_if_closed(&shared.organisation)?;
    if let Some(invite) = shared.invite_to(&actor.user.email).filter(|i| i.is_pending_at(ctx.now)) {
        let (plan, membership) = accept_invite(ctx, shared, actor, invite)?;
        return Ok((plan, membership, JoinOutcome::AcceptedInvite));
    }
    if let Some(decline) = decline {
        let until = crate::clock::later(decline.declined_at, ctx.policy.rerequest_cooldown());
        if ctx.now < until {
            return Err(Error::CoolDown { workspace: shared.name(), until });
        }
    }
    let requested = membership(shared.workspace.id, actor.user.id, MembershipState::Unapproved, ctx.now);
    let mut plan = Plan::default();
    plan.change(Change::Membership(requested.clone()));
    plan.event(EventKind::JoinRequested {
        workspace: shared.workspace.id,
        user: actor.user.id,
        approvers: shared.approvers(ctx.policy),
    });
    enter_shared(&mut plan, ctx, actor, shared.organisation.id);
    Ok((plan, requested, JoinOutcome::Requested))
}

/// Approving a join request (R16). Approving an approved member is a no-op.
pub(crate) fn approve(
    ctx: Ctx<'_>,
    shared: &Shared,
    actor: &Actor,
    target: &User,
) -> Result<(Plan, Membership), Error> {
    shared.authorise(ctx, actor, Action::Approve)?;
    match shared.membership(target.id) {
        Some(m) if m.state == MembershipState::Unapproved => Ok(approved(ctx, m)),
        Some(m) if m.state.is_approved() => Ok((Plan::default(), m.clone())),
        _ => Err(Error::NoPendingRequest { user: user_name(target), workspace: shared.name() }),
    }
}

/// [`approve`] decided on the two memberships alone, each with its holder's access as
/// the permission check reads it: the plan when the actor may approve and the target is
/// waiting; `None` for anything else (a refusal, a no-op), which [`approve`] decides
/// and names on the whole context.
pub(crate) fn approve_waiting(ctx: Ctx<'_>, actor: &Access, target: &Membership) -> Option<(Plan, Membership)> {
    let permitted = permits(actor.standing(), actor.target(), ctx.policy.approvers(), Action::Approve).is_ok();
    (permitted && target.state == MembershipState::Unapproved).then(|| approved(ctx, target))
}

/// The approval of a waiting membership (R16): the member it becomes, and its event.
fn approved(ctx: Ctx<'_>, waiting: &Membership) -> (Plan, Membership) {
    let mut plan = Plan::default();
    let member = with_state(waiting, MembershipState::Member, ctx.now);
    plan.change(Change::UpdateMembership(member.clone()));
    plan.event(EventKind::JoinApproved { workspace: waiting.workspace, user: waiting.user });
    (plan, member)
}

/// Declining a join request (R17): the membership ends, the decline is remembered.
pub(crate) fn decline(ctx: Ctx<'_>, shared: &Shared, actor: &Actor, target: &User) -> Result<Plan, Error> {
    shared.authorise(ctx, actor, Action::Decline)?;
    match shared.state_of(target.id) {
        Some(MembershipState::Unapproved) => {
            let mut plan = Plan::default();
            plan.change(Change::RemoveMembership(shared.workspace.id, target.id));
            plan.change(Change::Decline(Decline {
                workspace: shared.workspace.id,
                user: target.id,
                declined_at: ctx.now,
            }));
            plan.event(EventKind::JoinDeclined { workspace: shared.workspace.id, user: target.id });
            Ok(plan)
        }
        _ => Err(Error::NoPendingRequest { user: user_name(target), workspace: shared.name() }),
    }
}

/// Inviting an email (R18): refreshes a pending invite, replaces an expired one, and
/// refuses current and archived members. `invitee` is the user with that email, if any.
pub(crate) fn invite(
    ctx: Ctx<'_>,
    shared: &Shared,
    actor: &Actor,
    email: NhsEmail,
    invitee: Option<&User>,
) -> Result<(Plan, Invite), Error> {
    shared.authorise(ctx, actor, Action::Invite)?;
    refuse_if_closed(&shared.organisation)?;
    if let Some(state) = invitee.and_then(|u| shared.state_of(u.id)) {
        let who = email.to_string();
        return Err(if state.is_current() {
            Error::AlreadyMember { who, workspace: shared.name() }
        } else {
            Error::ArchivedMember { who, workspace: shared.name() }
        });
    }
    let expires_at = crate::clock::later(ctx.now, ctx.policy.invite_lifetime());
    let mut plan = Plan::default();
    let (invite, refreshed) = match shared.invite_to(&email) {
        // A refresh makes the invite the refresher's (R18): they may revoke it, and it is
        // revoked if they leave, as if they had sent it.
        Some(pending) if pending.is_pending_at(ctx.now) => {
            (Invite { expires_at, invited_by: actor.user.id, ..pending.clone() }, true)
        }
        previous => {
            if let Some(expired) = previous {
                plan.change(Change::Invite(Invite {
                    status: InviteStatus::Expired,
                    resolved_at: Some(ctx.now),
                    ..expired.clone()
                }));
                plan.event(EventKind::InviteExpired {
                    invite: expired.id,
                    workspace: expired.workspace,
                    email: expired.email.clone(),
                });
            }
            let fresh = Invite {
                id: InviteId::new_v7(ctx.now),
                workspace: shared.workspace.id,
                email,
                invited_by: actor.user.id,
                created_at: ctx.now,
                expires_at,
                status: InviteStatus::Pending,
                resolved_at: None,
                resolved_by: None,
            };
            (fresh, false)
        }
    };
    plan.change(Change::Invite(invite.clone()));
    plan.event(EventKind::Invited {
        invite: invite.id,
        workspace: invite.workspace,
        email: invite.email.clone(),
        expires_at,
        refreshed,
    });
    Ok((plan, invite))
}

/// Accepting an invite (R19): only its addressee, before expiry, unless revoked.
/// Accepting again is a no-op.
pub(crate) fn accept_invite(
    ctx: Ctx<'_>,
    shared: &Shared,
    actor: &Actor,
    invite: &Invite,
) -> Result<(Plan, Membership), Error> {
    if invite.email != actor.user.email {
        return Err(forbidden(Action::AcceptInvite, Denial::NotTheInvitee, &actor.user, &shared.name()));
    }
    let current = shared.membership(actor.user.id);
    match invite.status {
        InviteStatus::Accepted => {
            return match current {
                Some(m) if invite.resolved_by == Some(actor.user.id) && m.state.is_current() => {
                    Ok((Plan::default(), m.clone()))
                }
                _ => Err(Error::InviteAlreadyAccepted { workspace: shared.name() }),
            };
        }
        InviteStatus::Revoked => {
            return Err(Error::InviteRevoked { workspace: shared.name() });
        }
        InviteStatus::Expired => {
            return Err(Error::InviteExpired { workspace: shared.name(), expired_at: invite.expires_at });
        }
        InviteStatus::Pending if ctx.now >= invite.expires_at => {
            return Err(Error::InviteExpired { workspace: shared.name(), expired_at: invite.expires_at });
        }
        InviteStatus::Pending => {}
    }
    shared.authorise(ctx, actor, Action::AcceptInvite)?;
    if !current.is_some_and(|m| m.state.is_approved()) {
        refuse_if_closed(&shared.organisation)?;
    }
    let mut plan = Plan::default();
    let joined = match current {
        Some(m) if m.state.is_approved() => m.clone(),
        Some(m) => with_state(m, MembershipState::Member, ctx.now),
        None => membership(shared.workspace.id, actor.user.id, MembershipState::Member, ctx.now),
    };
    plan.change(Change::Membership(joined.clone()));
    plan.change(Change::Invite(Invite {
        status: InviteStatus::Accepted,
        resolved_at: Some(ctx.now),
        resolved_by: Some(actor.user.id),
        ..invite.clone()
    }));
    plan.event(EventKind::InviteAccepted { invite: invite.id, workspace: shared.workspace.id, user: actor.user.id });
    enter_shared(&mut plan, ctx, actor, shared.organisation.id);
    Ok((plan, joined))
}

/// Revoking an invite (R20): its sender or an admin. Revoking a revoked invite is a no-op.
pub(crate) fn revoke_invite(
    ctx: Ctx<'_>,
    shared: &Shared,
    actor: &Actor,
    invite: &Invite,
) -> Result<(Plan, Invite), Error> {
    let action = if invite.invited_by == actor.user.id { Action::RevokeOwnInvite } else { Action::RevokeAnyInvite };
    shared.authorise(ctx, actor, action)?;
    match invite.status {
        InviteStatus::Revoked => Ok((Plan::default(), invite.clone())),
        InviteStatus::Accepted => Err(Error::InviteAlreadyAccepted { workspace: shared.name() }),
        InviteStatus::Expired => Err(Error::InviteExpired { workspace: shared.name(), expired_at: invite.expires_at }),
        InviteStatus::Pending if ctx.now >= invite.expires_at => {
            Err(Error::InviteExpired { workspace: shared.name(), expired_at: invite.expires_at })
        }
        InviteStatus::Pending => {
            let mut plan = Plan::default();
            shared.revoke_invites(&mut plan, ctx, Some(actor.user.id), |i| i.id == invite.id);
            let revoked = Invite {
                status: InviteStatus::Revoked,
                resolved_at: Some(ctx.now),
                resolved_by: Some(actor.user.id),
                ..invite.clone()
            };
            Ok((plan, revoked))
        }
    }
}

/// Leaving (R21). Returns whether the workspace was archived.
pub(crate) fn leave(ctx: Ctx<'_>, shared: &Shared, actor: &Actor) -> Result<(Plan, bool), Error> {
    shared.authorise(ctx, actor, Action::Leave)?;
    let me = actor.user.id;
    let others = shared.current_members().filter(|m| m.user != me).count();
    let other_admins = shared.admins().filter(|&a| a != me).count();
    if shared.state_of(me) == Some(MembershipState::Admin) && other_admins == 0 && others > 0 {
        return Err(Error::LastAdmin {
            user: user_name(&actor.user),
            workspace: shared.name(),
            remedy: "promote another approved member to admin (or decline the pending requests) before leaving",
        });
    }
    let mut plan = Plan::default();
    plan.change(Change::RemoveMembership(shared.workspace.id, me));
    plan.event(EventKind::MemberLeft { workspace: shared.workspace.id, user: me });
    let archive = others == 0;
    // The leaver's invites go (R21); when the workspace closes, every invite goes (R25).
    shared.revoke_invites(&mut plan, ctx, Some(me), |i| archive || i.invited_by == me);
    if archive {
        plan.change(Change::Workspace(Workspace { status: WorkspaceStatus::Archived, ..shared.workspace.clone() }));
        plan.event(EventKind::WorkspaceArchived { workspace: shared.workspace.id });
    }
    Ok((plan, archive))
}

/// Archiving a member (R22): admins only, never an admin, never oneself.
pub(crate) fn archive_member(
    ctx: Ctx<'_>,
    shared: &Shared,
    actor: &Actor,
    target: &User,
) -> Result<(Plan, Membership), Error> {
    shared.authorise(ctx, actor, Action::ArchiveMember)?;
    if target.id == actor.user.id {
        return Err(Error::SelfTarget { action: Action::ArchiveMember, remedy: "leave the workspace instead" });
    }
    let mut plan = Plan::default();
    match shared.membership(target.id) {
        None => Err(Error::NotAMember { user: user_name(target), workspace: shared.name(), expected: "a member" }),
        Some(m) if m.state == MembershipState::Admin => {
            Err(Error::AdminMustBeDemoted { user: user_name(target), workspace: shared.name() })
        }
        Some(m) if m.state == MembershipState::Archived => Ok((plan, m.clone())),
        Some(m) => {
            let archived = with_state(m, MembershipState::Archived, ctx.now);
            plan.change(Change::UpdateMembership(archived.clone()));
            plan.event(EventKind::MemberArchived {
                workspace: shared.workspace.id,
                user: target.id,
                reason: ArchiveReason::ByAdmin,
            });
            shared.revoke_invites(&mut plan, ctx, Some(actor.user.id), |i| i.invited_by == target.id);
            Ok((plan, archived))
        }
    }
}

/// Unarchiving a member (R22): they come back as an approved member.
pub(crate) fn unarchive_member(
    ctx: Ctx<'_>,
    shared: &Shared,
    actor: &Actor,
    target: &User,
) -> Result<(Plan, Membership), Error> {
    shared.authorise(ctx, actor, Action::UnarchiveMember)?;
    let mut plan = Plan::default();
    match shared.membership(target.id) {
        Some(m) if m.state == MembershipState::Archived => {
            let restored = with_state(m, MembershipState::Member, ctx.now);
            plan.change(Change::UpdateMembership(restored.clone()));
            plan.event(EventKind::MemberUnarchived { workspace: shared.workspace.id, user: target.id });
            Ok((plan, restored))
        }
        Some(m) if m.state.is_approved() => Ok((plan, m.clone())),
        _ => {
            Err(Error::NotAMember { user: user_name(target), workspace: shared.name(), expected: "an archived member" })
        }
    }
}

/// Promoting an approved member to admin (R23). Promoting an admin is a no-op.
pub(crate) fn promote(
    ctx: Ctx<'_>,
    shared: &Shared,
    actor: &Actor,
    target: &User,
) -> Result<(Plan, Membership), Error> {
    shared.authorise(ctx, actor, Action::Promote)?;
    let mut plan = Plan::default();
    match shared.membership(target.id) {
        Some(m) if m.state == MembershipState::Member => {
            let promoted = with_state(m, MembershipState::Admin, ctx.now);
            plan.change(Change::UpdateMembership(promoted.clone()));
            plan.event(EventKind::RoleChanged { workspace: shared.workspace.id, user: target.id, role: Role::Admin });
            Ok((plan, promoted))
        }
        Some(m) if m.state == MembershipState::Admin => Ok((plan, m.clone())),
        _ => Err(Error::NotAMember {
            user: user_name(target),
            workspace: shared.name(),
            expected: "an approved member (approve their request first)",
        }),
    }
}

/// Demoting an admin (R23), never the last one. Demoting a member is a no-op.
pub(crate) fn demote(ctx: Ctx<'_>, shared: &Shared, actor: &Actor, target: &User) -> Result<(Plan, Membership), Error> {
    shared.authorise(ctx, actor, Action::Demote)?;
    let mut plan = Plan::default();
    match shared.membership(target.id) {
        Some(m) if m.state == MembershipState::Admin => {
            if shared.admins().count() <= 1 {
                return Err(Error::LastAdmin {
                    user: user_name(target),
                    workspace: shared.name(),
                    remedy: "promote another approved member to admin first",
                });
            }
            let demoted = with_state(m, MembershipState::Member, ctx.now);
            plan.change(Change::UpdateMembership(demoted.clone()));
            plan.event(EventKind::RoleChanged { workspace: shared.workspace.id, user: target.id, role: Role::Member });
            Ok((plan, demoted))
        }
        Some(m) if m.state == MembershipState::Member => Ok((plan, m.clone())),
        _ => Err(Error::NotAMember { user: user_name(target), workspace: shared.name(), expected: "an admin" }),
    }
}

/// Setting, extending, bringing forward or clearing a membership's end date (R39):
/// admins only, on a current member, never in the past. The same date again is a no-op.
pub(crate) fn set_membership_end(
    ctx: Ctx<'_>,
    shared: &Shared,
    actor: &Actor,
    target: &User,
    ends_at: Option<OffsetDateTime>,
) -> Result<(Plan, Membership), Error> {
    shared.authorise(ctx, actor, Action::SetMembershipEnd)?;
    let Some(m) = shared.membership(target.id).filter(|m| m.state.is_current()) else {
        return Err(Error::NotAMember {
            user: user_name(target),
            workspace: shared.name(),
            expected: "a current member",
        });
    };
    if let Some(end) = ends_at
        && end <= ctx.now
    {
        return Err(Error::EndDateNotInFuture { user: user_name(target), workspace: shared.name(), ends_at: end });
    }
    let mut plan = Plan::default();
    if m.ends_at == ends_at {
        return Ok((plan, m.clone()));
    }
    // A new date earns a new reminder (and a new decision if they are the last admin).
    let changed = Membership { ends_at, end_notice: None, ..m.clone() };
    plan.change(Change::UpdateMembership(changed.clone()));
    plan.event(EventKind::MembershipEndChanged {
        workspace: shared.workspace.id,
        user: target.id,
        ends_at,
        previous: m.ends_at,
    });
    Ok((plan, changed))
}

/// Changing settings (R24). `taken` is another active workspace with the new name's key.
pub(crate) fn update_settings(
    ctx: Ctx<'_>,
    shared: &Shared,
    actor: &Actor,
    change: SettingsChange,
    taken: Option<&Workspace>,
) -> Result<(Plan, Workspace, Vec<NameWarning>), Error> {
    shared.authorise(ctx, actor, Action::ChangeSettings)?;
    let old = &shared.workspace;
    let name = change.name.filter(|n| n != &old.name);
    let speciality = change.speciality.filter(|s| s != &old.speciality);
    let description = change.description.filter(|d| d != &old.description);
    if let Some(name) = &name
        && taken.is_some_and(|w| w.id != old.id)
    {
        return Err(Error::WorkspaceNameTaken {
            name: name.to_string(),
            organisation: shared.organisation.name.to_string(),
        });
    }
    let updated = Workspace {
        name: name.clone().unwrap_or_else(|| old.name.clone()),
        speciality: speciality.unwrap_or(old.speciality),
        description: description.clone().unwrap_or_else(|| old.description.clone()),
        ..old.clone()
    };
    let warnings = name.as_ref().map(|n| name_warnings(n, &shared.organisation)).unwrap_or_default();
    let mut plan = Plan::default();
    if name.is_some() || speciality.is_some() || description.is_some() {
        plan.change(Change::Workspace(updated.clone()));
        plan.event(EventKind::SettingsChanged { workspace: old.id, name, speciality, description });
    }
    Ok((plan, updated, warnings))
}

/// Starting a conversation (R29): the permission check is the caller's, per kind of workspace.
pub(crate) fn start_conversation(ctx: Ctx<'_>, workspace: WorkspaceId, actor: UserId) -> (Plan, Conversation) {
    let conversation =
        Conversation { id: ConversationId::new_v7(ctx.now), workspace, started_by: actor, started_at: ctx.now };
    let mut plan = Plan::default();
    plan.change(Change::Conversation(conversation.clone()));
    plan.event(EventKind::ConversationStarted { conversation: conversation.id, workspace, user: actor });
    (plan, conversation)
}

#[cfg(test)]
mod tests {
    //! The rules on their own, without any store.
    use super::*;
    use crate::{Description, OrganisationKind, OrganisationName, PersonName, Speciality};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-03 09:00 UTC);

    fn user(name: &str, email: &str) -> User {
        User {
            id: UserId::new_v7(NOW),
            email: email.parse().unwrap(),
            name: PersonName::parse(name).unwrap(),
            registered_at: NOW,
        }
    }

    fn trust() -> Organisation {
        Organisation::new(
            OrganisationId::new_v7(NOW),
            OrganisationName::parse("East London NHS Foundation Trust").unwrap(),
            OrganisationKind::NhsTrust,
            None,
            NOW,
        )
    }

    fn shared_with(org: &Organisation, members: &[(&User, MembershipState)]) -> Shared {
        let workspace = Workspace {
            id: WorkspaceId::new_v7(NOW),
            organisation: org.id,
            name: WorkspaceName::parse("Maternity - Ward 2").unwrap(),
            speciality: Speciality::from_code(501).unwrap(),
            description: Description::default(),
            status: WorkspaceStatus::Active,
            created_by: members[0].0.id,
            created_at: NOW,
        };
        let members = members.iter().map(|(u, s)| membership(workspace.id, u.id, *s, NOW)).collect();
        Shared { workspace, organisation: org.clone(), members, invites: Vec::new(), complete: true }
    }

    fn actor(user: &User) -> Actor {
        Actor { user: user.clone(), in_organisation: true, personal: None }
    }

    #[test]
    fn r21_last_admin_cannot_leave_while_others_remain_but_can_leave_alone() {
        let policy = Policy::default();
        let ctx = Ctx { now: NOW, policy: &policy };
        let org = trust();
        let (alice, bob) = (user("Alice", "alice@nhs.net"), user("Bob", "bob@nhs.net"));
        let shared = shared_with(&org, &[(&alice, MembershipState::Admin), (&bob, MembershipState::Unapproved)]);
        let err = leave(ctx, &shared, &actor(&alice)).unwrap_err();
        assert!(matches!(err, Error::LastAdmin { .. }), "{err}");
        assert!(err.to_string().starts_with("Alice is the last admin of “Maternity - Ward 2”; promote"));

        let alone = shared_with(&org, &[(&alice, MembershipState::Admin)]);
        let (plan, archived) = leave(ctx, &alone, &actor(&alice)).unwrap();
        assert!(archived);
        assert!(plan.events.contains(&EventKind::WorkspaceArchived { workspace: alone.workspace.id }));
    }

    #[test]
    fn r23_last_admin_cannot_be_demoted() {
        let policy = Policy::default();
        let ctx = Ctx { now: NOW, policy: &policy };
        let org = trust();
        let alice = user("Alice", "alice@nhs.net");
        let shared = shared_with(&org, &[(&alice, MembershipState::Admin)]);
        assert!(matches!(demote(ctx, &shared, &actor(&alice), &alice), Err(Error::LastAdmin { .. })));
    }

    #[test]
    fn r13_generic_names_warn() {
        let org = trust();
        let warn = |name: &str| name_warnings(&WorkspaceName::parse(name).unwrap(), &org);
        assert_eq!(warn("Staff"), vec![NameWarning::TooGeneric { name: "Staff".into() }]);
        assert_eq!(warn("  EVERYONE "), vec![NameWarning::TooGeneric { name: "EVERYONE".into() }]);
        assert_eq!(warn("east london nhs foundation trust"), vec![NameWarning::OrganisationName]);
        assert!(warn("Maternity - Ward 2").is_empty());
        assert!(warn("Staff Nurses Ward 4").is_empty());
    }

    #[test]
    fn r16_approvers_follow_the_policy() {
        let org = trust();
        let (alice, bob, carol) =
            (user("Alice", "alice@nhs.net"), user("Bob", "bob@nhs.net"), user("Carol", "carol@nhs.net"));
        let shared = shared_with(
            &org,
            &[(&alice, MembershipState::Admin), (&bob, MembershipState::Member), (&carol, MembershipState::Unapproved)],
        );
        assert_eq!(shared.approvers(&Policy::default()), vec![alice.id]);
        let everyone = Policy::default().with_approvers(crate::Approvers::ApprovedMembers);
        assert_eq!(shared.approvers(&everyone), vec![alice.id, bob.id]);
    }

    /// R16: approving on the two memberships alone agrees with approving on the whole
    /// context whenever it answers, and answers exactly when the whole context would
    /// approve a waiting request: for every state of the actor and of the target,
    /// inside the organisation or not, in an active or an archived workspace, under
    /// both approver policies.
    #[test]
    fn r16_approving_on_the_memberships_alone_agrees_with_the_whole_context() {
        use MembershipState as S;
        let org = trust();
        let (alice, carol) = (user("Alice", "alice@nhs.net"), user("Carol", "carol@nhs.net"));
        let states = [S::Unapproved, S::Member, S::Admin, S::Archived];
        let mut approved = 0;
        for policy in [Policy::default(), Policy::default().with_approvers(crate::Approvers::ApprovedMembers)] {
            let ctx = Ctx { now: NOW, policy: &policy };
            for (mine, theirs, in_organisation, active) in every_case(&states) {
                let mut shared = shared_with(&org, &[(&alice, mine), (&carol, theirs)]);
                if !active {
                    shared.workspace.status = WorkspaceStatus::Archived;
                }
                let me = Actor { in_organisation, ..actor(&alice) };
                let whole = approve(ctx, &shared, &me, &carol);
                let access = Access {
                    organisation: org.id,
                    personal: false,
                    active,
                    state: Some(mine),
                    owner: false,
                    in_organisation,
                    user_exists: true,
                };
                let waiting = shared.membership(carol.id).unwrap();
                let case = format!("{mine:?} approving {theirs:?}, in organisation {in_organisation}, active {active}");
                match approve_waiting(ctx, &access, waiting) {
                    Some(alone) => {
                        assert_eq!(Some(&alone), whole.as_ref().ok(), "{case}");
                        approved += 1;
                    }
                    None => {
                        let approves = whole.as_ref().is_ok_and(|(plan, _)| !plan.events.is_empty());
                        assert!(!approves, "{case}: the whole context approves");
                    }
                }
            }
        }
        // An admin under either policy and a member under ApprovedMembers, in or out of
        // the organisation, in an active workspace.
        assert_eq!(approved, 6);
    }

    /// Every (actor's state, target's state, in organisation, active) of `states`.
    fn every_case(states: &[MembershipState]) -> Vec<(MembershipState, MembershipState, bool, bool)> {
        let mut all = Vec::new();
        for &mine in states {
            for &theirs in states {
                for in_organisation in [true, false] {
                    for active in [true, false] {
                        all.push((mine, theirs, in_organisation, active));
                    }
                }
            }
        }
        all
    }
}
