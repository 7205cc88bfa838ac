// Swift tests of the uniffi bindings (XCTest through SwiftPM), the same scenarios as the
// Kotlin suite: the lifecycle, an error of each kind, the rules one by one, events as an
// enum, signed values, paging, consumers, threads, and files shared and reopened.
import Carespace
import Foundation
import XCTest

final class CarespaceTests: XCTestCase {
    let start = Date(timeIntervalSince1970: 1_772_528_400)  // 2026-03-03T09:00:00Z

    struct World {
        let cs: Carespace
        let clock: ManualClock
        let trust: Organisation
        let alice: User
        let bob: User
        let carol: User
        let ward: Workspace

        /// Bob asks to join the ward and Alice approves him.
        func approveBob() throws {
            _ = try cs.requestToJoin(actor: bob.id, workspace: ward.id)
            _ = try cs.approve(actor: alice.id, workspace: ward.id, user: bob.id)
        }
    }

    func world() throws -> World {
        let clock = ManualClock(start: start)
        let cs = Carespace.inMemory(options: Options(clock: clock))
        let trust = try cs.registerOrganisation(name: "East London NHS Foundation Trust", kind: .nhsTrust, odsCode: "RWK")
        var people: [User] = []
        for (email, name) in [("alice@nhs.net", "Alice Smith"), ("bob@nhs.net", "Bob Jones"), ("carol@elft.nhs.uk", "Carol White")] {
            let user = try cs.registerUser(email: email, name: name)
            _ = try cs.joinOrganisation(user: user.id, organisation: trust.id)
            people.append(user)
        }
        let ward = try cs.createWorkspace(actor: people[0].id, organisation: trust.id, name: "Maternity - Ward 2", speciality: 501, description: "").workspace
        return World(cs: cs, clock: clock, trust: trust, alice: people[0], bob: people[1], carol: people[2], ward: ward)
    }

    func testLifecycleEndToEnd() throws {
        let w = try world()
        let cs = w.cs
        XCTAssertEqual(try cs.signature(workspace: w.ward.id), "Maternity - Ward 2\nEast London NHS Foundation Trust")
        let alices = try cs.startConversation(actor: w.alice.id, workspace: w.ward.id)
        let requested = try cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
        XCTAssertEqual(requested.outcome, .requested)
        XCTAssertEqual(requested.membership.status, .unapproved)
        let bobs = try cs.startConversation(actor: w.bob.id, workspace: w.ward.id)
        XCTAssertEqual(try cs.conversations(actor: w.bob.id, workspace: w.ward.id), [bobs])
        XCTAssertFalse(try cs.can(actor: w.bob.id, workspace: w.ward.id, action: .viewAllConversations))
        XCTAssertEqual(try cs.pendingRequests(actor: w.alice.id).items.map { $0.requester.name }, ["Bob Jones"])
        XCTAssertEqual(try cs.approve(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id).status, .approved)
        XCTAssertEqual(Set(try cs.conversations(actor: w.bob.id, workspace: w.ward.id).map { $0.id }), Set([alices.id, bobs.id]))

        let invite = try cs.invite(actor: w.bob.id, workspace: w.ward.id, email: "New.Starter@ELFT.nhs.uk")
        XCTAssertEqual(invite.email, "new.starter@elft.nhs.uk")
        XCTAssertEqual(invite.expiresAt, start.addingTimeInterval(14 * 24 * 3600))
        let newbie = try cs.registerUser(email: "new.starter@elft.nhs.uk", name: "New Starter")
        XCTAssertEqual(try cs.invitesForMe(actor: newbie.id).map { $0.id }, [invite.id])
        XCTAssertEqual(try cs.acceptInvite(actor: newbie.id, invite: invite.id).outcome, .acceptedInvite)

        let switcher = try cs.myWorkspaces(actor: newbie.id)
        XCTAssertEqual(switcher.map { $0.name }, ["My Workspace", "Maternity - Ward 2"])
        XCTAssertTrue(switcher[0].isPersonal && switcher[0].archived)
        XCTAssertEqual(switcher[1].role, .member)

        let obstetrics = try cs.discover(actor: w.carol.id, organisation: w.trust.id, speciality: 501).items
        XCTAssertEqual(obstetrics.map { $0.name }, ["Maternity - Ward 2", "Obstetrics"])
        XCTAssertEqual(obstetrics.map { $0.isExample }, [false, true])
        XCTAssertEqual(try cs.joinExample(actor: w.carol.id, organisation: w.trust.id, speciality: 501).outcome, .created)

        XCTAssertEqual(try cs.promote(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id).role, .admin)
        XCTAssertEqual(try cs.archiveMember(actor: w.bob.id, workspace: w.ward.id, user: newbie.id).status, .archived)
        XCTAssertEqual(try cs.members(actor: w.alice.id, workspace: w.ward.id).items.filter { $0.status == .archived }.map { $0.user.name }, ["New Starter"])
        XCTAssertFalse(try cs.leave(actor: w.alice.id, workspace: w.ward.id))

        let events = try cs.eventsSince(after: 0, limit: 1000)
        XCTAssertEqual(events.map { $0.seq }, (1...Int64(events.count)).map { $0 })
        let created = events.first { $0.eventType == "workspace_created" }
        XCTAssertEqual(created?.actor, w.alice.id)
        XCTAssertEqual(created?.kind, .workspaceCreated(workspace: w.ward.id, organisation: w.trust.id, name: "Maternity - Ward 2", speciality: 501, fromExample: false))
        XCTAssertTrue(created?.json.contains("\"name\":\"Maternity - Ward 2\"") ?? false)
    }

