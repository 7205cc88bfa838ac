//! [`Carespace`]: the service facade. Each command loads what its rule needs, asks the
//! rule, and writes the plan and its events in one transaction (the imperative shell).

use std::collections::HashMap;
use std::sync::Arc;

use crate::directory::{self, ImportOptions, ImportReport, OdsFile, OrganisationSearch, read_ods};
use crate::page::{Listing, Page, PageRequest};

use crate::permission::{Action, On, Standing};
use crate::rules::{self, Actor, Change, Ctx, Plan, Shared};
use crate::store::{
    Context, ContextQuery, Invites, Members, PersonInOrganisation, ReadTx, Store, WriteTx, discovery_key,
};
use crate::views::{
    DiscoveryEntry, DiscoveryFilter, DiscoveryPage, DiscoveryRow, JoinOutcome, Joined, Left, Member, MembersPage,
    NameWarning, NewWorkspace, PendingRequest, Person, SettingsChange, SwitcherEntry, WorkspaceOutcome,
};
use crate::{
    Clock, Conversation, Description, Entity, Error, Event, Invite, InviteId, Membership, NhsEmail, OdsCode,
    Organisation, OrganisationId, OrganisationKind, OrganisationName, PersonName, PersonalWorkspace, Policy,
    Speciality, SystemClock, User, UserId, Workspace, WorkspaceId, WorkspaceName,
};

/// The Carespace service: every command and query of the rules over one [`Store`].
///
/// It is `Send + Sync` and cheap to share behind an `Arc`. Every command names the acting
/// user, runs as one atomic transaction, and either changes state and appends its events
/// (R32) or returns a typed [`Error`] and changes nothing (R35).
///
/// ```
/// use carespace::{Carespace, MemoryStore, NewWorkspace, OrganisationKind, Speciality};
///
/// let service = Carespace::new(MemoryStore::new());
/// let trust = service.register_organisation("East London NHS Foundation Trust".parse()?, OrganisationKind::NhsTrust, None)?;
/// let alice = service.register_user("alice.smith@nhs.net".parse()?, "Alice Smith".parse()?)?;
/// service.join_organisation(alice.id, trust.id)?;
/// let created = service.create_workspace(alice.id, trust.id, NewWorkspace {
///     name: "Maternity - Ward 2".parse()?,
///     speciality: Speciality::from_code(501)?,
///     description: "Midwives and obstetricians on Ward 2".parse()?,
/// })?;
/// assert!(created.warnings.is_empty());
/// assert_eq!(service.signature(created.workspace.id)?, "Maternity - Ward 2\nEast London NHS Foundation Trust");
/// # Ok::<(), carespace::Error>(())
/// ```
#[derive(Clone)]
pub struct Carespace {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: Policy,
}

impl std::fmt::Debug for Carespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Carespace").field("clock", &self.clock).field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// The most events [`Carespace::events_since`] returns at once.
pub const MAX_EVENT_PAGE: usize = 10_000;

impl Carespace {
    /// A service over `store`, with the system clock and the default [`Policy`].
    pub fn new(store: impl Store + 'static) -> Self {
        Self::from_arc(Arc::new(store))
    }

    /// A service over a shared store (bindings pick the backend at run time).
    pub fn from_arc(store: Arc<dyn Store>) -> Self {
        Self { store, clock: Arc::new(SystemClock), policy: Policy::default() }
    }

    /// The same service with another clock (R36).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The same service with another policy.
    #[must_use]
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The store, for what only it can do (waiting for the log, R42).
    pub(crate) fn store(&self) -> &dyn Store {
        &*self.store
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx { now: crate::clock::utc(self.clock.now()), policy: &self.policy }
    }

