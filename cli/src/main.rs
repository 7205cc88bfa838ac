//! `carespace`, the operator's command for a Carespace store: create it, import the NHS
//! organisation directory, run the sweep, follow the event log, answer an
//! information-governance lead's questions, check its health and back it up.
//!
//! Human output by default, `--json` for scripts; errors go to stderr on one line with
//! Carespace's own message. Exit codes: see [`failure::Failure::exit_code`] and the
//! README's "Operating Carespace".
#![forbid(unsafe_code)]

mod args;
mod audit;
mod db;
mod events;
mod failure;
mod maintain;
mod output;
mod timeline;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::failure::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("carespace: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let url = cli.db.ok_or_else(|| {
        Failure::Usage("no database given: pass --db sqlite:PATH or --db postgresql://… (or set CARESPACE_DB)".into())
    })?;
    let json = cli.json;
    match cli.command {
        Command::Init => maintain::init(&url, json),
        Command::Orgs(orgs) => maintain::orgs(&db::Db::open(&url)?, orgs, json),
        Command::Sweep { now, every } => maintain::sweep(&db::Db::open(&url)?, now, every, json),
        Command::Events(events) => events::run(&db::Db::open(&url)?, events, json),
        Command::Audit(audit) => audit::run(&db::Db::open(&url)?, audit, json),
        Command::Check { users } => maintain::check(&db::Db::open(&url)?, users, json),
        Command::Backup { to } => maintain::backup(&db::Db::open(&url)?, &to, json),
        Command::Copy { to } => maintain::copy(&db::Db::open(&url)?, &to, json),
    }
}