    func testEveryErrorKindIsItsOwnError() throws {
        typealias Step = (World) throws -> Any
        let cases: [(String, Step)] = [
            ("InvalidEmail", { w in try w.cs.registerUser(email: "jane@nhs.net.example.com", name: "Jane") }),
            ("InvalidText", { w in try w.cs.createWorkspace(actor: w.alice.id, organisation: w.trust.id, name: "Ward\n2", speciality: 501, description: "") }),
            ("UnknownSpeciality", { w in try w.cs.createWorkspace(actor: w.alice.id, organisation: w.trust.id, name: "Ward 3", speciality: 999, description: "") }),
            ("NotFound", { w in try w.cs.myWorkspaces(actor: UUID()) }),
            ("EmailTaken", { w in try w.cs.registerUser(email: "ALICE@nhs.net", name: "Alice Again") }),
            ("OdsCodeTaken", { w in try w.cs.registerOrganisation(name: "Other", kind: .other, odsCode: "rwk") }),
            ("WorkspaceNameTaken", { w in try w.cs.createWorkspace(actor: w.alice.id, organisation: w.trust.id, name: "maternity - ward 2", speciality: 501, description: "") }),
            ("Forbidden", { w in try w.cs.updateSettings(actor: w.bob.id, workspace: w.ward.id, name: nil, speciality: nil, description: "x") }),
            ("LastAdmin", { w in try w.cs.demote(actor: w.alice.id, workspace: w.ward.id, user: w.alice.id) }),
            ("AdminMustBeDemoted", { w in
                _ = try w.cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
                _ = try w.cs.approve(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id)
                _ = try w.cs.promote(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id)
                return try w.cs.archiveMember(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id)
            }),
            ("AlreadyMember", { w in try w.cs.invite(actor: w.alice.id, workspace: w.ward.id, email: "alice@nhs.net") }),
            ("ArchivedMember", { w in
                _ = try w.cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
                _ = try w.cs.archiveMember(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id)
                return try w.cs.invite(actor: w.alice.id, workspace: w.ward.id, email: "bob@nhs.net")
            }),
            ("NotAMember", { w in try w.cs.promote(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id) }),
            ("NoPendingRequest", { w in try w.cs.approve(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id) }),
            ("SelfTarget", { w in try w.cs.archiveMember(actor: w.alice.id, workspace: w.ward.id, user: w.alice.id) }),
            ("InviteExpired", { w in
                let invite = try w.cs.invite(actor: w.alice.id, workspace: w.ward.id, email: "bob@nhs.net")
                w.clock.advanceSeconds(seconds: 15 * 24 * 3600)
                return try w.cs.acceptInvite(actor: w.bob.id, invite: invite.id)
            }),
            ("InviteRevoked", { w in
                let invite = try w.cs.invite(actor: w.alice.id, workspace: w.ward.id, email: "bob@nhs.net")
                _ = try w.cs.revokeInvite(actor: w.alice.id, invite: invite.id)
                return try w.cs.acceptInvite(actor: w.bob.id, invite: invite.id)
            }),
            ("InviteAlreadyAccepted", { w in
                let invite = try w.cs.invite(actor: w.alice.id, workspace: w.ward.id, email: "bob@nhs.net")
                _ = try w.cs.acceptInvite(actor: w.bob.id, invite: invite.id)
                return try w.cs.revokeInvite(actor: w.alice.id, invite: invite.id)
            }),
            ("CoolDown", { w in
                _ = try w.cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
                try w.cs.decline(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id)
                return try w.cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
            }),
            ("TimeOutOfRange", { w in try w.cs.sweep(now: Date(timeIntervalSince1970: 10_413_792_000)) }),  // 2300-01-01
            ("EndDateNotInFuture", { w in
                try w.cs.setMembershipEnd(actor: w.alice.id, workspace: w.ward.id, user: w.alice.id, endsAt: self.start)
            }),
            ("Storage", { _ in try Carespace.open(path: "/proc/no/such/dir/carespace.sqlite3", options: Options()) }),
            ("OrganisationClosed", { w in
                let closes = "RWK,EAST LONDON NHS FOUNDATION TRUST,Y56,Q71,,,,LONDON,,E1 6LP,20000401,20260301,,,,,,,,,,0,,H\n"
                _ = try w.cs.importOrganisations(path: try self.odsFile("etr.csv", closes), strict: false)
                let dan = try w.cs.registerUser(email: "dan@nhs.net", name: "Dan Brown")
                return try w.cs.joinOrganisation(user: dan.id, organisation: w.trust.id)
            }),
            ("ImportRejected", { w in try w.cs.importOrganisations(path: try self.odsFile("etr.csv", "RQX,BAD ROW\n"), strict: true) }),
            ("Unreadable", { w in try w.cs.importOrganisations(path: "/proc/no/such/dir/etr.csv", strict: false) }),
            ("InvalidCursor", { w in try w.cs.searchOrganisations(search: .name(text: "east"), limit: nil, cursor: "not a cursor") }),
            ("InvalidLimit", { w in try w.cs.searchOrganisations(search: .name(text: "east"), limit: 5000, cursor: nil) }),
            ("AcknowledgementOutOfRange", { w in
                _ = try w.cs.registerConsumer(name: "emails", start: .beginning)
                return try w.cs.acknowledge(consumer: "emails", seq: try w.cs.head() + 1)
            }),
        ]
        for (expected, step) in cases {
            let w = try world()
            XCTAssertThrowsError(try step(w)) { error in
                XCTAssertEqual(Self.caseName(error), expected, "\(error)")
                // Its description is Carespace's sentence (no case name, no field names),
                // and so is what Foundation shows.
                XCTAssertFalse("\(error)".isEmpty || "\(error)".contains("reason:"), "\(error)")
                XCTAssertEqual(error.localizedDescription, "\(error)")
            }
        }
        let w = try world()
        XCTAssertThrowsError(try w.cs.approve(actor: w.bob.id, workspace: w.ward.id, user: w.carol.id)) { error in
            guard case CarespaceError.Forbidden(let message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(message, "Bob Jones may not approve join requests in “Maternity - Ward 2”: they are not a member of it")
        }
    }

    func testR34EveryRefusalForLackOfRightsIsForbidden() throws {
        let w = try world()
        let outsider = try w.cs.registerUser(email: "out@nhs.net", name: "Out Sider")
        let gp = try w.cs.registerOrganisation(name: "Mile End Surgery", kind: .gpPractice, odsCode: nil)
        _ = try w.cs.joinOrganisation(user: w.alice.id, organisation: gp.id)
        let invite = try w.cs.invite(actor: w.alice.id, workspace: w.ward.id, email: "bob@nhs.net")
        let refusals: [(String, () throws -> Any)] = [
            ("Out Sider may not see the workspaces in East London NHS Foundation Trust: they are not a member of its organisation",
             { try w.cs.discover(actor: outsider.id, organisation: w.trust.id) }),
            ("Alice Smith may not create workspaces in Mile End Surgery: this service does not let organisations of its kind (GP practice) create workspaces",
             { try w.cs.createWorkspace(actor: w.alice.id, organisation: gp.id, name: "Reception", speciality: 600, description: "") }),
            ("Carol White may not accept invites in “Maternity - Ward 2”: the invite is addressed to another email address",
             { try w.cs.acceptInvite(actor: w.carol.id, invite: invite.id) }),
        ]
        for (expected, refuse) in refusals {
            XCTAssertThrowsError(try refuse()) { error in
                guard case CarespaceError.Forbidden(let message) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(message, expected)
            }
        }
        XCTAssertTrue(try w.cs.canInOrganisation(actor: w.alice.id, organisation: w.trust.id, action: .createWorkspace))
        XCTAssertFalse(try w.cs.canInOrganisation(actor: w.alice.id, organisation: gp.id, action: .createWorkspace))
        XCTAssertFalse(try w.cs.canInOrganisation(actor: outsider.id, organisation: w.trust.id, action: .discoverWorkspaces))
    }

    let day: TimeInterval = 24 * 3600

    func testR37WhoCouldSeeAWardAndWhatBobCouldSeeAtPastInstants() throws {
        let w = try world()
        let cs = w.cs
        _ = try cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
        w.clock.advanceSeconds(seconds: Int64(day))
        _ = try cs.approve(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id)
        w.clock.advanceSeconds(seconds: Int64(day))
        _ = try cs.leave(actor: w.bob.id, workspace: w.ward.id)
        func viewers(_ at: Date) throws -> [String] {
            try cs.viewersAt(workspace: w.ward.id, at: at).map { "\($0.person.name) \($0.sight)" }
        }
        XCTAssertEqual(try viewers(start), ["Alice Smith admin"])
        XCTAssertEqual(try viewers(start.addingTimeInterval(day)), ["Alice Smith admin", "Bob Jones member"])
        XCTAssertEqual(try viewers(start.addingTimeInterval(2 * day)), ["Alice Smith admin"])
        let bobThen = try cs.workspacesVisibleAt(user: w.bob.id, at: start.addingTimeInterval(day))
        XCTAssertEqual(bobThen.map { $0.name }, ["Maternity - Ward 2", "My Workspace"])
        XCTAssertEqual(bobThen.map { $0.sight }, [.member, .owner])
        XCTAssertEqual(bobThen[0].since, start.addingTimeInterval(day))
        let history = try cs.membershipHistory(workspace: w.ward.id).items
        XCTAssertEqual(history.map { $0.eventType }, ["workspace_created", "join_requested", "join_approved", "member_left"])
        XCTAssertEqual(history.map { $0.actor }, [w.alice.id, w.bob.id, w.alice.id, w.bob.id])
    }

    func testR38SweepExpiresInvitesAndEscalatesRequestsOnce() throws {
        let w = try world()
        let cs = w.cs
        let invite = try cs.invite(actor: w.alice.id, workspace: w.ward.id, email: "dan@nhs.net")
        _ = try cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
        let nothing = Swept(invitesExpired: 0, requestsEscalated: 0, endReminders: 0, membershipsEnded: 0, lastAdminsKept: 0)
        XCTAssertEqual(try cs.sweep(now: start.addingTimeInterval(2 * day)), nothing)
        XCTAssertEqual(try cs.sweep(now: start.addingTimeInterval(3 * day)).requestsEscalated, 1)
        let escalated = try cs.eventsSince(after: 0, limit: 1000).last
        XCTAssertEqual(escalated?.kind, .joinRequestEscalated(workspace: w.ward.id, user: w.bob.id, requestedAt: start, approvers: [w.alice.id], escalatedTo: [w.alice.id]))
        XCTAssertNil(escalated?.actor ?? nil)
        XCTAssertEqual(try cs.sweep(now: start.addingTimeInterval(14 * day)).invitesExpired, 1)
        XCTAssertEqual(try cs.inviteDetails(actor: w.alice.id, invite: invite.id).status, .expired)
        XCTAssertEqual(try cs.sweep(now: start.addingTimeInterval(14 * day)), nothing)
    }

    func testR39EndDatesRemindThenArchiveAndTheLastAdminIsKept() throws {
        let w = try world()
        try w.approveBob()
        let cs = w.cs
        XCTAssertTrue(try cs.can(actor: w.alice.id, workspace: w.ward.id, action: .setMembershipEnd))
        XCTAssertFalse(try cs.can(actor: w.bob.id, workspace: w.ward.id, action: .setMembershipEnd))
        let ends = start.addingTimeInterval(30 * day)
        XCTAssertEqual(try cs.setMembershipEnd(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id, endsAt: ends).endsAt, ends)
        XCTAssertEqual(try cs.members(actor: w.alice.id, workspace: w.ward.id).items.filter { $0.user.id == w.bob.id }.map { $0.endsAt }, [ends])
        XCTAssertEqual(try cs.sweep(now: start.addingTimeInterval(23 * day)).endReminders, 1)
        XCTAssertEqual(try cs.sweep(now: ends).membershipsEnded, 1)
        let lastTwo = try cs.eventsSince(after: 0, limit: 1000).suffix(2)
        XCTAssertTrue(lastTwo.first?.json.contains("\"reason\":\"membership_ended\"") ?? false)
        XCTAssertEqual(lastTwo.first?.kind, .memberArchived(workspace: w.ward.id, user: w.bob.id, reason: .membershipEnded))
        // R41: Bob's last membership there ended, so his My Workspace is back.
        XCTAssertEqual(lastTwo.last?.eventType, "my_workspace_reactivated")
        _ = try cs.setMembershipEnd(actor: w.alice.id, workspace: w.ward.id, user: w.alice.id, endsAt: start.addingTimeInterval(40 * day))
        XCTAssertEqual(try cs.sweep(now: start.addingTimeInterval(40 * day)).lastAdminsKept, 1)
        XCTAssertNil(try cs.setMembershipEnd(actor: w.alice.id, workspace: w.ward.id, user: w.alice.id, endsAt: nil).endsAt)
    }

    func testLookupsOfAWorkspaceAMembershipAndOrganisations() throws {
        let w = try world()
        let cs = w.cs
        XCTAssertEqual(try cs.workspace(actor: w.bob.id, workspace: w.ward.id), w.ward)
        XCTAssertNil(try cs.membership(actor: w.bob.id, workspace: w.ward.id, user: w.bob.id))
        _ = try cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
        XCTAssertEqual(try cs.membership(actor: w.bob.id, workspace: w.ward.id, user: w.bob.id)?.status, .unapproved)
        XCTAssertEqual(try cs.membership(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id)?.status, .unapproved)
        XCTAssertThrowsError(try cs.membership(actor: w.bob.id, workspace: w.ward.id, user: w.alice.id)) { error in
            guard case CarespaceError.Forbidden = error else { return XCTFail("\(error)") }
        }
        let other = try cs.registerOrganisation(name: "Barts Health NHS Trust", kind: .nhsTrust, odsCode: nil)
        _ = try cs.joinOrganisation(user: w.alice.id, organisation: other.id)
        XCTAssertEqual(try cs.organisationsOf(user: w.alice.id).map { $0.name }, ["Barts Health NHS Trust", "East London NHS Foundation Trust"])
    }

    /// The repository's ODS extracts (data/ods), found from this file's path.
    static func ods(_ name: String) -> String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // CarespaceTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // swift
            .deletingLastPathComponent()  // bindings-uniffi
            .deletingLastPathComponent()  // the repository
            .appendingPathComponent("data/ods/\(name)").path
    }

