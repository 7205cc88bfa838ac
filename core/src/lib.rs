//! Carespace: clinical team workspaces for NHS organisations.
//!
//! Organisations hold shared team workspaces ("Maternity - Ward 2"). Staff ask to join
//! and start as unapproved members who may send messages but see only their own
//! conversations; an approver makes them approved members who see everything the
//! workspace sends and receives. Approved members invite colleagues by NHS email; admins
//! archive, unarchive, promote and demote; the last admin cannot leave. Each person's old
//! personal "My Workspace" is archived once they move into a shared one. Every change
//! appends an event to a gap-free log that doubles as the audit trail.
//!
//! The rules it implements are numbered R1–R43 in `docs/rules.md` of the repository
//! (tests name the rule they prove), the map of the code is `ARCHITECTURE.md`. Start at
//! [`Carespace`], with [`MemoryStore`] or a durable backend behind the [`Store`] trait.
//!
//! ```
//! use carespace::{Carespace, MemoryStore, NewWorkspace, OrganisationKind, Speciality};
//! use carespace::permission::Action;
//!
//! let service = Carespace::new(MemoryStore::new());
//! let trust = service.register_organisation("Barts Health NHS Trust".parse()?, OrganisationKind::NhsTrust, Some("R1H".parse()?))?;
//! let alice = service.register_user("alice@nhs.net".parse()?, "Alice Smith".parse()?)?;
//! let bob = service.register_user("bob@bartshealth.nhs.uk".parse()?, "Bob Jones".parse()?)?;
//! for user in [alice.id, bob.id] {
//!     service.join_organisation(user, trust.id)?;
//! }
//! let ward = service
//!     .create_workspace(alice.id, trust.id, NewWorkspace {
//!         name: "Maternity - Ward 2".parse()?,
//!         speciality: Speciality::from_code(501)?,
//!         description: Default::default(),
//!     })?
//!     .workspace;
//! service.request_to_join(bob.id, ward.id)?;
//! assert!(service.can(bob.id, ward.id, Action::StartConversation)?);
//! assert!(!service.can(bob.id, ward.id, Action::ViewAllConversations)?);
//! service.approve(alice.id, ward.id, bob.id)?;
//! assert!(service.can(bob.id, ward.id, Action::ViewAllConversations)?);
//! # Ok::<(), carespace::Error>(())
//! ```
#![forbid(unsafe_code)]

mod audit;
mod clock;
mod consumer;
pub mod copy;
pub mod directory;
mod email;
mod error;
mod event;
pub mod health;
mod ids;
mod memory;
mod model;
pub mod page;
pub mod permission;
mod policy;
mod rules;
mod service;
mod speciality;
pub mod store;
mod sweep;
mod text;
#[cfg(feature = "tokio")]
pub mod tokio;
mod views;

#[cfg(any(test, feature = "test-suite"))]
pub mod testsuite;

pub use audit::{PersonTimeline, Sight, StateSpan, Timeline, Viewer, VisibleWorkspace};
pub use clock::{Clock, LAST_SUPPORTED_TIME, ManualClock, SUPPORTED_TIMES, SystemClock};
pub use consumer::{Consumer, ConsumerStart, Consumption};
pub use email::{EmailError, MAX_EMAIL_LEN, MAX_LOCAL_PART_LEN, NhsEmail};
pub use error::{Entity, Error, StorageError, StorageErrorKind};
pub use event::{Event, EventKind, NewEvent};
pub use ids::{ConversationId, InviteId, OrganisationId, UserId, WorkspaceId};
pub use memory::MemoryStore;
pub use model::{
    ArchiveReason, Conversation, Decline, EndNotice, Invite, InviteStatus, MemberStatus, Membership, MembershipState,
    Organisation, OrganisationKind, PersonalWorkspace, Role, User, Workspace, WorkspaceStatus,
};
pub use permission::{Action, On, Standing};
pub use policy::{Approvers, Policy};
pub use service::{Carespace, MAX_EVENT_PAGE};
pub use speciality::{CATALOGUE, CATALOGUE_SOURCE, CATALOGUE_VERSION, Speciality, SpecialityEntry};
pub use store::{
    Access, Change, Context, ContextQuery, Invites, Members, PersonInOrganisation, Plan, ReadTx, Store, WriteTx,
};
pub use sweep::Swept;
pub use text::{ConsumerName, Description, OdsCode, OrganisationName, PersonName, TextError, WorkspaceName};
pub use views::{
    DiscoveryEntry, DiscoveryFilter, DiscoveryPage, DiscoveryRow, JoinOutcome, Joined, Left, Member, MemberKey,
    MemberList, MembersPage, NameWarning, NewWorkspace, PendingRequest, Person, SettingsChange, SwitcherEntry,
    SwitcherRows, WorkspaceOutcome,
};
