//! Query plans on PostgreSQL (R40): the directory's candidate reads are ranges of an
//! index — the words' primary key, the postcode index — never a sequential scan, at a
//! size (20,000 organisations, 60,000 words) where the planner would rather scan than
//! use an index it cannot.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use carespace_sql::{ORGANISATIONS_BY_POSTCODE, ORGANISATIONS_BY_WORD, ORGANISATIONS_BY_WORD_PAGE};

fn explain(client: &mut postgres::Client, sql: &str, from: &str, to: &str) -> String {
    let rows = client.query(&format!("EXPLAIN {sql}"), &[&from, &to]).unwrap();
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
             INSERT INTO organisation_words (word, organisation, closed, relevance, name_key)
                 SELECT w, id, 0, CASE WHEN w = 'practice' THEN 0 ELSE 1 END, lower(name)
                 FROM organisations, unnest(ARRAY['practice', 'p' || substr(ods_code, 2), 'ward']) AS w;
             ANALYZE organisations; ANALYZE organisation_words;"
        ))
        .unwrap();
    let words = explain(&mut client, ORGANISATIONS_BY_WORD, "p1234", "p1234\u{10FFFF}");
    assert!(!words.contains("Seq Scan"), "{words}");
    assert!(words.contains("organisation_words_pkey"), "{words}");
    // A one-word search's page: the range of the words' key, cut before the join.
    let page = client
        .query(
            &format!("EXPLAIN {ORGANISATIONS_BY_WORD_PAGE}"),
            &[&"p1", &"p1\u{10FFFF}", &-1_i64, &0_i64, &"", &uuid::Uuid::nil(), &51_i64],
        )
        .unwrap();
    let page = page.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n");
    assert!(!page.contains("Seq Scan"), "{page}");
    assert!(page.contains("organisation_words_pkey"), "{page}");
    let postcodes = explain(&mut client, ORGANISATIONS_BY_POSTCODE, "TS18 1", "TS18 1\u{10FFFF}");
    assert!(!postcodes.contains("Seq Scan"), "{postcodes}");
    assert!(postcodes.contains("organisations_by_postcode"), "{postcodes}");
    client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}
