//! Pages of a list (R43): a limit, an opaque cursor for the next page, and the cursor's
//! encoding, bound to the list and the query it came from.
//!
//! # Design
//! A cursor carries the sort key of the last entry returned (keyset paging, not an
//! offset), so entries inserted or removed before it neither repeat nor skip the
//! entries after it. Its bytes are the key's fields, length-prefixed, after a hash of
//! the list's name and the query's scope, and before a checksum of everything; written
//! in hex. A cursor altered, cut short, or taken from another list or query fails to
//! decode with [`Error::InvalidCursor`]. The checksum catches corruption, not a forger:
//! a forged cursor can only move the position within the same list and query, whose
//! permission checks apply to every page.

use std::fmt;

use crate::Error;

/// The number of entries a page holds when the caller does not say.
pub const DEFAULT_PAGE: u32 = 50;

/// The most entries one page may hold.
pub const MAX_PAGE: u32 = 1_000;

/// Which page to return: up to `limit` entries ([`DEFAULT_PAGE`] if `None`, at most
/// [`MAX_PAGE`]) after `cursor` (from the start if `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PageRequest {
    /// The most entries to return.
    pub limit: Option<u32>,
    /// Where the previous page ended.
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    /// The first page of `limit` entries.
    pub fn first(limit: u32) -> Self {
        Self { limit: Some(limit), cursor: None }
    }

    /// The page after `cursor`, of `limit` entries.
    pub fn after(cursor: Cursor, limit: Option<u32>) -> Self {
        Self { limit, cursor: Some(cursor) }
    }

    /// The limit asked for, checked: 1 to [`MAX_PAGE`].
    pub(crate) fn limit(&self) -> Result<usize, Error> {
        match self.limit.unwrap_or(DEFAULT_PAGE) {
            limit @ 1..=MAX_PAGE => Ok(limit as usize),
            limit => Err(Error::InvalidLimit { limit, max: MAX_PAGE }),
        }
    }
}

/// One page of a list, and the cursor of the next (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Page<T> {
    /// The entries, in the list's order.
    pub items: Vec<T>,
    /// The cursor of the next page, if there are more entries.
    pub next: Option<Cursor>,
}

