//! Query plans on PostgreSQL (R40, R43): the directory's reads are index seeks — the
//! prefixes' primary key (walked in its order, no sort), the postcode index — and a
//! page of discovery walks the active names of an organisation in byte order; never a
//! sequential scan, at a size (20,000 organisations, 360,000 prefixes, 20,000
//! workspaces) where the planner would rather scan than use an index it cannot.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use carespace_sql::{ORGANISATIONS_BY_POSTCODE, ORGANISATIONS_BY_PREFIX, ORGANISATIONS_BY_PREFIX_PAGE};

fn explain(client: &mut postgres::Client, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> String {
    let rows = client.query(&format!("EXPLAIN {sql}"), params).unwrap();
    rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
}

#[test]
fn r40_r43_directory_searches_and_discovery_pages_use_indexes() {
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
    // A page of discovery (R43): the active names of one organisation walked in byte
    // order from the cursor's, whichever organisation is the big one.
    client
        .batch_execute(
            "INSERT INTO users (id, email, name, registered_at) VALUES (gen_random_uuid(), 'p@nhs.net', 'P', 0);
             INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by,
                                     created_at)
                 SELECT gen_random_uuid(), o.id, 'Ward ' || n, 'ward ' || n, 100 + n % 800, '', 'active', u.id, 0
                 FROM (SELECT id FROM organisations ORDER BY ods_code LIMIT 20) o, users u,
                      generate_series(1, 1000) AS n;
             ANALYZE workspaces;",
        )
        .unwrap();
    let organisation: uuid::Uuid = client.query_one("SELECT organisation FROM workspaces LIMIT 1", &[]).unwrap().get(0);
    let discovery =
        concat!(carespace_sql::discovery_page_select!(), carespace_sql::discovery_page_from!(" COLLATE \"C\""));
    let none: Option<i32> = None;
    let page = explain(&mut client, discovery, &[&organisation, &none, &"ward 5", &51_i64]);
    assert!(!page.contains("Seq Scan"), "{page}");
    assert!(!page.contains("Sort"), "{page}");
    assert!(page.contains("workspaces_discovery"), "{page}");
    // Of one speciality: the planner may rather read the organisation's few workspaces
    // of it and sort them; it does not scan.
    let page = explain(&mut client, discovery, &[&organisation, &Some(501_i32), &"ward 5", &51_i64]);
    assert!(!page.contains("Seq Scan"), "{page}");
    let postcodes = explain(&mut client, ORGANISATIONS_BY_POSTCODE, &[&"TS18 1", &"TS18 1\u{10FFFF}"]);
    assert!(!postcodes.contains("Seq Scan"), "{postcodes}");
    assert!(postcodes.contains("organisations_by_postcode"), "{postcodes}");
    client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}
