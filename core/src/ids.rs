//! Typed identifiers: one `Copy` newtype over a UUIDv7 per kind of entity (R36).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::{NoContext, Timestamp, Uuid};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID, for backends reading stored ids and hosts that keep
            /// ids of their own. New ids come from [`crate::Carespace`], which makes UUIDv7s.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            pub(crate) fn new_v7(at: OffsetDateTime) -> Self {
                Self(new_v7(at))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = crate::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| crate::Error::InvalidId { what: $what, value: s.to_owned() })
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

id_type!(
    /// Identifies an [`Organisation`](crate::Organisation).
    OrganisationId, "organisation id"
);
id_type!(
    /// Identifies a [`User`](crate::User).
    UserId, "user id"
);
id_type!(
    /// Identifies a workspace: a shared [`Workspace`](crate::Workspace) or a personal
    /// [`PersonalWorkspace`](crate::PersonalWorkspace) ("My Workspace"). Both kinds share
    /// one id space, because a conversation belongs to either.
    WorkspaceId, "workspace id"
);
id_type!(
    /// Identifies an [`Invite`](crate::Invite).
    InviteId, "invite id"
);
id_type!(
    /// Identifies a [`Conversation`](crate::Conversation).
    ConversationId, "conversation id"
);

/// A UUIDv7 whose timestamp is `at` (the injectable clock's time, R36) and whose other
/// bits are random.
fn new_v7(at: OffsetDateTime) -> Uuid {
    let nanos = at.unix_timestamp_nanos();
    let secs = u64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(0);
    let subsec = u32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0);
    Uuid::new_v7(Timestamp::from_unix(NoContext, secs, subsec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn r36_ids_are_uuid_v7_stamped_with_the_clock() {
        let at = datetime!(2026-03-03 09:00 UTC);
        let id = WorkspaceId::new_v7(at);
        assert_eq!(id.as_uuid().get_version_num(), 7);
        let (secs, _) = id.as_uuid().get_timestamp().unwrap().to_unix();
        assert_eq!(secs as i64, at.unix_timestamp());
    }

    #[test]
    fn ids_parse_and_print_round_trip() {
        let id = UserId::new_v7(datetime!(2026-01-01 0:00 UTC));
        let parsed: UserId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        let err = "not-a-uuid".parse::<UserId>().unwrap_err();
        assert_eq!(err.to_string(), "“not-a-uuid” is not a valid user id");
    }
}
