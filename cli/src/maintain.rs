//! The store's upkeep: `init`, `orgs import` and `orgs search`, `sweep`, `check`,
//! `backup` and `copy`.

use std::path::Path;
use std::time::{Duration, Instant};

use carespace::directory::{ImportOptions, OrganisationSearch};
use carespace::page::PageRequest;
use time::OffsetDateTime;

use crate::args::Orgs;
use crate::db::Db;
use crate::failure::Failure;
use crate::output::{Table, Working, print_json, when};

/// `carespace init`: creates the store or migrates it to this version's schema.
pub(crate) fn init(url: &str, json: bool) -> Result<(), Failure> {
    let db = Db::create(url)?;
    let head = db.service().head()?;
    if json {
        return print_json(&serde_json::json!({ "ready": true, "events": head }));
    }
    println!("{} is ready ({head} events in its log)", db.describe());
    Ok(())
}

/// `carespace orgs …`
pub(crate) fn orgs(db: &Db, orgs: Orgs, json: bool) -> Result<(), Failure> {
    let service = db.service();
    match orgs {
        Orgs::Import { file, strict } => {
            let report = service.import_organisations_from(&file, ImportOptions { strict })?;
            if json {
                return print_json(&report);
            }
            println!(
                "{}: {} added, {} renamed, {} closed, {} reopened, {} updated, {} unchanged, {} rejected",
                file.display(),
                report.added,
                report.renamed,
                report.closed,
                report.reopened,
                report.updated,
                report.unchanged,
                report.rejected.len()
            );
            for rejected in &report.rejected {
                println!("  rejected: {rejected}");
            }
            Ok(())
        }
        Orgs::Search { text, postcode, limit } => {
            let search = search_for(&service, &text, postcode)?;
            let page = service.search_organisations(&search, &PageRequest::first(limit))?;
            if json {
                return print_json(&page.items);
            }
            let mut table = Table::new(&["ODS", "NAME", "KIND", "POSTCODE", "CLOSED"]);
            for org in &page.items {
                table.rows.push(vec![
                    org.ods_code.as_ref().map(ToString::to_string).unwrap_or_default(),
                    org.name.to_string(),
                    org.kind.as_str().replace('_', " "),
                    org.postcode.clone().unwrap_or_default(),
                    org.closed_on.map(|d| d.to_string()).unwrap_or_default(),
                ]);
            }
            table.print(&format!("no organisation matches {text:?}"))
        }
    }
}

/// What `orgs search TEXT` looks for: the start of a postcode with `--postcode`; else
/// the organisation with that ODS code if there is one, and a name fragment if not
/// ("RWK" is East London's code; "st thom" a fragment of Guy's and St Thomas').
fn search_for(service: &carespace::Carespace, text: &str, postcode: bool) -> Result<OrganisationSearch, Failure> {
    let text = text.trim().to_owned();
    if postcode {
        return Ok(OrganisationSearch::Postcode(text));
    }
    if let Ok(code) = text.parse::<carespace::OdsCode>()
        && service.organisation_by_ods(&code)?.is_some()
    {
        return Ok(OrganisationSearch::OdsCode(text));
    }
    Ok(OrganisationSearch::Name(text))
}

/// `carespace sweep`: once at `now` (the present by default), or every `every`.
pub(crate) fn sweep(db: &Db, now: Option<OffsetDateTime>, every: Option<Duration>, json: bool) -> Result<(), Failure> {
    let service = db.service();
    let Some(every) = every else {
        return report_sweep(service.sweep(now.unwrap_or_else(OffsetDateTime::now_utc))?, None, json);
    };
    loop {
        let started = Instant::now();
        let at = OffsetDateTime::now_utc();
        match service.sweep(at) {
            Ok(swept) => report_sweep(swept, Some(at), json)?,
            Err(error) if passes(&error) => eprintln!("carespace: {}", Failure::Carespace(error)),
            Err(error) => return Err(error.into()),
        }
        std::thread::sleep(every.saturating_sub(started.elapsed()));
    }
}

/// Whether `sweep --every` reports `error` and sweeps again at the next interval (each
/// sweep does all that is due by then): a store that failed — a database restarting or
/// out of reach for a while — may be back; anything else would fail every time.
fn passes(error: &carespace::Error) -> bool {
    matches!(error, carespace::Error::Storage(_))
}

fn report_sweep(swept: carespace::Swept, at: Option<OffsetDateTime>, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(&swept);
    }
    let prefix = at.map(|at| format!("{}: ", when(at))).unwrap_or_default();
    if swept.is_empty() {
        println!("{prefix}nothing was due");
    } else {
        println!(
            "{prefix}{} invites expired, {} requests escalated, {} end reminders, {} memberships ended, {} last admins kept",
            swept.invites_expired,
            swept.requests_escalated,
            swept.end_reminders,
            swept.memberships_ended,
            swept.last_admins_kept
        );
    }
    Ok(())
}

