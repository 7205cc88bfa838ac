//! `carespace events tail`: the log's last events, or a consumer's (R42), and with
//! `--follow` each new one as it commits.

use std::io::Write;
use std::time::Duration;

use carespace::{ConsumerName, ConsumerStart, Event};

use crate::args::Events;
use crate::db::Db;
use crate::failure::Failure;
use crate::output::{print_json, when};

/// How long one wait for a new event lasts before it is begun again.
const WAIT: Duration = Duration::from_secs(60);

/// How many events one read fetches.
const BATCH: u32 = 500;

pub(crate) fn run(db: &Db, events: Events, json: bool) -> Result<(), Failure> {
    let Events::Tail { follow, consumer, lines } = events;
    let service = db.service();
    match consumer {
        Some(name) => {
            let name: ConsumerName = name.parse()?;
            service.register_consumer(&name, ConsumerStart::Head)?;
            let mut events = service.consume(&name, BATCH)?;
            loop {
                let wait = if follow { WAIT } else { Duration::ZERO };
                match events.next(wait)? {
                    Some(event) => {
                        print(&event, json)?;
                        events.acknowledge(event.seq)?;
                    }
                    None if follow => {}
                    None => return Ok(()),
                }
            }
        }
        None => {
            let mut after = service.head()?.saturating_sub(lines);
            loop {
                let batch = service.events_since(after, BATCH as usize)?;
                for event in &batch {
                    print(event, json)?;
                }
                match batch.last() {
                    Some(last) => after = last.seq,
                    None if follow => {
                        service.wait_for_event(after, WAIT)?;
                    }
                    None => return Ok(()),
                }
            }
        }
    }
}

/// One event: a line of JSON, or `seq  time  type  payload` for people.
fn print(event: &Event, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(event);
    }
    let payload = serde_json::to_value(&event.kind).unwrap_or_default();
    let fields = match payload {
        serde_json::Value::Object(mut map) => {
            map.remove("type");
            serde_json::Value::Object(map).to_string()
        }
        other => other.to_string(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:>8}  {}  {:<26} {fields}", event.seq, when(event.at), event.kind.type_name())?;
    out.flush()?;
    Ok(())
}
