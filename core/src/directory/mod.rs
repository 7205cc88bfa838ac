//! The organisation directory (R40): organisations imported from the NHS Organisation
//! Data Service's files, with readable names, and searched by name fragment, ODS code or
//! postcode.
//!
//! # Design
//! Parsing ([`read_ods`]) is pure and runs before any transaction; the import's rule
//! ([`plan_import`]) compares each row with the organisation of the same code and
//! returns a [`Plan`] (rows and one event per change) and the counts of the
//! [`ImportReport`]; the service applies the plan in one transaction. Search asks the
//! store for *candidates* through an index (organisations having a word prefix, or a
//! postcode in a range: [`Candidates`]), then checks every query word, ranks and pages
//! here, so every backend orders and pages alike; a name search reads pages of the
//! prefix index ([`PrefixPage`]), already in search order, and checks them here too.

mod names;
mod ods;

use std::collections::HashMap;

use time::{Date, OffsetDateTime};

pub use self::names::{matches_words, readable_name, search_words, starts_a_word};
pub use self::ods::{OdsFile, OdsRecord, OdsRows, OdsStatus, RejectReason, Rejected, read_ods};
use crate::page::{Listing, Page, PageRequest};
use crate::store::{Change, Plan};
use crate::{Error, EventKind, OdsCode, Organisation, OrganisationId};

/// How an import treats rows it cannot read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Write nothing if any row is rejected ([`Error::ImportRejected`]); otherwise the
    /// rows that can be read import and the others are reported.
    pub strict: bool,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ImportReport {
    /// Organisations new to the directory.
    pub added: usize,
    /// Organisations whose name changed.
    pub renamed: usize,
    /// Organisations the file shows closed that were open.
    pub closed: usize,
    /// Organisations the file shows open that were closed.
    pub reopened: usize,
    /// Organisations whose kind, postcode, source spelling or close date changed.
    pub updated: usize,
    /// Rows that changed nothing.
    pub unchanged: usize,
    /// Rows that could not be read, with their line numbers and reasons.
    pub rejected: Vec<Rejected>,
    /// Lines read as Windows-1252 rather than UTF-8.
    pub windows_1252_lines: Vec<u64>,
}

/// The import's rule (R40): for each record, the organisation of the same code (if any)
/// and what changes, as rows and one event per change. A record the organisation
/// already matches changes nothing, so importing a file twice appends nothing.
/// `today` dates a closure the file gives without a date (status C or D), unless the
/// organisation was already closed.
pub fn plan_import(
    records: &[OdsRecord],
    existing: &HashMap<OdsCode, Organisation>,
    now: OffsetDateTime,
) -> (Plan, ImportReport) {
    let mut plan = Plan::default();
    let mut report = ImportReport::default();
    for record in records {
        let Some(before) = existing.get(&record.code) else {
            let organisation = Organisation {
                id: OrganisationId::new_v7(now),
                name: record.name.clone(),
                kind: record.kind,
                ods_code: Some(record.code.clone()),
                registered_at: now,
                source_name: Some(record.source_name.clone()),
                postcode: record.postcode.clone(),
                closed_on: closed_on(record, None, now.date()),
            };
            plan.events.push(EventKind::OrganisationRegistered { organisation: organisation.id });
            plan.changes.push(Change::Organisation(organisation));
            report.added += 1;
            continue;
        };
        let after = Organisation {
            name: record.name.clone(),
            kind: record.kind,
            source_name: Some(record.source_name.clone()),
            postcode: record.postcode.clone(),
            closed_on: closed_on(record, before.closed_on, now.date()),
            ..before.clone()
        };
        if after == *before {
            report.unchanged += 1;
            continue;
        }
        let id = before.id;
        let mut evented = false;
        if after.name != before.name {
            let (name, previous) = (after.name.clone(), before.name.clone());
            plan.events.push(EventKind::OrganisationRenamed { organisation: id, name, previous });
            report.renamed += 1;
            evented = true;
        }
        match (before.closed_on, after.closed_on) {
            (None, Some(closed_on)) => {
                plan.events.push(EventKind::OrganisationClosed { organisation: id, closed_on });
                report.closed += 1;
                evented = true;
            }
            (Some(_), None) => {
                plan.events.push(EventKind::OrganisationReopened { organisation: id });
                report.reopened += 1;
                evented = true;
            }
            _ => {}
        }
        // What else changed: the kind, the postcode, the close date, or the spelling when
        // the name people see stayed the same (a new spelling is part of a rename).
        let spelling = if after.name == before.name { after.source_name.clone() } else { before.source_name.clone() };
        let details = Organisation {
            name: before.name.clone(),
            source_name: spelling,
            closed_on: before.closed_on,
            ..after.clone()
        };
        let dated_again =
            before.closed_on.is_some() && after.closed_on.is_some() && before.closed_on != after.closed_on;
        if details != *before || dated_again {
            plan.events.push(EventKind::OrganisationUpdated { organisation: id });
            report.updated += 1;
            evented = true;
        }
        debug_assert!(evented, "a changed organisation with no event");
        plan.changes.push(Change::Organisation(after));
    }
    (plan, report)
}

