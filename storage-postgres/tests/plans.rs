//! Query plans on PostgreSQL (R40): the directory's reads are index seeks — the
//! prefixes' primary key (walked in its order, no sort), the postcode index — never a
//! sequential scan, at a size (20,000 organisations, 360,000 prefixes) where the planner
//! would rather scan than use an index it cannot.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use carespace_sql::{ORGANISATIONS_BY_POSTCODE, ORGANISATIONS_BY_PREFIX, ORGANISATIONS_BY_PREFIX_PAGE};

fn explain(client: &mut postgres::Client, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> String {
    let rows = client.query(&format!("EXPLAIN {sql}"), params).unwrap();
    rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
}

#[test]
fn r40_directory_searches_use_indexes() {
    let schema = format!("plans_{}", std::process::id());
    drop(common::store_in(&schema)); // creates and migrates the schema
    let mut client = postgres::Client::connect(&common::url(), postgres::NoTls).unwrap();
    client
        .batch_execute(&format!(
            "SET search_path TO {schema};
             INSERT INTO organisations (id, name, kind, ods_code, registered_at, postcode)
                 SELECT gen_random_uuid(), 'Practice ' || n, 'gp_practice', 'P' || n, 0,
                        'TS' || (n % 90 + 10) || ' ' || (n % 9) || 'AB'
                 FROM generate_series(10000, 29999) AS n;
             INSERT INTO organisation_prefixes (prefix, organisation, closed, relevance, name_key)
                 SELECT substr(w, 1, i), id, 0, min(CASE WHEN pos = 1 THEN 0 ELSE 1 END), lower(name)
                 FROM organisations,
                      unnest(ARRAY['practice', lower(ods_code), 'ward']) WITH ORDINALITY AS t(w, pos),
                      generate_series(1, length(w)) AS i
                 GROUP BY 1, 2, 5;
             ANALYZE organisations; ANALYZE organisation_prefixes;"
        ))
        .unwrap();
    let candidates = explain(&mut client, ORGANISATIONS_BY_PREFIX, &[&"p1234"]);
    assert!(!candidates.contains("Seq Scan"), "{candidates}");
    assert!(candidates.contains("organisation_prefixes_pkey"), "{candidates}");
    // A page of a search whose words every organisation has: a walk of the key in its
    // order, cut before the join, the other word probed by the second index.
    let none: Option<&str> = None;
    let page = explain(
        &mut client,
        ORGANISATIONS_BY_PREFIX_PAGE,
        &[&"pr", &"wa", &none, &-1_i64, &0_i64, &"", &uuid::Uuid::nil(), &51_i64],
    );
    assert!(!page.contains("Seq Scan"), "{page}");
    assert!(!page.contains("Sort"), "{page}");
    assert!(page.contains("organisation_prefixes_pkey"), "{page}");
    assert!(page.contains("organisation_prefixes_of"), "{page}");
    assert!(!page.contains("hashed"), "{page}");
    let postcodes = explain(&mut client, ORGANISATIONS_BY_POSTCODE, &[&"TS18 1", &"TS18 1\u{10FFFF}"]);
    assert!(!postcodes.contains("Seq Scan"), "{postcodes}");
    assert!(postcodes.contains("organisations_by_postcode"), "{postcodes}");
    client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}
