//! Event consumers (R42): named readers of the log whose position the store keeps, so a
//! host delivers each email at least once across crashes, and a wait for the next event
//! that does not poll hot.
//!
//! A consumer's position is the last sequence number it acknowledged. [`Carespace::receive`]
//! returns the events after it; [`Carespace::acknowledge`] moves it forward once they are
//! handled. What was received and not acknowledged (the process died in between) is
//! received again, so a handler treats `seq` as its idempotency key. Acknowledging is
//! bookkeeping, not a change to the workspaces: it appends no event (a consumer of the
//! log would otherwise receive its own acknowledgements).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::page::PageRequest;
use crate::service::{Carespace, apply};
use crate::store::{Change, Plan};
use crate::{ConsumerName, Entity, Error, Event};

/// A named consumer of the event log and how far it has got.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Consumer {
    /// The host's name for it.
    pub name: ConsumerName,
    /// The last sequence number it acknowledged (0: none yet). It receives the events
    /// after this one.
    pub acknowledged: u64,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last acknowledged (its registration until then).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Where a new consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConsumerStart {
    /// At the log's first event: it receives the whole history.
    #[default]
    Beginning,
    /// After the log's last event at registration: it receives only what happens from
    /// now on (a new email sender on a running deployment, which must not resend the
    /// past).
    Head,
}

