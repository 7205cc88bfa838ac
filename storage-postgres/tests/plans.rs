//! Query plans on PostgreSQL (R11, R40, R43): the directory's reads are index seeks —
//! the prefixes' primary key (walked in its order, no sort), the postcode index — and a
//! page of discovery walks the index its filter chooses in byte order; never a
//! sequential scan, and a page of members walks the list's index, at a size (20,000 organisations, 360,000 prefixes, 20,000
//! workspaces) where the planner would rather scan than use an index it cannot.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use carespace_sql::{MEMBERS_PAGE, ORGANISATIONS_BY_POSTCODE, ORGANISATIONS_BY_PREFIX, ORGANISATIONS_BY_PREFIX_PAGE};

fn explain(client: &mut postgres::Client, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> String {
    let rows = client.query(&format!("EXPLAIN {sql}"), params).unwrap();
    rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
}

#[test]
fn r11_r40_r43_directory_searches_and_discovery_pages_use_indexes() {
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
    // A page of discovery (R11, R43), whichever organisation is the big one: unfiltered,
    // the active names of one organisation walked in byte order from the cursor's; of a
    // speciality, that speciality's; of a word, the word's prefix rows; of a colleague,
    // their memberships, read by user.
    client
        .batch_execute(
            "INSERT INTO users (id, email, name, registered_at) VALUES (gen_random_uuid(), 'p@nhs.net', 'P', 0);
             INSERT INTO workspaces (id, organisation, name, name_key, speciality, description, status, created_by,
                                     created_at)
                 SELECT gen_random_uuid(), o.id, 'Ward ' || n, 'ward ' || n, 100 + n % 800, '', 'active', u.id, 0
                 FROM (SELECT id FROM organisations ORDER BY ods_code LIMIT 20) o, users u,
                      generate_series(1, 1000) AS n;
             INSERT INTO workspace_prefixes (organisation, prefix, name_key, workspace)
                 SELECT w.organisation, p, w.name_key, w.id
                 FROM workspaces w,
                      LATERAL (SELECT substr('ward', 1, i) FROM generate_series(1, 4) AS i
                               UNION SELECT substr(substr(w.name_key, 6), 1, i)
                                     FROM generate_series(1, length(w.name_key) - 5) AS i) AS t(p);
             INSERT INTO users (id, email, name, registered_at)
                 SELECT gen_random_uuid(), 'u' || n || '@nhs.net', 'U', 0 FROM generate_series(1, 200) AS n;
             INSERT INTO memberships (workspace, \"user\", role, status, joined_at, updated_at, organisation,
                                      workspace_active, in_organisation)
                 SELECT w.id, u.id, 'member', 'approved', 0, 0, w.organisation, true, false
                 FROM workspaces w JOIN (SELECT id, row_number() OVER () AS r FROM users) u
                   ON u.r % 100 = substr(w.name_key, 6)::int % 100;
             ANALYZE workspaces; ANALYZE workspace_prefixes; ANALYZE memberships;",
        )
        .unwrap();
    let (organisation, user): (uuid::Uuid, uuid::Uuid) = {
        let query =
            "SELECT w.organisation, m.\"user\" FROM memberships m JOIN workspaces w ON w.id = m.workspace LIMIT 1";
        let row = client.query_one(query, &[]).unwrap();
        (row.get(0), row.get(1))
    };
    let pages = carespace_sql::discovery_pages!(" COLLATE \"C\"", "", "NULL");
    let (no_word, no_speciality): (Option<&str>, Option<i32>) = (None, None);
    let from: (&uuid::Uuid, &str, i64) = (&organisation, "ward 5", 51);
    let cases: [(&str, Vec<&(dyn postgres::types::ToSql + Sync)>, &str); 4] = [
        ("names", vec![], "workspaces_discovery"),
        ("speciality", vec![&501_i32], "workspaces_by_speciality"),
        ("word", vec![&"7", &no_speciality], "workspace_prefixes_pkey"),
        ("colleague", vec![&user, &no_word, &no_speciality], "memberships_by_user"),
    ];
    for ((what, more, index), sql) in cases.into_iter().zip(pages) {
        let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![from.0, &from.1, &from.2];
        params.extend(more);
        let page = explain(&mut client, sql, &params);
        assert!(!page.contains("Seq Scan"), "{what}: {page}");
        assert!(page.contains(index), "{what}: {page}");
        if what != "colleague" {
            assert!(!page.contains("Sort"), "{what}: {page}");
        }
    }
    // A page of a ward's members (R22, R43), in a ward of 5,000: a walk of the list's
    // index from the cursor's key, no sort.
    client
        .batch_execute(
            "INSERT INTO users (id, email, name, name_key, registered_at)
                 SELECT gen_random_uuid(), 'm' || n || '@nhs.net', 'M' || n, 'm' || n, 0
                 FROM generate_series(1, 5000) AS n;
             INSERT INTO memberships (workspace, \"user\", role, status, joined_at, updated_at, list_rank, name_key,
                                      organisation, workspace_active, in_organisation)
                 SELECT w.id, u.id, 'member', 'unapproved', 0, 0, 2, u.name_key, w.organisation, true, false
                 FROM users u, (SELECT id, organisation FROM workspaces ORDER BY id LIMIT 1) w
                 WHERE u.email LIKE 'm%';
             ANALYZE users; ANALYZE memberships;",
        )
        .unwrap();
    let ward: uuid::Uuid = client.query_one("SELECT id FROM workspaces ORDER BY id LIMIT 1", &[]).unwrap().get(0);
    let members = explain(&mut client, MEMBERS_PAGE, &[&ward, &1_i32, &"m2", &uuid::Uuid::nil(), &51_i64]);
    assert!(!members.contains("Seq Scan"), "{members}");
    assert!(!members.contains("Sort"), "{members}");
    assert!(members.contains("memberships_page"), "{members}");
    let postcodes = explain(&mut client, ORGANISATIONS_BY_POSTCODE, &[&"TS18 1", &"TS18 1\u{10FFFF}"]);
    assert!(!postcodes.contains("Seq Scan"), "{postcodes}");
    assert!(postcodes.contains("organisations_by_postcode"), "{postcodes}");
    client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}
