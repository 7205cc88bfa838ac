//! The hand-written baselines: the work each measured command does, written by hand
//! against the same database and settings as the store under test (bare rusqlite for
//! SQLite, the bare `postgres` client for PostgreSQL), and what the two share — the
//! event payloads they write and the replay that answers "who could see it then".

mod postgres;
mod sqlite;

use std::collections::HashMap;

use carespace::{EventKind, OrganisationId, UserId, WorkspaceId};

pub use self::postgres::PostgresBaseline;
pub use self::sqlite::SqliteBaseline;

/// What a benchmark asks of a hand-written baseline: each method does by hand what the
/// service call of the same name does (checks, rows, events, R27's My Workspace
/// archival), and returns what it read, so nothing is optimised away.
pub trait HandWritten {
    /// The permission check: may `user` see everything `workspace` sends and receives?
    fn can_view_all(&mut self, workspace: WorkspaceId, user: UserId) -> bool;
    /// The switcher: the user's current memberships with their workspaces and
    /// organisations, and their My Workspaces; how many rows.
    fn my_workspaces(&mut self, user: UserId) -> usize;
    /// Discovery: the organisation's active workspaces with member counts and admin
    /// names; how many.
    fn discover_all(&mut self, organisation: OrganisationId) -> usize;
    /// Up to 1,000 events after `after`, payloads parsed; how many.
    fn events_since(&mut self, after: i64) -> usize;
    /// Who could see `workspace` at `at` (R37), replayed from its events; how many.
    fn viewers_at(&mut self, workspace: WorkspaceId, at: i64) -> usize;
    /// A sweep with nothing due (R38, R39): the write transaction and its three probes.
    fn sweep_idle(&mut self, now: i64) -> usize;
    /// Starting a conversation.
    fn start_conversation(&mut self, workspace: WorkspaceId, user: UserId);
    /// Requesting to join, the event naming the approvers (R16).
    fn request_to_join(&mut self, organisation: OrganisationId, workspace: WorkspaceId, user: UserId);
    /// Approving a waiting request.
    fn approve(&mut self, workspace: WorkspaceId, admin: UserId, user: UserId);
    /// Creating a workspace named "Baseline {n}".
    fn create_workspace(&mut self, organisation: OrganisationId, admin: UserId, n: u64);
}

/// The times the baselines stamp their rows with: far from the fixture's, one apart.
#[derive(Debug)]
struct Ticks(i64);

impl Ticks {
    fn new() -> Self {
        Self(1_800_000_000_000_000_000)
    }

    fn next(&mut self) -> i64 {
        self.0 += 1;
        self.0
    }
}

/// The event payloads, as the service serialises them, written out by hand.
mod payload {
    use carespace::{OrganisationId, UserId, WorkspaceId};
    use uuid::Uuid;

    pub(super) fn my_workspace_archived(workspace: Uuid, organisation: OrganisationId, user: UserId) -> String {
        format!(
            r#"{{"type":"my_workspace_archived","workspace":"{workspace}","organisation":"{organisation}","user":"{user}"}}"#
        )
    }

    pub(super) fn conversation_started(conversation: Uuid, workspace: WorkspaceId, user: UserId) -> String {
        format!(
            r#"{{"type":"conversation_started","conversation":"{conversation}","workspace":"{workspace}","user":"{user}"}}"#
        )
    }

    pub(super) fn join_requested(workspace: WorkspaceId, user: UserId, approvers: &[Uuid]) -> String {
        let approvers: Vec<String> = approvers.iter().map(|a| format!("\"{a}\"")).collect();
        format!(
            r#"{{"type":"join_requested","workspace":"{workspace}","user":"{user}","approvers":[{}]}}"#,
            approvers.join(",")
        )
    }

    pub(super) fn join_approved(workspace: WorkspaceId, user: UserId) -> String {
        format!(r#"{{"type":"join_approved","workspace":"{workspace}","user":"{user}"}}"#)
    }

    pub(super) fn workspace_created(workspace: Uuid, organisation: OrganisationId, name: &str) -> String {
        format!(
            r#"{{"type":"workspace_created","workspace":"{workspace}","organisation":"{organisation}","name":"{name}","speciality":501,"from_example":false}}"#
        )
    }
}

/// The users approved in a workspace at `at`, replayed in a map from its events in log
/// order `(at, actor, payload)`: what a hand-written R37 query does after reading them.
fn approved_at(events: impl IntoIterator<Item = (i64, Option<UserId>, EventKind)>, at: i64) -> Vec<UserId> {
    use carespace::EventKind as K;
    let mut approved: HashMap<UserId, bool> = HashMap::new();
    for (when, actor, kind) in events {
        if when > at {
            break;
        }
        match kind {
            K::WorkspaceCreated { .. } => {
                if let Some(creator) = actor {
                    approved.insert(creator, true);
                }
            }
            K::JoinRequested { user, .. } => {
                approved.insert(user, false);
            }
            K::JoinApproved { user, .. } | K::MemberUnarchived { user, .. } | K::InviteAccepted { user, .. } => {
                approved.insert(user, true);
            }
            K::JoinDeclined { user, .. } | K::MemberLeft { user, .. } | K::MemberArchived { user, .. } => {
                approved.remove(&user);
            }
            _ => {}
        }
    }
    approved.into_iter().filter(|(_, yes)| *yes).map(|(user, _)| user).collect()
}
