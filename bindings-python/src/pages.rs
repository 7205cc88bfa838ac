//! Paged lists for Python (R43): `Page`, one page of any list with the cursor of the
//! next, and `Follow`, the iterator that follows the cursors from a page to the end.

use std::sync::Arc;

use carespace::page::{Cursor, MAX_PAGE, PageRequest};
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyList;

/// Reads one page of a list, as Python objects, with the next page's cursor.
pub(crate) type Fetch = dyn Fn(Python<'_>, &PageRequest) -> PyResult<(Vec<Py<PyAny>>, Option<String>)> + Send + Sync;

/// A fetch for a list the service pages: `list` reads a page (without the GIL, through
/// `call`), `wrap` makes each item its Python class.
pub(crate) fn fetch<T, W>(
    call: impl Fn(Python<'_>, &PageRequest) -> PyResult<carespace::page::Page<T>> + Send + Sync + 'static,
    wrap: fn(T) -> W,
) -> Arc<Fetch>
where
    T: 'static,
    W: pyo3::PyClass + Into<pyo3::PyClassInitializer<W>> + 'static,
{
    Arc::new(move |py, request| {
        let page = call(py, request)?;
        let items =
            page.items.into_iter().map(|item| Py::new(py, wrap(item)).map(Py::into_any)).collect::<PyResult<_>>()?;
        Ok((items, page.next.map(|c| c.as_str().to_owned())))
    })
}

/// The request for a page: after `cursor` (a previous page's `next_cursor`), at most
/// `limit` items (the list's default when `None`).
pub(crate) fn request(limit: Option<u32>, cursor: Option<String>) -> PageRequest {
    PageRequest { limit, cursor: cursor.map(Cursor::from_text) }
}

/// Reads the page `request` asks for.
pub(crate) fn read(py: Python<'_>, fetch: Arc<Fetch>, request: &PageRequest) -> PyResult<Page> {
    let (items, next) = fetch(py, request)?;
    Ok(Page { items, next, fetch })
}

/// One page of a list (R43): its items in the list's order, and ``next_cursor`` for the
/// next page (``None`` on the last). A page is a sequence (``len``, indexing,
/// iteration) of its own items; ``follow()`` iterates over them and every later page's,
/// reading each page as it is reached. Give ``next_cursor`` back as ``cursor=`` to the
/// same method, with the same arguments, for the next page.
#[pyclass(frozen, module = "carespace", name = "Page")]
pub(crate) struct Page {
    items: Vec<Py<PyAny>>,
    next: Option<String>,
    fetch: Arc<Fetch>,
}

#[pymethods]
impl Page {
    /// The page's items, in the list's order.
    #[getter]
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.items.iter().map(|item| item.clone_ref(py)))
    }

    /// The cursor of the next page, or ``None`` on the last page.
    #[getter]
    fn next_cursor(&self) -> Option<&str> {
        self.next.as_deref()
    }

    /// The next page, or ``None`` after the last.
    fn next_page(&self, py: Python<'_>) -> PyResult<Option<Page>> {
        match &self.next {
            Some(cursor) => read(py, self.fetch.clone(), &request(None, Some(cursor.clone()))).map(Some),
            None => Ok(None),
        }
    }

    /// Iterates over this page's items, then every later page's, reading the pages (of
    /// up to 1,000 items) as they are reached.
    fn follow(&self, py: Python<'_>) -> Follow {
        let items = self.items.iter().map(|item| item.clone_ref(py)).collect();
        Follow { items, at: 0, next: self.next.clone(), fetch: self.fetch.clone() }
    }

    fn __len__(&self) -> usize {
        self.items.len()
    }

    fn __getitem__(&self, py: Python<'_>, index: isize) -> PyResult<Py<PyAny>> {
        let len = self.items.len() as isize;
        let at = if index < 0 { index + len } else { index };
        usize::try_from(at)
            .ok()
            .and_then(|at| self.items.get(at))
            .map(|item| item.clone_ref(py))
            .ok_or_else(|| PyIndexError::new_err("page index out of range"))
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.items(py)?.try_iter().map(Bound::into_any)
    }

    fn __repr__(&self) -> String {
        match &self.next {
            Some(_) => format!("Page({} items, more follow)", self.items.len()),
            None => format!("Page({} items, the last)", self.items.len()),
        }
    }
}

/// The iterator ``Page.follow()`` returns: the items of a page and of every page after
/// it, in order, each page read when its first item is asked for.
#[pyclass(module = "carespace", name = "Follow")]
pub(crate) struct Follow {
    items: Vec<Py<PyAny>>,
    at: usize,
    next: Option<String>,
    fetch: Arc<Fetch>,
}

#[pymethods]
impl Follow {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        while self.at >= self.items.len() {
            let Some(cursor) = self.next.take() else { return Ok(None) };
            let (items, next) = (self.fetch)(py, &request(Some(MAX_PAGE), Some(cursor)))?;
            (self.items, self.at, self.next) = (items, 0, next);
        }
        let item = self.items.get(self.at).map(|item| item.clone_ref(py));
        self.at += 1;
        Ok(item)
    }
}
