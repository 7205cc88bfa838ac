"""Every exception class is raised for real, with Carespace's message, and sits in the
hierarchy a Python caller expects."""

from __future__ import annotations

import datetime
import os
import tempfile
import uuid
from typing import Callable

import pytest

import carespace
from carespace import Action

from conftest import World, make_world


def scenarios() -> dict[type[Exception], Callable[[World], object]]:
    def approved(w: World, user: carespace.User) -> None:
        w.cs.request_to_join(user.id, workspace=w.ward.id)
        w.cs.approve(actor=w.alice.id, workspace=w.ward.id, user=user.id)

    def cool_down(w: World) -> object:
        w.cs.request_to_join(w.bob.id, workspace=w.ward.id)
        w.cs.decline(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id)
        return w.cs.request_to_join(w.bob.id, workspace=w.ward.id)

    def archived_invitee(w: World) -> object:
        approved(w, w.bob)
        w.cs.archive_member(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id)
        return w.cs.invite(actor=w.alice.id, workspace=w.ward.id, email="bob@nhs.net")

    def admin_archived(w: World) -> object:
        approved(w, w.bob)
        w.cs.promote(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id)
        return w.cs.archive_member(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id)

    def expired(w: World) -> object:
        invite = w.cs.invite(actor=w.alice.id, workspace=w.ward.id, email="bob@nhs.net")
        w.clock.advance(datetime.timedelta(days=15))
        return w.cs.accept_invite(w.bob.id, invite=invite.id)

    def revoked(w: World) -> object:
        invite = w.cs.invite(actor=w.alice.id, workspace=w.ward.id, email="bob@nhs.net")
        w.cs.revoke_invite(w.alice.id, invite=invite.id)
        return w.cs.accept_invite(w.bob.id, invite=invite.id)

    def already_accepted(w: World) -> object:
        invite = w.cs.invite(actor=w.alice.id, workspace=w.ward.id, email="bob@nhs.net")
        w.cs.accept_invite(w.bob.id, invite=invite.id)
        return w.cs.revoke_invite(w.alice.id, invite=invite.id)

    def storage(w: World) -> object:
        return carespace.Carespace.open("/proc/no/such/dir/carespace.sqlite3")

    def ods_file(name: str, rows: str) -> str:
        directory = tempfile.mkdtemp()
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(rows)
        return path

    def closed(w: World) -> object:
        # R40: the trust's row in a later ODS file closes it; nobody new may join.
        row = "RWK,EAST LONDON NHS FOUNDATION TRUST,Y56,Q71,,,,LONDON,,E1 6LP,20000401,20260301,,,,,,,,,,0,,H\n"
        w.cs.import_organisations(ods_file("etr.csv", row))
        newcomer = w.cs.register_user(email="dan@nhs.net", name="Dan Brown")
        return w.cs.join_organisation(newcomer.id, organisation=w.trust.id)

    def rejected(w: World) -> object:
        rows = "RJ1,GUY'S AND ST THOMAS' NHS FOUNDATION TRUST,Y56,Q71,,,,LONDON,,SE1 9RT,19930401,,,,,,,,,,,0,,H\nRQX,BAD ROW\n"
        return w.cs.import_organisations(ods_file("etr.csv", rows), strict=True)

    return {
        carespace.InvalidEmailError: lambda w: w.cs.register_user(email="jane@nhs.net.example.com", name="Jane"),
        carespace.InvalidTextError: lambda w: w.cs.create_workspace(actor=w.alice.id, organisation=w.trust.id, name="Ward\n2", speciality=501),
        carespace.InvalidIdError: lambda w: w.cs.user("12345"),
        carespace.UnknownSpecialityError: lambda w: w.cs.create_workspace(actor=w.alice.id, organisation=w.trust.id, name="Ward 3", speciality=999),
        carespace.NotFoundError: lambda w: w.cs.user(uuid.uuid4()),
        carespace.EmailTakenError: lambda w: w.cs.register_user(email="ALICE@nhs.net", name="Alice Again"),
        carespace.OdsCodeTakenError: lambda w: w.cs.register_organisation(name="Other", kind="other", ods_code="rwk"),
        carespace.WorkspaceNameTakenError: lambda w: w.cs.create_workspace(actor=w.alice.id, organisation=w.trust.id, name="maternity - ward 2", speciality=501),
        carespace.ForbiddenError: lambda w: w.cs.update_settings(actor=w.bob.id, workspace=w.ward.id, description="x"),
        carespace.LastAdminError: lambda w: w.cs.demote(actor=w.alice.id, workspace=w.ward.id, user=w.alice.id),
        carespace.AdminMustBeDemotedError: admin_archived,
        carespace.AlreadyMemberError: lambda w: w.cs.invite(actor=w.alice.id, workspace=w.ward.id, email="alice@nhs.net"),
        carespace.ArchivedMemberError: archived_invitee,
        carespace.NotAMemberError: lambda w: w.cs.promote(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id),
        carespace.NoPendingRequestError: lambda w: w.cs.approve(actor=w.alice.id, workspace=w.ward.id, user=w.bob.id),
        carespace.SelfTargetError: lambda w: w.cs.archive_member(actor=w.alice.id, workspace=w.ward.id, user=w.alice.id),
        carespace.InviteExpiredError: expired,
        carespace.InviteRevokedError: revoked,
        carespace.InviteAlreadyAcceptedError: already_accepted,
        carespace.CoolDownError: cool_down,
        carespace.TimeOutOfRangeError: lambda w: w.cs.sweep(datetime.datetime(2300, 1, 1, tzinfo=datetime.timezone.utc)),
        carespace.EndDateNotInFutureError: lambda w: w.cs.set_membership_end(actor=w.alice.id, workspace=w.ward.id, user=w.alice.id, ends_at=w.clock.now()),
        carespace.StorageError: storage,
        carespace.OrganisationClosedError: closed,
        carespace.ImportRejectedError: rejected,
        carespace.UnreadableError: lambda w: w.cs.import_organisations("/proc/no/such/dir/etr.csv"),
        carespace.InvalidCursorError: lambda w: w.cs.search_organisations(name="east", cursor="not a cursor"),
        carespace.InvalidLimitError: lambda w: w.cs.search_organisations(name="east", limit=5000),
        carespace.AcknowledgementOutOfRangeError: lambda w: (
            w.cs.register_consumer("emails"),
            w.cs.acknowledge(consumer="emails", seq=w.cs.head() + 1),
        ),
    }


