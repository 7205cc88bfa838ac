//! The organisation directory (R40): organisations imported from the NHS Organisation
//! Data Service's files, with readable names, and searched by name fragment, ODS code or
//! postcode.
//!
//! # Design
//! Parsing ([`read_ods`]) is pure and runs before any transaction; the import's rule
//! ([`plan_import`]) compares each row with the organisation of the same code and
//! returns a [`Plan`] (rows and one event per change) and the counts of the
//! [`ImportReport`]; the service applies the plan in one transaction. Search asks the
//! store for *candidates* through an index (organisations having a word, or a postcode,
//! in a range: [`Candidates`]), then checks every query word, ranks and pages here, so
//! every backend orders and pages alike.

mod names;
mod ods;

use std::collections::HashMap;

use time::{Date, OffsetDateTime};

pub use self::names::{readable_name, search_words};
pub use self::ods::{OdsFile, OdsRecord, OdsRows, OdsStatus, RejectReason, Rejected, read_ods};
use crate::page::{Cursor, Page, PageRequest};
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

/// What the store returns candidates by: an index range (R40). The service checks each
/// candidate against the whole query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Candidates {
    /// Organisations having a search word in `[from, to)`.
    Word {
        /// The range's start: the query's most selective (longest) word.
        from: String,
        /// Its end: `from` followed by the greatest character.
        to: String,
    },
    /// Organisations whose postcode is in `[from, to)`.
    Postcode {
        /// The range's start.
        from: String,
        /// Its end.
        to: String,
    },
    /// The organisation of one ODS code.
    OdsCode(OdsCode),
}

impl Candidates {
    /// The range of strings that start with `prefix`: `[prefix, prefix + U+10FFFF)`, in
    /// byte order (SQLite's `BINARY`, PostgreSQL's `"C"`) and in Rust's `str` order alike.
    fn prefix(prefix: &str) -> (String, String) {
        (prefix.to_owned(), format!("{prefix}\u{10FFFF}"))
    }
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

/// The rows of the word index for a name: each distinct search word once, with its
/// relevance — 0 for the name's first word, 1 for the others (R40).
pub fn indexed_words(name: &str) -> Vec<(String, u8)> {
    let mut seen = std::collections::HashSet::new();
    search_words(name)
        .into_iter()
        .enumerate()
        .filter_map(|(i, word)| seen.insert(word.clone()).then(|| (word, u8::from(i > 0))))
        .collect()
}

/// One page of the word index, as a one-word name search reads it (R40, R43): a row per
/// organisation and distinct word of its name in `[from, to)`, keyed `(closed,
/// relevance of that word, name key, id)`, in key order, after `after`, at most `limit`.
/// The page is cut by the index, so a broad prefix costs the page, not its matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WordPage {
    /// The range's start: the query's word.
    pub from: String,
    /// Its end: `from` followed by the greatest character.
    pub to: String,
    /// Rows after this key; from the first if `None`.
    pub after: Option<SearchKey>,
    /// The most rows to return.
    pub limit: usize,
}

/// Below this many index rows, a multi-word search reads its rarest word's candidates
/// whole rather than paging through its first word's.
const FEW_CANDIDATES: u64 = 1_000;

/// A search prepared: the store's candidates, and the test and key of each.
pub(crate) struct PreparedSearch {
    pub(crate) candidates: Option<Candidates>,
    words: Vec<String>,
    postcode: Option<String>,
    /// What a cursor of this search is bound to.
    scope: String,
}

/// Prepares `search`, or refuses it. A query with no word, an empty postcode or an
/// unreadable code finds nothing (`candidates` is `None`).
pub(crate) fn prepare(search: &OrganisationSearch) -> PreparedSearch {
    match search {
        OrganisationSearch::Name(text) => {
            let words = search_words(text);
            let longest = words.iter().max_by_key(|w| w.chars().count()).cloned();
            let candidates = longest.map(|w| {
                let (from, to) = Candidates::prefix(&w);
                Candidates::Word { from, to }
            });
            PreparedSearch { candidates, scope: format!("name:{}", words.join(" ")), words, postcode: None }
        }
        OrganisationSearch::OdsCode(code) => {
            let code = OdsCode::parse(code).ok();
            let scope = format!("code:{}", code.as_ref().map(OdsCode::as_str).unwrap_or_default());
            PreparedSearch { candidates: code.map(Candidates::OdsCode), words: Vec::new(), postcode: None, scope }
        }
        OrganisationSearch::Postcode(text) => {
            let postcode = text.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase();
            let candidates = (!postcode.is_empty()).then(|| {
                let (from, to) = Candidates::prefix(&postcode);
                Candidates::Postcode { from, to }
            });
            PreparedSearch {
                candidates,
                scope: format!("postcode:{postcode}"),
                words: Vec::new(),
                postcode: Some(postcode),
            }
        }
    }
}