/// The day `record` says the organisation closed: its close date; else, when its status
/// says closed, the day it was already closed on, or `today`; `None` while open.
fn closed_on(record: &OdsRecord, already: Option<Date>, today: Date) -> Option<Date> {
    if !record.closed() {
        return None;
    }
    record.close_date.or(already).or(Some(today))
}

/// What to search the directory by (R40).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrganisationSearch {
    /// A name fragment: every word of it starts a word of the name, ignoring case and
    /// accents ("st thom" finds Guy's and St Thomas'; "King's Lynn" finds The Queen
    /// Elizabeth Hospital, King's Lynn).
    Name(String),
    /// An exact ODS code (any case).
    OdsCode(String),
    /// The start of a postcode (any case; spaces as typed: "TS18" or "TS18 1").
    Postcode(String),
}

/// What the store returns candidates by: an index (R40). The service checks each
/// candidate against the whole query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Candidates {
    /// Organisations one of whose search words starts with this prefix: the rows of
    /// the prefix index ([`indexed_prefixes`]) that have it.
    Prefix(String),
    /// Organisations whose postcode is in `[from, to)`.
    Postcode {
        /// The range's start.
        from: String,
        /// Its end: `from` followed by the greatest character.
        to: String,
    },
    /// The organisation of one ODS code.
    OdsCode(OdsCode),
}

/// The strings that start with `prefix`: `[prefix, prefix + U+10FFFF)`, in byte order
/// (SQLite's `BINARY`, PostgreSQL's `"C"`) and in Rust's `str` order alike.
fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_owned(), format!("{prefix}\u{10FFFF}"))
}

/// An organisation's place in a search's order: closed (open first), then relevance (0
/// when the name's first word matched, 1 otherwise), then the name ignoring case
/// ([`name_key`]), then id.
pub type SearchKey = (bool, u8, String, OrganisationId);

fn search_key(organisation: &Organisation, first_word_matched: bool) -> SearchKey {
    (
        organisation.closed_on.is_some(),
        u8::from(!first_word_matched),
        name_key(organisation.name.as_str()),
        organisation.id,
    )
}

/// A name as searches order it: lower case.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// The rows of the prefix index for a name (R40): every distinct prefix of every search
/// word ([`search_words`]), once, with its relevance — 0 when it starts the name's first
/// word, 1 otherwise. "St Mary's Surgery" has `s` (0), `st` (0), `m` (1), …, `marys`
/// (1), `su` (1), …, `surgery` (1). A name of at most 120 characters has at most a few
/// hundred rows; an ODS name has about 25.
pub fn indexed_prefixes(name: &str) -> Vec<(String, u8)> {
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for (i, word) in search_words(name).iter().enumerate() {
        for (at, c) in word.char_indices() {
            let prefix = &word[..at + c.len_utf8()];
            if seen.insert(prefix.to_owned()) {
                rows.push((prefix.to_owned(), u8::from(i > 0)));
            }
        }
    }
    rows
}

/// One page of the prefix index, as a name search reads it (R40, R43): the rows with
/// `prefix` (one per organisation) whose organisation's rows also have every prefix of
/// `also`, keyed `(closed, relevance of the prefix, name key, id)`, in key order, after
/// `after`, at most `limit`. The page is cut by the index, so a common prefix costs the
/// page, not its matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrefixPage {
    /// The query's first word.
    pub prefix: String,
    /// Other words of the query, at most [`PrefixPage::MAX_ALSO`].
    pub also: Vec<String>,
    /// Rows after this key; from the first if `None`.
    pub after: Option<SearchKey>,
    /// The most rows to return.
    pub limit: usize,
}

impl PrefixPage {
    /// The most words a page's `also` holds; a longer query's other words are checked
    /// by the service.
    pub const MAX_ALSO: usize = 2;
}

/// A multi-word search reads the candidates of a word with at most this many index
/// rows whole, rather than paging through its first word's rows.
const FEW_CANDIDATES: u64 = 300;

/// A search prepared: the store's candidates (for a name, once
/// [`PreparedSearch::prefix_reading`] has chosen them), and the test and key of each.
pub(crate) struct PreparedSearch {
    pub(crate) candidates: Option<Candidates>,
    words: Vec<String>,
    postcode: Option<String>,
    /// Its paging: a cursor is bound to the query.
    listing: Listing,
}

/// Prepares `search`, or refuses it. A query with no word, an empty postcode or an
/// unreadable code finds nothing (`candidates` is `None`).
pub(crate) fn prepare(search: &OrganisationSearch) -> PreparedSearch {
    match search {
        OrganisationSearch::Name(text) => {
            let words = search_words(text);
            // Read by prefix ([`PreparedSearch::prefix_reading`] says how).
            PreparedSearch {
                candidates: None,
                listing: listing(format!("name:{}", words.join(" "))),
                words,
                postcode: None,
            }
        }
        OrganisationSearch::OdsCode(code) => {
            let code = OdsCode::parse(code).ok();
            let listing = listing(format!("code:{}", code.as_ref().map(OdsCode::as_str).unwrap_or_default()));
            PreparedSearch { candidates: code.map(Candidates::OdsCode), words: Vec::new(), postcode: None, listing }
        }
        OrganisationSearch::Postcode(text) => {
            let postcode = text.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase();
            let candidates = (!postcode.is_empty()).then(|| {
                let (from, to) = prefix_range(&postcode);
                Candidates::Postcode { from, to }
            });
            PreparedSearch {
                candidates,
                listing: listing(format!("postcode:{postcode}")),
                words: Vec::new(),
                postcode: Some(postcode),
            }
        }
    }
}

