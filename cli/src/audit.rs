//! `carespace audit …`: an information-governance lead's questions (R37), answered from
//! the event log as tables, CSV or JSON, and the membership timeline as a picture.

use std::collections::HashMap;

use carespace::page::every_page;
use carespace::{
    Carespace, Entity, Error, NhsEmail, OdsCode, Organisation, OrganisationId, ReadTx, Sight, Store, User, UserId,
    Workspace, WorkspaceId, WorkspaceName,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::args::{Audit, TableArg, WorkspaceArg};
use crate::db::Db;
use crate::failure::Failure;
use crate::output::{Table, print_json, when};

pub(crate) fn run(db: &Db, audit: Audit, json: bool) -> Result<(), Failure> {
    let service = db.service();
    let mut names = Names::new(&service);
    match audit {
        Audit::Viewers { workspace, at, table } => {
            let (workspace, organisation) = find_workspace(db.store().as_ref(), &workspace)?;
            let mut rows = Vec::new();
            for viewer in service.viewers_at(workspace.id, at)? {
                let user = names.user(viewer.person.id)?;
                rows.push(ViewerRow {
                    name: user.name.to_string(),
                    email: user.email.to_string(),
                    sight: sight(viewer.sight),
                    since: viewer.since,
                });
            }
            let title = format!("Who could see “{}” ({}) at {}", workspace.name, organisation.name, when(at));
            let mut out = Table::new(&["NAME", "EMAIL", "AS", "SINCE"]);
            out.rows =
                rows.iter().map(|r| vec![r.name.clone(), r.email.clone(), r.sight.into(), when(r.since)]).collect();
            emit(&title, &out, &rows, &table, json, "no one could see it then")
        }
        Audit::Visible { user, at, table } => {
            let email: NhsEmail = user.parse()?;
            let user = service
                .user_by_email(&email)?
                .ok_or_else(|| Error::NotFound { entity: Entity::User, id: email.to_string() })?;
            let mut rows = Vec::new();
            for visible in service.workspaces_visible_at(user.id, at)? {
                let organisation = service.organisation(visible.organisation)?;
                rows.push(VisibleRow {
                    workspace: visible.workspace,
                    name: visible.name,
                    organisation: organisation.name.to_string(),
                    sight: sight(visible.sight),
                    since: visible.since,
                });
            }
            let title = format!("What {} <{}> could see at {}", user.name, user.email, when(at));
            let mut out = Table::new(&["WORKSPACE", "ORGANISATION", "AS", "SINCE"]);
            out.rows = rows
                .iter()
                .map(|r| vec![r.name.clone(), r.organisation.clone(), r.sight.into(), when(r.since)])
                .collect();
            emit(&title, &out, &rows, &table, json, "nothing")
        }
        Audit::History { workspace, table } => {
            let (workspace, organisation) = find_workspace(db.store().as_ref(), &workspace)?;
            let events = every_page(|page| service.membership_history(workspace.id, page))?;
            let mut rows = Vec::with_capacity(events.len());
            for event in &events {
                rows.push(HistoryRow {
                    seq: event.seq,
                    at: event.at,
                    event: event.kind.type_name(),
                    person: names.person(event.person())?,
                    by: names.person(event.actor)?,
                });
            }
            let title = format!("Membership history of “{}” ({})", workspace.name, organisation.name);
            let mut out = Table::new(&["SEQ", "TIME", "EVENT", "PERSON", "BY"]);
            out.rows = rows
                .iter()
                .map(|r| {
                    let by = r.by.clone().unwrap_or_else(|| "(the sweep)".into());
                    vec![r.seq.to_string(), when(r.at), r.event.into(), r.person.clone().unwrap_or_default(), by]
                })
                .collect();
            emit(&title, &out, &rows, &table, json, "no membership events")
        }
        Audit::Timeline { workspace, out, from, until } => {
            let (workspace, organisation) = find_workspace(db.store().as_ref(), &workspace)?;
            let timeline = service.membership_timeline(workspace.id)?;
            let until = until.unwrap_or_else(OffsetDateTime::now_utc);
            if from.is_some_and(|from| from >= until) {
                return Err(Failure::Usage("--from must be before --until".into()));
            }
            let picture = crate::timeline::render(&timeline, organisation.name.as_str(), from, until);
            let html = out.extension().is_some_and(|e| e.eq_ignore_ascii_case("html"));
            let text = if html { crate::timeline::page(&timeline.name, &picture) } else { picture };
            std::fs::write(&out, text).map_err(|e| Failure::File(format!("cannot write {}: {e}", out.display())))?;
            if json {
                return print_json(
                    &serde_json::json!({ "out": out.display().to_string(), "people": timeline.people.len(), "events": timeline.events.len() }),
                );
            }
            println!(
                "drew {} people and {} events of “{}” to {}",
                timeline.people.len(),
                timeline.events.len(),
                timeline.name,
                out.display()
            );
            Ok(())
        }
    }
}

/// Prints a table (with its title), its CSV, or its rows as JSON.
fn emit<R: Serialize>(
    title: &str,
    table: &Table,
    rows: &[R],
    format: &TableArg,
    json: bool,
    empty: &str,
) -> Result<(), Failure> {
    if json {
        return print_json(&rows);
    }
    if format.csv {
        return table.print_csv();
    }
    println!("{title}:");
    table.print(empty)
}

/// Someone who could see a workspace.
#[derive(Serialize)]
struct ViewerRow {
    name: String,
    email: String,
    #[serde(rename = "as")]
    sight: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    since: OffsetDateTime,
}

/// A workspace someone could see.
#[derive(Serialize)]
struct VisibleRow {
    workspace: WorkspaceId,
    name: String,
    organisation: String,
    #[serde(rename = "as")]
    sight: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    since: OffsetDateTime,
}

/// One membership event, with names.
#[derive(Serialize)]
struct HistoryRow {
    seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    event: &'static str,
    person: Option<String>,
    /// Who did it (`None`: the sweep).
    by: Option<String>,
}

fn sight(sight: Sight) -> &'static str {
    match sight {
        Sight::Member => "member",
        Sight::Admin => "admin",
        Sight::Owner => "owner",
    }
}