    func odsFile(_ name: String, _ rows: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try rows.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `make test-swift` copies the repository's data/ods next to the package.
    func testR40DirectoryOnTheRealOdsFiles() throws {
        let cs = Carespace.inMemory(options: Options())
        XCTAssertEqual(try cs.importOrganisations(path: Self.ods("etr.csv"), strict: true).added, 241)
        let practices = try cs.importOrganisations(path: Self.ods("epraccur.csv"), strict: false)
        XCTAssertEqual(practices.added, 14_357)
        XCTAssertEqual(practices.rejected, [])
        XCTAssertEqual(try cs.importOrganisations(path: Self.ods("etr.csv"), strict: false).unchanged, 241)

        let guys = try cs.searchOrganisations(search: .name(text: "st thom"), limit: nil, cursor: nil).items.filter { $0.odsCode == "RJ1" }
        XCTAssertEqual(guys.map { $0.name }, ["Guy's and St Thomas' NHS Foundation Trust"])
        XCTAssertEqual(guys.first?.sourceName, "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST")
        let closed = try cs.searchOrganisations(search: .odsCode(code: "a81003"), limit: nil, cursor: nil).items
        XCTAssertEqual(closed.first?.closedOn, "2017-10-31")
        let ts18 = try cs.searchOrganisations(search: .postcode(prefix: "ts18"), limit: nil, cursor: nil).items
        XCTAssertFalse(ts18.isEmpty)
        XCTAssertTrue(ts18.allSatisfy { $0.postcode?.hasPrefix("TS18") == true })

        var seen: [String] = []
        var cursor: String? = nil
        repeat {
            let page = try cs.searchOrganisations(search: .name(text: "surgery"), limit: 250, cursor: cursor)
            seen += page.items.compactMap { $0.odsCode }
            cursor = page.nextCursor
        } while cursor != nil
        XCTAssertEqual(seen.count, Set(seen).count)
        XCTAssertGreaterThan(seen.count, 1000)

        let gp = try cs.registerUser(email: "gp@nhs.net", name: "Gill Pratt")
        XCTAssertThrowsError(try cs.joinOrganisation(user: gp.id, organisation: closed[0].id)) { error in
            guard case CarespaceError.OrganisationClosed(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("31 October 2017"), message)
        }
    }

    func testObjectsAreReleasedAndFilesReopen() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("workspaces.sqlite3").path
        var trustId: UUID
        do {
            let cs = try Carespace.open(path: path, options: Options(durability: .normal))
            trustId = try cs.registerOrganisation(name: "Trust", kind: .nhsTrust, odsCode: "RWK").id
        }
        let again = try Carespace.open(path: path, options: Options())
        let user = try again.registerUser(email: "alice@nhs.net", name: "Alice")
        XCTAssertEqual(try again.joinOrganisation(user: user.id, organisation: trustId).organisation, trustId)
    }

