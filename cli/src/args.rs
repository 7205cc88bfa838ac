//! The command line: every subcommand and option (clap), and the parsers of times and
//! durations they take.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The operator's command for a Carespace store.
#[derive(Debug, Parser)]
#[command(name = "carespace", version, about, long_about = None)]
pub(crate) struct Cli {
    /// The store: `sqlite:PATH` or `postgresql://…`.
    #[arg(long, env = "CARESPACE_DB", global = true, value_name = "URL")]
    pub(crate) db: Option<String>,
    /// Machine-readable output: one JSON document, or one JSON object per line for
    /// `events tail` and `sweep --every`.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Creates the store, or brings its schema up to date.
    Init,
    /// The NHS organisation directory (R40).
    #[command(subcommand)]
    Orgs(Orgs),
    /// Does the time-driven work due: expires invites, escalates stale join requests,
    /// reminds of and ends time-boxed memberships (R38, R39). Idempotent.
    Sweep {
        /// The time to sweep at (RFC 3339, or a date for its midnight UTC); now by default.
        #[arg(long, value_parser = parse_time, conflicts_with = "every")]
        now: Option<OffsetDateTime>,
        /// Sweeps again every DURATION (`30s`, `15m`, `1h`, `1d`) until stopped; a
        /// storage failure (a database restarting) is reported and the next sweep tries
        /// again.
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        every: Option<Duration>,
    },
    /// The event log (R32, R42).
    #[command(subcommand)]
    Events(Events),
    /// Who could see what, when (R37): answers from the event log.
    #[command(subcommand)]
    Audit(Audit),
    /// Checks the store: the database's own integrity check (SQLite), the invariants
    /// (R25), a gap-free log (R32) and the backend's narrow reads. Exits 1 with the
    /// problems found.
    Check {
        /// How many registered users the narrow reads are checked for (each in every
        /// workspace of their organisations).
        #[arg(long, default_value_t = 50)]
        users: usize,
    },
    /// Copies the whole store into an empty one (SQLite to PostgreSQL when a deployment
    /// outgrows one machine) in one transaction, then verifies the copy: every row, the
    /// event log event by event, the invariants. Stop writers first.
    Copy {
        /// The target: `postgresql://…` (or `sqlite:PATH`), empty.
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Writes a consistent copy of a SQLite store to a new file while others go on
    /// writing (`VACUUM INTO`). Refuses to overwrite.
    Backup {
        /// The new file.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
}

/// `carespace orgs …`
#[derive(Debug, Subcommand)]
pub(crate) enum Orgs {
    /// Imports an ODS file (`etr*.csv`: NHS trusts; `epraccur*.csv`: GP practices and
    /// other prescribing settings); reports what changed and every rejected row.
    Import {
        /// The ODS extract.
        file: PathBuf,
        /// Writes nothing if any row is rejected.
        #[arg(long)]
        strict: bool,
    },
    /// Finds organisations by ODS code, by name (each word starts a word of the
    /// name), or with `--postcode` by the start of their postcode.
    Search {
        /// What to look for.
        text: String,
        /// TEXT is the start of a postcode ("TS18", "E1 6").
        #[arg(long)]
        postcode: bool,
        /// At most this many (1 to 1,000).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// `carespace events …`
#[derive(Debug, Subcommand)]
pub(crate) enum Events {
    /// Prints the log's last events, or a consumer's unacknowledged ones.
    Tail {
        /// Goes on printing events as they commit, until stopped.
        #[arg(long)]
        follow: bool,
        /// Reads as this consumer (R42): from its position, acknowledging each event
        /// once printed. A new consumer starts at the log's head.
        #[arg(long, value_name = "NAME")]
        consumer: Option<String>,
        /// How many of the last events to print first (without `--consumer`).
        #[arg(long, short = 'n', default_value_t = 20)]
        lines: u64,
    },
}

/// `carespace audit …`
#[derive(Debug, Subcommand)]
pub(crate) enum Audit {
    /// Who could see a workspace's conversations at an instant.
    Viewers {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// The instant (RFC 3339, or a date for its midnight UTC).
        #[arg(long, value_parser = parse_time)]
        at: OffsetDateTime,
        #[command(flatten)]
        table: TableArg,
    },
    /// Which workspaces a person could see at an instant.
    Visible {
        /// Their NHS email address.
        #[arg(long, value_name = "EMAIL")]
        user: String,
        /// The instant (RFC 3339, or a date for its midnight UTC).
        #[arg(long, value_parser = parse_time)]
        at: OffsetDateTime,
        #[command(flatten)]
        table: TableArg,
    },
    /// A workspace's membership history: every request, approval, role change,
    /// archive and leave, with who did it and when.
    History {
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[command(flatten)]
        table: TableArg,
    },
    /// Draws a workspace's membership over time as a self-contained SVG (or HTML)
    /// picture: one row per person, coloured by state, events marked.
    Timeline {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// The picture to write: `.svg`, or `.html` for a page holding it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Where the picture starts (RFC 3339 or a date); the workspace's first event
        /// by default.
        #[arg(long, value_parser = parse_time)]
        from: Option<OffsetDateTime>,
        /// Where it ends; now by default.
        #[arg(long, value_parser = parse_time)]
        until: Option<OffsetDateTime>,
    },
}

/// Which workspace: its id, or its name (with its organisation when two share it).
#[derive(Debug, Args)]
pub(crate) struct WorkspaceArg {
    /// The workspace's id or name.
    #[arg(long, value_name = "ID-OR-NAME")]
    pub(crate) workspace: String,
    /// Its organisation's ODS code or id, when the name alone is ambiguous.
    #[arg(long, value_name = "ODS-OR-ID")]
    pub(crate) org: Option<String>,
}

/// Tables as CSV.
#[derive(Debug, Args)]
pub(crate) struct TableArg {
    /// Prints the table as CSV (with a header row).
    #[arg(long, conflicts_with = "json")]
    pub(crate) csv: bool,
}

/// An instant: RFC 3339 (`2026-03-03T09:00:00Z`), or a date (`2026-03-03`) for its
/// midnight UTC.
pub(crate) fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    let date = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &date)
        .map(|day| day.midnight().assume_utc())
        .map_err(|_| format!("{text:?} is not a time: give RFC 3339 (2026-03-03T09:00:00Z) or a date (2026-03-03)"))
}

/// A duration: a whole number and a unit, `s`, `m`, `h` or `d` (`15m`).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration: give a number and s, m, h or d (15m)");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    match number.checked_mul(seconds) {
        Some(0) | None => Err(bad()),
        Some(total) => Ok(Duration::from_secs(total)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc_3339_or_a_date_at_midnight_utc() {
        assert_eq!(parse_time("2026-03-03T09:00:00Z"), Ok(time::macros::datetime!(2026-03-03 09:00 UTC)));
        assert_eq!(parse_time("2026-03-03"), Ok(time::macros::datetime!(2026-03-03 00:00 UTC)));
        for bad in ["", "3 March", "2026-13-01", "2026-03-03 09:00"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_are_a_number_and_a_unit() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        for bad in ["", "m", "15", "15x", "0s", "-1s", "99999999999999999999d", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
