//! [`Policy`]: the product decisions the rules leave to the deployment (R7, R16, R17, R18,
//! R38, R39).

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::OrganisationKind;

/// Who may approve (and decline) join requests (R16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Approvers {
    /// Only the workspace's admins (the default).
    #[default]
    Admins,
    /// Every approved member, admins included (as the product later did).
    ApprovedMembers,
}

/// The policy settings of a [`Carespace`](crate::Carespace) service.
///
/// A duration may be as long as you like: one that reaches past the times Carespace
/// records ([`SUPPORTED_TIMES`](crate::SUPPORTED_TIMES)) ends at
/// [`LAST_SUPPORTED_TIME`](crate::LAST_SUPPORTED_TIME), which is "never" in effect —
/// `Duration::MAX` is the plain way to say so — and every backend behaves alike.
///
/// ```
/// use carespace::{Approvers, OrganisationKind, Policy};
/// use time::Duration;
///
/// let policy = Policy::default()
///     .with_creator_kinds([OrganisationKind::NhsTrust, OrganisationKind::GpPractice])
///     .with_approvers(Approvers::ApprovedMembers)
///     .with_invite_lifetime(Duration::days(7));
/// assert!(policy.may_create_in(OrganisationKind::GpPractice));
/// assert!(!policy.may_create_in(OrganisationKind::Pharmacy));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    creator_kinds: Vec<OrganisationKind>,
    approvers: Approvers,
    invite_lifetime: Duration,
    rerequest_cooldown: Duration,
    #[serde(default = "default_escalate_after")]
    escalate_after: Duration,
    #[serde(default = "default_end_reminder")]
    end_reminder: Duration,
}

fn default_escalate_after() -> Duration {
    Duration::days(3)
}

fn default_end_reminder() -> Duration {
    Duration::days(7)
}

impl Default for Policy {
    /// The rules' defaults: only NHS trusts create workspaces, admins approve, invites last
    /// 14 days, a declined requester waits 7 days, a join request is escalated after 3
    /// days, and a time-boxed member is reminded 7 days before the end.
    fn default() -> Self {
        Self {
            creator_kinds: vec![OrganisationKind::NhsTrust],
            approvers: Approvers::Admins,
            invite_lifetime: Duration::days(14),
            rerequest_cooldown: Duration::days(7),
            escalate_after: default_escalate_after(),
            end_reminder: default_end_reminder(),
        }
    }
}

impl Policy {
    /// The organisation kinds whose members may create workspaces (R7).
    #[must_use]
    pub fn with_creator_kinds(mut self, kinds: impl IntoIterator<Item = OrganisationKind>) -> Self {
        self.creator_kinds = kinds.into_iter().collect();
        self.creator_kinds.sort_unstable();
        self.creator_kinds.dedup();
        self
    }

    /// Who approves join requests (R16).
    #[must_use]
    pub fn with_approvers(mut self, approvers: Approvers) -> Self {
        self.approvers = approvers;
        self
    }

    /// How long an invite stays pending (R18). Negative durations count as zero.
    #[must_use]
    pub fn with_invite_lifetime(mut self, lifetime: Duration) -> Self {
        self.invite_lifetime = lifetime.max(Duration::ZERO);
        self
    }

    /// How long a declined requester waits before asking again (R17). Negative
    /// durations count as zero.
    #[must_use]
    pub fn with_rerequest_cooldown(mut self, cooldown: Duration) -> Self {
        self.rerequest_cooldown = cooldown.max(Duration::ZERO);
        self
    }

    /// How long a join request waits for an approver before the sweep escalates it
    /// (R38). Negative durations count as zero.
    #[must_use]
    pub fn with_escalate_after(mut self, wait: Duration) -> Self {
        self.escalate_after = wait.max(Duration::ZERO);
        self
    }

    /// How long before a time-boxed membership ends the sweep reminds the member and the
    /// admins (R39). Negative durations count as zero (no reminder ahead of the end).
    #[must_use]
    pub fn with_end_reminder(mut self, lead: Duration) -> Self {
        self.end_reminder = lead.max(Duration::ZERO);
        self
    }

    /// The organisation kinds whose members may create workspaces.
    pub fn creator_kinds(&self) -> &[OrganisationKind] {
        &self.creator_kinds
    }

    /// Whether members of an organisation of this kind may create workspaces (R7).
    pub fn may_create_in(&self, kind: OrganisationKind) -> bool {
        self.creator_kinds.contains(&kind)
    }

    /// Who approves join requests.
    pub fn approvers(&self) -> Approvers {
        self.approvers
    }

    /// How long an invite stays pending.
    pub fn invite_lifetime(&self) -> Duration {
        self.invite_lifetime
    }

    /// How long a declined requester waits before asking again.
    pub fn rerequest_cooldown(&self) -> Duration {
        self.rerequest_cooldown
    }

    /// How long a join request waits before it is escalated.
    pub fn escalate_after(&self) -> Duration {
        self.escalate_after
    }

    /// How long before a membership's end the reminder is sent.
    pub fn end_reminder(&self) -> Duration {
        self.end_reminder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r7_r16_r17_r18_r38_r39_defaults_follow_the_spec() {
        let policy = Policy::default();
        assert_eq!(policy.escalate_after(), Duration::days(3));
        assert_eq!(policy.end_reminder(), Duration::days(7));
        assert_eq!(policy.creator_kinds(), &[OrganisationKind::NhsTrust]);
        assert_eq!(policy.approvers(), Approvers::Admins);
        assert_eq!(policy.invite_lifetime(), Duration::days(14));
        assert_eq!(policy.rerequest_cooldown(), Duration::days(7));
    }

    #[test]
    fn negative_durations_are_clamped() {
        let policy = Policy::default()
            .with_invite_lifetime(Duration::days(-1))
            .with_rerequest_cooldown(Duration::days(-1))
            .with_escalate_after(Duration::days(-1))
            .with_end_reminder(Duration::days(-1));
        assert_eq!(policy.invite_lifetime(), Duration::ZERO);
        assert_eq!(policy.rerequest_cooldown(), Duration::ZERO);
        assert_eq!(policy.escalate_after(), Duration::ZERO);
        assert_eq!(policy.end_reminder(), Duration::ZERO);
    }
}