    /// Runs `f` in one write transaction and returns its output.
    pub(crate) fn write<T>(&self, f: impl FnMut(&mut dyn WriteTx, Ctx<'_>) -> Result<T, Error>) -> Result<T, Error> {
        self.write_at(self.clock.now(), f)
    }

    /// Runs `f` in one write transaction at `now` rather than the clock's time (the sweep).
    pub(crate) fn write_at<T>(
        &self,
        now: time::OffsetDateTime,
        mut f: impl FnMut(&mut dyn WriteTx, Ctx<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let ctx = Ctx { now: crate::clock::supported(now)?, policy: &self.policy };
        let mut out = None;
        self.store
            .write(&mut |tx| {
                out = Some(f(tx, ctx)?);
                Ok(())
            })
            .inspect_err(traced)?;
        out.ok_or_else(missing_output)
    }

    /// Runs `f` in one read transaction and returns its output.
    pub(crate) fn read<T>(&self, mut f: impl FnMut(&dyn ReadTx, Ctx<'_>) -> Result<T, Error>) -> Result<T, Error> {
        let ctx = self.ctx();
        let mut out = None;
        self.store
            .read(&mut |tx| {
                out = Some(f(tx, ctx)?);
                Ok(())
            })
            .inspect_err(traced)?;
        out.ok_or_else(missing_output)
    }

    // ----- Organisations and users -----------------------------------------------------

    /// Registers an organisation (R1). Done by the host application, so its event has no
    /// actor. Fails if the ODS code is taken.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(kind = ?kind))]
    pub fn register_organisation(
        &self,
        name: OrganisationName,
        kind: OrganisationKind,
        ods_code: Option<OdsCode>,
    ) -> Result<Organisation, Error> {
        self.write(|tx, ctx| {
            if let Some(code) = &ods_code
                && tx.reader().organisation_by_ods(code)?.is_some()
            {
                return Err(Error::OdsCodeTaken { code: code.to_string() });
            }
            let organisation =
                Organisation::new(OrganisationId::new_v7(ctx.now), name.clone(), kind, ods_code.clone(), ctx.now);
            let mut plan = Plan::default();
            plan.changes.push(Change::Organisation(organisation.clone()));
            plan.events.push(crate::EventKind::OrganisationRegistered { organisation: organisation.id });
            apply(tx, ctx, None, plan)?;
            Ok(organisation)
        })
    }

    /// Registers a user (R2, R3). Fails if the email is taken.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all)]
    pub fn register_user(&self, email: NhsEmail, name: PersonName) -> Result<User, Error> {
        self.write(|tx, ctx| {
            if tx.reader().user_by_email(&email)?.is_some() {
                return Err(Error::EmailTaken { email: email.clone() });
            }
            let user =
                User { id: UserId::new_v7(ctx.now), email: email.clone(), name: name.clone(), registered_at: ctx.now };
            let mut plan = Plan::default();
            plan.changes.push(Change::User(user.clone()));
            plan.events.push(crate::EventKind::UserRegistered { user: user.id, email: email.clone() });
            apply(tx, ctx, Some(user.id), plan)?;
            Ok(user)
        })
    }

    /// Joins an organisation (R4), which gives the user a My Workspace there (R26).
    /// Joining twice is a no-op; either way the user's My Workspace there is returned.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, organisation = %organisation))]
    pub fn join_organisation(&self, actor: UserId, organisation: OrganisationId) -> Result<PersonalWorkspace, Error> {
        self.write(|tx, ctx| {
            let r = tx.reader();
            let org = load_organisation(r, organisation)?;
            let actor = load_actor(r, actor, org.id)?;
            match rules::join_organisation(ctx, &actor, &org)? {
                Some((plan, personal)) => {
                    apply(tx, ctx, Some(actor.user.id), plan)?;
                    Ok(personal)
                }
                None => actor.personal.clone().ok_or_else(|| not_found(Entity::Workspace, "My Workspace")),
            }
        })
    }

    /// An organisation by id.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(organisation = %id))]
    pub fn organisation(&self, id: OrganisationId) -> Result<Organisation, Error> {
        self.read(|r, _| load_organisation(r, id))
    }

    /// An organisation by ODS code, if registered.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all)]
    pub fn organisation_by_ods(&self, code: &OdsCode) -> Result<Option<Organisation>, Error> {
        self.read(|r, _| Ok(r.organisation_by_ods(code)?))
    }

    // ----- The organisation directory (R40) ------------------------------------------------

    /// Imports an ODS file of layout `file` (R40): organisations new to the directory are
    /// added, and those the file renames, closes or reopens changed, each change one
    /// event; rows it already matches change nothing, so importing the same file twice
    /// appends nothing. One transaction. Rows that cannot be read are reported with
    /// their lines and reasons and the rest import — or, with `strict`, nothing is
    /// written and [`Error::ImportRejected`] lists them.
    ///
    /// ```
    /// use carespace::{Carespace, MemoryStore};
    /// use carespace::directory::{ImportOptions, OdsFile};
    /// let trusts = "RQX,HOMERTON UNIVERSITY HOSPITAL NHS FOUNDATION TRUST,Y56,Q71,HOMERTON ROW,,,LONDON,,E9 6SR,\
    ///               20040401,,,,,,,,,,,0,,\n";
    /// let service = Carespace::new(MemoryStore::new());
    /// let report = service.import_organisations(OdsFile::Trusts, trusts.as_bytes(), ImportOptions::default())?;
    /// assert_eq!(report.added, 1);
    /// let again = service.import_organisations(OdsFile::Trusts, trusts.as_bytes(), ImportOptions::default())?;
    /// assert_eq!((again.added, again.unchanged), (0, 1));
    /// # Ok::<(), carespace::Error>(())
    /// ```
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(file = file.as_str()))]
    pub fn import_organisations(
        &self,
        file: OdsFile,
        reader: impl std::io::Read,
        options: ImportOptions,
    ) -> Result<ImportReport, Error> {
        let rows = read_ods(file, reader)?;
        if options.strict && !rows.rejected.is_empty() {
            return Err(Error::ImportRejected { rejected: rows.rejected });
        }
        let report = self.write(|tx, ctx| {
            let existing: HashMap<OdsCode, Organisation> =
                tx.reader().organisations()?.into_iter().filter_map(|o| Some((o.ods_code.clone()?, o))).collect();
            let (plan, report) = directory::plan_import(&rows.records, &existing, ctx.now);
            apply(tx, ctx, None, plan)?;
            Ok(report)
        })?;
        tracing::info!(
            target: "carespace",
            added = report.added,
            renamed = report.renamed,
            closed = report.closed,
            reopened = report.reopened,
            updated = report.updated,
            unchanged = report.unchanged,
            rejected = rows.rejected.len(),
            "imported an ODS file"
        );
        Ok(ImportReport { rejected: rows.rejected, windows_1252_lines: rows.windows_1252_lines, ..report })
    }

    /// Imports the ODS file at `path`, its layout chosen by its name (`etr*.csv` for
    /// trusts, `epraccur*.csv` for practices; [`OdsFile::from_file_name`]).
    pub fn import_organisations_from(
        &self,
        path: impl AsRef<std::path::Path>,
        options: ImportOptions,
    ) -> Result<ImportReport, Error> {
        let path = path.as_ref();
        let unreadable = |reason: String| Error::Unreadable { what: path.display().to_string(), reason };
        let file = OdsFile::from_file_name(&path.to_string_lossy()).ok_or_else(|| {
            unreadable("the name says neither NHS trusts (etr*.csv) nor GP practices (epraccur*.csv)".into())
        })?;
        let reader = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
        self.import_organisations(file, std::io::BufReader::new(reader), options)
    }

    /// Searches the directory (R40): by name fragment (every word starts a word of the
    /// name, ignoring case and accents), exact ODS code, or postcode prefix. Open
    /// organisations first, then those whose name starts with the query, then by name;
    /// paged (R43).
    ///
    /// ```
    /// use carespace::{Carespace, MemoryStore};
    /// use carespace::directory::{ImportOptions, OdsFile, OrganisationSearch};
    /// use carespace::page::PageRequest;
    /// let trusts = "RJ1,GUY'S AND ST THOMAS' NHS FOUNDATION TRUST,Y56,Q71,ST THOMAS' HOSPITAL,WESTMINSTER BRIDGE ROAD,,\
    ///               LONDON,,SE1 7EH,19931101,,,,,,,,,,,0,,\n";
    /// let service = Carespace::new(MemoryStore::new());
    /// service.import_organisations(OdsFile::Trusts, trusts.as_bytes(), ImportOptions::default())?;
    /// let page = service.search_organisations(&OrganisationSearch::Name("st thom".into()), &PageRequest::default())?;
    /// assert_eq!(page.items[0].name.as_str(), "Guy's and St Thomas' NHS Foundation Trust");
    /// assert!(page.next.is_none());
    /// # Ok::<(), carespace::Error>(())
    /// ```
    #[tracing::instrument(target = "carespace", level = "debug", skip_all)]
    pub fn search_organisations(
        &self,
        search: &OrganisationSearch,
        page: &PageRequest,
    ) -> Result<Page<Organisation>, Error> {
        self.read(|r, _| {
            let mut prepared = directory::prepare(search);
            if let Some(reading) =
                prepared.prefix_reading(&mut |prefix, at_most| Ok(r.count_prefix(prefix, at_most)?))?
            {
                return prepared.page_by_prefix(reading, r, page);
            }
            let found = match &prepared.candidates {
                Some(candidates) => r.organisation_candidates(candidates)?,
                None => Vec::new(),
            };
            prepared.page(found, page)
        })
    }

    /// A user by id.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(user = %id))]
    pub fn user(&self, id: UserId) -> Result<User, Error> {
        self.read(|r, _| load_user(r, id))
    }

    /// A user by email, if registered.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all)]
    pub fn user_by_email(&self, email: &NhsEmail) -> Result<Option<User>, Error> {
        self.read(|r, _| Ok(r.user_by_email(email)?))
    }

    // ----- Workspaces ---------------------------------------------------------------------

    /// Creates a custom workspace (R5–R8, R13, R27): the creator becomes its admin and
    /// their My Workspace in the organisation is archived. Warnings flag broad names.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, organisation = %organisation))]
    pub fn create_workspace(
        &self,
        actor: UserId,
        organisation: OrganisationId,
        new: NewWorkspace,
    ) -> Result<WorkspaceOutcome, Error> {
        self.write(|tx, ctx| {
            let r = tx.reader();
            let org = load_organisation(r, organisation)?;
            let actor = load_actor(r, actor, org.id)?;
            let taken = r.active_workspace_named(org.id, &new.name.key())?;
            let warnings = rules::name_warnings(&new.name, &org);
            let (plan, workspace, _) = rules::create_workspace(ctx, &actor, &org, taken.as_ref(), new.clone(), false)?;
            apply(tx, ctx, Some(actor.user.id), plan)?;
            Ok(WorkspaceOutcome { workspace, warnings })
        })
    }

    /// Joins the example workspace of a speciality (R9): creates it with the joiner as
    /// admin, or, if it exists already (someone joined it first), requests to join it.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, organisation = %organisation, speciality = speciality.code()))]
    pub fn join_example(
        &self,
        actor: UserId,
        organisation: OrganisationId,
        speciality: Speciality,
    ) -> Result<Joined, Error> {
        self.write(|tx, ctx| {
            let r = tx.reader();
            let org = load_organisation(r, organisation)?;
            let actor = load_actor(r, actor, org.id)?;
            let name = WorkspaceName::parse(speciality.example_name())?;
            if let Some(existing) = r.active_workspace_named(org.id, &name.key())? {
                let query = ContextQuery {
                    invites: Invites::ToActor,
                    decline: true,
                    settle: true,
                    ..about(existing.id, actor.user.id, ctx)
                };
                let loaded = shared_command(r, ctx, query, Action::RequestToJoin)?;
                return request_in(tx, ctx, &loaded);
            }
            let new = NewWorkspace { name, speciality, description: Description::default() };
            let (plan, workspace, membership) = rules::create_workspace(ctx, &actor, &org, None, new, true)?;
            apply(tx, ctx, Some(actor.user.id), plan)?;
            Ok(Joined { outcome: JoinOutcome::Created, workspace, membership })
        })
    }

    /// A page of discovery (R11, R43): the organisation's active workspaces with member
    /// counts and admins, plus the example workspaces (R9) where the organisation's kind
    /// may create workspaces (R7), filtered, by name (ignoring case; a workspace before
    /// an example of the same name) then id. Only members of the organisation may look.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, organisation = %organisation))]
    pub fn discover(
        &self,
        actor: UserId,
        organisation: OrganisationId,
        filter: &DiscoveryFilter,
        page: &PageRequest,
    ) -> Result<Page<DiscoveryEntry>, Error> {
        self.read(|r, ctx| {
            let org = load_organisation(r, organisation)?;
            let actor = load_actor_with(r, actor, org.id, false)?;
            rules::authorise_in_organisation(ctx, &actor, &org, Action::DiscoverWorkspaces)?;
            // The name's words: the store reads the longest one's rows from its index (the
            // most selective, as a rule); the others are checked here.
            let words = filter.name.as_deref().map(crate::directory::search_words).unwrap_or_default();
            let indexed = words.iter().max_by_key(|w| w.len()).cloned();
            let name_matches = |name: &str| crate::directory::matches_words(&words, name);
            let speciality_matches = |s: Speciality| filter.speciality.is_none_or(|wanted| wanted == s);
            let scope = format!(
                "{}|{}|{:?}|{:?}",
                org.id,
                words.join(" "),
                filter.speciality.map(Speciality::code),
                filter.colleague
            );
            let listing = Listing::new("discovery", scope);
            let limit = page.limit()?;
            let after: Option<(String, u8, String)> = listing.after(page)?;
            // The workspaces: the store's rows in discovery's order from the cursor on,
            // a batch at a time, until a page and one more pass the words checked here.
            let mut entries: Vec<((String, u8, String), DiscoveryEntry)> = Vec::new();
            let unchecked = words.len() > 1;
            let mut from = after.clone();
            // Unfiltered, the active names read from the cursor's on, and the last read
            // (`None`: all of them, to the end).
            let unfiltered = words.is_empty() && filter.speciality.is_none() && filter.colleague.is_none();
            let mut seen: Option<(std::collections::HashSet<String>, Option<String>)> =
                unfiltered.then(|| (std::collections::HashSet::new(), None));
            loop {
                let batch = if unchecked { (limit + 1).max(256) } else { limit + 1 };
                let query = DiscoveryPage {
                    organisation: org.id,
                    speciality: filter.speciality,
                    word: indexed.clone(),
                    colleague: filter.colleague,
                    after: from,
                    limit: batch,
                };
                let rows = r.discovery_page(&query)?;
                let exhausted = rows.len() < batch;
                from = rows.last().map(|row| discovery_key(&row.workspace)).or(query.after);
                if let Some((names, last)) = &mut seen {
                    names.extend(rows.iter().map(|row| row.workspace.name.key()));
                    *last = if exhausted { None } else { from.as_ref().map(|key| key.0.clone()) };
                }
                for DiscoveryRow { workspace, member_count, mut admins } in rows {
                    if !name_matches(workspace.name.as_str()) {
                        continue;
                    }
                    admins.sort_by_cached_key(|a| (a.name.as_str().to_lowercase(), a.id));
                    entries.push((
                        discovery_key(&workspace),
                        DiscoveryEntry::Workspace { workspace, member_count, admins },
                    ));
                }
                if exhausted || entries.len() > limit {
                    break;
                }
            }
            // Examples only where joining one could create it (R7, R9): elsewhere every
            // join would be refused. Those after the cursor, in order, before the page's
            // last workspace if it has one more than a page (later ones cannot make the
            // page), until a page and one more whose name no active workspace has. An
            // unfiltered read has seen every active name up to its last row: only the
            // names beyond it are looked up.
            if filter.colleague.is_none() && ctx.policy.may_create_in(org.kind) {
                let beyond = entries.get(limit).map(|(key, _)| key.clone());
                let examples = Speciality::examples_by_key()
                    .iter()
                    .filter(|(key, _)| after.as_ref().is_none_or(|after| key > after))
                    .take_while(|(key, _)| beyond.as_ref().is_none_or(|beyond| key < beyond))
                    .filter(|(_, s)| speciality_matches(*s) && name_matches(s.example_name()));
                let mut kept = 0;
                for (key, speciality) in examples {
                    let (key, speciality) = (key.clone(), *speciality);
                    if kept > limit {
                        break;
                    }
                    // The read began after the cursor's row: its own name was not seen.
                    let past_cursor = after.as_ref().is_none_or(|after| key.0 > after.0);
                    let taken = match &seen {
                        Some((names, last)) if past_cursor && last.as_ref().is_none_or(|last| key.0 <= *last) => {
                            names.contains(&key.0)
                        }
                        _ => r.active_workspace_named(org.id, &key.0)?.is_some(),
                    };
                    if !taken {
                        entries.push((key, DiscoveryEntry::Example { speciality }));
                        kept += 1;
                    }
                }
            }
            listing.page(entries, page)
        })
    }

    /// A workspace's signature for patient messages (R12): its name, then its
    /// organisation's name, on two lines.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(workspace = %workspace))]
    pub fn signature(&self, workspace: WorkspaceId) -> Result<String, Error> {
        self.read(|r, _| {
            let ws = r.workspace(workspace)?.ok_or_else(|| not_found(Entity::Workspace, workspace))?;
            let org = load_organisation(r, ws.organisation)?;
            Ok(format!("{}\n{}", ws.name, org.name))
        })
    }

    /// The generic-name warnings a name would get in an organisation (R13), for a UI to
    /// show before creating or renaming.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(organisation = %organisation))]
    pub fn name_warnings(&self, organisation: OrganisationId, name: &WorkspaceName) -> Result<Vec<NameWarning>, Error> {
        self.read(|r, _| Ok(rules::name_warnings(name, &load_organisation(r, organisation)?)))
    }

    /// Changes a workspace's name, speciality or description (R24); admins only. A new
    /// name is checked as on creation (R6, R13).
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace))]
    pub fn update_settings(
        &self,
        actor: UserId,
        workspace: WorkspaceId,
        change: SettingsChange,
    ) -> Result<WorkspaceOutcome, Error> {
        self.write(|tx, ctx| {
            let r = tx.reader();
            let Loaded { shared, actor, .. } =
                shared_command(r, ctx, about(workspace, actor, ctx), Action::ChangeSettings)?;
            let taken = match &change.name {
                Some(name) => r.active_workspace_named(shared.organisation.id, &name.key())?,
                None => None,
            };
            let (plan, workspace, warnings) =
                rules::update_settings(ctx, &shared, &actor, change.clone(), taken.as_ref())?;
            apply(tx, ctx, Some(actor.user.id), plan)?;
            Ok(WorkspaceOutcome { workspace, warnings })
        })
    }

    // ----- Membership ---------------------------------------------------------------------

    /// Requests to join (R14). Already a member: a no-op. A pending invite for the
    /// requester's email: accepted instead (R19). Declined recently: refused (R17).
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace))]
    pub fn request_to_join(&self, actor: UserId, workspace: WorkspaceId) -> Result<Joined, Error> {
        self.write(|tx, ctx| {
            let r = tx.reader();
            let query =
                ContextQuery { invites: Invites::ToActor, decline: true, settle: true, ..about(workspace, actor, ctx) };
            let loaded = shared_command(r, ctx, query, Action::RequestToJoin)?;
            request_in(tx, ctx, &loaded)
        })
    }

    /// Approves a join request (R16); approvers only. Approving an approved member is a no-op.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace, user = %user))]
    pub fn approve(&self, actor: UserId, workspace: WorkspaceId, user: UserId) -> Result<Membership, Error> {
        self.write(|tx, ctx| {
            // The common case, an approver approving a waiting request, is decided on the
            // two memberships alone; anything else is decided again, and named, on the
            // whole context. A waiting membership is already current, so approving it
            // changes no My Workspace (R27): nothing to settle.
            let found = tx.reader().memberships_with_access(workspace, [actor, user])?;
            let approver = found.iter().find(|(m, _)| m.user == actor).map(|(_, access)| access);
            let waiting = found.iter().find(|(m, _)| m.user == user).map(|(m, _)| m);
            if let (Some(approver), Some(waiting)) = (approver, waiting)
                && let Some((plan, approved)) = rules::approve_waiting(ctx, approver, waiting)
            {
                apply(tx, ctx, Some(actor), plan)?;
                return Ok(approved);
            }
            member_command_in(tx, ctx, actor, workspace, user, Action::Approve, rules::approve)
        })
    }

    /// Declines a join request (R17); approvers only. The requester may ask again after
    /// the policy's cool-down.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace, user = %user))]
    pub fn decline(&self, actor: UserId, workspace: WorkspaceId, user: UserId) -> Result<(), Error> {
        self.member_command(actor, workspace, user, Action::Decline, |ctx, shared, actor, target| {
            rules::decline(ctx, shared, actor, target).map(|plan| (plan, ()))
        })
    }

    /// Archives a member (R22); admins only, and never an admin.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace, user = %user))]
    pub fn archive_member(&self, actor: UserId, workspace: WorkspaceId, user: UserId) -> Result<Membership, Error> {
        self.member_command(actor, workspace, user, Action::ArchiveMember, rules::archive_member)
    }

    /// Unarchives a member, who becomes an approved member again (R22); admins only.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace, user = %user))]
    pub fn unarchive_member(&self, actor: UserId, workspace: WorkspaceId, user: UserId) -> Result<Membership, Error> {
        self.member_command(actor, workspace, user, Action::UnarchiveMember, rules::unarchive_member)
    }

    /// Promotes an approved member to admin (R23); admins only.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace, user = %user))]
    pub fn promote(&self, actor: UserId, workspace: WorkspaceId, user: UserId) -> Result<Membership, Error> {
        self.member_command(actor, workspace, user, Action::Promote, rules::promote)
    }

    /// Demotes an admin to member (R23), never the last admin; admins only.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace, user = %user))]
    pub fn demote(&self, actor: UserId, workspace: WorkspaceId, user: UserId) -> Result<Membership, Error> {
        self.member_command(actor, workspace, user, Action::Demote, rules::demote)
    }

    /// Sets, extends, brings forward or clears (`None`) the end date of `user`'s
    /// membership (R39); admins only, on a current member, never in the past. A week
    /// before (the policy's [`Policy::end_reminder`]) the sweep reminds the member and
    /// the admins; at the end it archives the member with the reason "membership ended".
    ///
    /// ```
    /// use carespace::{Carespace, ManualClock, MemoryStore, OrganisationKind, Speciality};
    /// use time::{Duration, macros::datetime};
    ///
    /// let clock = ManualClock::new(datetime!(2026-08-03 09:00 UTC));
    /// let service = Carespace::new(MemoryStore::new()).with_clock(clock.clone());
    /// let trust = service.register_organisation("Barts Health NHS Trust".parse()?, OrganisationKind::NhsTrust, None)?;
    /// let alice = service.register_user("alice@nhs.net".parse()?, "Alice Smith".parse()?)?;
    /// let locum = service.register_user("locum@nhs.net".parse()?, "Lee Locum".parse()?)?;
    /// service.join_organisation(alice.id, trust.id)?;
    /// let ward = service.join_example(alice.id, trust.id, Speciality::from_code(501)?)?.workspace;
    /// let invite = service.invite(alice.id, ward.id, locum.email.clone())?;
    /// service.accept_invite(locum.id, invite.id)?;
    ///
    /// let rotation_ends = datetime!(2026-09-01 09:00 UTC);
    /// service.set_membership_end(alice.id, ward.id, locum.id, Some(rotation_ends))?;
    /// assert_eq!(service.sweep(datetime!(2026-08-26 09:00 UTC))?.end_reminders, 1);
    /// assert_eq!(service.sweep(rotation_ends)?.memberships_ended, 1);
    /// # Ok::<(), carespace::Error>(())
    /// ```
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace, user = %user))]
    pub fn set_membership_end(
        &self,
        actor: UserId,
        workspace: WorkspaceId,
        user: UserId,
        ends_at: Option<time::OffsetDateTime>,
    ) -> Result<Membership, Error> {
        let ends_at = ends_at.map(crate::clock::supported).transpose()?;
        self.member_command(actor, workspace, user, Action::SetMembershipEnd, |ctx, shared, actor, target| {
            rules::set_membership_end(ctx, shared, actor, target, ends_at)
        })
    }

    /// A command by `actor` on `user`'s membership of `workspace`.
    fn member_command<T>(
        &self,
        actor: UserId,
        workspace: WorkspaceId,
        user: UserId,
        action: Action,
        rule: impl Fn(Ctx<'_>, &Shared, &Actor, &User) -> Result<(Plan, T), Error>,
    ) -> Result<T, Error> {
        self.write(|tx, ctx| member_command_in(tx, ctx, actor, workspace, user, action, &rule))
    }

    /// Leaves a workspace (R21). The last admin must promote someone first; the last
    /// member's leaving archives the workspace.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace))]
    pub fn leave(&self, actor: UserId, workspace: WorkspaceId) -> Result<Left, Error> {
        self.write(|tx, ctx| {
            let r = tx.reader();
            let loaded = shared_command(r, ctx, everything(workspace, actor), Action::Leave)?;
            let (mut plan, workspace_archived) = rules::leave(ctx, &loaded.shared, &loaded.actor)?;
            if let Some(me) = loaded.person(actor) {
                settle_personal(ctx, &mut plan, &loaded.shared.workspace, me, true);
            }
            apply(tx, ctx, Some(actor), plan)?;
            Ok(Left { workspace_archived })
        })
    }

    // ----- Invites ------------------------------------------------------------------------

    /// Invites an NHS email (R18); any approved member. A pending invite to the same
    /// address is refreshed rather than duplicated.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace))]
    pub fn invite(&self, actor: UserId, workspace: WorkspaceId, email: NhsEmail) -> Result<Invite, Error> {
        self.write(|tx, ctx| {
            let r = tx.reader();
            let invitee = r.user_by_email(&email)?;
            let target = invitee.as_ref().map(|u| u.id);
            let query = ContextQuery { target, invites: Invites::To(&email), ..about(workspace, actor, ctx) };
            let Loaded { shared, actor, .. } = shared_command(r, ctx, query, Action::Invite)?;
            let (plan, invite) = rules::invite(ctx, &shared, &actor, email.clone(), invitee.as_ref())?;
            apply(tx, ctx, Some(actor.user.id), plan)?;
            Ok(invite)
        })
    }

    /// Accepts an invite (R19): only the addressee, before expiry, unless revoked. They
    /// join the organisation if needed and become an approved member.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, invite = %invite))]
    pub fn accept_invite(&self, actor: UserId, invite: InviteId) -> Result<Joined, Error> {
        self.write(|tx, ctx| {
            let r = tx.reader();
            let found = r.invite(invite)?.ok_or_else(|| not_found(Entity::Invite, invite))?;
            let query =
                ContextQuery { invites: Invites::To(&found.email), settle: true, ..about(found.workspace, actor, ctx) };
            let Loaded { shared, actor, .. } = shared_command(r, ctx, query, Action::AcceptInvite)?;
            let (plan, membership) = rules::accept_invite(ctx, &shared, &actor, &found)?;
            let outcome = if plan.events.is_empty() { JoinOutcome::AlreadyMember } else { JoinOutcome::AcceptedInvite };
            apply(tx, ctx, Some(actor.user.id), plan)?;
            Ok(Joined { outcome, workspace: shared.workspace.clone(), membership })
        })
    }

    /// Revokes a pending invite (R20): its sender or an admin.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, invite = %invite))]
    pub fn revoke_invite(&self, actor: UserId, invite: InviteId) -> Result<Invite, Error> {
        self.write(|tx, ctx| {
            let r = tx.reader();
            let found = r.invite(invite)?.ok_or_else(|| not_found(Entity::Invite, invite))?;
            let query = ContextQuery { invites: Invites::To(&found.email), ..about(found.workspace, actor, ctx) };
            let Loaded { shared, actor, .. } = shared_command(r, ctx, query, Action::RevokeAnyInvite)?;
            let (plan, revoked) = rules::revoke_invite(ctx, &shared, &actor, &found)?;
            apply(tx, ctx, Some(actor.user.id), plan)?;
            Ok(revoked)
        })
    }

    /// The invites waiting for the actor's email, across workspaces (R19): pending and
    /// not expired, oldest first.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor))]
    pub fn invites_for_me(&self, actor: UserId) -> Result<Vec<Invite>, Error> {
        self.read(|r, ctx| {
            let user = load_user(r, actor)?;
            let mut invites: Vec<Invite> =
                r.pending_invites_for(&user.email)?.into_iter().filter(|i| i.is_pending_at(ctx.now)).collect();
            invites.sort_by_key(|i| (i.created_at, i.id));
            Ok(invites)
        })
    }

    /// One invite, for its addressee or the workspace's approved members (R19), with its
    /// status as of now: a pending invite past its expiry reads `Expired`.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, invite = %invite))]
    pub fn invite_details(&self, actor: UserId, invite: InviteId) -> Result<Invite, Error> {
        self.read(|r, ctx| {
            let mut found = r.invite(invite)?.ok_or_else(|| not_found(Entity::Invite, invite))?;
            if load_user(r, actor)?.email != found.email {
                authorise_shared(r, ctx, about(found.workspace, actor, ctx), Action::ViewMembers)?;
            }
            if found.status == crate::InviteStatus::Pending && ctx.now >= found.expires_at {
                found.status = crate::InviteStatus::Expired;
            }
            Ok(found)
        })
    }

    /// A page of the pending invites of a workspace (R18, R20, R43), oldest first (then
    /// by id), for its approved members.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace))]
    pub fn pending_invites(
        &self,
        actor: UserId,
        workspace: WorkspaceId,
        page: &PageRequest,
    ) -> Result<Page<Invite>, Error> {
        self.read(|r, ctx| {
            let query = ContextQuery { invites: Invites::Every, ..about(workspace, actor, ctx) };
            let loaded = authorise_shared(r, ctx, query, Action::ViewMembers)?;
            let invites = loaded.shared.invites.into_iter().filter(|i| i.is_pending_at(ctx.now));
            let keyed = invites.map(|i| ((i.created_at.unix_timestamp_nanos(), i.id), i)).collect();
            Listing::new("pending invites", workspace.to_string()).page(keyed, page)
        })
    }

    // ----- Lookups ------------------------------------------------------------------------

    /// A shared workspace's record, with its status (active or archived), for anyone in
    /// its organisation (who can see it in discovery while it is active, R11).
    ///
    /// ```
    /// # use carespace::{Carespace, MemoryStore, NewWorkspace, OrganisationKind, Speciality, WorkspaceStatus};
    /// # let service = Carespace::new(MemoryStore::new());
    /// # let trust = service.register_organisation("Trust".parse()?, OrganisationKind::NhsTrust, None)?;
    /// # let alice = service.register_user("alice@nhs.net".parse()?, "Alice".parse()?)?;
    /// # service.join_organisation(alice.id, trust.id)?;
    /// let new = NewWorkspace { name: "Ward 2".parse()?, speciality: Speciality::from_code(501)?, description: Default::default() };
    /// let ward = service.create_workspace(alice.id, trust.id, new)?.workspace;
    /// assert_eq!(service.workspace(alice.id, ward.id)?.status, WorkspaceStatus::Active);
    /// # Ok::<(), carespace::Error>(())
    /// ```
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace))]
    pub fn workspace(&self, actor: UserId, workspace: WorkspaceId) -> Result<Workspace, Error> {
        self.read(|r, ctx| load_workspace_for(r, ctx, actor, workspace))
    }

    /// `user`'s membership of a shared workspace, or `None` if they have none (never
    /// joined, left, declined). Anyone may ask about themselves while in the
    /// organisation; about someone else, only those who may see the member list (R15).
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace, user = %user))]
    pub fn membership(&self, actor: UserId, workspace: WorkspaceId, user: UserId) -> Result<Option<Membership>, Error> {
        self.read(|r, ctx| {
            if actor == user {
                load_workspace_for(r, ctx, actor, workspace)?;
                return Ok(r.membership(workspace, user)?);
            }
            let query = ContextQuery { target: Some(user), ..about(workspace, actor, ctx) };
            let loaded = authorise_shared(r, ctx, query, Action::ViewMembers)?;
            if loaded.person(user).is_none() {
                return Err(not_found(Entity::User, user));
            }
            Ok(loaded.shared.membership(user).cloned())
        })
    }

    /// The organisations `user` belongs to (R4), by name: where they may choose to work
    /// (R40). For the host, which decides who may ask.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(user = %user))]
    pub fn organisations_of(&self, user: UserId) -> Result<Vec<Organisation>, Error> {
        self.read(|r, _| {
            load_user(r, user)?;
            let mut organisations = r
                .organisations_of(user)?
                .into_iter()
                .map(|id| load_organisation(r, id))
                .collect::<Result<Vec<_>, _>>()?;
            organisations.sort_by_cached_key(|o| (o.name.as_str().to_lowercase(), o.id));
            Ok(organisations)
        })
    }

    // ----- Conversations ------------------------------------------------------------------

    /// Starts a conversation (R29): in a shared workspace by a current member (R15), or
    /// in the actor's own active My Workspace (R28).
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace))]
    pub fn start_conversation(&self, actor: UserId, workspace: WorkspaceId) -> Result<Conversation, Error> {
        self.write(|tx, ctx| {
            let r = tx.reader();
            authorise_access(r, ctx, workspace, actor, Action::StartConversation)?;
            let (plan, conversation) = rules::start_conversation(ctx, workspace, actor);
            apply(tx, ctx, Some(actor), plan)?;
            Ok(conversation)
        })
    }

    /// The conversations of a workspace the actor may see (R28, R30): all of them for
    /// approved members and the owner of a My Workspace, their own for unapproved
    /// members; anyone else is refused. Oldest first.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace))]
    pub fn conversations(&self, actor: UserId, workspace: WorkspaceId) -> Result<Vec<Conversation>, Error> {
        self.read(|r, ctx| {
            let all = match authorise_access(r, ctx, workspace, actor, Action::ViewAllConversations) {
                Ok(_) => true,
                Err(Error::Forbidden { .. }) => {
                    authorise_access(r, ctx, workspace, actor, Action::ViewOwnConversations)?;
                    false
                }
                Err(other) => return Err(other),
            };
            let mut conversations: Vec<Conversation> =
                r.conversations_of(workspace)?.into_iter().filter(|c| all || c.started_by == actor).collect();
            conversations.sort_by_key(|c| (c.started_at, c.id));
            Ok(conversations)
        })
    }

    // ----- Views --------------------------------------------------------------------------

    /// The permission table's answer (R34): may the actor do `action` in a workspace, or
    /// in an organisation ([`Action::CreateWorkspace`], [`Action::DiscoverWorkspaces`])?
    /// An action asked of the wrong kind of place is `false`.
    ///
    /// ```
    /// use carespace::{Action, Carespace, MemoryStore, OrganisationKind};
    ///
    /// let service = Carespace::new(MemoryStore::new());
    /// let practice = service.register_organisation("Riverside Surgery".parse()?, OrganisationKind::GpPractice, None)?;
    /// let gp = service.register_user("gp@nhs.net".parse()?, "Dr Grace Hopper".parse()?)?;
    /// service.join_organisation(gp.id, practice.id)?;
    /// assert!(service.can(gp.id, practice.id, Action::DiscoverWorkspaces)?);
    /// // The default policy lets only NHS trusts create workspaces (R7).
    /// assert!(!service.can(gp.id, practice.id, Action::CreateWorkspace)?);
    /// # Ok::<(), carespace::Error>(())
    /// ```
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, action = ?action))]
    pub fn can(&self, actor: UserId, on: impl Into<On>, action: Action) -> Result<bool, Error> {
        match on.into() {
            On::Workspace(workspace) => {
                // One read and a table lookup; the permission table does not depend on
                // the time, so the clock is not read. The read is matched in place:
                // passing its `Result` (whose error is large) through `and_then` moved it
                // about, a seventh of the check's instructions (callgrind).
                let access = match self.store.access(workspace, actor) {
                    Ok(Some(access)) if access.user_exists => access,
                    other => return Err(unchecked(other, workspace, actor)),
                };
                Ok(crate::permission::permits(access.standing(), access.target(), self.policy.approvers(), action)
                    .is_ok())
            }
            On::Organisation(organisation) => self.read(|r, ctx| {
                let org = load_organisation(r, organisation)?;
                let actor = load_actor_with(r, actor, org.id, false)?;
                Ok(crate::permission::permits_in_organisation(actor.in_organisation, org.kind, ctx.policy, action)
                    .is_ok())
            }),
        }
    }

    /// Where the actor stands towards a workspace, as the permission table sees it.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace))]
    pub fn standing(&self, actor: UserId, workspace: WorkspaceId) -> Result<Standing, Error> {
        self.read(|r, _| Ok(load_access(r, workspace, actor)?.standing()))
    }

    /// A page of the members of a workspace (R15, R22, R43), for its approved members:
    /// by role — admins, approved members, unapproved members, then archived members —
    /// then name (ignoring case), then id.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor, workspace = %workspace))]
    pub fn members(&self, actor: UserId, workspace: WorkspaceId, page: &PageRequest) -> Result<Page<Member>, Error> {
        self.read(|r, ctx| {
            authorise_shared(r, ctx, about(workspace, actor, ctx), Action::ViewMembers)?;
            let listing = Listing::new("members", workspace.to_string());
            let limit = page.limit()?;
            let request = MembersPage { workspace, after: listing.after(page)?, limit: limit.saturating_add(1) };
            let keyed = r
                .members_page(&request)?
                .into_iter()
                .map(|(m, user)| {
                    let key = crate::store::member_key(m.state, &user);
                    (key, Member { user, state: m.state, joined_at: m.joined_at, ends_at: m.ends_at })
                })
                .collect();
            Ok(listing.cut(keyed, limit))
        })
    }

    /// The switcher (R31): every shared workspace the actor is a current member of, with
    /// role and status, and every My Workspace, archived or not; by organisation, then
    /// My Workspace first, then by name.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor))]
    pub fn my_workspaces(&self, actor: UserId) -> Result<Vec<SwitcherEntry>, Error> {
        self.read(|r, _| {
            let user = load_user(r, actor)?;
            let rows = r.switcher_rows(user.id)?;
            let mut entries = Vec::with_capacity(rows.personal.len() + rows.shared.len());
            for (workspace, organisation_name) in rows.personal {
                entries.push(SwitcherEntry::Personal { organisation_name, workspace });
            }
            for (m, workspace, organisation_name) in rows.shared {
                entries.push(SwitcherEntry::Shared { organisation_name, workspace, state: m.state });
            }
            entries.sort_by_cached_key(|e| {
                let org = match e {
                    SwitcherEntry::Shared { organisation_name, .. }
                    | SwitcherEntry::Personal { organisation_name, .. } => organisation_name.key(),
                };
                (
                    org,
                    e.organisation(),
                    matches!(e, SwitcherEntry::Shared { .. }),
                    e.name().to_lowercase(),
                    e.workspace_id(),
                )
            });
            Ok(entries)
        })
    }

    /// A page of the join requests waiting for the actor, in every workspace where they
    /// may approve (R33, R43), oldest first (then by workspace and requester).
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(actor = %actor))]
    pub fn pending_requests(&self, actor: UserId, page: &PageRequest) -> Result<Page<PendingRequest>, Error> {
        self.read(|r, ctx| {
            let user = load_user(r, actor)?;
            let mut requests = Vec::new();
            for m in r.memberships_of_user(user.id)?.into_iter().filter(|m| m.state.is_approved()) {
                let workspace = r.workspace(m.workspace)?.ok_or_else(|| not_found(Entity::Workspace, m.workspace))?;
                let target = crate::permission::Target { personal: false, active: workspace.is_active() };
                let standing = Standing::in_shared(Some(m.state), true);
                if crate::permission::permits(standing, target, ctx.policy.approvers(), Action::Approve).is_err() {
                    continue;
                }
                for pending in r.memberships_in_state(workspace.id, crate::MembershipState::Unapproved)? {
                    requests.push(PendingRequest {
                        workspace: workspace.id,
                        workspace_name: workspace.name.clone(),
                        requester: Person::from(&load_user(r, pending.user)?),
                        requested_at: pending.joined_at,
                    });
                }
            }
            let keyed =
                requests.into_iter().map(|p| ((p.requested_at.unix_timestamp_nanos(), p.workspace, p.requester.id), p));
            Listing::new("pending requests", actor.to_string()).page(keyed.collect(), page)
        })
    }

    /// Up to `limit` events after the cursor `after` (0 for the start), in order (R32).
    /// A host remembers the last `seq` it handled and passes it next time. `limit` is
    /// capped at [`MAX_EVENT_PAGE`].
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(after, limit))]
    pub fn events_since(&self, after: u64, limit: usize) -> Result<Vec<Event>, Error> {
        self.read(|r, _| Ok(r.events_after(after, limit.min(MAX_EVENT_PAGE))?))
    }
}