impl PreparedSearch {
    /// How a name search reads the store: through pages of its first word's prefix
    /// rows ([`PreparedSearch::page_by_prefix`]) — at once for one word, and for more
    /// when the first word has few rows or every word has many (`count`, capped, tells:
    /// the other words are then checked on the index as the rows are read); otherwise
    /// the candidates of its rarest word, read whole. `None`: read `candidates`.
    pub(crate) fn prefix_reading(
        &mut self,
        count: &mut dyn FnMut(&str, u64) -> Result<u64, Error>,
    ) -> Result<Option<(String, Vec<String>)>, Error> {
        let Some((first, others)) = self.words.split_first() else { return Ok(None) };
        if others.is_empty() || count(first, FEW_CANDIDATES + 1)? <= FEW_CANDIDATES {
            return Ok(Some((first.clone(), others.iter().take(PrefixPage::MAX_ALSO).cloned().collect())));
        }
        let mut counted = Vec::with_capacity(others.len());
        for word in others {
            counted.push((count(word, FEW_CANDIDATES + 1)?, word));
        }
        counted.sort_by_key(|(n, _)| *n);
        match counted.first() {
            Some((n, rarest)) if *n <= FEW_CANDIDATES => {
                self.candidates = Some(Candidates::Prefix((*rarest).clone()));
                Ok(None)
            }
            _ => Ok(Some((
                first.clone(),
                counted.iter().take(PrefixPage::MAX_ALSO).map(|(_, w)| (*w).clone()).collect(),
            ))),
        }
    }

    /// A name search's page from pages of the prefix index, a batch at a time, each
    /// row kept when its organisation matches the whole query — the same page
    /// [`PreparedSearch::page`] gives from every candidate.
    pub(crate) fn page_by_prefix(
        &self,
        (prefix, also): (String, Vec<String>),
        r: &dyn crate::store::ReadTx,
        request: &PageRequest,
    ) -> Result<Page<Organisation>, Error> {
        let limit = request.limit()?;
        let mut after = self.listing.after(request)?;
        let mut matched: Vec<(SearchKey, Organisation)> = Vec::new();
        // Only a query of more words than the index checks keeps fewer rows than it reads.
        let unchecked = self.words.len() > 1 + also.len();
        'pages: loop {
            let batch = (limit + 1 - matched.len()).max(if unchecked { 256 } else { 0 });
            let rows = r.organisations_by_prefix(&PrefixPage {
                prefix: prefix.clone(),
                also: also.clone(),
                after: after.clone(),
                limit: batch,
            })?;
            let exhausted = rows.len() < batch;
            for (key, organisation) in rows {
                after = Some(key.clone());
                if self.matches(&organisation).is_none() {
                    continue;
                }
                matched.push((key, organisation));
                if matched.len() > limit {
                    break 'pages;
                }
            }
            if exhausted {
                break;
            }
        }
        Ok(self.listing.cut(matched, limit))
    }

    /// The page of `found` (the store's candidates) that `request` asks for: each
    /// checked against the whole query, ordered by [`SearchKey`], after the cursor's key.
    pub(crate) fn page(&self, found: Vec<Organisation>, request: &PageRequest) -> Result<Page<Organisation>, Error> {
        let mut seen = std::collections::HashSet::new();
        let matched = found
            .into_iter()
            .filter(|organisation| seen.insert(organisation.id))
            .filter_map(|organisation| Some((search_key(&organisation, self.matches(&organisation)?), organisation)))
            .collect();
        self.listing.page(matched, request)
    }

    /// Whether `organisation` matches the whole query, and if so whether the name's
    /// first word matched (for relevance); `None` when it does not match.
    fn matches(&self, organisation: &Organisation) -> Option<bool> {
        if let Some(prefix) = &self.postcode {
            let postcode = organisation.postcode.as_deref()?;
            return postcode.starts_with(prefix.as_str()).then_some(postcode == prefix);
        }
        if self.words.is_empty() {
            return Some(true); // an ODS code: the store matched it exactly
        }
        let name = organisation.name.as_str();
        let first =
            self.words.first().is_some_and(|q| search_words(name).first().is_some_and(|w| w.starts_with(q.as_str())));
        matches_words(&self.words, name).then_some(first)
    }
}

/// The paging of an organisation search for the query `scope`.
fn listing(scope: String) -> Listing {
    Listing::new("organisation search", scope)
}

#[cfg(test)]
mod tests;