impl Carespace {
    /// Registers the consumer `name` starting at `start`, or returns it unchanged if it
    /// exists (so a host calls this at every start-up). R42.
    ///
    /// ```
    /// use carespace::{Carespace, ConsumerStart, MemoryStore};
    /// let service = Carespace::new(MemoryStore::new());
    /// let emails = "emails".parse()?;
    /// let consumer = service.register_consumer(&emails, ConsumerStart::Beginning)?;
    /// assert_eq!(consumer.acknowledged, 0);
    /// # Ok::<(), carespace::Error>(())
    /// ```
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(consumer = %name))]
    pub fn register_consumer(&self, name: &ConsumerName, start: ConsumerStart) -> Result<Consumer, Error> {
        self.write(|tx, ctx| {
            let r = tx.reader();
            if let Some(existing) = r.consumer(name)? {
                return Ok(existing);
            }
            let acknowledged = match start {
                ConsumerStart::Beginning => 0,
                ConsumerStart::Head => r.last_event_seq()?,
            };
            let consumer = Consumer { name: name.clone(), acknowledged, created_at: ctx.now, updated_at: ctx.now };
            let plan = Plan { changes: vec![Change::Consumer(consumer.clone())], events: Vec::new() };
            apply(tx, ctx, None, plan)?;
            Ok(consumer)
        })
    }

    /// The consumer `name`: an error of kind not-found if it was never registered.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(consumer = %name))]
    pub fn consumer(&self, name: &ConsumerName) -> Result<Consumer, Error> {
        self.read(|r, _| r.consumer(name)?.ok_or_else(|| unknown(name)))
    }

    /// Every registered consumer, by name.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all)]
    pub fn consumers(&self) -> Result<Vec<Consumer>, Error> {
        self.read(|r, _| Ok(r.consumers()?))
    }

    /// Up to `limit` (1 to 1,000) events after the consumer's position, in order. The
    /// same events come back until they are acknowledged. R42.
    ///
    /// ```
    /// use carespace::{Carespace, ConsumerStart, MemoryStore, OrganisationKind};
    /// let service = Carespace::new(MemoryStore::new());
    /// let emails = "emails".parse()?;
    /// service.register_consumer(&emails, ConsumerStart::Beginning)?;
    /// service.register_organisation("Barts Health NHS Trust".parse()?, OrganisationKind::NhsTrust, None)?;
    /// let events = service.receive(&emails, 100)?;
    /// assert_eq!(events.len(), 1);
    /// // Not acknowledged: received again.
    /// assert_eq!(service.receive(&emails, 100)?, events);
    /// service.acknowledge(&emails, events[0].seq)?;
    /// assert!(service.receive(&emails, 100)?.is_empty());
    /// # Ok::<(), carespace::Error>(())
    /// ```
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(consumer = %name, limit))]
    pub fn receive(&self, name: &ConsumerName, limit: u32) -> Result<Vec<Event>, Error> {
        let limit = PageRequest::first(limit).limit()?;
        self.read(|r, _| {
            let consumer = r.consumer(name)?.ok_or_else(|| unknown(name))?;
            Ok(r.events_after(consumer.acknowledged, limit)?)
        })
    }

    /// Moves the consumer's position to `seq`: the events up to it are handled and will
    /// not be received again. Acknowledging its current position again changes nothing;
    /// an earlier one, or one past the log's last event, is an error
    /// ([`Error::AcknowledgementOutOfRange`]) and changes nothing. R42.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(consumer = %name, seq))]
    pub fn acknowledge(&self, name: &ConsumerName, seq: u64) -> Result<Consumer, Error> {
        self.write(|tx, ctx| {
            let r = tx.reader();
            let consumer = r.consumer(name)?.ok_or_else(|| unknown(name))?;
            if seq == consumer.acknowledged {
                return Ok(consumer);
            }
            let head = r.last_event_seq()?;
            if seq < consumer.acknowledged || seq > head {
                return Err(Error::AcknowledgementOutOfRange {
                    consumer: name.to_string(),
                    seq,
                    acknowledged: consumer.acknowledged,
                    head,
                });
            }
            let moved = Consumer { acknowledged: seq, updated_at: ctx.now, ..consumer };
            let plan = Plan { changes: vec![Change::Consumer(moved.clone())], events: Vec::new() };
            apply(tx, ctx, None, plan)?;
            Ok(moved)
        })
    }

    /// The sequence number of the log's last event (0 while it is empty). R42.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all)]
    pub fn head(&self) -> Result<u64, Error> {
        self.read(|r, _| Ok(r.last_event_seq()?))
    }

    /// Waits until the log holds an event after `after`, or `timeout` passes: `true` if
    /// it does. Returns as soon as such an event commits, whichever thread or process
    /// (sharing the store) commits it: at once in memory, by `LISTEN`/`NOTIFY` on
    /// PostgreSQL, and on SQLite within the store's polling interval (a cheap read
    /// that backs off to 25 ms: an idle wait costs next to no CPU). R42.
    #[tracing::instrument(target = "carespace", level = "debug", skip_all, fields(after))]
    pub fn wait_for_event(&self, after: u64, timeout: Duration) -> Result<bool, Error> {
        self.store().wait_for_event(after, timeout)
    }

    /// The consumer's events one at a time, from its acknowledged position on, waiting
    /// for new ones as they commit: the loop of an email sender. Each event comes once
    /// per `Consumption`; a new one (after a restart) starts again from the position, so
    /// what was not acknowledged comes again (R42). `limit` (1 to 1,000) is how many
    /// events each read fetches.
    ///
    /// ```
    /// use std::time::Duration;
    /// use carespace::{Carespace, ConsumerStart, MemoryStore, OrganisationKind};
    /// let service = Carespace::new(MemoryStore::new());
    /// let emails = "emails".parse()?;
    /// service.register_consumer(&emails, ConsumerStart::Beginning)?;
    /// service.register_organisation("Barts Health NHS Trust".parse()?, OrganisationKind::NhsTrust, None)?;
    /// let mut events = service.consume(&emails, 100)?;
    /// while let Some(event) = events.next(Duration::from_millis(10))? {
    ///     // Send the email, then:
    ///     events.acknowledge(event.seq)?;
    /// }
    /// assert_eq!(service.consumer(&emails)?.acknowledged, 1);
    /// # Ok::<(), carespace::Error>(())
    /// ```
    pub fn consume(&self, name: &ConsumerName, limit: u32) -> Result<Consumption, Error> {
        let limit = PageRequest::first(limit).limit()?;
        let after = self.consumer(name)?.acknowledged;
        Ok(Consumption { service: self.clone(), name: name.clone(), after, limit, ready: VecDeque::new() })
    }
}

/// A consumer's events in order ([`Carespace::consume`]).
#[derive(Debug)]
pub struct Consumption {
    service: Carespace,
    name: ConsumerName,
    /// The last event read from the log (handed out or waiting in `ready`).
    after: u64,
    limit: usize,
    ready: VecDeque<Event>,
}

impl Consumption {
    /// The next event, waiting up to `timeout` for one to commit; `None` if none did.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<Event>, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Ok(Some(event));
            }
            let batch = self.service.read(|r, _| Ok(r.events_after(self.after, self.limit)?))?;
            if let Some(last) = batch.last() {
                self.after = last.seq;
                self.ready.extend(batch);
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.service.wait_for_event(self.after, left)? {
                return Ok(None);
            }
        }
    }

    /// Acknowledges up to `seq` for this consumer ([`Carespace::acknowledge`]).
    pub fn acknowledge(&self, seq: u64) -> Result<Consumer, Error> {
        self.service.acknowledge(&self.name, seq)
    }

    /// The consumer's name.
    pub fn name(&self) -> &ConsumerName {
        &self.name
    }
}

fn unknown(name: &ConsumerName) -> Error {
    Error::NotFound { entity: Entity::Consumer, id: name.to_string() }
}