/// Users looked up once each.
struct Names<'a> {
    service: &'a Carespace,
    users: HashMap<UserId, User>,
}

impl<'a> Names<'a> {
    fn new(service: &'a Carespace) -> Self {
        Self { service, users: HashMap::new() }
    }

    fn user(&mut self, id: UserId) -> Result<&User, Error> {
        if !self.users.contains_key(&id) {
            let user = self.service.user(id)?;
            self.users.insert(id, user);
        }
        self.users.get(&id).ok_or_else(|| Error::NotFound { entity: Entity::User, id: id.to_string() })
    }

    /// `Name <email>` of a user, if there is one.
    fn person(&mut self, id: Option<UserId>) -> Result<Option<String>, Error> {
        id.map(|id| self.user(id).map(|u| format!("{} <{}>", u.name, u.email))).transpose()
    }
}

/// Runs `f` in one read transaction of `store`.
fn read<T>(store: &dyn Store, mut f: impl FnMut(&dyn ReadTx) -> Result<T, Error>) -> Result<T, Error> {
    let mut out = None;
    store.read(&mut |r| {
        out = Some(f(r)?);
        Ok(())
    })?;
    // `read` returns `Ok` only after the closure ran and succeeded.
    out.ok_or_else(|| {
        Error::Storage(carespace::StorageError::new(carespace::StorageErrorKind::Other, "the store's read did not run"))
    })
}

/// The workspace an operator named, by id, or by name (in `--org`, or in whichever
/// organisation has an active workspace of that name), with its organisation.
pub(crate) fn find_workspace(store: &dyn Store, arg: &WorkspaceArg) -> Result<(Workspace, Organisation), Failure> {
    let found = read(store, |r| {
        let not_found = || Error::NotFound { entity: Entity::Workspace, id: arg.workspace.clone() };
        if let Ok(id) = arg.workspace.parse::<WorkspaceId>() {
            let workspace = r.workspace(id)?.ok_or_else(not_found)?;
            let organisation = r.organisation(workspace.organisation)?.ok_or_else(not_found)?;
            return Ok(vec![(workspace, organisation)]);
        }
        let key = arg.workspace.parse::<WorkspaceName>()?.key();
        let organisations = match &arg.org {
            Some(org) => vec![find_organisation(r, org)?],
            None => r.organisations()?,
        };
        let mut found = Vec::new();
        for organisation in organisations {
            let workspace = match (r.active_workspace_named(organisation.id, &key)?, &arg.org) {
                (Some(active), _) => Some(active),
                // In a named organisation, an archived workspace of that name too.
                (None, Some(_)) => r.workspaces_of(organisation.id)?.into_iter().find(|w| w.name.key() == key),
                (None, None) => None,
            };
            found.extend(workspace.map(|w| (w, organisation)));
        }
        if found.is_empty() {
            return Err(not_found());
        }
        Ok(found)
    })?;
    match <[_; 1]>::try_from(found) {
        Ok([one]) => Ok(one),
        Err(many) => {
            let codes: Vec<String> = many
                .iter()
                .map(|(_, o)| o.ods_code.as_ref().map_or_else(|| o.id.to_string(), ToString::to_string))
                .collect();
            Err(Failure::Usage(format!(
                "{} organisations have a workspace named “{}”: give --org with one of {}",
                many.len(),
                arg.workspace,
                codes.join(", ")
            )))
        }
    }
}

/// An organisation by ODS code or id.
fn find_organisation(r: &dyn ReadTx, text: &str) -> Result<Organisation, Error> {
    let not_found = || Error::NotFound { entity: Entity::Organisation, id: text.to_owned() };
    if let Ok(id) = text.parse::<OrganisationId>() {
        return r.organisation(id)?.ok_or_else(not_found);
    }
    r.organisation_by_ods(&text.parse::<OdsCode>()?)?.ok_or_else(not_found)
}