/// Where a page ended: pass it back in a [`PageRequest`] for the next. Opaque: its text
/// is for storing and sending, not for reading.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({})", self.0)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Cursor {
    /// A cursor as a host stored or received it (checked when it is used).
    pub fn from_text(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// Its text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The cursor of `fields` (a sort key) in `list` under `scope` (the query).
    pub(crate) fn encode(list: &str, scope: &str, fields: &[String]) -> Self {
        let mut bytes = fnv(&[list.as_bytes(), b"\0", scope.as_bytes()]).to_be_bytes().to_vec();
        for field in fields {
            let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(field.as_bytes());
        }
        let sum = fnv(&[&bytes]);
        bytes.extend_from_slice(&sum.to_be_bytes());
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The fields of a cursor of `list` under `scope`, or [`Error::InvalidCursor`].
    pub(crate) fn decode(&self, list: &'static str, scope: &str) -> Result<Vec<String>, Error> {
        let invalid = || Self::invalid(list);
        let text = self.0.as_bytes();
        if !text.len().is_multiple_of(2) || text.len() < 32 {
            return Err(invalid());
        }
        let bytes = text
            .chunks(2)
            .map(|pair| std::str::from_utf8(pair).ok().and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(invalid)?;
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        if fnv(&[body]).to_be_bytes() != sum {
            return Err(invalid());
        }
        let (bound, mut rest) = body.split_at(8);
        if fnv(&[list.as_bytes(), b"\0", scope.as_bytes()]).to_be_bytes() != bound {
            return Err(invalid());
        }
        let mut fields = Vec::new();
        while !rest.is_empty() {
            let (len, after) = rest.split_at_checked(4).ok_or_else(invalid)?;
            let len = u32::from_be_bytes(len.try_into().map_err(|_| invalid())?) as usize;
            let (field, after) = after.split_at_checked(len).ok_or_else(invalid)?;
            fields.push(String::from_utf8(field.to_vec()).map_err(|_| invalid())?);
            rest = after;
        }
        Ok(fields)
    }

    /// The error for a cursor that does not belong to `list` or its query.
    pub(crate) fn invalid(list: &'static str) -> Error {
        Error::InvalidCursor { list }
    }
}

/// One field of a list's sort key, as a cursor carries it: text that reads back to
/// the same value.
pub(crate) trait KeyField: Sized {
    /// The field's text.
    fn to_field(&self) -> String;
    /// The value of a field's text; `None` if it is not one.
    fn from_field(field: &str) -> Option<Self>;
}

macro_rules! parsed_key_fields {
    ($($t:ty),*) => {$(
        impl KeyField for $t {
            fn to_field(&self) -> String {
                self.to_string()
            }
            fn from_field(field: &str) -> Option<Self> {
                field.parse().ok()
            }
        }
    )*};
}
parsed_key_fields!(
    u8,
    u16,
    u64,
    i128,
    String,
    crate::OrganisationId,
    crate::UserId,
    crate::WorkspaceId,
    crate::InviteId
);

impl KeyField for bool {
    fn to_field(&self) -> String {
        u8::from(*self).to_string()
    }
    fn from_field(field: &str) -> Option<Self> {
        match field {
            "0" => Some(false),
            "1" => Some(true),
            _ => None,
        }
    }
}

/// A list's sort key (R43): ordered as the list is, carried by a cursor field by field.
pub(crate) trait PageKey: Ord + Clone + Sized {
    /// The key's fields, in order.
    fn to_fields(&self) -> Vec<String>;
    /// The key of a cursor's fields; `None` if they are not one.
    fn from_fields(fields: &[String]) -> Option<Self>;
}

macro_rules! tuple_keys {
    ($(($($t:ident $i:tt),+))*) => {$(
        impl<$($t: KeyField + Ord + Clone),+> PageKey for ($($t,)+) {
            fn to_fields(&self) -> Vec<String> {
                vec![$(self.$i.to_field()),+]
            }
            fn from_fields(fields: &[String]) -> Option<Self> {
                let [$($t),+] = fields else { return None };
                Some(($(KeyField::from_field($t)?,)+))
            }
        }
    )*};
}
#[allow(non_snake_case)] // the macro names each field's binding after its type
mod tuples {
    use super::{KeyField, PageKey};
    tuple_keys!((A 0) (A 0, B 1) (A 0, B 1, C 2) (A 0, B 1, C 2, D 3));
}

/// One list's paging (R43): its name (in errors, and what a cursor is bound to) and the
/// query's scope (the organisation, workspace, filter or person it lists for).
pub(crate) struct Listing {
    list: &'static str,
    scope: String,
}

impl Listing {
    /// The paging of `list` for the query `scope`.
    pub(crate) fn new(list: &'static str, scope: impl Into<String>) -> Self {
        Self { list, scope: scope.into() }
    }

    /// The key after which `request` asks for entries: its cursor's, checked to be of
    /// this list and query; `None` for the first page.
    pub(crate) fn after<K: PageKey>(&self, request: &PageRequest) -> Result<Option<K>, Error> {
        match &request.cursor {
            Some(cursor) => {
                let fields = cursor.decode(self.list, &self.scope)?;
                Ok(Some(K::from_fields(&fields).ok_or_else(|| Cursor::invalid(self.list))?))
            }
            None => Ok(None),
        }
    }

    /// The page of `entries` (each with its key, in any order) that `request` asks for:
    /// those after its cursor's key, in key order, at most its limit, with the cursor
    /// of the next page when more follow.
    pub(crate) fn page<K: PageKey, T>(&self, entries: Vec<(K, T)>, request: &PageRequest) -> Result<Page<T>, Error> {
        let limit = request.limit()?;
        let after: Option<K> = self.after(request)?;
        let mut entries: Vec<(K, T)> =
            entries.into_iter().filter(|(key, _)| after.as_ref().is_none_or(|after| key > after)).collect();
        // Only the page and the entry after it need ordering: select them, then sort them.
        if entries.len() > limit + 1 {
            entries.select_nth_unstable_by(limit + 1, |a, b| a.0.cmp(&b.0));
            entries.truncate(limit + 1);
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(self.cut(entries, limit))
    }

    /// The page of `entries` (in key order, at most one past `limit`) and the cursor of
    /// the next.
    pub(crate) fn cut<K: PageKey, T>(&self, mut entries: Vec<(K, T)>, limit: usize) -> Page<T> {
        let more = entries.len() > limit;
        entries.truncate(limit);
        let next = match (more, entries.last()) {
            (true, Some((key, _))) => Some(Cursor::encode(self.list, &self.scope, &key.to_fields())),
            _ => None,
        };
        Page { items: entries.into_iter().map(|(_, t)| t).collect(), next }
    }
}

/// Every entry of a paged list, following its cursors from the first page to the last
/// ([`MAX_PAGE`] at a time): for exports and tools that want the whole list. `page`
/// returns the page a request asks for.
///
/// ```
/// # use carespace::{Carespace, MemoryStore, OrganisationKind};
/// use carespace::directory::OrganisationSearch;
/// use carespace::page::every_page;
/// # let service = Carespace::new(MemoryStore::new());
/// # service.register_organisation("Leeds Teaching Hospitals NHS Trust".parse()?, OrganisationKind::NhsTrust, None)?;
/// let query = OrganisationSearch::Name("leeds".into());
/// let all = every_page(|request| service.search_organisations(&query, request))?;
/// assert_eq!(all.len(), 1);
/// # Ok::<(), carespace::Error>(())
/// ```
pub fn every_page<T>(mut page: impl FnMut(&PageRequest) -> Result<Page<T>, Error>) -> Result<Vec<T>, Error> {
    let mut all = Vec::new();
    let mut request = PageRequest::first(MAX_PAGE);
    loop {
        let Page { items, next } = page(&request)?;
        all.extend(items);
        match next {
            Some(next) => request = PageRequest::after(next, Some(MAX_PAGE)),
            None => return Ok(all),
        }
    }
}

/// 64-bit FNV-1a over `parts` in order: a stable hash (the same in every version and
/// process, unlike the standard library's).
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<String> {
        vec!["0".into(), "1".into(), "guy's and st thomas'".into(), String::new()]
    }

    #[test]
    fn r43_a_cursor_decodes_to_its_fields_in_its_own_list_and_query_only() {
        let cursor = Cursor::encode("organisation search", "name:st thom", &fields());
        assert_eq!(cursor.decode("organisation search", "name:st thom").unwrap(), fields());
        for (list, scope) in [("organisation search", "name:st"), ("members", "name:st thom")] {
            assert!(matches!(cursor.decode(list, scope), Err(Error::InvalidCursor { .. })), "{list} {scope}");
        }
    }

    #[test]
    fn r43_an_altered_or_truncated_cursor_is_refused() {
        let text = Cursor::encode("organisation search", "q", &fields()).0;
        for i in 0..text.len() {
            let mut altered = text.clone().into_bytes();
            altered[i] = if altered[i] == b'0' { b'1' } else { b'0' };
            let altered = Cursor(String::from_utf8(altered).unwrap());
            assert!(altered.decode("organisation search", "q").is_err(), "byte {i}");
            let cut = Cursor(text[..i].to_owned());
            assert!(cut.decode("organisation search", "q").is_err(), "cut at {i}");
        }
        for junk in ["", "zz", "not a cursor", "ééééééééééééééééééééééééééééééééé"] {
            assert!(Cursor::from_text(junk).decode("organisation search", "q").is_err(), "{junk}");
        }
    }

    #[test]
    fn r43_limits_default_to_50_and_stop_at_1000() {
        assert_eq!(PageRequest::default().limit().unwrap(), 50);
        assert_eq!(PageRequest::first(1000).limit().unwrap(), 1000);
        for limit in [0, 1001, u32::MAX] {
            assert!(matches!(PageRequest::first(limit).limit(), Err(Error::InvalidLimit { .. })), "{limit}");
        }
    }
}
