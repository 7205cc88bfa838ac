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