SCENARIOS = scenarios()


@pytest.mark.parametrize("exc_class", list(SCENARIOS), ids=lambda c: c.__name__)
def test_r35_every_exception_class_is_raised_for_real(exc_class: type[Exception]) -> None:
    w = make_world()
    before = [e.to_dict() for e in w.cs.events_since()]
    with pytest.raises(exc_class) as caught:
        SCENARIOS[exc_class](w)
    assert type(caught.value) is exc_class, f"raised {type(caught.value).__name__}"
    assert isinstance(caught.value, carespace.CarespaceError)
    assert str(caught.value), "carries Carespace's message"
    # The failing step itself wrote nothing: the log only grew by the set-up steps.
    after = [e.to_dict() for e in w.cs.events_since()]
    assert after[: len(before)] == before


def test_every_concrete_error_class_has_a_scenario() -> None:
    concrete = {
        getattr(carespace, name)
        for name in carespace.__all__
        if name.endswith("Error") and name not in {"CarespaceError", "InvalidInputError", "AlreadyExistsError", "MembershipError", "InviteError"}
    }
    # ClosedError belongs to the binding, not to core: test_api raises it for real.
    assert concrete == set(SCENARIOS) | {carespace.ClosedError}


def test_invalid_input_is_also_a_value_error() -> None:
    for cls in (carespace.InvalidEmailError, carespace.InvalidTextError, carespace.InvalidIdError, carespace.UnknownSpecialityError):
        assert issubclass(cls, ValueError) and issubclass(cls, carespace.CarespaceError)
    assert issubclass(carespace.NotFoundError, LookupError)
    assert issubclass(carespace.ForbiddenError, PermissionError)
    assert issubclass(carespace.EmailTakenError, carespace.AlreadyExistsError)
    with pytest.raises(ValueError, match="not an NHS.net or NHS.uk domain"):
        carespace.Carespace.in_memory().register_user(email="jane@gmail.com", name="Jane")


def test_r34_forbidden_names_the_action(world: World) -> None:
    with pytest.raises(carespace.ForbiddenError) as caught:
        world.cs.approve(actor=world.bob.id, workspace=world.ward.id, user=world.carol.id)
    assert caught.value.action is Action.APPROVE  # type: ignore[attr-defined]
    assert str(caught.value) == "Bob Jones may not approve join requests in “Maternity - Ward 2”: they are not a member of it"