/// `carespace check`: every problem found, then exit 1 if there was one.
pub(crate) fn check(db: &Db, users: usize, json: bool) -> Result<(), Failure> {
    let mut problems = Vec::new();
    let mut checked = Vec::new();
    let working = Working::on("checking the store");
    if let Db::Sqlite(store) = db {
        checked.push("SQLite integrity_check");
        let verdict = store.integrity_check()?;
        if verdict != "ok" {
            problems.push(format!("SQLite integrity_check: {verdict}"));
        }
    }
    let store = db.store();
    checked.push("the invariants (R25) and a gap-free log (R32)");
    problems.extend(carespace::health::invariant_problems(store.as_ref(), OffsetDateTime::now_utc())?);
    checked.push("the narrow reads");
    if let Err(problem) = carespace::health::check_narrow_reads_of(store.as_ref(), users) {
        problems.push(problem);
    }
    let events = db.service().head()?;
    drop(working);
    if json {
        print_json(&serde_json::json!({ "ok": problems.is_empty(), "events": events, "problems": problems }))?;
    } else if problems.is_empty() {
        println!("ok: {} ({events} events)", checked.join(", "));
    }
    conclude(&problems, json)
}

/// Prints each problem for people (JSON output holds them already), and fails with
/// exit 1 if there is one.
fn conclude(problems: &[String], json: bool) -> Result<(), Failure> {
    if !json {
        for problem in problems {
            println!("problem: {problem}");
        }
    }
    match problems.len() {
        0 => Ok(()),
        n => Err(Failure::Problems(n)),
    }
}

/// `carespace copy --to URL`: the whole store into an empty one, then the verification.
pub(crate) fn copy(db: &Db, to: &str, json: bool) -> Result<(), Failure> {
    let target = Db::create(to)?;
    let started = Instant::now();
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg:<8} [{bar:30}] {pos}/{len} events ({eta} left)")
            .map_err(|e| Failure::File(format!("the progress bar: {e}")))?,
    );
    bar.set_message("rows");
    let counts = carespace::copy::copy_store(db.store().as_ref(), target.store().as_ref(), &mut |p| {
        bar.set_length(p.events_total);
        bar.set_position(p.events);
        if p.events > 0 {
            bar.set_message("events");
        }
    });
    bar.finish_and_clear();
    let counts = counts?;
    let copied = started.elapsed();
    let working = Working::on("verifying the copy");
    let problems = carespace::copy::verify_copy(db.store().as_ref(), target.store().as_ref())?;
    drop(working);
    if json {
        print_json(&serde_json::json!({ "copied": counts, "seconds": copied.as_secs_f64(), "problems": problems }))?;
    } else {
        println!(
            "copied {} organisations, {} users, {} workspaces, {} My Workspaces, {} memberships, {} invites, \
             {} declines, {} conversations, {} consumers and {} events from the {} to the {} in {:.1} s",
            counts.organisations,
            counts.users,
            counts.workspaces,
            counts.personal_workspaces,
            counts.memberships,
            counts.invites,
            counts.declines,
            counts.conversations,
            counts.consumers,
            counts.events,
            db.describe(),
            target.describe(),
            copied.as_secs_f64()
        );
        if problems.is_empty() {
            println!("verified: every row and event the same, the invariants hold on the copy");
        }
    }
    conclude(&problems, json)
}

/// `carespace backup --to FILE` (SQLite).
pub(crate) fn backup(db: &Db, to: &Path, json: bool) -> Result<(), Failure> {
    let Db::Sqlite(store) = db else {
        return Err(Failure::Usage(
            "backup copies SQLite files; back up PostgreSQL with pg_dump or the server's own backups".into(),
        ));
    };
    let started = Instant::now();
    let working = Working::on("backing up");
    store.backup_to(to)?;
    drop(working);
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    if json {
        return print_json(&serde_json::json!({ "to": to.display().to_string(), "bytes": bytes }));
    }
    let from = db.sqlite_path().map(|p| p.display().to_string()).unwrap_or_default();
    println!("backed up {from} to {} ({bytes} bytes in {:.1} s)", to.display(), started.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeping_every_interval_outlasts_storage_failures_only() {
        let unavailable = carespace::StorageError::new(carespace::StorageErrorKind::Unavailable, "connection refused");
        assert!(passes(&carespace::Error::Storage(unavailable)));
        assert!(!passes(&carespace::Error::TimeOutOfRange { at: OffsetDateTime::UNIX_EPOCH }));
    }
}