/// Writes a plan's rows, then its events, stamped with the command's time and actor.
pub(crate) fn apply(tx: &mut dyn WriteTx, ctx: Ctx<'_>, actor: Option<UserId>, plan: Plan) -> Result<(), Error> {
    Ok(tx.apply(&plan, ctx.now, actor)?)
}

/// Settles `person`'s My Workspace in the organisation of `workspace` (R27, R41) when
/// `plan` changes whether they hold a current membership of it (`was_current` before):
/// ending their last current shared membership there brings it back; a membership
/// made current again (unarchiving) archives it.
pub(crate) fn settle_personal(
    ctx: Ctx<'_>,
    plan: &mut Plan,
    workspace: &Workspace,
    person: &PersonInOrganisation,
    was_current: bool,
) {
    let Some(current) = plan.current_after(workspace.id, person.user.id) else { return };
    if current == was_current {
        return;
    }
    if let Some(personal) = &person.personal {
        rules::settle_personal(plan, ctx, personal, current || person.current_elsewhere);
    }
}

/// [`Carespace::member_command`] inside its transaction.
fn member_command_in<T>(
    tx: &mut dyn WriteTx,
    ctx: Ctx<'_>,
    actor: UserId,
    workspace: WorkspaceId,
    user: UserId,
    action: Action,
    rule: impl Fn(Ctx<'_>, &Shared, &Actor, &User) -> Result<(Plan, T), Error>,
) -> Result<T, Error> {
    let r = tx.reader();
    let query = match action {
        // Archiving a member revokes the invites they sent (R22): every invite is read.
        Action::ArchiveMember => everything(workspace, actor),
        // Declining and unarchiving change whether the target holds a current
        // membership (R41); approving, promoting, demoting and end dates do not.
        Action::Decline | Action::UnarchiveMember => ContextQuery { settle: true, ..about(workspace, actor, ctx) },
        // Approving and promoting look at the actor's and the target's memberships
        // alone: nobody is counted, and no approver is named.
        Action::Approve | Action::Promote => ContextQuery { members: Members::Named, ..about(workspace, actor, ctx) },
        _ => about(workspace, actor, ctx),
    };
    let loaded = shared_command(r, ctx, ContextQuery { target: Some(user), ..query }, action)?;
    let Some(target) = loaded.person(user) else {
        // Whether a user exists is told only to those who may act here.
        loaded.shared.authorise(ctx, &loaded.actor, action)?;
        return Err(not_found(Entity::User, user));
    };
    let (mut plan, out) = rule(ctx, &loaded.shared, &loaded.actor, &target.user)?;
    let was_current = loaded.shared.state_of(user).is_some_and(|s| s.is_current());
    settle_personal(ctx, &mut plan, &loaded.shared.workspace, target, was_current);
    apply(tx, ctx, Some(loaded.actor.user.id), plan)?;
    Ok(out)
}

/// The request-to-join path shared by [`Carespace::request_to_join`] and
/// [`Carespace::join_example`].
fn request_in(tx: &mut dyn WriteTx, ctx: Ctx<'_>, loaded: &Loaded) -> Result<Joined, Error> {
    let (plan, membership, outcome) =
        rules::request_to_join(ctx, &loaded.shared, &loaded.actor, loaded.decline.as_ref())?;
    apply(tx, ctx, Some(loaded.actor.user.id), plan)?;
    Ok(Joined { outcome, workspace: loaded.shared.workspace.clone(), membership })
}

/// Records a failed command or query in its span: the error's code only, since its
/// message names people.
fn traced(err: &Error) {
    tracing::debug!(target: "carespace", code = err.code(), retryable = err.is_retryable(), "failed");
}

fn missing_output() -> Error {
    Error::Storage(crate::StorageError::new(
        crate::StorageErrorKind::Other,
        "the store reported success without running the transaction",
    ))
}

fn not_found(entity: Entity, id: impl ToString) -> Error {
    Error::NotFound { entity, id: id.to_string() }
}

/// A shared workspace, for an actor who may see its organisation's workspaces (R11).
fn load_workspace_for(r: &dyn ReadTx, ctx: Ctx<'_>, actor: UserId, workspace: WorkspaceId) -> Result<Workspace, Error> {
    let ws = r.workspace(workspace)?.ok_or_else(|| not_found(Entity::Workspace, workspace))?;
    let org = load_organisation(r, ws.organisation)?;
    let actor = load_actor_with(r, actor, org.id, false)?;
    rules::authorise_in_organisation(ctx, &actor, &org, Action::DiscoverWorkspaces)?;
    Ok(ws)
}

fn load_organisation(r: &dyn ReadTx, id: OrganisationId) -> Result<Organisation, Error> {
    r.organisation(id)?.ok_or_else(|| not_found(Entity::Organisation, id))
}

pub(crate) fn load_user(r: &dyn ReadTx, id: UserId) -> Result<User, Error> {
    r.user(id)?.ok_or_else(|| not_found(Entity::User, id))
}

fn load_actor(r: &dyn ReadTx, id: UserId, organisation: OrganisationId) -> Result<Actor, Error> {
    load_actor_with(r, id, organisation, true)
}

/// The actor, with their My Workspace only when the command can make them enter a
/// shared workspace (R27); no other rule looks at it.
fn load_actor_with(r: &dyn ReadTx, id: UserId, organisation: OrganisationId, personal: bool) -> Result<Actor, Error> {
    let user = load_user(r, id)?;
    let in_organisation = r.is_organisation_member(organisation, id)?;
    let personal = if personal { r.personal_workspace_of(id, organisation)? } else { None };
    Ok(Actor { user, in_organisation, personal })
}

/// A context query for `actor` on `workspace` reading the memberships of the approvers
/// (per the policy) and of the actor; no target, no invites, no decline.
fn about(workspace: WorkspaceId, actor: UserId, ctx: Ctx<'_>) -> ContextQuery<'static> {
    ContextQuery {
        workspace,
        actor,
        target: None,
        members: Members::Approvers(ctx.policy.approvers()),
        invites: Invites::Nobody,
        decline: false,
        settle: false,
    }
}

/// A context query reading every membership and every pending invite, and what settling
/// a My Workspace needs: the member list, and the commands whose rule counts members or
/// revokes invites by sender (leave, archive a member).
fn everything(workspace: WorkspaceId, actor: UserId) -> ContextQuery<'static> {
    ContextQuery {
        workspace,
        actor,
        target: None,
        members: Members::Every,
        invites: Invites::Every,
        decline: false,
        settle: true,
    }
}

/// A shared-workspace command's context, as the rules take it.
struct Loaded {
    shared: Shared,
    actor: Actor,
    /// The actor and the query's target, where they exist.
    people: Vec<PersonInOrganisation>,
    decline: Option<crate::Decline>,
}

impl Loaded {
    fn person(&self, user: UserId) -> Option<&PersonInOrganisation> {
        self.people.iter().find(|p| p.user.id == user)
    }
}

/// Loads a shared workspace's context for `action` in one read ([`ReadTx::context`]).
/// The rule checks the permission table, once; a My Workspace is refused here (R26),
/// with the action named, since none of these actions exists there.
fn shared_command(r: &dyn ReadTx, ctx: Ctx<'_>, query: ContextQuery<'_>, action: Action) -> Result<Loaded, Error> {
    let Some(Context { workspace, organisation, people, members, invites, decline }) = r.context(&query)? else {
        let personal =
            r.personal_workspace(query.workspace)?.ok_or_else(|| not_found(Entity::Workspace, query.workspace))?;
        let actor = load_actor_with(r, query.actor, personal.organisation, false)?;
        rules::authorise_personal(ctx, &personal, &actor, action)?;
        // The table allows nothing that exists only in shared workspaces; should it ever
        // do so, a My Workspace still refuses it (R26).
        let denial = crate::permission::Denial::PersonalWorkspace;
        return Err(rules::forbidden(action, denial, &actor.user, PersonalWorkspace::NAME));
    };
    let me = people.iter().find(|p| p.user.id == query.actor).ok_or_else(|| not_found(Entity::User, query.actor))?;
    let actor = Actor { user: me.user.clone(), in_organisation: me.in_organisation, personal: me.personal.clone() };
    let complete = query.members == Members::Every && query.invites == Invites::Every;
    Ok(Loaded { shared: Shared { workspace, organisation, members, invites, complete }, actor, people, decline })
}

/// [`shared_command`] for a read with no rule of its own: checks `action` here.
fn authorise_shared(r: &dyn ReadTx, ctx: Ctx<'_>, query: ContextQuery<'_>, action: Action) -> Result<Loaded, Error> {
    let loaded = shared_command(r, ctx, query, action)?;
    loaded.shared.authorise(ctx, &loaded.actor, action)?;
    Ok(loaded)
}

/// The permission table's inputs for the actor and a workspace of either kind, in one
/// read; a missing workspace or user is `NotFound` (the workspace is looked for first).
fn load_access(r: &dyn ReadTx, workspace: WorkspaceId, actor: UserId) -> Result<crate::Access, Error> {
    found_access(r.access(workspace, actor)?, workspace, actor)
}

/// An access read, with a missing workspace, then a missing user, as `NotFound`.
fn found_access(access: Option<crate::Access>, workspace: WorkspaceId, actor: UserId) -> Result<crate::Access, Error> {
    match access {
        Some(access) if access.user_exists => Ok(access),
        missing => Err(access_missing(missing, workspace, actor)),
    }
}

/// Why an access read found nothing to check: no workspace, or else no such user. Kept
/// out of line, so that a permission check that finds its answer moves no error about.
#[cold]
fn access_missing(access: Option<crate::Access>, workspace: WorkspaceId, actor: UserId) -> Error {
    match access {
        None => not_found(Entity::Workspace, workspace),
        Some(_) => not_found(Entity::User, actor),
    }
}

/// Why a permission check could not be made, traced: the store's error, or what
/// [`access_missing`] says of an access read without a workspace or a user.
#[cold]
fn unchecked(read: Result<Option<crate::Access>, Error>, workspace: WorkspaceId, actor: UserId) -> Error {
    let err = read.map_or_else(|e| e, |access| access_missing(access, workspace, actor));
    traced(&err);
    err
}

/// Checks `action` against the permission table for a workspace of either kind, from
/// one read; the names a refusal quotes are read only when it is refused.
fn authorise_access(
    r: &dyn ReadTx,
    ctx: Ctx<'_>,
    workspace: WorkspaceId,
    actor: UserId,
    action: Action,
) -> Result<crate::Access, Error> {
    let access = load_access(r, workspace, actor)?;
    match crate::permission::permits(access.standing(), access.target(), ctx.policy.approvers(), action) {
        Ok(()) => Ok(access),
        Err(denial) => {
            let user = load_user(r, actor)?;
            let name = match r.workspace(workspace)? {
                Some(shared) => shared.name.to_string(),
                None => PersonalWorkspace::NAME.to_owned(),
            };
            Err(rules::forbidden(action, denial, &user, &name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Carespace>();
    }
}
