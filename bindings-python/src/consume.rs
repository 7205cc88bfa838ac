//! `Consumption`, the Python iterator over an event consumer's events (R42):
//! `for event in cs.consume("emails"):` waits for each event as it commits, without the
//! GIL, and stays interruptible by Ctrl-C.

use crate::convert::Int;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

use crate::values::Event;

/// How long one wait without the GIL lasts before Python's signal handlers run (so
/// Ctrl-C stops a consumer waiting for events within this time).
const SLICE: Duration = Duration::from_millis(100);

/// A consumer's events, in order, from its acknowledged position on (R42). Iterating
/// waits for each next event as it commits; with ``timeout`` set, the iteration ends
/// once that many seconds pass without one. Acknowledging is explicit: call
/// ``acknowledge(event.seq)`` once an event is handled. Each event comes once per
/// ``Consumption``; a new one (after a restart) starts again from the consumer's
/// position, so what was not acknowledged comes again.
#[pyclass(frozen, module = "carespace", name = "Consumption")]
pub(crate) struct Consumption {
    parent: Py<crate::Carespace>,
    name: carespace::ConsumerName,
    timeout: Option<Duration>,
    /// `None` once the parent is found closed: the store is let go with it.
    inner: Mutex<Option<carespace::Consumption>>,
}

impl Consumption {
    /// Starts consuming `name` on `parent`'s service.
    pub(crate) fn start(
        py: Python<'_>,
        parent: Py<crate::Carespace>,
        name: carespace::ConsumerName,
        limit: Int<u32>,
        timeout: Option<Duration>,
    ) -> PyResult<Self> {
        let inner = parent.get().call(py, |s| s.consume(&name, limit.0))?;
        Ok(Self { parent, name, timeout, inner: Mutex::new(Some(inner)) })
    }

    /// Waits up to `slice` for the next event, without the GIL.
    fn step(&self, py: Python<'_>, slice: Duration) -> PyResult<Option<carespace::Event>> {
        let parent = self.parent.get();
        let step = parent.call(py, |_| match self.inner.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            Some(consumption) => consumption.next(slice),
            None => Ok(None),
        });
        if parent.is_closed() {
            // Closing the Carespace closes its store: this iterator's hold on it too.
            let taken = self.inner.lock().unwrap_or_else(PoisonError::into_inner).take();
            py.detach(move || drop(taken));
        }
        step
    }
}

#[pymethods]
impl Consumption {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Event>> {
        let deadline = self.timeout.map(|timeout| Instant::now() + timeout);
        loop {
            let slice = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()).min(SLICE),
                None => SLICE,
            };
            if let Some(event) = self.step(py, slice)? {
                return Ok(Some(Event(event)));
            }
            py.check_signals()?;
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Ok(None);
            }
        }
    }

    /// Moves the consumer's position to ``seq`` (its events up to there are handled)
    /// and returns it; see ``Carespace.acknowledge``.
    fn acknowledge(&self, py: Python<'_>, seq: Int<u64>) -> PyResult<u64> {
        Ok(self.parent.get().call(py, |s| s.acknowledge(&self.name, seq.0))?.acknowledged)
    }

    /// The consumer's name.
    #[getter]
    fn name(&self) -> &str {
        self.name.as_str()
    }

    fn __repr__(&self) -> String {
        format!("Consumption({:?})", self.name.as_str())
    }
}
