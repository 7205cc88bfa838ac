"""The organisation directory from Python (R40, R43), on the real NHS ODS files in
``data/ods/``: import, readable names, search by name, code and postcode, paging, and
closed organisations."""

from __future__ import annotations

import datetime
import os
import pathlib
import pickle

import pytest

import carespace
from carespace import OrganisationKind

ODS = pathlib.Path(__file__).resolve().parents[2] / "data" / "ods"


@pytest.fixture(scope="module")
def directory() -> carespace.Carespace:
    cs = carespace.Carespace.in_memory()
    trusts = cs.import_organisations(ODS / "etr.csv")
    practices = cs.import_organisations(str(ODS / "epraccur.csv"))
    assert (trusts.added, trusts.rejected) == (241, [])
    assert practices.added == 14_357 and practices.rejected == []
    return cs


def test_r40_import_is_idempotent_and_reports(directory: carespace.Carespace) -> None:
    head = len(directory.events_since(limit=1_000_000))
    again = directory.import_organisations(ODS / "etr.csv")
    assert (again.added, again.renamed, again.closed, again.unchanged) == (0, 0, 0, 241)
    assert len(directory.events_since(limit=1_000_000)) == head, "a second import appends no event"
    assert pickle.loads(pickle.dumps(again)) == again


def test_r40_names_read_well_and_keep_the_source(directory: carespace.Carespace) -> None:
    guys = directory.search_organisations(ods_code="rj1").items[0]
    assert guys.name == "Guy's and St Thomas' NHS Foundation Trust"
    assert guys.source_name == "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST"
    assert guys.kind is OrganisationKind.NHS_TRUST and guys.postcode == "SE1 9RT" and guys.closed_on is None
    densham = directory.search_organisations(ods_code="A81001").items[0]
    assert (densham.name, densham.kind) == ("The Densham Surgery", OrganisationKind.GP_PRACTICE)


def test_r40_search_by_name_fragment_postcode_and_closed_last(directory: carespace.Carespace) -> None:
    found = directory.search_organisations(name="st thom")
    assert "Guy's and St Thomas' NHS Foundation Trust" in [o.name for o in found.items]
    lynn = directory.search_organisations(name="kings lynn").items
    assert any(o.ods_code == "RCX" for o in lynn), "the apostrophe folds away"
    by_postcode = directory.search_organisations(postcode="ts18").items
    assert by_postcode and all(o.postcode is not None and o.postcode.startswith("TS18") for o in by_postcode)
    seen_closed = False
    for o in by_postcode:
        seen_closed = seen_closed or o.closed_on is not None
        assert not (seen_closed and o.closed_on is None), "open organisations come first"
    victoria = directory.search_organisations(ods_code="A81003").items[0]
    assert victoria.closed_on == datetime.date(2017, 10, 31)


def test_r43_search_pages_follow_cursors(directory: carespace.Carespace) -> None:
    everything = directory.search_organisations(name="surgery", limit=1000)
    seen: list[str] = []
    cursor = None
    while True:
        page = directory.search_organisations(name="surgery", limit=97, cursor=cursor)
        assert len(page) <= 97
        seen += [o.ods_code or "" for o in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    first_thousand = [o.ods_code for o in everything.items]
    assert seen[: len(first_thousand)] == first_thousand
    assert len(seen) == len(set(seen)), "every organisation once"
    with pytest.raises(carespace.InvalidCursorError):
        directory.search_organisations(postcode="TS18", cursor=everything.next_cursor)
    with pytest.raises(TypeError, match="exactly one of"):
        directory.search_organisations(name="a", postcode="b")


def test_r40_a_closed_practice_takes_no_one(directory: carespace.Carespace, tmp_path: pathlib.Path) -> None:
    cs = carespace.Carespace.in_memory()
    cs.import_organisations(ODS / "epraccur.csv")
    closed = cs.search_organisations(ods_code="A81003").items[0]
    gp = cs.register_user(email="gp@nhs.net", name="Gill Pratt")
    with pytest.raises(carespace.OrganisationClosedError) as caught:
        cs.join_organisation(gp.id, organisation=closed.id)
    assert caught.value.closed_on == datetime.date(2017, 10, 31)  # type: ignore[attr-defined]
    assert "31 October 2017" in str(caught.value)


def test_r40_bad_rows_are_reported_or_refused(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "etr.csv"
    good = (ODS / "etr.csv").read_bytes().splitlines(keepends=True)[:3]
    path.write_bytes(b"".join(good) + b"RZZ,ONLY TWO\n" + b"R\xff1,NOT TEXT,Y56,Q71,,,,,,E1 1AA,20000401,,,,,,,,,,,0,,H\n")
    cs = carespace.Carespace.in_memory()
    with pytest.raises(carespace.ImportRejectedError) as caught:
        cs.import_organisations(path, strict=True)
    assert [line for line, _, _ in caught.value.rejected] == [4, 5]  # type: ignore[attr-defined]
    assert cs.events_since() == [], "a strict import that fails writes nothing"
    report = cs.import_organisations(os.fspath(path))
    assert report.added == 3 and [r[0] for r in report.rejected] == [4, 5]
    assert "columns" in report.rejected[0][2]