impl PreparedSearch {
    /// How a name search reads the store: a one-word search pages through the word
    /// index ([`PreparedSearch::page_by_word`]); so does a longer one whose every word
    /// starts more than [`FEW_CANDIDATES`] index rows (`count` tells), while one with a
    /// rarer word reads that word's candidates whole. `None`: read `candidates`.
    pub(crate) fn word_range(
        &mut self,
        count: &mut dyn FnMut(&str, &str) -> Result<u64, Error>,
    ) -> Result<Option<(String, String)>, Error> {
        let Some(first) = self.words.first() else { return Ok(None) };
        let first = Candidates::prefix(first);
        if self.words.len() == 1 {
            return Ok(Some(first));
        }
        let mut rarest: Option<(u64, (String, String))> = None;
        for word in &self.words {
            let (from, to) = Candidates::prefix(word);
            let n = count(&from, &to)?;
            if rarest.as_ref().is_none_or(|(least, _)| n < *least) {
                rarest = Some((n, (from, to)));
            }
        }
        match rarest {
            Some((n, (from, to))) if n <= FEW_CANDIDATES => {
                self.candidates = Some(Candidates::Word { from, to });
                Ok(None)
            }
            _ => Ok(Some(first)),
        }
    }

    /// A one-word search's page: index rows in key order, a batch at a time, each kept
    /// unless it is the organisation's second row (a name can have several words the
    /// query starts; the first-word row, at relevance 0, is the one listed) — the same
    /// page [`PreparedSearch::page`] gives from every candidate.
    pub(crate) fn page_by_word(
        &self,
        (from, to): (String, String),
        r: &dyn crate::store::ReadTx,
        request: &PageRequest,
    ) -> Result<Page<Organisation>, Error> {
        let limit = request.limit()?;
        let mut after = self.after(request)?;
        let mut matched: Vec<(SearchKey, Organisation)> = Vec::new();
        'pages: loop {
            // A multi-word search keeps fewer rows than it reads: read more at a time.
            let batch = (limit + 1 - matched.len()).max(if self.words.len() > 1 { 256 } else { 0 });
            let rows = r.organisations_by_word(&WordPage {
                from: from.clone(),
                to: to.clone(),
                after: after.clone(),
                limit: batch,
            })?;
            let exhausted = rows.len() < batch;
            for (key, organisation) in rows {
                after = Some(key.clone());
                let first_word_matched = self.matches(&organisation);
                let listed_first = key.1 != 0 && first_word_matched == Some(true);
                let twin = matched.last().is_some_and(|(last, _)| *last == key);
                if listed_first || twin || first_word_matched.is_none() {
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
        Ok(self.cut(matched, limit))
    }

    /// Where `request`'s cursor says the previous page ended.
    fn after(&self, request: &PageRequest) -> Result<Option<SearchKey>, Error> {
        match &request.cursor {
            Some(cursor) => {
                let fields = cursor.decode("organisation search", &self.scope)?;
                Ok(Some(decode_key(&fields).ok_or_else(|| Cursor::invalid("organisation search"))?))
            }
            None => Ok(None),
        }
    }

    /// The page of `matched` (in key order, at most one past the limit) and the cursor
    /// of the next.
    fn cut(&self, mut matched: Vec<(SearchKey, Organisation)>, limit: usize) -> Page<Organisation> {
        let more = matched.len() > limit;
        matched.truncate(limit);
        let next = match (more, matched.last()) {
            (true, Some((key, _))) => Some(Cursor::encode("organisation search", &self.scope, &encode_key(key))),
            _ => None,
        };
        Page { items: matched.into_iter().map(|(_, o)| o).collect(), next }
    }

    /// The page of `found` (the store's candidates) that `request` asks for: each
    /// checked against the whole query, ordered by [`SearchKey`], after the cursor's key.
    pub(crate) fn page(&self, found: Vec<Organisation>, request: &PageRequest) -> Result<Page<Organisation>, Error> {
        let limit = request.limit()?;
        let after = self.after(request)?;
        let mut matched: Vec<(SearchKey, Organisation)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for organisation in found {
            if !seen.insert(organisation.id) {
                continue;
            }
            let Some(first) = self.matches(&organisation) else { continue };
            let key = search_key(&organisation, first);
            if after.as_ref().is_none_or(|after| key > *after) {
                matched.push((key, organisation));
            }
        }
        // Only the page and the one after it need ordering: select them, then sort them.
        if matched.len() > limit + 1 {
            matched.select_nth_unstable_by(limit + 1, |a, b| a.0.cmp(&b.0));
            matched.truncate(limit + 1);
        }
        matched.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(self.cut(matched, limit))
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
        let name = search_words(organisation.name.as_str());
        let all = self.words.iter().all(|q| name.iter().any(|w| w.starts_with(q.as_str())));
        let first = self.words.first().is_some_and(|q| name.first().is_some_and(|w| w.starts_with(q.as_str())));
        all.then_some(first)
    }
}

fn encode_key(key: &SearchKey) -> Vec<String> {
    vec![u8::from(key.0).to_string(), key.1.to_string(), key.2.clone(), key.3.to_string()]
}

fn decode_key(fields: &[String]) -> Option<SearchKey> {
    let [closed, rank, name, id] = fields else { return None };
    let closed = match closed.as_str() {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    Some((closed, rank.parse().ok()?, name.clone(), id.parse().ok()?))
}

#[cfg(test)]
mod tests;
