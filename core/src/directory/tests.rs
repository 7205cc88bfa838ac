//! Unit tests of the directory: the import rule on records, and the parser on the
//! whole real files (every row of both reads).

use std::collections::HashMap;

use time::macros::datetime;

use super::*;
use crate::OrganisationKind;

const NOW: OffsetDateTime = datetime!(2026-03-03 09:00 UTC);

fn real(file: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/ods").join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn r40_every_row_of_the_real_files_reads() {
    let trusts = read_ods(OdsFile::Trusts, &real("etr.csv")[..]).unwrap();
    assert_eq!((trusts.records.len(), trusts.rejected.len()), (241, 0), "{:?}", trusts.rejected.first());
    assert!(trusts.records.iter().all(|r| r.kind == OrganisationKind::NhsTrust));
    let practices = read_ods(OdsFile::Practices, &real("epraccur.csv")[..]).unwrap();
    assert_eq!((practices.records.len(), practices.rejected.len()), (14_357, 0), "{:?}", practices.rejected.first());
    let gps = practices.records.iter().filter(|r| r.kind == OrganisationKind::GpPractice).count();
    assert_eq!(gps, 8_204, "prescribing setting 4");
    let closed = practices.records.iter().filter(|r| r.closed()).count();
    assert_eq!(closed, 2_427 + 451, "status C (all with a close date) and D");
    assert!(practices.windows_1252_lines.is_empty());
}

#[test]
fn r40_planning_the_same_records_twice_changes_nothing_the_second_time() {
    let rows = read_ods(OdsFile::Trusts, &real("etr.csv")[..]).unwrap();
    let (plan, report) = plan_import(&rows.records, &HashMap::new(), NOW);
    assert_eq!((report.added, plan.changes.len(), plan.events.len()), (241, 241, 241));
    let existing: HashMap<OdsCode, Organisation> = plan
        .changes
        .iter()
        .map(|c| match c {
            Change::Organisation(o) => (o.ods_code.clone().unwrap(), o.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    let (plan, report) = plan_import(&rows.records, &existing, NOW + time::Duration::days(1));
    assert_eq!((report.unchanged, plan.changes.len(), plan.events.len()), (241, 0, 0));
}

/// R40, R43: on the whole directory, a search that pages through the prefix index gives
/// the list that reading every candidate gives, once each, whichever way it is paged —
/// one-word searches, and longer ones whose words are all common or whose first word
/// is rare.
#[test]
fn r40_prefix_index_pages_agree_with_every_candidate_on_the_real_directory() {
    use crate::store::Store;
    let store = std::sync::Arc::new(crate::MemoryStore::new());
    let service = crate::Carespace::from_arc(store.clone());
    for (file, name) in [(OdsFile::Trusts, "etr.csv"), (OdsFile::Practices, "epraccur.csv")] {
        service.import_organisations(file, &real(name)[..], ImportOptions::default()).unwrap();
    }
    // "the surg" and "surgery the" page through the index: both words are common;
    // "york s" too: its first word is rare. "s york" reads the candidates of "york".
    for (word, common) in [("the", true), ("surg", true), ("york", false)] {
        let mut n = 0;
        store
            .read(&mut |r| {
                n = r.count_prefix(word, u64::MAX)?;
                Ok(())
            })
            .unwrap();
        assert_eq!(n > FEW_CANDIDATES, common, "{word}: {n}");
    }
    for text in ["m", "surgery", "the surg", "st m", "medical centre", "surgery the", "york s", "s york", "s m c h"] {
        let query = OrganisationSearch::Name(text.into());
        // Every candidate of the query's longest word, checked, ordered and cut.
        let mut every = Vec::new();
        let mut request = PageRequest::first(MAX_PAGE_FOR_TEST);
        let words = search_words(text);
        let longest = words.iter().max_by_key(|w| w.len()).unwrap();
        loop {
            let mut prepared = prepare(&query);
            prepared.candidates = Some(Candidates::Prefix(longest.clone()));
            let mut page = None;
            store
                .read(&mut |r| {
                    let found = r.organisation_candidates(prepared.candidates.as_ref().unwrap())?;
                    page = Some(prepared.page(found, &request).unwrap());
                    Ok(())
                })
                .unwrap();
            let page = page.unwrap();
            every.extend(page.items.into_iter().map(|o| o.id));
            match page.next {
                Some(next) => request = PageRequest::after(next, Some(MAX_PAGE_FOR_TEST)),
                None => break,
            }
        }
        assert!(every.len() > 7 * 3, "{text}: {}", every.len());
        // The service's way, seven at a time.
        let mut paged = Vec::new();
        let mut request = PageRequest::first(7);
        loop {
            let page = service.search_organisations(&query, &request).unwrap();
            paged.extend(page.items.into_iter().map(|o| o.id));
            match page.next {
                Some(next) => request = PageRequest::after(next, Some(7)),
                None => break,
            }
        }
        assert_eq!(paged, every, "{text}");
    }
}

const MAX_PAGE_FOR_TEST: u32 = 1_000;