def test_r34_every_refusal_for_lack_of_rights_is_a_forbidden_error(world: World) -> None:
    w = world
    outsider = w.cs.register_user(email="out@nhs.net", name="Out Sider")
    gp = w.cs.register_organisation(name="Mile End Surgery", kind="gp_practice")
    w.cs.join_organisation(w.alice.id, organisation=gp.id)
    invite = w.cs.invite(actor=w.alice.id, workspace=w.ward.id, email="bob@nhs.net")
    refusals: list[tuple[Callable[[], object], Action, str]] = [
        (lambda: w.cs.discover(outsider.id, organisation=w.trust.id), Action.DISCOVER_WORKSPACES, "not_in_organisation"),
        (lambda: w.cs.workspace(outsider.id, workspace=w.ward.id), Action.DISCOVER_WORKSPACES, "not_in_organisation"),
        (
            lambda: w.cs.create_workspace(actor=w.alice.id, organisation=gp.id, name="Reception", speciality=600),
            Action.CREATE_WORKSPACE,
            "creation_not_allowed",
        ),
        (lambda: w.cs.accept_invite(w.carol.id, invite=invite.id), Action.ACCEPT_INVITE, "not_the_invitee"),
        (lambda: w.cs.approve(actor=w.bob.id, workspace=w.ward.id, user=w.carol.id), Action.APPROVE, "not_a_member"),
    ]
    for refuse, action, reason in refusals:
        with pytest.raises(carespace.ForbiddenError) as caught:
            refuse()
        assert isinstance(caught.value, PermissionError)
        assert caught.value.action is action  # type: ignore[attr-defined]
        assert caught.value.reason == reason  # type: ignore[attr-defined]
    # can() answers creation in an organisation from the same table.
    assert w.cs.can(actor=w.alice.id, organisation=w.trust.id, action=Action.CREATE_WORKSPACE)
    assert not w.cs.can(actor=w.alice.id, organisation=gp.id, action="create_workspace")
    assert not w.cs.can(actor=outsider.id, organisation=w.trust.id, action=Action.DISCOVER_WORKSPACES)
    with pytest.raises(TypeError, match="exactly one of workspace= and organisation="):
        w.cs.can(actor=w.alice.id, action=Action.LEAVE)
    with pytest.raises(TypeError, match="exactly one"):
        w.cs.can(actor=w.alice.id, workspace=w.ward.id, organisation=w.trust.id, action=Action.LEAVE)


def test_storage_errors_say_whether_to_retry() -> None:
    with pytest.raises(carespace.StorageError) as caught:
        carespace.Carespace.open("/proc/no/such/dir/carespace.sqlite3")
    assert caught.value.retryable is False  # type: ignore[attr-defined]
    assert "cannot open the SQLite database" in str(caught.value)


def test_wrong_enum_types_raise_type_error_naming_the_parameter(world: World) -> None:
    cs = world.cs
    with pytest.raises(TypeError, match=r"^kind must be a member of OrganisationKind or its string value, not int$"):
        cs.register_organisation(name="Practice", kind=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^action must be a member of Action or its string value, not int$"):
        cs.can(actor=world.alice.id, workspace=world.ward.id, action=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^approvers must be a member of Approvers or its string value, not bool$"):
        carespace.Carespace.in_memory(approvers=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^creator_kinds must be"):
        carespace.Carespace.in_memory(creator_kinds=[None])  # type: ignore[list-item]
    # Members and their string values still work.
    assert cs.can(actor=world.alice.id, workspace=world.ward.id, action="view_all_conversations")
    assert cs.can(actor=world.alice.id, workspace=world.ward.id, action=Action.VIEW_ALL_CONVERSATIONS)


def test_r35_numbers_out_of_range_are_value_errors(world: World) -> None:
    """Found by the hypothesis run: pyo3 raised OverflowError for a negative speciality
    or an enormous limit; every bad value is a ValueError (or Carespace's own error)."""
    w = world
    with pytest.raises(ValueError, match=r"-1 is out of range: this argument takes a whole number from 0 up to 65,535"):
        w.cs.create_workspace(actor=w.alice.id, organisation=w.trust.id, name="Ward 9", speciality=-1)
    with pytest.raises(ValueError, match="out of range"):
        w.cs.events_since(after=0, limit=2**70)
    with pytest.raises(ValueError, match="out of range"):
        w.cs.members(w.alice.id, workspace=w.ward.id, limit=-5)
    with pytest.raises(carespace.UnknownSpecialityError):
        w.cs.create_workspace(actor=w.alice.id, organisation=w.trust.id, name="Ward 9", speciality=999)
