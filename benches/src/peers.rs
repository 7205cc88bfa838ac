//! The permission check beside general policy engines (casbin, Cedar), on one data set:
//! users × workspaces with a fixed number of memberships each, mixed roles and statuses.
//! Every engine answers the same probes, and [`PeerWorld::check_agreement`] proves the
//! answers equal before anything is timed.

use std::collections::{HashMap, HashSet};

use carespace::{Action, Carespace, Description, NewWorkspace, OrganisationKind, Speciality};
use carespace::{MembershipState, UserId, WorkspaceId};

use crate::Backend;

/// A small deterministic generator (SplitMix64), so every run builds the same world.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The data set: who holds which membership state where, and the probes to ask.
#[derive(Debug, Clone)]
pub struct PeerWorld {
    /// How many users.
    pub users: usize,
    /// How many workspaces.
    pub workspaces: usize,
    /// `(user, workspace, state)`; user `w` (for `w < workspaces`) created workspace `w`.
    pub memberships: Vec<(usize, usize, MembershipState)>,
    /// `(user, workspace, may view all conversations)`: half of them memberships, half
    /// random pairs.
    pub probes: Vec<(usize, usize, bool)>,
}

impl PeerWorld {
    /// `users` users, `workspaces` workspaces, `per_user` memberships each: user `w`
    /// created workspace `w` (admin); other memberships are 60% approved members, 20%
    /// unapproved, 10% archived, 10% promoted admins.
    pub fn generate(users: usize, workspaces: usize, per_user: usize, probes: usize) -> Self {
        assert!(users >= workspaces && per_user <= workspaces);
        let mut rng = SplitMix::new(0x00C0_FFEE);
        let mut memberships = Vec::new();
        let mut held: HashMap<(usize, usize), MembershipState> = HashMap::new();
        for user in 0..users {
            let mut mine = HashSet::new();
            if user < workspaces {
                mine.insert(user);
                held.insert((user, user), MembershipState::Admin);
                memberships.push((user, user, MembershipState::Admin));
            }
            while mine.len() < per_user {
                let ws = rng.below(workspaces);
                if !mine.insert(ws) {
                    continue;
                }
                let state = match rng.below(10) {
                    0..=5 => MembershipState::Member,
                    6 | 7 => MembershipState::Unapproved,
                    8 => MembershipState::Archived,
                    _ => MembershipState::Admin,
                };
                held.insert((user, ws), state);
                memberships.push((user, ws, state));
            }
        }
        let probes = (0..probes)
            .map(|i| {
                let (user, ws) = if i % 2 == 0 {
                    let (u, w, _) = memberships[rng.below(memberships.len())];
                    (u, w)
                } else {
                    (rng.below(users), rng.below(workspaces))
                };
                (user, ws, held.get(&(user, ws)).is_some_and(|s| s.is_approved()))
            })
            .collect();
        Self { users, workspaces, memberships, probes }
    }

    /// The same world in Carespace, built through the public API: registrations, one
    /// trust, each workspace created by its admin, then requests, approvals, archivals
    /// and promotions.
    pub fn build_carespace(&self, backend: Backend, dir: &std::path::Path) -> CarespaceWorld {
        let (store, place) = backend.open(dir, "peers");
        let service = Carespace::from_arc(store);
        let trust =
            service.register_organisation("Peer Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
        let users: Vec<UserId> = (0..self.users)
            .map(|i| {
                let u = service
                    .register_user(format!("user{i}@nhs.net").parse().unwrap(), format!("User {i}").parse().unwrap())
                    .unwrap();
                service.join_organisation(u.id, trust.id).unwrap();
                u.id
            })
            .collect();
        let workspaces: Vec<WorkspaceId> = (0..self.workspaces)
            .map(|w| {
                let new = NewWorkspace {
                    name: format!("Team {w:05}").parse().unwrap(),
                    speciality: Speciality::from_code(501).unwrap(),
                    description: Description::default(),
                };
                service.create_workspace(users[w], trust.id, new).unwrap().workspace.id
            })
            .collect();
        for &(user, ws, state) in &self.memberships {
            if user == ws {
                continue; // the creator
            }
            let (u, w, admin) = (users[user], workspaces[ws], users[ws]);
            service.request_to_join(u, w).unwrap();
            match state {
                MembershipState::Unapproved => {}
                MembershipState::Member => drop(service.approve(admin, w, u).unwrap()),
                MembershipState::Archived => {
                    service.approve(admin, w, u).unwrap();
                    service.archive_member(admin, w, u).unwrap();
                }
                MembershipState::Admin => {
                    service.approve(admin, w, u).unwrap();
                    service.promote(admin, w, u).unwrap();
                }
            }
        }
        CarespaceWorld { service, users, workspaces, _place: place }
    }

    /// A bare `HashMap` from (workspace, user) to membership state: the in-memory ceiling.
    pub fn build_hashmap(&self) -> HashMap<(usize, usize), MembershipState> {
        self.memberships.iter().map(|&(u, w, s)| ((w, u), s)).collect()
    }

    /// Checks that every engine gives the expected answer to every probe.
    pub fn check_agreement(&self, name: &str, mut check: impl FnMut(usize, usize) -> bool) {
        for &(user, ws, expected) in &self.probes {
            assert_eq!(check(user, ws), expected, "{name}: user {user} in workspace {ws}");
        }
    }
}

/// The data set in Carespace, with the ids by index.
pub struct CarespaceWorld {
    /// The service.
    pub service: Carespace,
    /// User `i`'s id.
    pub users: Vec<UserId>,
    /// Workspace `w`'s id.
    pub workspaces: Vec<WorkspaceId>,
    /// Where the data lives, kept as long as the service.
    _place: crate::Place,
}

impl CarespaceWorld {
    /// May user `user` view every conversation of workspace `ws`?
    pub fn check(&self, user: usize, ws: usize) -> bool {
        self.service.can(self.users[user], self.workspaces[ws], Action::ViewAllConversations).unwrap()
    }
}

/// casbin, with its canonical RBAC-with-domains model: one domain per workspace, a role
/// per membership state, and per domain a policy letting members and admins view.
#[cfg(feature = "peers")]
pub struct CasbinWorld {
    enforcer: casbin::Enforcer,
}

#[cfg(feature = "peers")]
impl CasbinWorld {
    /// The RBAC-with-domains model, as casbin documents it.
    pub const MODEL: &'static str = "\
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && r.act == p.act
";

