//! Fuzz target: a page cursor (R43) that is malformed, tampered with, or forged with a
//! valid checksum around arbitrary fields is refused with `InvalidCursor` or yields a
//! page of the same query, never a panic and never an entry the query does not match:
//! for organisation search, and for the members of one ward beside another.
#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use carespace::directory::{ImportOptions, OdsFile, OrganisationSearch, search_words};
use carespace::page::{Cursor, PageRequest, every_page};
use carespace::{Carespace, Error, MemoryStore, NewWorkspace, Speciality, UserId, WorkspaceId};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    /// Members of the ward rather than organisation search.
    members: bool,
    cursor: Made,
}

#[derive(Debug, Arbitrary)]
enum Made {
    /// Any text as a cursor.
    Text(String),
    /// A real cursor's bound (list and query) around fields of the fuzzer's choosing,
    /// with a correct checksum: what an attacker who read the format could send.
    Forged(Vec<String>),
    /// A real cursor with one character changed.
    Tampered { at: usize, to: char },
}

const QUERY: &str = "surgery";

struct World {
    service: Carespace,
    /// A cursor of the search for [`QUERY`].
    search: Cursor,
    /// The ward, its admin, its members, and a cursor of its member list.
    ward: WorkspaceId,
    admin: UserId,
    on_the_ward: HashSet<UserId>,
    members: Cursor,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let service = Carespace::new(MemoryStore::new());
        let practices = include_str!("../../core/src/testsuite/ods/epraccur.csv");
        service.import_organisations(OdsFile::Practices, practices.as_bytes(), ImportOptions::default()).unwrap();
        let search = OrganisationSearch::Name(QUERY.into());
        let first = service.search_organisations(&search, &PageRequest::first(2)).unwrap();
        // Two wards of one trust, with members of their own.
        let (_, users, ward) = carespace::testsuite::trust_with_ward(&service, 6);
        let admin = users[0].id;
        let other = NewWorkspace {
            name: "Ward 3".parse().unwrap(),
            speciality: Speciality::from_code(501).unwrap(),
            description: Default::default(),
        };
        let stranger = users[5].id;
        let beside = service.create_workspace(stranger, ward.organisation, other).unwrap().workspace;
        for user in &users[1..3] {
            service.request_to_join(user.id, ward.id).unwrap();
        }
        for user in &users[3..5] {
            service.request_to_join(user.id, beside.id).unwrap();
        }
        let on_the_ward = every_page(|p| service.members(admin, ward.id, p)).unwrap().iter().map(|m| m.user.id).collect();
        let members = service.members(admin, ward.id, &PageRequest::first(2)).unwrap().next.unwrap();
        World { service, search: first.next.unwrap(), ward: ward.id, admin, on_the_ward, members }
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
    let world = world();
    let real = if input.members { &world.members } else { &world.search };
    let cursor = match input.cursor {
        Made::Text(text) => Cursor::from_text(text),
        Made::Forged(fields) => forge(real, &fields),
        Made::Tampered { at, to } => {
            let mut chars: Vec<char> = real.as_str().chars().collect();
            let len = chars.len();
            chars[at % len] = to;
            Cursor::from_text(chars.into_iter().collect::<String>())
        }
    };
    let request = PageRequest::after(cursor, Some(5));
    if input.members {
        match world.service.members(world.admin, world.ward, &request) {
            Ok(page) => {
                for member in page.items {
                    assert!(world.on_the_ward.contains(&member.user.id), "someone else's member");
                }
            }
            Err(Error::InvalidCursor { .. }) => {}
            Err(other) => panic!("a cursor gave {other:?}"),
        }
        return;
    }
    let search = OrganisationSearch::Name(QUERY.into());
    match world.service.search_organisations(&search, &request) {
        Ok(page) => {
            for organisation in page.items {
                assert!(search_words(organisation.name.as_str()).iter().any(|w| w.starts_with(QUERY)));
            }
        }
        Err(Error::InvalidCursor { .. }) => {}
        Err(other) => panic!("a cursor gave {other:?}"),
    }
});
