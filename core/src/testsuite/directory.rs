//! The conformance cases of the organisation directory (R40): imports of real ODS
//! excerpts (`ods/etr.csv`: 6 trusts, `ods/epraccur.csv`: 54 practices and other
//! prescribing settings, every status and setting the full file has), a later file that
//! renames, closes and reopens, bad rows, search, and closed organisations.

use std::collections::HashSet;
use std::sync::Arc;

use time::Duration;
use time::macros::date;

use super::Harness;
use crate::directory::{ImportOptions, ImportReport, OdsFile, OrganisationSearch, RejectReason};
use crate::page::{Cursor, PageRequest};
use crate::{Clock, Error, EventKind, OdsCode, Organisation, OrganisationKind, Store};

/// The trusts excerpt (real rows of `etr.csv`).
pub const TRUSTS: &str = include_str!("ods/etr.csv");
/// The practices excerpt (real rows of `epraccur.csv`).
pub const PRACTICES: &str = include_str!("ods/epraccur.csv");

fn import(h: &Harness, file: OdsFile, csv: &str) -> ImportReport {
    h.ok(|s| s.import_organisations(file, csv.as_bytes(), ImportOptions::default()))
}

fn by_code(h: &Harness, code: &str) -> Organisation {
    let code: OdsCode = code.parse().unwrap();
    h.service.organisation_by_ods(&code).unwrap().unwrap_or_else(|| panic!("{code} was not imported"))
}

/// The events appended since `seq`.
fn events_after(h: &Harness, seq: u64) -> Vec<EventKind> {
    h.service.events_since(seq, 100_000).unwrap().into_iter().map(|e| e.kind).collect()
}

fn head(h: &Harness) -> u64 {
    h.service.events_since(0, usize::MAX).unwrap().last().map_or(0, |e| e.seq)
}

/// `csv` with the row of `code` changed by `edit` (its fields, unquoted), every field
/// written quoted.
pub fn edited(csv: &str, code: &str, edit: impl Fn(&mut Vec<String>)) -> String {
    let mut out = String::new();
    for line in csv.lines() {
        let mut fields: Vec<String> = split(line);
        if fields.first().map(String::as_str) == Some(code) {
            edit(&mut fields);
        }
        let quoted: Vec<String> = fields.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    }
    out
}