    func testConcurrentCallsFromSeveralThreads() throws {
        let cs = Carespace.inMemory(options: Options(approvers: .approvedMembers))
        let trust = try cs.registerOrganisation(name: "Trust", kind: .nhsTrust, odsCode: nil)
        let admin = try cs.registerUser(email: "admin@nhs.net", name: "Admin")
        _ = try cs.joinOrganisation(user: admin.id, organisation: trust.id)
        let ward = try cs.createWorkspace(actor: admin.id, organisation: trust.id, name: "Ward", speciality: 501, description: "").workspace
        let failures = NSLock()
        var errors: [Error] = []
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            do {
                for i in 0..<20 {
                    let user = try cs.registerUser(email: "t\(t)u\(i)@nhs.net", name: "Thread \(t) User \(i)")
                    _ = try cs.joinOrganisation(user: user.id, organisation: trust.id)
                    _ = try cs.requestToJoin(actor: user.id, workspace: ward.id)
                    _ = try cs.approve(actor: admin.id, workspace: ward.id, user: user.id)
                }
            } catch {
                failures.lock()
                errors.append(error)
                failures.unlock()
            }
        }
        XCTAssertTrue(errors.isEmpty, "\(errors)")
        XCTAssertEqual(try cs.members(actor: admin.id, workspace: ward.id, limit: 1000).items.count, 1 + 8 * 20)
        let events = try cs.eventsSince(after: 0, limit: 10000)
        XCTAssertEqual(events.map { $0.seq }, (1...Int64(events.count)).map { $0 })
    }

    func testR42ConsumersReceiveUntilAcknowledgedAndWakeForNewEvents() throws {
        let w = try world()
        let cs = w.cs
        let head = try cs.head()
        XCTAssertEqual(try cs.registerConsumer(name: "emails", start: .beginning), 0)
        let first = try cs.receive(name: "emails", limit: 3)
        XCTAssertEqual(first.map { $0.seq }, [1, 2, 3])
        XCTAssertEqual(try cs.receive(name: "emails", limit: 3), first)
        XCTAssertEqual(try cs.acknowledge(consumer: "emails", seq: 3), 3)
        XCTAssertThrowsError(try cs.acknowledge(consumer: "emails", seq: 2)) { error in
            guard case CarespaceError.AcknowledgementOutOfRange = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try cs.receive(name: "nobody", limit: 3)) { error in
            guard case CarespaceError.NotFound = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try cs.registerConsumer(name: "audit", start: .head), head)
        XCTAssertEqual(try cs.receive(name: "audit", limit: 50), [])

        // The loop of an email sender: every event after the acknowledged one, once.
        let events = try cs.consume(name: "emails", limit: 2)
        var seen: [Int64] = []
        while let event = try events.next(timeoutMillis: 50) {
            seen.append(event.seq)
        }
        XCTAssertEqual(seen, Array(4...head))
        XCTAssertEqual(try events.acknowledge(seq: 5), 5)
        XCTAssertEqual(try cs.consume(name: "emails", limit: 50).next(timeoutMillis: 50)?.seq, 6)

        // A wait wakes when another thread commits.
        XCTAssertFalse(try cs.waitForEvent(after: head, timeoutMillis: 50))
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) {
            _ = try? cs.registerUser(email: "late@nhs.net", name: "Late")
        }
        let started = Date()
        XCTAssertEqual(try events.next(timeoutMillis: 10_000)?.eventType, "user_registered")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testR43EveryListComesInPagesThatFollowTheirCursors() throws {
        let w = try world()
        let cs = w.cs
        for i in 0..<12 {
            let person = try cs.registerUser(email: "member.\(i)@nhs.net", name: "Member \(i)")
            _ = try cs.joinOrganisation(user: person.id, organisation: w.trust.id)
            _ = try cs.requestToJoin(actor: person.id, workspace: w.ward.id)
            _ = try cs.invite(actor: w.alice.id, workspace: w.ward.id, email: "invited.\(i)@nhs.uk")
        }
        // By hand: pages of 5 until there is no next cursor.
        func follow<T>(_ page: (String?) throws -> ([T], String?)) throws -> [T] {
            var all: [T] = []
            var cursor: String? = nil
            repeat {
                let (items, next) = try page(cursor)
                XCTAssertLessThanOrEqual(items.count, 5)
                all += items
                cursor = next
            } while cursor != nil
            return all
        }
        let members = try follow { c in try cs.members(actor: w.alice.id, workspace: w.ward.id, limit: 5, cursor: c).pair }
        XCTAssertEqual(members.count, 1 + 12)
        XCTAssertEqual(Set(members.map { $0.user.id }).count, members.count)
        XCTAssertEqual(members.map { $0.role }, [.admin] + Array(repeating: .member, count: 12))
        XCTAssertEqual(members, try cs.members(actor: w.alice.id, workspace: w.ward.id, limit: 1000).items)
        XCTAssertEqual(try follow { c in try cs.pendingRequests(actor: w.alice.id, limit: 5, cursor: c).pair }.count, 12)
        XCTAssertEqual(try follow { c in try cs.pendingInvites(actor: w.alice.id, workspace: w.ward.id, limit: 5, cursor: c).pair }.count, 12)
        let history = try follow { c in try cs.membershipHistory(workspace: w.ward.id, limit: 5, cursor: c).pair }
        XCTAssertEqual(history.map { $0.seq }, history.map { $0.seq }.sorted())
        let discovered = try follow { c in try cs.discover(actor: w.bob.id, organisation: w.trust.id, limit: 5, cursor: c).pair }
        XCTAssertEqual(discovered.map { $0.name.lowercased() }, discovered.map { $0.name.lowercased() }.sorted())
        XCTAssertEqual(try cs.discover(actor: w.bob.id, organisation: w.trust.id).items.count, 50)
        // Bad limits and cursors from another list are typed errors; so is a page for an outsider.
        let first = try cs.members(actor: w.alice.id, workspace: w.ward.id, limit: 5)
        XCTAssertThrowsError(try cs.members(actor: w.alice.id, workspace: w.ward.id, limit: 0)) { error in
            guard case CarespaceError.InvalidLimit = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try cs.pendingRequests(actor: w.alice.id, cursor: first.nextCursor)) { error in
            guard case CarespaceError.InvalidCursor = error else { return XCTFail("\(error)") }
        }
        let outsider = try cs.registerUser(email: "out@nhs.net", name: "Out Sider")
        XCTAssertThrowsError(try cs.members(actor: outsider.id, workspace: w.ward.id, limit: 5, cursor: first.nextCursor)) { error in
            guard case CarespaceError.Forbidden = error else { return XCTFail("\(error)") }
        }
    }

    /// The name of an enum value's case: `Forbidden`, `joinRequested`.
    static func caseName(_ value: Any) -> String {
        Mirror(reflecting: value).children.first?.label ?? "\(value)"
    }

    /// The snake_case type of a kind: `joinRequested` → `join_requested`.
    static func typeOf(_ kind: EventKind) -> String {
        caseName(kind).reduce(into: "") { out, c in out += c.isUppercase ? "_" + c.lowercased() : String(c) }
    }

    /// Whom a host emails about an event: an exhaustive switch over the enum.
    static func recipients(_ kind: EventKind) -> [UUID] {
        switch kind {
        case .joinRequested(_, _, let approvers): return approvers
        case .joinApproved(_, let user), .joinDeclined(_, let user): return [user]
        case .membershipEndingSoon(_, let user, _, let admins): return [user] + admins
        case .joinRequestEscalated(_, _, _, _, let escalatedTo): return escalatedTo
        case .organisationRegistered, .organisationRenamed, .organisationClosed, .organisationReopened,
             .organisationUpdated, .userRegistered, .organisationJoined, .workspaceCreated, .invited,
             .inviteAccepted, .inviteRevoked, .inviteExpired, .memberLeft, .workspaceArchived, .memberArchived,
             .memberUnarchived, .roleChanged, .settingsChanged, .myWorkspaceArchived, .myWorkspaceReactivated,
             .conversationStarted, .membershipEndChanged, .lastAdminKept:
            return []
        }
    }

    /// Whether `call` throws the `CarespaceError` case `expected`.
    func assertThrowsCase<T>(_ expected: String, _ call: @autoclosure () throws -> T, line: UInt = #line) {
        XCTAssertThrowsError(try call(), line: line) { error in
            XCTAssertEqual(Self.caseName(error), expected, "\(error)", line: line)
        }
    }

    func testR32EventsAreAnEnumWithTypedFields() throws {
        let w = try world()
        let cs = w.cs
        _ = try cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
        try cs.decline(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id)
        _ = try cs.requestToJoin(actor: w.carol.id, workspace: w.ward.id)
        _ = try cs.approve(actor: w.alice.id, workspace: w.ward.id, user: w.carol.id)
        let events = try cs.eventsSince(after: 0, limit: 1000)
        // Every event's case names its type, as the JSON and Python do.
        XCTAssertEqual(events.map { Self.typeOf($0.kind) }, events.map { $0.eventType })
        let kinds = events.map { $0.kind }
        XCTAssertTrue(kinds.contains(.userRegistered(user: w.bob.id, email: "bob@nhs.net")))
        XCTAssertTrue(kinds.contains(.joinRequested(workspace: w.ward.id, user: w.bob.id, approvers: [w.alice.id])))
        let joins = kinds.filter { ["joinRequested", "joinDeclined", "joinApproved"].contains(Self.caseName($0)) }
        XCTAssertEqual(joins.map(Self.recipients), [[w.alice.id], [w.bob.id], [w.alice.id], [w.carol.id]])
        let carols = kinds.compactMap { kind -> UUID? in
            if case .organisationJoined(_, w.carol.id, let mine) = kind { return mine }
            return nil
        }
        // R27: asking to join archived Carol's My Workspace, before she was approved.
        XCTAssertEqual(Array(kinds.suffix(2)), [
            .myWorkspaceArchived(workspace: carols[0], organisation: w.trust.id, user: w.carol.id),
            .joinApproved(workspace: w.ward.id, user: w.carol.id),
        ])
    }

    func testStorageErrorsSayWhetherARetryMaySucceed() throws {
        XCTAssertThrowsError(try Carespace.open(path: "/proc/no/such/dir/carespace.sqlite3", options: Options())) { error in
            guard case let CarespaceError.Storage(reason, code, retryable) = error else { return XCTFail("\(error)") }
            XCTAssertFalse(retryable)
            XCTAssertTrue(code.hasPrefix("storage_"), code)
            XCTAssertEqual(reason, "\(error)")
        }
    }

    func testSignedValuesOutOfRangeAreTypedErrors() throws {
        let w = try world()
        let cs = w.cs
        for code: Int32 in [-1, 70_000, 999] {
            XCTAssertThrowsError(try cs.createWorkspace(actor: w.alice.id, organisation: w.trust.id, name: "Ward \(code)", speciality: code, description: "")) { error in
                guard case CarespaceError.UnknownSpeciality(let reason) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.hasPrefix("\(code) is not a speciality code"), reason)
            }
        }
        assertThrowsCase("InvalidLimit", try cs.members(actor: w.alice.id, workspace: w.ward.id, limit: -1))
        assertThrowsCase("InvalidLimit", try cs.eventsSince(after: 0, limit: -5))
        _ = try cs.registerConsumer(name: "emails", start: .beginning)
        assertThrowsCase("AcknowledgementOutOfRange", try cs.acknowledge(consumer: "emails", seq: -1))
        // Every event comes after a negative position; a negative wait does not wait.
        XCTAssertEqual(try cs.eventsSince(after: -1, limit: 1000), try cs.eventsSince(after: 0, limit: 1000))
        XCTAssertFalse(try cs.waitForEvent(after: try cs.head(), timeoutMillis: -5))
        XCTAssertEqual(try cs.workspace(actor: w.alice.id, workspace: w.ward.id).speciality, 501)
    }

    func testR18InvitingTheSameAddressAgainRenewsTheOneInvite() throws {
        let w = try world()
        try w.approveBob()
        let cs = w.cs
        let first = try cs.invite(actor: w.alice.id, workspace: w.ward.id, email: "dan@nhs.net")
        w.clock.advanceSeconds(seconds: Int64(day))
        let renewed = try cs.invite(actor: w.bob.id, workspace: w.ward.id, email: "DAN@nhs.net")
        XCTAssertEqual(renewed.id, first.id)
        XCTAssertEqual(renewed.invitedBy, w.bob.id)
        XCTAssertEqual(renewed.expiresAt, start.addingTimeInterval(15 * day))
        XCTAssertEqual(try cs.pendingInvites(actor: w.alice.id, workspace: w.ward.id).items, [renewed])
        let refreshed = try cs.eventsSince(after: 0, limit: 1000).compactMap { event -> Bool? in
            if case .invited(_, _, _, _, let refreshed) = event.kind { return refreshed }
            return nil
        }
        XCTAssertEqual(refreshed, [false, true])
    }

    func testR20MembersRevokeTheirOwnInvitesAndAdminsAnyones() throws {
        let w = try world()
        try w.approveBob()
        let cs = w.cs
        let alices = try cs.invite(actor: w.alice.id, workspace: w.ward.id, email: "dan@nhs.net")
        let bobs = try cs.invite(actor: w.bob.id, workspace: w.ward.id, email: "erin@nhs.net")
        assertThrowsCase("Forbidden", try cs.revokeInvite(actor: w.bob.id, invite: alices.id))
        XCTAssertEqual(try cs.revokeInvite(actor: w.bob.id, invite: bobs.id).status, .revoked)
        let again = try cs.invite(actor: w.bob.id, workspace: w.ward.id, email: "erin@nhs.net")
        XCTAssertEqual(try cs.revokeInvite(actor: w.alice.id, invite: again.id).status, .revoked)
        XCTAssertEqual(try cs.pendingInvites(actor: w.alice.id, workspace: w.ward.id).items.map { $0.id }, [alices.id])
        XCTAssertTrue(try cs.can(actor: w.alice.id, workspace: w.ward.id, action: .revokeAnyInvite))
        XCTAssertFalse(try cs.can(actor: w.bob.id, workspace: w.ward.id, action: .revokeAnyInvite))
    }

    func testR21AndR41TheLastMemberLeavingArchivesTheWorkspaceAndBringsBackMyWorkspace() throws {
        let w = try world()
        try w.approveBob()
        let cs = w.cs
        assertThrowsCase("LastAdmin", try cs.leave(actor: w.alice.id, workspace: w.ward.id))
        XCTAssertFalse(try cs.leave(actor: w.bob.id, workspace: w.ward.id))
        XCTAssertTrue(try cs.leave(actor: w.alice.id, workspace: w.ward.id))
        XCTAssertEqual(try cs.workspace(actor: w.alice.id, workspace: w.ward.id).status, .archived)
        let tail = try cs.eventsSince(after: 0, limit: 1000).suffix(3).map { $0.kind }
        XCTAssertEqual(Array(tail.prefix(2)), [.memberLeft(workspace: w.ward.id, user: w.alice.id), .workspaceArchived(workspace: w.ward.id)])
        XCTAssertEqual(Self.caseName(tail[2]), "myWorkspaceReactivated")
        XCTAssertEqual(try cs.myWorkspaces(actor: w.alice.id).filter { $0.isPersonal }.map { $0.archived }, [false])
        assertThrowsCase("Forbidden", try cs.requestToJoin(actor: w.carol.id, workspace: w.ward.id))
    }

    func testR22ArchivedMembersAreRestoredOnlyByAnAdmin() throws {
        let w = try world()
        let cs = w.cs
        _ = try cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
        _ = try cs.startConversation(actor: w.bob.id, workspace: w.ward.id)
        XCTAssertEqual(try cs.archiveMember(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id).status, .archived)
        assertThrowsCase("Forbidden", try cs.conversations(actor: w.bob.id, workspace: w.ward.id))
        assertThrowsCase("Forbidden", try cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id))
        assertThrowsCase("ArchivedMember", try cs.invite(actor: w.alice.id, workspace: w.ward.id, email: "bob@nhs.net"))
        XCTAssertEqual(try cs.unarchiveMember(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id).status, .approved)
        XCTAssertEqual(try cs.conversations(actor: w.bob.id, workspace: w.ward.id).count, 1)
        let kinds = try cs.eventsSince(after: 0, limit: 1000).map { $0.kind }
        XCTAssertTrue(kinds.contains(.memberArchived(workspace: w.ward.id, user: w.bob.id, reason: .byAdmin)))
        // R41: archiving gave Bob his My Workspace back; restoring him archives it again.
        let bobsMyWorkspace = kinds.compactMap { kind -> String? in
            switch kind {
            case .myWorkspaceArchived(_, _, w.bob.id): return "archived"
            case .myWorkspaceReactivated(_, _, w.bob.id): return "reactivated"
            default: return nil
            }
        }
        XCTAssertEqual(bobsMyWorkspace, ["archived", "reactivated", "archived"])
        XCTAssertEqual(kinds[kinds.count - 2], .memberUnarchived(workspace: w.ward.id, user: w.bob.id))
    }

    func testR23PromoteAndDemoteButNeverTheLastAdmin() throws {
        let w = try world()
        let cs = w.cs
        _ = try cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
        assertThrowsCase("NotAMember", try cs.promote(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id))
        _ = try cs.approve(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id)
        assertThrowsCase("Forbidden", try cs.promote(actor: w.bob.id, workspace: w.ward.id, user: w.bob.id))
        XCTAssertEqual(try cs.promote(actor: w.alice.id, workspace: w.ward.id, user: w.bob.id).role, .admin)
        XCTAssertEqual(try cs.demote(actor: w.bob.id, workspace: w.ward.id, user: w.alice.id).role, .member)
        assertThrowsCase("LastAdmin", try cs.demote(actor: w.bob.id, workspace: w.ward.id, user: w.bob.id))
        let roles = try cs.eventsSince(after: 0, limit: 1000).compactMap { event -> String? in
            if case .roleChanged(_, let user, let role) = event.kind { return "\(user == w.bob.id ? "bob" : "alice") \(role)" }
            return nil
        }
        XCTAssertEqual(roles, ["bob admin", "alice member"])
    }

    func testR24AdminsChangeSettingsAndTheEventHoldsOnlyWhatChanged() throws {
        let w = try world()
        try w.approveBob()
        let cs = w.cs
        assertThrowsCase("Forbidden", try cs.updateSettings(actor: w.bob.id, workspace: w.ward.id, name: "Ward 3", speciality: nil, description: nil))
        let changed = try cs.updateSettings(actor: w.alice.id, workspace: w.ward.id, name: "Maternity - Ward 3", speciality: 560, description: nil).workspace
        XCTAssertEqual(changed.name, "Maternity - Ward 3")
        XCTAssertEqual(changed.speciality, 560)
        XCTAssertEqual(try cs.signature(workspace: w.ward.id), "Maternity - Ward 3\nEast London NHS Foundation Trust")
        XCTAssertEqual(try cs.eventsSince(after: 0, limit: 1000).last?.kind,
                       .settingsChanged(workspace: w.ward.id, name: "Maternity - Ward 3", speciality: 560, description: nil))
        XCTAssertEqual(try cs.discover(actor: w.carol.id, organisation: w.trust.id, name: "ward").items.map { $0.name }, ["Maternity - Ward 3"])
    }

    func testR16ApproversPolicyLetsApprovedMembersApprove() throws {
        func attempt(_ approvers: Approvers?) throws -> Bool {
            let cs = Carespace.inMemory(options: Options(approvers: approvers, clock: ManualClock(start: start)))
            let trust = try cs.registerOrganisation(name: "Trust", kind: .nhsTrust, odsCode: nil)
            var people: [User] = []
            for name in ["a", "m", "r"] {
                let user = try cs.registerUser(email: "\(name)@nhs.net", name: name)
                _ = try cs.joinOrganisation(user: user.id, organisation: trust.id)
                people.append(user)
            }
            let ward = try cs.createWorkspace(actor: people[0].id, organisation: trust.id, name: "Ward", speciality: 501, description: "").workspace
            _ = try cs.requestToJoin(actor: people[1].id, workspace: ward.id)
            _ = try cs.approve(actor: people[0].id, workspace: ward.id, user: people[1].id)
            _ = try cs.requestToJoin(actor: people[2].id, workspace: ward.id)
            do {
                return try cs.approve(actor: people[1].id, workspace: ward.id, user: people[2].id).status == .approved
            } catch CarespaceError.Forbidden {
                return false
            }
        }
        XCTAssertFalse(try attempt(nil))
        XCTAssertFalse(try attempt(.admins))
        XCTAssertTrue(try attempt(.approvedMembers))
    }

    func testR7CreatorKindsAndR17CooldownAreOptions() throws {
        let clock = ManualClock(start: start)
        let cs = Carespace.inMemory(options: Options(creatorKinds: [.gpPractice], rerequestCooldownSeconds: 60, clock: clock))
        let gp = try cs.registerOrganisation(name: "Mile End Surgery", kind: .gpPractice, odsCode: nil)
        let trust = try cs.registerOrganisation(name: "Trust", kind: .nhsTrust, odsCode: nil)
        let gill = try cs.registerUser(email: "gill@nhs.net", name: "Gill")
        let dan = try cs.registerUser(email: "dan@nhs.net", name: "Dan")
        for org in [gp, trust] {
            for user in [gill, dan] { _ = try cs.joinOrganisation(user: user.id, organisation: org.id) }
        }
        XCTAssertTrue(try cs.canInOrganisation(actor: gill.id, organisation: gp.id, action: .createWorkspace))
        XCTAssertFalse(try cs.canInOrganisation(actor: gill.id, organisation: trust.id, action: .createWorkspace))
        let reception = try cs.createWorkspace(actor: gill.id, organisation: gp.id, name: "Reception", speciality: 600, description: "").workspace
        _ = try cs.requestToJoin(actor: dan.id, workspace: reception.id)
        try cs.decline(actor: gill.id, workspace: reception.id, user: dan.id)
        assertThrowsCase("CoolDown", try cs.requestToJoin(actor: dan.id, workspace: reception.id))
        clock.advanceSeconds(seconds: 61)
        XCTAssertEqual(try cs.requestToJoin(actor: dan.id, workspace: reception.id).outcome, .requested)
    }

    func testR15UnapprovedMembersSendButSeeOnlyTheirOwn() throws {
        let w = try world()
        let cs = w.cs
        _ = try cs.startConversation(actor: w.alice.id, workspace: w.ward.id)
        _ = try cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
        let may: [Action] = [.startConversation, .viewOwnConversations, .createPersonalTemplate, .createPersonalPatientList, .leave]
        let mayNot: [Action] = [.viewAllConversations, .viewMembers, .viewSharedTemplates, .viewSharedPatientLists, .invite, .approve, .changeSettings]
        XCTAssertEqual(try may.map { try cs.can(actor: w.bob.id, workspace: w.ward.id, action: $0) }, may.map { _ in true })
        XCTAssertEqual(try mayNot.map { try cs.can(actor: w.bob.id, workspace: w.ward.id, action: $0) }, mayNot.map { _ in false })
        let bobs = try cs.startConversation(actor: w.bob.id, workspace: w.ward.id)
        XCTAssertEqual(try cs.conversations(actor: w.bob.id, workspace: w.ward.id), [bobs])
        assertThrowsCase("Forbidden", try cs.members(actor: w.bob.id, workspace: w.ward.id))
        assertThrowsCase("Forbidden", try cs.invite(actor: w.bob.id, workspace: w.ward.id, email: "dan@nhs.net"))
    }

    func scratchFile() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("workspaces.sqlite3").path
    }

    func testTwoObjectsOnOneFileSeeEachOthersWritesAndWake() throws {
        let path = try scratchFile()
        let writer = try Carespace.open(path: path, options: Options())
        let reader = try Carespace.open(path: path, options: Options())
        let trust = try writer.registerOrganisation(name: "Trust", kind: .nhsTrust, odsCode: "RWK")
        XCTAssertEqual(try reader.searchOrganisations(search: .odsCode(code: "rwk")).items, [trust])
        let head = try reader.head()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) {
            _ = try? writer.registerUser(email: "late@nhs.net", name: "Late")
        }
        XCTAssertTrue(try reader.waitForEvent(after: head, timeoutMillis: 10_000))
        let late = try XCTUnwrap(try reader.userByEmail(email: "late@nhs.net"))
        XCTAssertEqual(try reader.eventsSince(after: head, limit: 10).map { $0.kind }, [.userRegistered(user: late.id, email: "late@nhs.net")])
    }

    func testReopeningAFileKeepsTheLogAndEachConsumersPosition() throws {
        let path = try scratchFile()
        var before: [Event] = []
        do {
            let cs = try Carespace.open(path: path, options: Options())
            let trust = try cs.registerOrganisation(name: "Trust", kind: .nhsTrust, odsCode: nil)
            let alice = try cs.registerUser(email: "alice@nhs.net", name: "Alice")
            _ = try cs.joinOrganisation(user: alice.id, organisation: trust.id)
            _ = try cs.createWorkspace(actor: alice.id, organisation: trust.id, name: "Ward", speciality: 501, description: "")
            _ = try cs.registerConsumer(name: "emails", start: .beginning)
            _ = try cs.acknowledge(consumer: "emails", seq: 3)
            before = try cs.eventsSince(after: 0, limit: 1000)
        }
        let cs = try Carespace.open(path: path, options: Options())
        XCTAssertEqual(try cs.eventsSince(after: 0, limit: 1000), before)
        XCTAssertEqual(try cs.registerConsumer(name: "emails", start: .head), 3)
        XCTAssertEqual(try cs.receive(name: "emails", limit: 1).map { $0.seq }, [4])
    }

    func testAConsumptionIsAcknowledgedFromAnotherThreadWhileOneWaits() throws {
        let w = try world()
        let cs = w.cs
        _ = try cs.registerConsumer(name: "emails", start: .head)
        let events = try cs.consume(name: "emails", limit: 10)
        let got = expectation(description: "the waiting thread got the event")
        final class Received: @unchecked Sendable { var event: Event? }  // written before `got` is fulfilled
        let received = Received()
        DispatchQueue.global().async {
            received.event = try? events.next(timeoutMillis: 10_000)
            got.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.1)
        _ = try cs.requestToJoin(actor: w.bob.id, workspace: w.ward.id)
        wait(for: [got], timeout: 10)
        let event = try XCTUnwrap(received.event)
        XCTAssertEqual(event.kind, .joinRequested(workspace: w.ward.id, user: w.bob.id, approvers: [w.alice.id]))
        let acked = expectation(description: "acknowledged from another thread")
        DispatchQueue.global().async {
            XCTAssertEqual(try? events.acknowledge(seq: event.seq), event.seq)
            acked.fulfill()
        }
        wait(for: [acked], timeout: 10)
        XCTAssertEqual(try cs.receive(name: "emails", limit: 10).filter { $0.seq <= event.seq }, [])
    }
}

// A page's items and next cursor, for following pages by hand.
protocol Paged {
    associatedtype Item
    var items: [Item] { get }
    var nextCursor: String? { get }
}

extension Paged {
    var pair: ([Item], String?) { (items, nextCursor) }
}

extension MemberPage: Paged {}
extension PendingRequestPage: Paged {}
extension InvitePage: Paged {}
extension EventPage: Paged {}
extension DiscoveryPage: Paged {}
