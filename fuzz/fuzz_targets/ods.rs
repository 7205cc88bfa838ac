//! Fuzz target: reading an ODS file (R40) never panics, whatever its bytes; every row
//! is either a record or a rejection (in file order, with its line), and what is read plans an import without panic.
#![no_main]

use std::collections::HashMap;

use carespace::directory::{OdsFile, plan_import, read_ods, readable_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&which, bytes)) = input.split_first() else { return };
    let file = if which % 2 == 0 { OdsFile::Trusts } else { OdsFile::Practices };
    let Ok(rows) = read_ods(file, bytes) else { return };
    let lines: Vec<u64> = rows.rejected.iter().map(|r| r.line).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "rejections in file order: {lines:?}");
    assert!(lines.iter().all(|&line| line >= 1), "lines count from 1");
    for record in &rows.records {
        assert!(!record.name.as_str().is_empty());
        // The readable name only changes the case of an ASCII source's letters.
        if record.source_name.is_ascii() {
            let readable = readable_name(&record.source_name);
            assert_eq!(readable.to_ascii_lowercase(), record.source_name.to_ascii_lowercase());
        }
    }
    let (plan, report) = plan_import(&rows.records, &HashMap::new(), time::OffsetDateTime::UNIX_EPOCH);
    assert_eq!(report.added, rows.records.len());
    assert!(plan.events.len() >= rows.records.len());
});
