"""Quickstart in Python: the life of one ward's workspace, as in the Rust quickstart.

    pip install ./bindings-python
    python examples/quickstart.py [PATH]

The story is kept in a SQLite file (default ``carespace-quickstart-py.sqlite3``); a
second run reuses the file and says so instead of writing the story twice.
"""

from __future__ import annotations

import datetime
import pathlib
import sys

from carespace import Action, Carespace


#: The NHS Organisation Data Service's file of NHS trusts (Open Government Licence).
NHS_TRUSTS = pathlib.Path(__file__).resolve().parent.parent / "data" / "ods" / "etr.csv"


def tell_story(cs: Carespace) -> None:
    # The NHS trusts from the ODS file (R40); Alice finds hers by a fragment of its name.
    report = cs.import_organisations(NHS_TRUSTS)
    print(f"Imported the NHS trust directory: {report.added} trusts, {len(report.rejected)} rows rejected.")
    trust = next(o for o in cs.search_organisations(name="east lond", limit=5).items if o.ods_code == "RWK")
    print(f"Searching “east lond” finds {trust.name} ({trust.ods_code}, {trust.postcode}).")
    alice = cs.register_user(email="alice.smith@nhs.net", name="Alice Smith")
    bob = cs.register_user(email="bob.jones@nhs.net", name="Bob Jones")
    for person in (alice, bob):
        cs.join_organisation(person.id, organisation=trust.id)
        print(f"{person.name} joined the trust and has a personal My Workspace.")

    created = cs.create_workspace(
        actor=alice.id, organisation=trust.id, name="Maternity - Ward 2", speciality=501,
        description="Midwives and obstetricians on Ward 2",
    )
    ward = created.workspace
    print(f"\n{alice.name} created “{ward.name}” ({ward.speciality_name}); she is its admin.")
    print("Its signature on patient messages:\n  " + cs.signature(ward.id).replace("\n", "\n  "))
    cs.start_conversation(alice.id, workspace=ward.id)

    cs.request_to_join(bob.id, workspace=ward.id)
    cs.start_conversation(bob.id, workspace=ward.id)
    sees = len(cs.conversations(bob.id, workspace=ward.id))
    may = cs.can(actor=bob.id, workspace=ward.id, action=Action.VIEW_ALL_CONVERSATIONS)
    print(f"\n{bob.name} asked to join. Unapproved, he started a conversation; he sees {sees}, may see all: {may}.")
    for request in cs.pending_requests(alice.id):
        print(f"  {alice.name}'s prompt: {request.requester.name} wants to join {request.workspace_name}.")
    cs.approve(actor=alice.id, workspace=ward.id, user=bob.id)
    print(f"{alice.name} approved him: he now sees all {len(cs.conversations(bob.id, workspace=ward.id))} conversations.")

    invite = cs.invite(actor=bob.id, workspace=ward.id, email="carol.white@elft.nhs.uk")
    print(f"\n{bob.name} invited {invite.email} (valid until {invite.expires_at.date()}).")
    carol = cs.register_user(email="Carol.White@ELFT.nhs.uk", name="Carol White")
    for waiting in cs.invites_for_me(carol.id):
        joined = cs.accept_invite(carol.id, invite=waiting.id)
        print(f"{carol.name} registered, found the invite and accepted: {joined.membership.status.name}.")

    # Scheduled work: Carol's access ends with her rotation. A scheduler calls sweep(now)
    # every few minutes; here it is called for three instants to show what it does.
    now = datetime.datetime.now(datetime.timezone.utc)
    ends = now + datetime.timedelta(days=28)
    cs.set_membership_end(actor=alice.id, workspace=ward.id, user=carol.id, ends_at=ends)
    print(f"\n{alice.name} set {carol.name}'s membership to end on {ends.date()}, with her rotation.")
    for when, at in [("now", now), ("in three weeks", ends - datetime.timedelta(days=7)), ("when it ends", ends)]:
        swept = cs.sweep(at)
        print(f"  the sweep {when}: {swept.end_reminders} reminder(s), {swept.memberships_ended} membership(s) ended")


def show(cs: Carespace) -> None:
    trust = cs.organisation_by_ods("RWK")
    carol = cs.user_by_email("carol.white@elft.nhs.uk")
    bob = cs.user_by_email("bob.jones@nhs.net")
    if trust is None or carol is None or bob is None:
        raise SystemExit("this file holds an unfinished or different story; delete it or pass another path")
    # "Choose the wider organisation": those Carol is currently a member of come first.
    print(f"\n{carol.name} is currently a member of: {', '.join(o.name for o in cs.organisations_of(carol.id))}.")
    print(f"{carol.name}'s workspaces:")
    for entry in cs.my_workspaces(carol.id):
        if entry.is_personal:
            print(f"  {entry.organisation_name} / My Workspace: {'archived' if entry.archived else 'active'}")
        else:
            assert entry.role is not None and entry.status is not None
            print(f"  {entry.organisation_name} / {entry.name}: {entry.role.name} ({entry.status.name})")

    everything = cs.discover(bob.id, organisation=trust.id)
    print(f"\nDiscovery lists {len(everything)} entries; those for Obstetrics:")
    for listed in cs.discover(bob.id, organisation=trust.id, speciality=501):
        if listed.is_example:
            print(f"  {listed.name}: example, 0 members")
        else:
            print(f"  {listed.name}: {listed.member_count} members, admins {', '.join(a.name for a in listed.admins)}")

    # Audits, answered from the event log: the answer for a past instant never changes.
    ward = next(e for e in cs.discover(bob.id, organisation=trust.id, speciality=501) if not e.is_example).workspace
    assert ward is not None
    history = cs.membership_history(ward.id)
    arrived = next(e.at for e in history if e.type == "invite_accepted")
    print(f"\nWho could see the conversations of {ward.name}:")
    for label, at in [("while Carol was on the ward", arrived), ("after her rotation", history[-1].at)]:
        print(f"  {label} ({at.date()}): {', '.join(v.person.name for v in cs.viewers_at(workspace=ward.id, at=at))}")

    print("\nEvents a host would act on:")
    # Payloads are JSON-ready: ids arrive as strings.
    people = (cs.user_by_email(e) for e in ("alice.smith@nhs.net", "bob.jones@nhs.net", "carol.white@elft.nhs.uk"))
    names = {str(u.id): u.name for u in people if u is not None}
    for event in cs.events_since():
        p = event.payload
        if event.type == "join_requested":
            to = ", ".join(names.get(a, a) for a in p["approvers"])
            print(f"  #{event.seq:<2} email {to}: {names.get(p['user'])} asks to join")
        elif event.type == "join_approved":
            print(f"  #{event.seq:<2} email {names.get(p['user'])}: your request was approved")
        elif event.type == "invited":
            print(f"  #{event.seq:<2} email {p['email']}: you are invited")


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "carespace-quickstart-py.sqlite3"
    cs = Carespace.open(path)
    print(f"Carespace quickstart (Python), stored in {path}\n")
    if cs.organisation_by_ods("RWK") is not None:
        print(f"{path} already holds this story ({len(cs.events_since(limit=10_000))} events): reusing it rather than writing it twice.")
    else:
        tell_story(cs)
    show(cs)


if __name__ == "__main__":
    main()
