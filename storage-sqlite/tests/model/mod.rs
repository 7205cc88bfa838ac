//! The reference model of the rules (docs/rules.md, R1–R39) for the model-based test: the smallest
//! obviously-correct implementation over plain collections. It shares no code with
//! core's rules: it knows the valid inputs by the pools' flags, not by parsing, and it
//! has its own copy of the permission table.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

/// What a step returned, normalised so the model and both backends can be compared:
/// `Ok` with a description of the value, or `Err` with the error's kind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Out {
    #[default]
    None,
    Ok(String),
    Err(String),
}

// ----- Input pools (the transitions pick indices into these) --------------------------

/// Organisation names: (text, valid).
pub(crate) const ORG_NAMES: &[(&str, bool)] =
    &[("Trust A", true), ("Trust B", true), ("Mile End Surgery", true), ("   ", false)];
/// Kinds, by the `OrganisationKind` order: trusts twice as likely.
pub(crate) const KINDS: &[usize] = &[0, 0, 1, 2];
/// ODS codes: (text, canonical form or None if invalid); index 0 is "no code".
pub(crate) const ODS: &[(&str, Option<&str>)] =
    &[("", None), ("RWK", Some("RWK")), ("rwk", Some("RWK")), ("R1H", Some("R1H")), ("R-1", None)];
/// Emails: (text, the canonical person it names, or None if invalid).
pub(crate) const EMAILS: &[(&str, Option<usize>)] = &[
    ("u0@nhs.net", Some(0)),
    ("U1@NHS.NET", Some(1)),
    ("u2@elft.nhs.uk", Some(2)),
    ("u3@nhs.net", Some(3)),
    ("u4@a.b.nhs.uk", Some(4)),
    ("u5@nhs.net", Some(5)),
    ("  U0@nhs.NET ", Some(0)),
    ("x@gmail.com", None),
    ("@nhs.net", None),
];
/// Workspace names: (text, folded display, comparison key, generic); key None = invalid.
pub(crate) const WS_NAMES: &[(&str, &str, Option<&str>, bool)] = &[
    ("Ward 1", "Ward 1", Some("ward 1"), false),
    ("WARD   1", "WARD 1", Some("ward 1"), false),
    ("Staff", "Staff", Some("staff"), true),
    ("Obstetrics", "Obstetrics", Some("obstetrics"), false),
    ("Trust A", "Trust A", Some("trust a"), false),
    ("", "", None, false),
    ("Ward\n2", "", None, false),
];
/// Speciality codes and their names; 999 is not in the catalogue.
pub(crate) const SPECIALITIES: &[(u16, Option<&str>)] =
    &[(501, Some("Obstetrics")), (100, Some("General Surgery")), (320, Some("Cardiology")), (999, None)];
/// Descriptions for settings changes.
pub(crate) const DESCRIPTIONS: &[&str] = &["", "Day unit"];

/// The canonical email of person `n`, as core stores it.
pub(crate) fn canonical_email(n: usize) -> String {
    EMAILS.iter().find(|(_, who)| *who == Some(n)).map(|(e, _)| e.trim().to_lowercase()).unwrap()
}

pub(crate) const INVITE_HOURS: i64 = 14 * 24;
pub(crate) const COOLDOWN_HOURS: i64 = 7 * 24;
pub(crate) const ESCALATE_HOURS: i64 = 3 * 24;
pub(crate) const REMINDER_HOURS: i64 = 7 * 24;

/// What the sweep has said about an end date (R39).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    Reminded,
    Kept,
}

/// The state after a step, for the point-in-time queries (R37): the time, every
/// membership state, and how many places existed.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) now: i64,
    pub(crate) states: BTreeMap<(usize, usize), St>,
    pub(crate) places: usize,
}

// ----- The model's state ---------------------------------------------------------------

