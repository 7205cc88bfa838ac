//! Fuzz target: a page cursor (R43) that is malformed, tampered with, or forged with a
//! valid checksum around arbitrary fields is refused with `InvalidCursor` or yields a
//! page of the same query, never a panic and never an entry the query does not match.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use carespace::directory::{ImportOptions, OdsFile, OrganisationSearch, search_words};
use carespace::page::{Cursor, PageRequest};
use carespace::{Carespace, Error, MemoryStore};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Input {
    /// Any text as a cursor.
    Text(String),
    /// A real cursor's bound (list and query) around fields of the fuzzer's choosing,
    /// with a correct checksum: what an attacker who read the format could send.
    Forged(Vec<String>),
    /// A real cursor with one character changed.
    Tampered { at: usize, to: char },
}

const QUERY: &str = "surgery";

fn world() -> &'static (Carespace, Cursor) {
    static WORLD: OnceLock<(Carespace, Cursor)> = OnceLock::new();
    WORLD.get_or_init(|| {
        let service = Carespace::new(MemoryStore::new());
        let practices = include_str!("../../core/src/testsuite/ods/epraccur.csv");
        service.import_organisations(OdsFile::Practices, practices.as_bytes(), ImportOptions::default()).unwrap();
        let search = OrganisationSearch::Name(QUERY.into());
        let first = service.search_organisations(&search, &PageRequest::first(2)).unwrap();
        (service, first.next.unwrap())
    })
}

/// FNV-1a, as the cursor's checksum: written again here so the target checks the
/// format rather than trusting the library's own helper.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fn forge(real: &Cursor, fields: &[String]) -> Cursor {
    let bound = real.as_str().get(..16).unwrap_or_default();
    let mut body: Vec<u8> =
        (0..bound.len() / 2).filter_map(|i| u8::from_str_radix(&bound[2 * i..2 * i + 2], 16).ok()).collect();
    for field in fields {
        body.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        body.extend_from_slice(field.as_bytes());
    }
    let sum = fnv(&body);
    body.extend_from_slice(&sum.to_be_bytes());
    Cursor::from_text(body.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fuzz_target!(|input: Input| {
    let (service, real) = world();
    let cursor = match input {
        Input::Text(text) => Cursor::from_text(text),
        Input::Forged(fields) => forge(real, &fields),
        Input::Tampered { at, to } => {
            let mut chars: Vec<char> = real.as_str().chars().collect();
            let len = chars.len();
            chars[at % len] = to;
            Cursor::from_text(chars.into_iter().collect::<String>())
        }
    };
    let search = OrganisationSearch::Name(QUERY.into());
    match service.search_organisations(&search, &PageRequest::after(cursor, Some(5))) {
        Ok(page) => {
            for organisation in page.items {
                assert!(search_words(organisation.name.as_str()).iter().any(|w| w.starts_with(QUERY)));
            }
        }
        Err(Error::InvalidCursor { .. }) => {}
        Err(other) => panic!("a cursor gave {other:?}"),
    }
});
