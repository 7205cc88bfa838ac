//! The injectable clock (R36): every timestamp Carespace writes comes from a [`Clock`].

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use std::ops::Range;

use time::macros::datetime;
use time::{Duration, OffsetDateTime, UtcOffset};

/// The instants Carespace writes down: from 1900 up to (not including) 2200, UTC. Every
/// backend holds them (SQLite stores nanoseconds in 64 bits, which ends in 2262), so a
/// command whose clock or arguments lie outside fails with
/// [`Error::TimeOutOfRange`](crate::Error::TimeOutOfRange) on every backend alike.
pub const SUPPORTED_TIMES: Range<OffsetDateTime> = datetime!(1900-01-01 0:00 UTC)..datetime!(2200-01-01 0:00 UTC);

/// The last instant Carespace records, to the microsecond: where a policy's duration
/// that reaches past [`SUPPORTED_TIMES`] ends (never, in effect).
pub const LAST_SUPPORTED_TIME: OffsetDateTime = datetime!(2199-12-31 23:59:59.999_999 UTC);

/// `at + by`, held within [`SUPPORTED_TIMES`]: a policy's duration long enough to pass
/// 2200 ends at [`LAST_SUPPORTED_TIME`] — never, in effect — alike on every backend.
pub(crate) fn later(at: OffsetDateTime, by: Duration) -> OffsetDateTime {
    at.saturating_add(by).clamp(SUPPORTED_TIMES.start, LAST_SUPPORTED_TIME)
}

/// `at - by`, held within [`SUPPORTED_TIMES`] (see [`later`]).
pub(crate) fn earlier(at: OffsetDateTime, by: Duration) -> OffsetDateTime {
    at.saturating_sub(by).clamp(SUPPORTED_TIMES.start, LAST_SUPPORTED_TIME)
}

/// `at` in UTC. Every instant the service takes from its clock passes through here
/// (R36), so a clock that answers with another offset writes the same records on every
/// backend. An instant with no UTC form (beyond the years ±9999) is left as it is: it
/// lies outside [`SUPPORTED_TIMES`] and is refused where it would be written.
pub(crate) fn utc(at: OffsetDateTime) -> OffsetDateTime {
    at.checked_to_offset(UtcOffset::UTC).unwrap_or(at)
}

/// `Ok(at)`, in UTC, when `at` is a time Carespace writes down.
pub(crate) fn supported(at: OffsetDateTime) -> Result<OffsetDateTime, crate::Error> {
    let at = utc(at);
    if SUPPORTED_TIMES.contains(&at) { Ok(at) } else { Err(crate::Error::TimeOutOfRange { at }) }
}

/// A source of the current UTC time. The service asks it once per command, so a command's
/// changes and events share one instant.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock, to the microsecond.
///
/// Microseconds, not the nanoseconds the OS offers: they are what Python's `datetime`
/// and PostgreSQL's `timestamptz` hold, so an event's time read from the log in those
/// worlds and passed back (to ask who could see a workspace at that instant, R37) is
/// the same instant, not one a few hundred nanoseconds before it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_microsecond(now.microsecond()).unwrap_or(now)
    }
}

/// A clock that stands still until told to move: for deterministic tests and simulations.
/// Clones share the same time, so a test can keep one clone and hand another to the service.
///
/// ```
/// use carespace::{Clock, ManualClock};
/// use time::{macros::datetime, Duration};
///
/// let clock = ManualClock::new(datetime!(2026-03-03 09:00 UTC));
/// let service_clock = clock.clone();
/// clock.advance(Duration::days(15));
/// assert_eq!(service_clock.now(), datetime!(2026-03-18 09:00 UTC));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock showing `start` (converted to UTC).
    pub fn new(start: OffsetDateTime) -> Self {
        Self { now: Arc::new(Mutex::new(utc(start))) }
    }

    /// Moves the clock by `by` (which may be negative).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.saturating_add(by);
    }

    /// Sets the clock to `at` (converted to UTC).
    pub fn set(&self, at: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = utc(at);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r36_r37_the_system_clock_keeps_whole_microseconds() {
        for _ in 0..100 {
            assert_eq!(SystemClock.now().nanosecond() % 1_000, 0);
        }
    }
}