#[derive(Debug, Clone)]
pub(crate) struct Org {
    pub(crate) name: usize,
    pub(crate) kind: usize,
    pub(crate) ods: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) person: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum Place {
    Shared { org: usize, display: String, key: String, speciality: u16, description: usize, active: bool },
    Personal { org: usize, owner: usize, archived: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum St {
    Unapproved,
    Member,
    Admin,
    Archived,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvSt {
    Pending,
    Accepted(usize),
    Revoked,
    Expired,
}

#[derive(Debug, Clone)]
pub(crate) struct Inv {
    pub(crate) place: usize,
    pub(crate) person: usize,
    pub(crate) by: usize,
    pub(crate) expires: i64,
    pub(crate) status: InvSt,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Model {
    pub(crate) members_approve: bool,
    pub(crate) now: i64,
    pub(crate) orgs: Vec<Org>,
    pub(crate) users: Vec<User>,
    pub(crate) in_org: BTreeSet<(usize, usize)>,
    pub(crate) places: Vec<Place>,
    pub(crate) states: BTreeMap<(usize, usize), St>,
    pub(crate) invites: Vec<Inv>,
    pub(crate) declines: BTreeMap<(usize, usize), i64>,
    pub(crate) convs: Vec<(usize, usize)>,
    /// When each membership began (hours), for escalation (R38).
    pub(crate) since: BTreeMap<(usize, usize), i64>,
    /// The requests the sweep escalated (R38).
    pub(crate) escalated: BTreeSet<(usize, usize)>,
    /// End dates (hours) and what the sweep said about them (R39).
    pub(crate) ends: BTreeMap<(usize, usize), (i64, Option<Notice>)>,
    /// The state after every step so far (R37).
    pub(crate) snapshots: Vec<Snapshot>,
    pub(crate) last: Out,
    pub(crate) events: Vec<String>,
}

/// The permission table of the rules, written out: columns are outsider, organisation
/// member, unapproved, member, admin, archived (on an active shared workspace).
const TABLE: &[(&str, &str)] = &[
    ("StartConversation", "- - Y Y Y -"),
    ("ViewOwnConversations", "- - Y Y Y -"),
    ("ViewAllConversations", "- - - Y Y -"),
    ("CreatePersonalTemplate", "- - Y Y Y -"),
    ("CreatePersonalPatientList", "- - Y Y Y -"),
    ("ViewMembers", "- - - Y Y -"),
    ("ViewSharedTemplates", "- - - Y Y -"),
    ("ViewSharedPatientLists", "- - - Y Y -"),
    ("RequestToJoin", "- Y Y Y Y -"),
    ("Leave", "- - Y Y Y -"),
    ("Invite", "- - - Y Y -"),
    ("RevokeOwnInvite", "- - - Y Y -"),
    ("RevokeAnyInvite", "- - - - Y -"),
    ("Approve", "- - - - Y -"),
    ("Decline", "- - - - Y -"),
    ("ArchiveMember", "- - - - Y -"),
    ("UnarchiveMember", "- - - - Y -"),
    ("Promote", "- - - - Y -"),
    ("Demote", "- - - - Y -"),
    ("ChangeSettings", "- - - - Y -"),
    ("SetMembershipEnd", "- - - - Y -"),
    // The command also needs the invite to be addressed to the actor (R19), and an
    // invite brings an outsider into the organisation.
    ("AcceptInvite", "Y Y Y Y Y -"),
    // Done in an organisation, never in a workspace (R7, R11, R34).
    ("CreateWorkspace", "- - - - - -"),
    ("DiscoverWorkspaces", "- - - - - -"),
];

/// Every action name, in the table's order.
pub(crate) fn actions() -> Vec<&'static str> {
    TABLE.iter().map(|(a, _)| *a).collect()
}

type R<T> = Result<T, String>;

fn forbidden(action: &str) -> String {
    format!("Forbidden({action})")
}

impl Model {
    fn emit(&mut self, event: String) {
        self.events.push(event);
    }

    fn user(&self, u: Option<usize>) -> R<usize> {
        u.filter(|&u| u < self.users.len()).ok_or_else(|| "NotFound(User)".to_owned())
    }

    fn org(&self, o: Option<usize>) -> R<usize> {
        o.filter(|&o| o < self.orgs.len()).ok_or_else(|| "NotFound(Organisation)".to_owned())
    }

    fn place(&self, p: Option<usize>) -> R<usize> {
        p.filter(|&p| p < self.places.len()).ok_or_else(|| "NotFound(Workspace)".to_owned())
    }

    fn org_of(&self, p: usize) -> usize {
        match self.places[p] {
            Place::Shared { org, .. } | Place::Personal { org, .. } => org,
        }
    }

    /// The active shared workspace of `org` whose name has this key (R6).
    fn active_named(&self, org: usize, key: &str) -> Option<usize> {
        (0..self.places.len()).find(
            |&p| matches!(&self.places[p], Place::Shared { org: o, active: true, key: k, .. } if *o == org && k == key),
        )
    }

    fn personal_of(&self, user: usize, org: usize) -> Option<usize> {
        (0..self.places.len())
            .find(|&p| matches!(self.places[p], Place::Personal { org: o, owner, .. } if o == org && owner == user))
    }

    fn user_with_person(&self, person: usize) -> Option<usize> {
        (0..self.users.len()).find(|&u| self.users[u].person == person)
    }

    fn current(&self, p: usize) -> Vec<usize> {
        self.states.iter().filter(|((q, _), s)| *q == p && **s != St::Archived).map(|((_, u), _)| *u).collect()
    }

    fn admins(&self, p: usize) -> Vec<usize> {
        self.states.iter().filter(|((q, _), s)| *q == p && **s == St::Admin).map(|((_, u), _)| *u).collect()
    }

    fn pending_invites(&self, p: usize) -> Vec<usize> {
        (0..self.invites.len())
            .filter(|&i| self.invites[i].place == p && self.invites[i].status == InvSt::Pending)
            .collect()
    }

    fn live(&self, i: usize) -> bool {
        self.invites[i].status == InvSt::Pending && self.now < self.invites[i].expires
    }

    /// The column of the permission table where `user` stands towards shared `p`.
    fn column(&self, p: usize, user: usize) -> usize {
        match self.states.get(&(p, user)) {
            Some(St::Unapproved) => 2,
            Some(St::Member) => 3,
            Some(St::Admin) => 4,
            Some(St::Archived) => 5,
            None if self.in_org.contains(&(self.org_of(p), user)) => 1,
            None => 0,
        }
    }

    /// The permission table's answer.
    pub(crate) fn allowed(&self, p: usize, user: usize, action: &str) -> bool {
        match &self.places[p] {
            Place::Personal { owner, archived, .. } => {
                *owner == user
                    && match action {
                        "ViewOwnConversations" | "ViewAllConversations" => true,
                        "StartConversation" | "CreatePersonalTemplate" | "CreatePersonalPatientList" => !archived,
                        _ => false,
                    }
            }
            Place::Shared { active, .. } => {
                let column = self.column(p, user);
                let row = TABLE.iter().find(|(a, _)| *a == action).map(|(_, r)| *r).unwrap();
                let mut yes = row.split(' ').nth(column) == Some("Y") && *active;
                if self.members_approve && column == 3 && matches!(action, "Approve" | "Decline") && *active {
                    yes = true;
                }
                yes
            }
        }
    }

    fn authorise(&self, p: usize, user: usize, action: &str) -> R<()> {
        if self.allowed(p, user, action) { Ok(()) } else { Err(forbidden(action)) }
    }

    /// A shared workspace for a shared-only action: errors in the service's order.
    fn shared_for(&self, p: Option<usize>, actor: Option<usize>, action: &str) -> R<(usize, usize)> {
        let p = self.place(p)?;
        let actor = self.user(actor)?;
        self.authorise(p, actor, action)?;
        Ok((p, actor))
    }

    fn approvers(&self, p: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .states
            .iter()
            .filter(|((q, _), s)| *q == p && (**s == St::Admin || (self.members_approve && **s == St::Member)))
            .map(|((_, u), _)| *u)
            .collect();
        out.sort();
        out
    }

    fn set_state(&mut self, p: usize, u: usize, s: St) {
        if self.states.insert((p, u), s).is_none() {
            self.since.insert((p, u), self.now);
        }
        if s == St::Archived {
            self.ends.remove(&(p, u));
        }
    }

    /// A membership ends without a trace (leave, decline).
    fn remove_member(&mut self, p: usize, u: usize) {
        self.states.remove(&(p, u));
        self.since.remove(&(p, u));
        self.escalated.remove(&(p, u));
        self.ends.remove(&(p, u));
    }

    /// Records the state after a step (R37).
    pub(crate) fn snapshot(&mut self) {
        let snapshot = Snapshot { now: self.now, states: self.states.clone(), places: self.places.len() };
        self.snapshots.push(snapshot);
    }

    /// The approved members of `p` in a snapshot, as (user, "Member"/"Admin").
    pub(crate) fn approved_in(snapshot: &Snapshot, p: usize) -> Vec<(usize, &'static str)> {
        snapshot
            .states
            .iter()
            .filter(|((q, _), _)| *q == p)
            .filter_map(|((_, u), s)| match s {
                St::Member => Some((*u, "Member")),
                St::Admin => Some((*u, "Admin")),
                _ => None,
            })
            .collect()
    }

    /// Joining an organisation: membership and a My Workspace (R4, R26).
    fn enter_org(&mut self, org: usize, user: usize) -> usize {
        self.in_org.insert((org, user));
        self.places.push(Place::Personal { org, owner: user, archived: false });
        let p = self.places.len() - 1;
        self.emit(format!("organisation_joined o{org} u{user} p{p}"));
        p
    }

    /// What becoming a shared member brings (R19, R27).
    fn enter_shared(&mut self, org: usize, user: usize) {
        if !self.in_org.contains(&(org, user)) {
            self.enter_org(org, user);
        }
        if let Some(p) = self.personal_of(user, org)
            && let Place::Personal { archived, .. } = &mut self.places[p]
            && !*archived
        {
            *archived = true;
            self.emit(format!("my_workspace_archived p{p} o{org} u{user}"));
        }
    }

    /// R27, R41: a My Workspace is archived while its owner holds a current shared
    /// membership in its organisation, and active again once they hold none.
    fn settle(&mut self, org: usize, user: usize) {
        let holds = self.states.iter().any(|((q, u), s)| *u == user && *s != St::Archived && self.org_of(*q) == org);
        let Some(p) = self.personal_of(user, org) else { return };
        if let Place::Personal { archived, .. } = &mut self.places[p]
            && *archived != holds
        {
            *archived = holds;
            let what = if holds { "archived" } else { "reactivated" };
            self.emit(format!("my_workspace_{what} p{p} o{org} u{user}"));
        }
    }

    fn revoke(&mut self, which: Vec<usize>) {
        for i in which {
            self.invites[i].status = InvSt::Revoked;
            let inv = &self.invites[i];
            self.events.push(format!("invite_revoked i{i} p{} e{}", inv.place, inv.person));
        }
    }

    fn warnings(&self, org: usize, name: usize) -> String {
        let (_, _, key, generic) = WS_NAMES[name];
        let org_key = ORG_NAMES[self.orgs[org].name].0.to_lowercase();
        if key == Some(org_key.as_str()) {
            "[organisation_name]".into()
        } else if generic {
            "[too_generic]".into()
        } else {
            "[]".into()
        }
    }

    // ----- Commands -------------------------------------------------------------------

    pub(crate) fn register_organisation(&mut self, name: usize, kind: usize, ods: usize) -> R<String> {
        if !ORG_NAMES[name].1 {
            return Err("InvalidText".into());
        }
        let code = match ODS[ods] {
            ("", _) => None,
            (_, None) => return Err("InvalidText".into()),
            (_, Some(code)) => Some(code),
        };
        if code.is_some() && self.orgs.iter().any(|o| o.ods == code) {
            return Err("OdsCodeTaken".into());
        }
        self.orgs.push(Org { name, kind: KINDS[kind], ods: code });
        let o = self.orgs.len() - 1;
        self.emit(format!("organisation_registered o{o}"));
        Ok(format!("o{o}"))
    }

    pub(crate) fn register_user(&mut self, email: usize) -> R<String> {
        let person = EMAILS[email].1.ok_or("InvalidEmail")?;
        if self.user_with_person(person).is_some() {
            return Err("EmailTaken".into());
        }
        self.users.push(User { person });
        let u = self.users.len() - 1;
        self.emit(format!("user_registered u{u} e{person}"));
        Ok(format!("u{u}"))
    }

    pub(crate) fn join_organisation(&mut self, actor: Option<usize>, org: Option<usize>) -> R<String> {
        let org = self.org(org)?;
        let actor = self.user(actor)?;
        if self.in_org.contains(&(org, actor)) {
            return Ok(format!("p{}", self.personal_of(actor, org).unwrap()));
        }
        Ok(format!("p{}", self.enter_org(org, actor)))
    }

    fn create(&mut self, actor: usize, org: usize, display: &str, speciality: u16, example: bool) -> R<usize> {
        // R7, R34: not in the organisation, or its kind may not create.
        if !self.in_org.contains(&(org, actor)) || self.orgs[org].kind != 0 {
            return Err(forbidden("CreateWorkspace"));
        }
        let key = display.to_lowercase();
        if self.active_named(org, &key).is_some() {
            return Err("WorkspaceNameTaken".into());
        }
        let display = display.to_owned();
        self.places.push(Place::Shared { org, display, key, speciality, description: 0, active: true });
        let p = self.places.len() - 1;
        self.set_state(p, actor, St::Admin);
        self.emit(format!("workspace_created p{p} o{org} s{speciality} example={example}"));
        self.enter_shared(org, actor);
        Ok(p)
    }

    pub(crate) fn create_workspace(
        &mut self,
        actor: Option<usize>,
        org: Option<usize>,
        name: usize,
        speciality: usize,
    ) -> R<String> {
        if WS_NAMES[name].2.is_none() {
            return Err("InvalidText".into());
        }
        let (code, known) = SPECIALITIES[speciality];
        if known.is_none() {
            return Err("UnknownSpeciality".into());
        }
        let org = self.org(org)?;
        let actor = self.user(actor)?;
        let p = self.create(actor, org, WS_NAMES[name].1, code, false)?;
        Ok(format!("p{p} {}", self.warnings(org, name)))
    }

    pub(crate) fn join_example(&mut self, actor: Option<usize>, org: Option<usize>, speciality: usize) -> R<String> {
        let (code, Some(sname)) = SPECIALITIES[speciality] else { return Err("UnknownSpeciality".into()) };
        let org = self.org(org)?;
        let actor = self.user(actor)?;
        if let Some(p) = self.active_named(org, &sname.to_lowercase()) {
            return self.request_in(p, actor);
        }
        let p = self.create(actor, org, sname, code, true)?;
        Ok(format!("Created p{p} Admin"))
    }

    pub(crate) fn request_to_join(&mut self, actor: Option<usize>, p: Option<usize>) -> R<String> {
        let (p, actor) = self.shared_for(p, actor, "RequestToJoin")?;
        self.request_in(p, actor)
    }

    fn request_in(&mut self, p: usize, actor: usize) -> R<String> {
        self.authorise(p, actor, "RequestToJoin")?;
        if let Some(s) = self.states.get(&(p, actor)) {
            return Ok(format!("AlreadyMember p{p} {s:?}"));
        }
        let person = self.users[actor].person;
        if let Some(i) = self.pending_invites(p).into_iter().find(|&i| self.invites[i].person == person && self.live(i))
        {
            self.accept_in(i, actor)?;
            return Ok(format!("AcceptedInvite p{p} Member"));
        }
        if let Some(at) = self.declines.get(&(p, actor))
            && self.now < at + COOLDOWN_HOURS
        {
            return Err("CoolDown".into());
        }
        self.set_state(p, actor, St::Unapproved);
        let approvers: Vec<String> = self.approvers(p).iter().map(|u| format!("u{u}")).collect();
        self.emit(format!("join_requested p{p} u{actor} approvers=[{}]", approvers.join(",")));
        let org = self.org_of(p);
        self.enter_shared(org, actor);
        Ok(format!("Requested p{p} Unapproved"))
    }

    fn accept_in(&mut self, i: usize, actor: usize) -> R<()> {
        let p = self.invites[i].place;
        let state = self.states.get(&(p, actor)).copied();
        if state == Some(St::Archived) {
            return Err(forbidden("AcceptInvite"));
        }
        if !matches!(state, Some(St::Member | St::Admin)) {
            self.set_state(p, actor, St::Member);
        }
        self.invites[i].status = InvSt::Accepted(actor);
        self.emit(format!("invite_accepted i{i} p{p} u{actor}"));
        let org = self.org_of(p);
        self.enter_shared(org, actor);
        Ok(())
    }

    pub(crate) fn member_op(
        &mut self,
        op: &str,
        actor: Option<usize>,
        p: Option<usize>,
        target: Option<usize>,
    ) -> R<String> {
        let (p, actor) = self.shared_for(p, actor, op)?;
        let target = self.user(target)?;
        let state = self.states.get(&(p, target)).copied();
        match op {
            "Approve" => match state {
                Some(St::Unapproved) => {
                    self.set_state(p, target, St::Member);
                    self.emit(format!("join_approved p{p} u{target}"));
                    Ok("Member".into())
                }
                Some(s @ (St::Member | St::Admin)) => Ok(format!("{s:?}")),
                _ => Err("NoPendingRequest".into()),
            },
            "Decline" => match state {
                Some(St::Unapproved) => {
                    self.remove_member(p, target);
                    self.declines.insert((p, target), self.now);
                    self.emit(format!("join_declined p{p} u{target}"));
                    self.settle(self.org_of(p), target);
                    Ok("declined".into())
                }
                _ => Err("NoPendingRequest".into()),
            },
            "ArchiveMember" => {
                if target == actor {
                    return Err("SelfTarget".into());
                }
                match state {
                    None => Err("NotAMember".into()),
                    Some(St::Admin) => Err("AdminMustBeDemoted".into()),
                    Some(St::Archived) => Ok("Archived".into()),
                    Some(_) => {
                        self.set_state(p, target, St::Archived);
                        self.emit(format!("member_archived p{p} u{target} ByAdmin"));
                        let theirs =
                            self.pending_invites(p).into_iter().filter(|&i| self.invites[i].by == target).collect();
                        self.revoke(theirs);
                        self.settle(self.org_of(p), target);
                        Ok("Archived".into())
                    }
                }
            }
            "UnarchiveMember" => match state {
                Some(St::Archived) => {
                    self.set_state(p, target, St::Member);
                    self.emit(format!("member_unarchived p{p} u{target}"));
                    self.settle(self.org_of(p), target);
                    Ok("Member".into())
                }
                Some(s @ (St::Member | St::Admin)) => Ok(format!("{s:?}")),
                _ => Err("NotAMember".into()),
            },
            "Promote" => match state {
                Some(St::Member) => {
                    self.set_state(p, target, St::Admin);
                    self.emit(format!("role_changed p{p} u{target} Admin"));
                    Ok("Admin".into())
                }
                Some(St::Admin) => Ok("Admin".into()),
                _ => Err("NotAMember".into()),
            },
            "Demote" => match state {
                Some(St::Admin) if self.admins(p).len() <= 1 => Err("LastAdmin".into()),
                Some(St::Admin) => {
                    self.set_state(p, target, St::Member);
                    self.emit(format!("role_changed p{p} u{target} Member"));
                    Ok("Member".into())
                }
                Some(St::Member) => Ok("Member".into()),
                _ => Err("NotAMember".into()),
            },
            other => unreachable!("{other}"),
        }
    }

    pub(crate) fn leave(&mut self, actor: Option<usize>, p: Option<usize>) -> R<String> {
        let (p, me) = self.shared_for(p, actor, "Leave")?;
        let others = self.current(p).into_iter().filter(|&u| u != me).count();
        let other_admins = self.admins(p).into_iter().filter(|&u| u != me).count();
        if self.states.get(&(p, me)) == Some(&St::Admin) && other_admins == 0 && others > 0 {
            return Err("LastAdmin".into());
        }
        self.remove_member(p, me);
        self.emit(format!("member_left p{p} u{me}"));
        let archive = others == 0;
        let which = self.pending_invites(p).into_iter().filter(|&i| archive || self.invites[i].by == me).collect();
        self.revoke(which);
        if archive {
            if let Place::Shared { active, .. } = &mut self.places[p] {
                *active = false;
            }
            self.emit(format!("workspace_archived p{p}"));
        }
        self.settle(self.org_of(p), me);
        Ok(format!("archived={archive}"))
    }

    pub(crate) fn invite(&mut self, actor: Option<usize>, p: Option<usize>, email: usize) -> R<String> {
        let person = EMAILS[email].1.ok_or("InvalidEmail")?;
        let (p, actor) = self.shared_for(p, actor, "Invite")?;
        if let Some(u) = self.user_with_person(person) {
            match self.states.get(&(p, u)) {
                Some(St::Archived) => return Err("ArchivedMember".into()),
                Some(_) => return Err("AlreadyMember".into()),
                None => {}
            }
        }
        let expires = self.now + INVITE_HOURS;
        let existing = self.pending_invites(p).into_iter().find(|&i| self.invites[i].person == person);
        if let Some(i) = existing.filter(|&i| self.live(i)) {
            self.invites[i].expires = expires;
            self.invites[i].by = actor;
            self.emit(format!("invited i{i} p{p} e{person} refreshed=true"));
            return Ok(format!("i{i}"));
        }
        if let Some(i) = existing {
            self.invites[i].status = InvSt::Expired;
            self.emit(format!("invite_expired i{i} p{p} e{person}"));
        }
        self.invites.push(Inv { place: p, person, by: actor, expires, status: InvSt::Pending });
        let i = self.invites.len() - 1;
        self.emit(format!("invited i{i} p{p} e{person} refreshed=false"));
        Ok(format!("i{i}"))
    }

    pub(crate) fn accept(&mut self, actor: Option<usize>, i: Option<usize>) -> R<String> {
        let i = i.filter(|&i| i < self.invites.len()).ok_or("NotFound(Invite)")?;
        let actor = self.user(actor)?;
        let inv = self.invites[i].clone();
        if inv.person != self.users[actor].person {
            return Err(forbidden("AcceptInvite"));
        }
        let p = inv.place;
        match inv.status {
            InvSt::Accepted(by) => {
                let current = matches!(self.states.get(&(p, actor)), Some(s) if *s != St::Archived);
                return if by == actor && current {
                    Ok(format!("AlreadyMember p{p} {:?}", self.states[&(p, actor)]))
                } else {
                    Err("InviteAlreadyAccepted".into())
                };
            }
            InvSt::Revoked => return Err("InviteRevoked".into()),
            InvSt::Expired => return Err("InviteExpired".into()),
            InvSt::Pending if self.now >= inv.expires => return Err("InviteExpired".into()),
            InvSt::Pending => {}
        }
        if matches!(self.places[p], Place::Shared { active: false, .. }) {
            return Err(forbidden("AcceptInvite"));
        }
        self.accept_in(i, actor)?;
        Ok(format!("AcceptedInvite p{p} {:?}", self.states[&(p, actor)]))
    }

    pub(crate) fn revoke_invite(&mut self, actor: Option<usize>, i: Option<usize>) -> R<String> {
        let i = i.filter(|&i| i < self.invites.len()).ok_or("NotFound(Invite)")?;
        let actor = self.user(actor)?;
        let inv = self.invites[i].clone();
        let action = if inv.by == actor { "RevokeOwnInvite" } else { "RevokeAnyInvite" };
        self.authorise(inv.place, actor, action)?;
        match inv.status {
            InvSt::Revoked => Ok("Revoked".into()),
            InvSt::Accepted(_) => Err("InviteAlreadyAccepted".into()),
            InvSt::Expired => Err("InviteExpired".into()),
            InvSt::Pending if self.now >= inv.expires => Err("InviteExpired".into()),
            InvSt::Pending => {
                self.revoke(vec![i]);
                Ok("Revoked".into())
            }
        }
    }

    /// R39: an admin sets (`Some(hours from now)`) or clears (`None`) an end date.
    pub(crate) fn set_end(
        &mut self,
        actor: Option<usize>,
        p: Option<usize>,
        target: Option<usize>,
        hours: Option<i64>,
    ) -> R<String> {
        let (p, _) = self.shared_for(p, actor, "SetMembershipEnd")?;
        let target = self.user(target)?;
        let state = match self.states.get(&(p, target)) {
            Some(s) if *s != St::Archived => *s,
            _ => return Err("NotAMember".into()),
        };
        let end = hours.map(|h| self.now + h);
        if end.is_some_and(|e| e <= self.now) {
            return Err("EndDateNotInFuture".into());
        }
        let previous = self.ends.get(&(p, target)).map(|(e, _)| *e);
        if previous != end {
            match end {
                Some(e) => drop(self.ends.insert((p, target), (e, None))),
                None => drop(self.ends.remove(&(p, target))),
            }
            self.emit(format!("membership_end_changed p{p} u{target} ends={end:?} previous={previous:?}"));
        }
        Ok(format!("{state:?} ends={end:?}"))
    }

    /// R38, R39: the sweep at the model's now.
    pub(crate) fn sweep(&mut self) -> R<String> {
        let now = self.now;
        let (mut expired, mut escalated, mut reminded, mut ended, mut kept) = (0, 0, 0, 0, 0);
        for i in 0..self.invites.len() {
            if self.invites[i].status == InvSt::Pending && self.invites[i].expires <= now {
                self.invites[i].status = InvSt::Expired;
                let inv = &self.invites[i];
                self.events.push(format!("invite_expired i{i} p{} e{}", inv.place, inv.person));
                expired += 1;
            }
        }
        let waiting: Vec<(usize, usize)> = self
            .states
            .iter()
            .filter(|(k, s)| {
                **s == St::Unapproved && !self.escalated.contains(k) && self.since[k] + ESCALATE_HOURS <= now
            })
            .map(|(k, _)| *k)
            .collect();
        for (p, u) in waiting {
            let approvers: Vec<String> = self.approvers(p).iter().map(|a| format!("u{a}")).collect();
            let to: Vec<String> = self
                .states
                .iter()
                .filter(|((q, _), s)| *q == p && matches!(s, St::Member | St::Admin))
                .map(|((_, a), _)| format!("u{a}"))
                .collect();
            let requested = self.since[&(p, u)];
            self.emit(format!(
                "join_request_escalated p{p} u{u} requested={requested} approvers=[{}] to=[{}]",
                approvers.join(","),
                to.join(",")
            ));
            self.escalated.insert((p, u));
            escalated += 1;
        }
        // Ends first (the store reads them soonest first, and an ended end date is
        // sooner than any still to come), then reminders.
        let due: Vec<((usize, usize), i64, Option<Notice>)> =
            self.ends.iter().filter(|(_, (e, _))| *e <= now).map(|(k, (e, n))| (*k, *e, *n)).collect();
        for ((p, u), e, notice) in due {
            let admins = self.admins(p);
            let must_keep = self.states.get(&(p, u)) == Some(&St::Admin)
                && admins.iter().all(|a| self.ends.get(&(p, *a)).is_some_and(|(ae, _)| *ae <= now && *ae <= e));
            if must_keep {
                if notice != Some(Notice::Kept) {
                    self.ends.insert((p, u), (e, Some(Notice::Kept)));
                    self.emit(format!("last_admin_kept p{p} u{u} ends={e}"));
                    kept += 1;
                }
                continue;
            }
            if self.states.get(&(p, u)) == Some(&St::Admin) {
                self.emit(format!("role_changed p{p} u{u} Member"));
            }
            self.set_state(p, u, St::Archived);
            self.emit(format!("member_archived p{p} u{u} MembershipEnded"));
            let theirs = self.pending_invites(p).into_iter().filter(|&i| self.invites[i].by == u).collect();
            self.revoke(theirs);
            self.settle(self.org_of(p), u);
            ended += 1;
        }
        let soon: Vec<((usize, usize), i64)> = self
            .ends
            .iter()
            .filter(|(_, (e, n))| *e > now && *e <= now + REMINDER_HOURS && n.is_none())
            .map(|(k, (e, _))| (*k, *e))
            .collect();
        for ((p, u), e) in soon {
            let admins: Vec<String> = self.admins(p).iter().map(|a| format!("u{a}")).collect();
            self.ends.insert((p, u), (e, Some(Notice::Reminded)));
            self.emit(format!("membership_ending_soon p{p} u{u} ends={e} admins=[{}]", admins.join(",")));
            reminded += 1;
        }
        Ok(format!("expired={expired} escalated={escalated} reminded={reminded} ended={ended} kept={kept}"))
    }

    pub(crate) fn update_settings(
        &mut self,
        actor: Option<usize>,
        p: Option<usize>,
        name: Option<usize>,
        speciality: Option<usize>,
        description: Option<usize>,
    ) -> R<String> {
        if name.is_some_and(|n| WS_NAMES[n].2.is_none()) {
            return Err("InvalidText".into());
        }
        if speciality.is_some_and(|s| SPECIALITIES[s].1.is_none()) {
            return Err("UnknownSpeciality".into());
        }
        let (p, _) = self.shared_for(p, actor, "ChangeSettings")?;
        let Place::Shared { org, display: old_display, speciality: old_spec, description: old_desc, .. } =
            self.places[p].clone()
        else {
            unreachable!()
        };
        let new_name = name.filter(|&n| WS_NAMES[n].1 != old_display);
        let new_spec = speciality.map(|s| SPECIALITIES[s].0).filter(|&c| c != old_spec);
        let new_desc = description.filter(|&d| DESCRIPTIONS[d] != DESCRIPTIONS[old_desc]);
        if let Some(n) = new_name {
            let key = WS_NAMES[n].2.unwrap();
            if self.active_named(org, key).is_some_and(|q| q != p) {
                return Err("WorkspaceNameTaken".into());
            }
        }
        if let Place::Shared { display, key, speciality: sp, description: de, .. } = &mut self.places[p] {
            if let Some(n) = new_name {
                *display = WS_NAMES[n].1.to_owned();
                *key = WS_NAMES[n].2.unwrap().to_owned();
            }
            if let Some(c) = new_spec {
                *sp = c;
            }
            if let Some(d) = new_desc {
                *de = d;
            }
        }
        if new_name.is_some() || new_spec.is_some() || new_desc.is_some() {
            let n = new_name.map(|n| WS_NAMES[n].1.to_owned());
            let d = new_desc.map(|d| DESCRIPTIONS[d].to_owned());
            self.emit(format!("settings_changed p{p} {n:?} {new_spec:?} {d:?}"));
        }
        let warnings = new_name.map(|n| self.warnings(org, n)).unwrap_or_else(|| "[]".into());
        Ok(format!("p{p} {warnings}"))
    }

    pub(crate) fn start(&mut self, actor: Option<usize>, p: Option<usize>) -> R<String> {
        let p = self.place(p)?;
        let actor = self.user(actor)?;
        self.authorise(p, actor, "StartConversation")?;
        self.convs.push((p, actor));
        let c = self.convs.len() - 1;
        self.emit(format!("conversation_started c{c} p{p} u{actor}"));
        Ok(format!("c{c}"))
    }

    pub(crate) fn can(&self, actor: Option<usize>, p: Option<usize>, action: &str) -> R<String> {
        let p = self.place(p)?;
        let actor = self.user(actor)?;
        Ok(self.allowed(p, actor, action).to_string())
    }

    pub(crate) fn signature(&self, p: Option<usize>) -> R<String> {
        let p = self.place(p)?;
        match &self.places[p] {
            Place::Shared { org, .. } => Ok(format!("{}\n{}", self.display_name(p), ORG_NAMES[self.orgs[*org].name].0)),
            Place::Personal { .. } => Err("NotFound(Workspace)".into()),
        }
    }

    pub(crate) fn display_name(&self, p: usize) -> String {
        match &self.places[p] {
            Place::Shared { display, .. } => display.clone(),
            Place::Personal { .. } => "My Workspace".into(),
        }
    }

    // ----- Queries for the observable state ---------------------------------------------

    pub(crate) fn switcher(&self, u: usize) -> Vec<String> {
        let mut out = Vec::new();
        for (p, place) in self.places.iter().enumerate() {
            match place {
                Place::Personal { owner, archived, .. } if *owner == u => {
                    out.push(format!("p{p} personal archived={archived}"))
                }
                Place::Shared { .. } => {
                    if let Some(s) = self.states.get(&(p, u)).filter(|s| **s != St::Archived) {
                        out.push(format!("p{p} {s:?}"));
                    }
                }
                Place::Personal { .. } => {}
            }
        }
        out.sort();
        out
    }

    pub(crate) fn pending_requests(&self, u: usize) -> Vec<String> {
        let mut out = Vec::new();
        for p in 0..self.places.len() {
            if matches!(self.states.get(&(p, u)), Some(St::Member | St::Admin)) && self.allowed(p, u, "Approve") {
                for (q, r) in self.states.keys() {
                    if *q == p && self.states[&(*q, *r)] == St::Unapproved {
                        out.push(format!("p{p} u{r}"));
                    }
                }
            }
        }
        out.sort();
        out
    }

    pub(crate) fn invites_for(&self, u: usize) -> Vec<String> {
        let person = self.users[u].person;
        let mut out: Vec<String> = (0..self.invites.len())
            .filter(|&i| self.invites[i].person == person && self.live(i))
            .map(|i| format!("i{i}"))
            .collect();
        out.sort();
        out
    }

    pub(crate) fn discover(&self, u: usize, org: usize) -> R<Vec<String>> {
        if !self.in_org.contains(&(org, u)) {
            return Err(forbidden("DiscoverWorkspaces"));
        }
        let mut out = Vec::new();
        let mut taken = BTreeSet::new();
        for p in 0..self.places.len() {
            if let Place::Shared { org: o, active: true, key, .. } = &self.places[p] {
                if *o != org {
                    continue;
                }
                taken.insert(key.clone());
                let mut admins: Vec<String> = self.admins(p).iter().map(|a| format!("u{a}")).collect();
                admins.sort();
                out.push(format!(
                    "p{p} {} members={} admins=[{}]",
                    self.display_name(p),
                    self.current(p).len(),
                    admins.join(",")
                ));
            }
        }
        out.sort();
        let known = ["obstetrics", "general surgery", "cardiology"];
        // Examples only where the kind may create (trusts, under the default policy).
        let examples = if self.orgs[org].kind != 0 {
            0
        } else {
            carespace::CATALOGUE.len() - known.iter().filter(|k| taken.contains(**k)).count()
        };
        out.push(format!("examples={examples}"));
        Ok(out)
    }

    pub(crate) fn members(&self, u: usize, p: usize) -> R<Vec<String>> {
        if matches!(self.places[p], Place::Personal { .. }) || !self.allowed(p, u, "ViewMembers") {
            return Err(forbidden("ViewMembers"));
        }
        let mut out: Vec<String> = self
            .states
            .iter()
            .filter(|((q, _), _)| *q == p)
            .map(|((_, m), s)| format!("u{m} {s:?} ends={:?}", self.ends.get(&(p, *m)).map(|(e, _)| *e)))
            .collect();
        out.sort();
        Ok(out)
    }

    pub(crate) fn conversations(&self, u: usize, p: usize) -> R<Vec<String>> {
        let all = self.allowed(p, u, "ViewAllConversations");
        if !all && !self.allowed(p, u, "ViewOwnConversations") {
            return Err(forbidden("ViewOwnConversations"));
        }
        let mut out: Vec<String> = (0..self.convs.len())
            .filter(|&c| self.convs[c].0 == p && (all || self.convs[c].1 == u))
            .map(|c| format!("c{c}"))
            .collect();
        out.sort();
        Ok(out)
    }
}