/// The fields of one CSV line (quotes as the ODS files use them: whole fields, `""`
/// inside).
fn split(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// R40: the real excerpts import with readable names, kinds from the prescribing
/// settings and closures from close dates and statuses; a second import changes
/// nothing and appends nothing; a later file's renames, closures and reopenings are one
/// event each; an organisation registered by hand with a code in the file is the same
/// organisation.
pub fn r40_importing_ods_files_is_idempotent_and_each_change_is_one_event(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let by_hand = h.ok(|s| {
        s.register_organisation(
            "East London Foundation Trust".parse()?,
            OrganisationKind::NhsTrust,
            Some("RWK".parse()?),
        )
    });
    let before = head(&h);
    let trusts = import(&h, OdsFile::Trusts, TRUSTS);
    // RWK, registered by hand: renamed, and given the file's spelling and postcode.
    assert_eq!((trusts.added, trusts.renamed, trusts.updated, trusts.unchanged), (5, 1, 1, 0), "{trusts:?}");
    assert!(trusts.rejected.is_empty(), "{:?}", trusts.rejected);
    let practices = import(&h, OdsFile::Practices, PRACTICES);
    assert_eq!((practices.added, practices.unchanged), (54, 0), "{practices:?}");
    assert!(practices.rejected.is_empty(), "{:?}", practices.rejected);
    let events = events_after(&h, before);
    assert_eq!(events.len(), 5 + 2 + 54);
    assert!(events.iter().any(|e| matches!(e, EventKind::OrganisationRenamed { organisation, name, .. }
        if *organisation == by_hand.id && name.as_str() == "East London NHS Foundation Trust")));
    assert_eq!(events.iter().filter(|e| matches!(e, EventKind::OrganisationRegistered { .. })).count(), 59);

    let guys = by_code(&h, "RJ1");
    assert_eq!(guys.name.as_str(), "Guy's and St Thomas' NHS Foundation Trust");
    assert_eq!(guys.source_name.as_deref(), Some("GUY'S AND ST THOMAS' NHS FOUNDATION TRUST"));
    assert_eq!(guys.kind, OrganisationKind::NhsTrust);
    assert_eq!(by_code(&h, "RWK").id, by_hand.id, "the code is the identity");
    let densham = by_code(&h, "A81001");
    assert_eq!((densham.name.as_str(), densham.postcode.as_deref()), ("The Densham Surgery", Some("TS18 1HU")));
    assert_eq!(densham.closed_on, None);
    assert_eq!(by_code(&h, "A81003").closed_on, Some(date!(2017 - 10 - 31)), "a close date");
    assert_eq!(by_code(&h, "A81632").closed_on, Some(h.clock.now().date()), "status D: dormant, closed today");
    assert_eq!(by_code(&h, "Y06550").closed_on, None, "status P: proposed, open");
    for (code, kind) in [
        ("A81044", OrganisationKind::GpPractice),
        ("A85621", OrganisationKind::OutOfHours),
        ("F84743", OrganisationKind::WalkInCentre),
        ("Y00296", OrganisationKind::WalkInCentre),
        ("N83638", OrganisationKind::UrgentCare),
        ("A83642", OrganisationKind::CommunityService),
        ("B83666", OrganisationKind::HospitalService),
        ("P81786", OrganisationKind::Optometry),
        ("G81668", OrganisationKind::Hospice),
        ("B83662", OrganisationKind::CareHome),
        ("W00118", OrganisationKind::JusticeHealth),
        ("A85619", OrganisationKind::Other),
    ] {
        assert_eq!(by_code(&h, code).kind, kind, "{code}");
    }

    // The same files again, days later: nothing changes, nothing is appended (the
    // dormant practice keeps the day it was first seen closed).
    h.clock.advance(Duration::days(3));
    let seq = head(&h);
    let again = import(&h, OdsFile::Practices, PRACTICES);
    assert_eq!((again.added, again.unchanged), (0, 54), "{again:?}");
    let again = import(&h, OdsFile::Trusts, TRUSTS);
    assert_eq!((again.added, again.unchanged), (0, 6), "{again:?}");
    assert_eq!(head(&h), seq, "a second import appended events");

    // A later file: one rename, one closure, one reopening, one new postcode.
    let later = edited(PRACTICES, "A81001", |f| f[1] = "DENSHAM SURGERY".into());
    let later = edited(&later, "A81002", |f| {
        f[11] = "20200331".into();
        f[12] = "C".into();
    });
    let later = edited(&later, "A81003", |f| {
        f[11] = String::new();
        f[12] = "A".into();
    });
    let later = edited(&later, "A81044", |f| f[9] = "TS25 1QV".into());
    let report = import(&h, OdsFile::Practices, &later);
    assert_eq!(
        (report.added, report.renamed, report.closed, report.reopened, report.updated, report.unchanged),
        (0, 1, 1, 1, 1, 50),
        "{report:?}"
    );
    let (densham, queens, victoria, mckenzie) =
        (by_code(&h, "A81001"), by_code(&h, "A81002"), by_code(&h, "A81003"), by_code(&h, "A81044"));
    assert_eq!(
        events_after(&h, seq),
        [
            EventKind::OrganisationRenamed {
                organisation: densham.id,
                name: "Densham Surgery".parse().unwrap(),
                previous: "The Densham Surgery".parse().unwrap(),
            },
            EventKind::OrganisationClosed { organisation: queens.id, closed_on: date!(2020 - 03 - 31) },
            EventKind::OrganisationReopened { organisation: victoria.id },
            EventKind::OrganisationUpdated { organisation: mckenzie.id },
        ]
    );
    assert_eq!(densham.name.as_str(), "Densham Surgery");
    assert_eq!(queens.closed_on, Some(date!(2020 - 03 - 31)));
    assert_eq!(victoria.closed_on, None);
    assert_eq!(mckenzie.postcode.as_deref(), Some("TS25 1QV"));
}

/// R40: rows with the wrong columns, bad dates, an unknown status, a repeated code, an
/// empty name, bytes that are no text or a malformed code are reported with their lines
/// and reasons and the rest import; Windows-1252 text is read; a strict import of the
/// same file writes nothing; a file that cannot be read is an error.
pub fn r40_bad_rows_are_reported_and_strict_imports_write_nothing(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let good = PRACTICES.lines().next().unwrap().to_owned(); // A81001, The Densham Surgery
    let with = |code: &str, edit: &dyn Fn(&mut Vec<String>)| {
        let line = edited(&good, "A81001", |f| {
            f[0] = code.into();
            edit(f);
        });
        line.trim_end().to_owned()
    };
    let mut file: Vec<u8> = Vec::new();
    let mut line = |bytes: &[u8]| {
        file.extend_from_slice(bytes);
        file.push(b'\n');
    };
    line(good.as_bytes()); // 1
    line(with("B00002", &|f| drop(f.pop())).as_bytes()); // 2: 26 columns
    line(with("B00003", &|f| f[10] = "20191332".into()).as_bytes()); // 3: month 13
    line(with("B00004", &|f| f[12] = "X".into()).as_bytes()); // 4
    line(with("A81001", &|f| f[1] = "ANOTHER NAME".into()).as_bytes()); // 5: the code of line 1
    line(with("B00006", &|f| f[1] = "  ".into()).as_bytes()); // 6
    line(with("B00007", &|f| f[1] = "CAFE SURGERY".into()).as_bytes()); // 7
    let cafe = with("B00008", &|f| f[1] = "CAF~ SURGERY".into());
    line(&cafe.as_bytes().iter().map(|&b| if b == b'~' { 0xC9 } else { b }).collect::<Vec<u8>>()); // 8: Windows-1252 É
    let undefined = with("B00009", &|f| f[1] = "BAD~ SURGERY".into());
    line(&undefined.as_bytes().iter().map(|&b| if b == b'~' { 0x81 } else { b }).collect::<Vec<u8>>()); // 9
    line(with("B0!010", &|_| {}).as_bytes()); // 10
    line(with("B00011", &|f| f[25] = "four".into()).as_bytes()); // 11

    let report = h.ok(|s| s.import_organisations(OdsFile::Practices, &file[..], ImportOptions::default()));
    assert_eq!(report.added, 3, "lines 1, 7 and 8: {report:?}");
    let rejected: Vec<(u64, RejectReason)> = report.rejected.iter().map(|r| (r.line, r.reason.clone())).collect();
    assert_eq!(rejected.len(), 8, "{rejected:?}");
    assert_eq!(rejected[0], (2, RejectReason::Columns { found: 26, expected: 27 }));
    assert_eq!(rejected[1], (3, RejectReason::BadDate { what: "open date".into(), value: "20191332".into() }));
    assert_eq!(rejected[2], (4, RejectReason::UnknownStatus("X".into())));
    assert_eq!(rejected[3], (5, RejectReason::Duplicate { first_line: 1 }));
    assert_eq!(rejected[4], (6, RejectReason::EmptyName));
    assert_eq!(rejected[5], (9, RejectReason::NotText { column: 2 }));
    assert!(matches!(rejected[6], (10, RejectReason::BadCode(_))), "{:?}", rejected[6]);
    assert_eq!(rejected[7], (11, RejectReason::BadSetting("four".into())));
    assert_eq!(report.rejected[3].to_string(), "line 5 (A81001): the code is already on line 1");
    assert_eq!(report.windows_1252_lines, [8]);
    assert_eq!(by_code(&h, "B00008").name.as_str(), "Café Surgery");
    assert_eq!(by_code(&h, "B00008").source_name.as_deref(), Some("CAFÉ SURGERY"));

    // Strict: the same file writes nothing, and says which rows.
    let err = h.err(|s| {
        let strict = ImportOptions { strict: true };
        s.import_organisations(OdsFile::Practices, &file[..], strict)
    });
    let Error::ImportRejected { rejected } = &err else { panic!("not ImportRejected: {err}") };
    assert_eq!(rejected.len(), 8);
    assert!(err.to_string().contains("line 2"), "{err}");
    // Files that cannot be read.
    let missing = std::env::temp_dir().join("no-such-dir-carespace/etr.csv");
    let err = h.err(|s| s.import_organisations_from(&missing, ImportOptions::default()));
    assert!(matches!(err, Error::Unreadable { .. }), "{err}");
    let err = h.err(|s| s.import_organisations_from("people.csv", ImportOptions::default()));
    assert!(err.to_string().contains("neither NHS trusts"), "{err}");
}

/// R40, R43: search by name fragment (word prefixes, any case and accents), by code and
/// by postcode prefix; open organisations first; pages followed by cursor return each
/// match once; a cursor of another query, or an altered one, and a limit out of range
/// are refused.
pub fn r40_search_by_name_code_and_postcode_open_first_and_paged(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    import(&h, OdsFile::Trusts, TRUSTS);
    import(&h, OdsFile::Practices, PRACTICES);
    let search = |q: OrganisationSearch, limit: u32| {
        h.service.search_organisations(&q, &PageRequest::first(limit)).unwrap_or_else(|e| panic!("{q:?}: {e}"))
    };
    let names = |q: OrganisationSearch| -> Vec<String> {
        search(q, 1000).items.into_iter().map(|o| o.name.to_string()).collect()
    };
    assert_eq!(names(OrganisationSearch::Name("st thom".into())), ["Guy's and St Thomas' NHS Foundation Trust"]);
    assert_eq!(names(OrganisationSearch::Name("GUY’S".into())), ["Guy's and St Thomas' NHS Foundation Trust"]);
    assert_eq!(
        names(OrganisationSearch::Name("king's lynn".into())),
        ["The Queen Elizabeth Hospital, King's Lynn, NHS Foundation Trust"]
    );
    assert_eq!(
        names(OrganisationSearch::Name("kings lynn".into())),
        names(OrganisationSearch::Name("king's lynn".into())),
        "an apostrophe neither splits a word nor has to be typed"
    );
    assert_eq!(names(OrganisationSearch::Name("Éast Lond".into())), ["East London NHS Foundation Trust"]);
    assert!(names(OrganisationSearch::Name("thomas guy st".into())).len() == 1, "words in any order");
    assert!(names(OrganisationSearch::Name("homas".into())).is_empty(), "a word's middle is no prefix");
    assert!(names(OrganisationSearch::Name("  ".into())).is_empty());
    // Open first: the open urgent care centre before the dormant and the closed ones.
    let urgent = search(OrganisationSearch::Name("urgent care".into()), 1000).items;
    assert!(urgent.len() >= 3, "{urgent:?}");
    assert_eq!(urgent[0].ods_code.as_ref().map(OdsCode::as_str), Some("F84743"));
    let first_closed = urgent.iter().position(|o| o.closed_on.is_some()).unwrap();
    assert!(urgent[first_closed..].iter().all(|o| o.closed_on.is_some()), "open ones first");
    // By code and by postcode.
    assert_eq!(names(OrganisationSearch::OdsCode("rj1".into())), ["Guy's and St Thomas' NHS Foundation Trust"]);
    assert!(names(OrganisationSearch::OdsCode("not a code".into())).is_empty());
    let ts18: Vec<String> = search(OrganisationSearch::Postcode("ts18 ".into()), 1000)
        .items
        .iter()
        .filter_map(|o| o.ods_code.as_ref().map(|c| c.to_string()))
        .collect();
    assert_eq!(
        ts18,
        ["A81002", "A81001", "A81632"],
        "TS18: open ones by name (Queens Park, The Densham), then the dormant one"
    );

    // Paging: "st" matches many; following cursors two at a time returns each once, in
    // the order of one big page.
    let query = OrganisationSearch::Name("st".into());
    let all: Vec<_> = search(query.clone(), 1000).items.into_iter().map(|o| o.id).collect();
    assert!(all.len() > 5, "{}", all.len());
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len(), "each organisation once");
    // A one-word search pages through the prefix index; the same word twice has the
    // index check the second on every row it reads. Both give one list.
    let twice: Vec<_> =
        search(OrganisationSearch::Name("st st".into()), 1000).items.into_iter().map(|o| o.id).collect();
    assert_eq!(all, twice, "a word and the same word twice agree");
    for prefix in ["s", "m", "the", "surgery"] {
        let one = search(OrganisationSearch::Name(prefix.into()), 1000).items;
        let two = search(OrganisationSearch::Name(format!("{prefix} {prefix}")), 1000).items;
        assert_eq!(one, two, "{prefix}");
    }
    let mut followed = Vec::new();
    let mut page = search(query.clone(), 2);
    loop {
        assert!(page.items.len() <= 2);
        followed.extend(page.items.iter().map(|o| o.id));
        let Some(next) = page.next else { break };
        page = h.service.search_organisations(&query, &PageRequest::after(next, Some(2))).unwrap();
    }
    assert_eq!(followed, all);
    // A cursor belongs to its query; an altered one and a bad limit are refused.
    let cursor = search(query.clone(), 2).next.unwrap();
    let other = OrganisationSearch::Name("st mary".into());
    let err = h.service.search_organisations(&other, &PageRequest::after(cursor.clone(), None)).unwrap_err();
    assert!(matches!(err, Error::InvalidCursor { .. }), "{err}");
    let mut text = cursor.as_str().to_owned();
    text.replace_range(..2, if text.starts_with("00") { "01" } else { "00" });
    let altered = PageRequest::after(Cursor::from_text(text), None);
    assert!(matches!(h.service.search_organisations(&query, &altered), Err(Error::InvalidCursor { .. })));
    for limit in [0, 1001] {
        let err = h.service.search_organisations(&query, &PageRequest::first(limit)).unwrap_err();
        assert!(matches!(err, Error::InvalidLimit { .. }), "{limit}: {err}");
    }
}