    /// Loads the world into a casbin enforcer (in memory).
    pub fn build(world: &PeerWorld) -> Self {
        use casbin::prelude::*;
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let enforcer = runtime.block_on(async {
            let model = DefaultModel::from_str(Self::MODEL).await.unwrap();
            let mut e = Enforcer::new(model, MemoryAdapter::default()).await.unwrap();
            let policies = (0..world.workspaces)
                .flat_map(|w| {
                    ["member", "admin"]
                        .map(|role| vec![role.to_owned(), format!("ws{w}"), "conversations".into(), "view_all".into()])
                })
                .collect();
            e.add_policies(policies).await.unwrap();
            let roles = world
                .memberships
                .iter()
                .map(|&(u, w, s)| {
                    let role = match s {
                        MembershipState::Unapproved => "unapproved",
                        MembershipState::Member => "member",
                        MembershipState::Admin => "admin",
                        MembershipState::Archived => "archived",
                    };
                    vec![format!("u{u}"), role.to_owned(), format!("ws{w}")]
                })
                .collect();
            e.add_grouping_policies(roles).await.unwrap();
            e
        });
        Self { enforcer }
    }

    /// May user `user` view every conversation of workspace `ws`?
    pub fn check(&self, user: &str, ws: &str) -> bool {
        use casbin::CoreApi;
        self.enforcer.enforce((user, ws, "conversations", "view_all")).unwrap()
    }
}

/// Cedar, with the entity-hierarchy policy `principal in resource.approved`: each
/// workspace points at a group, and each approved member (or admin) has that group as
/// a parent.
#[cfg(feature = "peers")]
pub struct CedarWorld {
    authorizer: cedar_policy::Authorizer,
    policies: cedar_policy::PolicySet,
    entities: cedar_policy::Entities,
    action: cedar_policy::EntityUid,
}

#[cfg(feature = "peers")]
impl CedarWorld {
    /// The policy.
    pub const POLICY: &'static str = r#"permit (
    principal,
    action == Action::"view_all_conversations",
    resource is Workspace
) when { principal in resource.approved };"#;

    /// Loads the world into Cedar's entity store.
    pub fn build(world: &PeerWorld) -> Self {
        use cedar_policy::{Entities, Entity, PolicySet, RestrictedExpression};
        let mut parents: Vec<HashSet<cedar_policy::EntityUid>> = vec![HashSet::new(); world.users];
        for &(u, w, s) in &world.memberships {
            if s.is_approved() {
                parents[u].insert(Self::uid("Group", &format!("ws{w}-approved")));
            }
        }
        let mut entities: Vec<Entity> = parents
            .into_iter()
            .enumerate()
            .map(|(u, p)| Entity::new(Self::uid("User", &format!("u{u}")), HashMap::new(), p).unwrap())
            .collect();
        for w in 0..world.workspaces {
            let group = Self::uid("Group", &format!("ws{w}-approved"));
            entities.push(Entity::new_no_attrs(group.clone(), HashSet::new()));
            let attrs = HashMap::from([("approved".to_owned(), RestrictedExpression::new_entity_uid(group))]);
            entities.push(Entity::new(Self::uid("Workspace", &format!("ws{w}")), attrs, HashSet::new()).unwrap());
        }
        Self {
            authorizer: cedar_policy::Authorizer::new(),
            policies: Self::POLICY.parse::<PolicySet>().unwrap(),
            entities: Entities::from_entities(entities, None).unwrap(),
            action: Self::uid("Action", "view_all_conversations"),
        }
    }

    /// An entity id.
    pub fn uid(kind: &str, id: &str) -> cedar_policy::EntityUid {
        use std::str::FromStr;
        cedar_policy::EntityUid::from_type_name_and_id(
            cedar_policy::EntityTypeName::from_str(kind).unwrap(),
            cedar_policy::EntityId::new(id),
        )
    }

    /// May `user` view every conversation of `ws` (entity ids built beforehand)?
    pub fn check(&self, user: &cedar_policy::EntityUid, ws: &cedar_policy::EntityUid) -> bool {
        let request = cedar_policy::Request::new(
            user.clone(),
            self.action.clone(),
            ws.clone(),
            cedar_policy::Context::empty(),
            None,
        )
        .unwrap();
        self.authorizer.is_authorized(&request, &self.policies, &self.entities).decision()
            == cedar_policy::Decision::Allow
    }
}