/// R40: a closed organisation takes no new member, workspace, request or invite, each
/// refusal naming the day it closed; what its members already have is unchanged.
pub fn r40_a_closed_organisation_accepts_nothing_new(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    import(&h, OdsFile::Trusts, TRUSTS);
    let trust = by_code(&h, "RWK");
    let admin = h.member_of(&trust, "Ada Admin", "ada@nhs.net");
    let member = h.member_of(&trust, "Bea Member", "bea@nhs.net");
    let colleague = h.member_of(&trust, "Cal Colleague", "cal@nhs.net");
    let waiting = h.member_of(&trust, "Dee Waiting", "dee@nhs.net");
    let invited = h.user("Eve Invited", "eve@nhs.net");
    let newcomer = h.user("Fay Newcomer", "fay@nhs.net");
    let ward = h.workspace(&admin, &trust, "Maternity - Ward 2");
    h.ok(|s| s.request_to_join(member.id, ward.id));
    h.ok(|s| s.approve(admin.id, ward.id, member.id));
    h.ok(|s| s.request_to_join(waiting.id, ward.id));
    let invite = h.ok(|s| s.invite(admin.id, ward.id, invited.email.clone()));
    let conversation = h.ok(|s| s.start_conversation(member.id, ward.id));

    let closing = edited(TRUSTS, "RWK", |f| f[11] = "20260301".into());
    let report = import(&h, OdsFile::Trusts, &closing);
    assert_eq!(report.closed, 1, "{report:?}");
    let said = |err: Error| {
        assert!(matches!(err, Error::OrganisationClosed { .. }), "{err}");
        assert!(err.to_string().contains("closed on 1 March 2026"), "{err}");
        assert_eq!(err.code(), "organisation_closed");
    };
    said(h.err(|s| s.join_organisation(newcomer.id, trust.id)));
    said(h.err(|s| {
        s.create_workspace(
            admin.id,
            trust.id,
            crate::NewWorkspace {
                name: "Maternity - Ward 3".parse()?,
                speciality: crate::Speciality::from_code(501)?,
                description: crate::Description::default(),
            },
        )
    }));
    said(h.err(|s| s.request_to_join(colleague.id, ward.id)));
    said(h.err(|s| s.invite(admin.id, ward.id, "gus@nhs.net".parse()?)));
    said(h.err(|s| s.accept_invite(invited.id, invite.id)));
    // Unchanged: the members see what they saw, talk as before, and a request made
    // before the closure can still be decided; joining again is a no-op.
    assert!(h.ok(|s| s.can(member.id, ward.id, crate::Action::ViewAllConversations)));
    h.ok(|s| s.start_conversation(member.id, ward.id));
    assert!(h.ok(|s| s.conversations(member.id, ward.id)).iter().any(|c| c.id == conversation.id));
    h.ok(|s| s.approve(admin.id, ward.id, waiting.id));
    h.ok(|s| s.join_organisation(member.id, trust.id));
    // Reopened, it takes newcomers again.
    import(&h, OdsFile::Trusts, TRUSTS);
    h.ok(|s| s.join_organisation(newcomer.id, trust.id));
}
