// Kotlin tests of the uniffi bindings, compiled with kotlinc and run on the JVM (JUnit 4)
// against the jar (make jar): the lifecycle, an error of each kind, the rules one by one,
// events as a sealed class, signed values, paging, consumers, threads, shared and reopened files.
package carespace

import java.nio.file.Files
import java.time.Instant
import java.util.UUID
import java.util.concurrent.Callable
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

class CarespaceTest {
    private val start: Instant = Instant.parse("2026-03-03T09:00:00Z")

    companion object {
        /** The tests' files, all under one directory removed when the JVM exits. */
        private val scratch = Files.createTempDirectory("carespace-kt").also { dir ->
            Runtime.getRuntime().addShutdownHook(Thread { dir.toFile().deleteRecursively() })
        }
    }

    class World(
        val cs: Carespace,
        val clock: ManualClock,
        val trust: Organisation,
        val alice: User,
        val bob: User,
        val carol: User,
        val ward: Workspace,
    ) {
        /** Bob asks to join the ward and Alice approves him. */
        fun approveBob() {
            cs.requestToJoin(bob.id, ward.id)
            cs.approve(alice.id, ward.id, bob.id)
        }
    }

    private fun world(): World {
        val clock = ManualClock(start)
        val cs = Carespace.inMemory(Options(clock = clock))
        val trust = cs.registerOrganisation("East London NHS Foundation Trust", OrganisationKind.NHS_TRUST, "RWK")
        val people = listOf("alice@nhs.net" to "Alice Smith", "bob@nhs.net" to "Bob Jones", "carol@elft.nhs.uk" to "Carol White")
            .map { (email, name) -> cs.registerUser(email, name).also { cs.joinOrganisation(it.id, trust.id) } }
        val ward = cs.createWorkspace(people[0].id, trust.id, "Maternity - Ward 2", 501, "").workspace
        return World(cs, clock, trust, people[0], people[1], people[2], ward)
    }

    @Test
    fun lifecycleEndToEnd() {
        val w = world()
        val cs = w.cs
        assertEquals("Maternity - Ward 2\nEast London NHS Foundation Trust", cs.signature(w.ward.id))
        val alices = cs.startConversation(w.alice.id, w.ward.id)
        val requested = cs.requestToJoin(w.bob.id, w.ward.id)
        assertEquals(JoinOutcome.REQUESTED, requested.outcome)
        assertEquals(MemberStatus.UNAPPROVED, requested.membership.status)
        val bobs = cs.startConversation(w.bob.id, w.ward.id)
        assertEquals(listOf(bobs), cs.conversations(w.bob.id, w.ward.id))
        assertFalse(cs.can(w.bob.id, w.ward.id, Action.VIEW_ALL_CONVERSATIONS))
        assertEquals(listOf("Bob Jones"), cs.pendingRequests(w.alice.id).items.map { it.requester.name })
        assertEquals(MemberStatus.APPROVED, cs.approve(w.alice.id, w.ward.id, w.bob.id).status)
        assertEquals(setOf(alices, bobs), cs.conversations(w.bob.id, w.ward.id).toSet())

        val invite = cs.invite(w.bob.id, w.ward.id, "New.Starter@ELFT.nhs.uk")
        assertEquals("new.starter@elft.nhs.uk", invite.email)
        assertEquals(start.plusSeconds(14L * 24 * 3600), invite.expiresAt)
        val newbie = cs.registerUser("new.starter@elft.nhs.uk", "New Starter")
        assertEquals(listOf(invite.id), cs.invitesForMe(newbie.id).map { it.id })
        assertEquals(JoinOutcome.ACCEPTED_INVITE, cs.acceptInvite(newbie.id, invite.id).outcome)

        val switcher = cs.myWorkspaces(newbie.id)
        assertEquals(listOf("My Workspace", "Maternity - Ward 2"), switcher.map { it.name })
        assertTrue(switcher[0].isPersonal && switcher[0].archived)
        assertEquals(Role.MEMBER, switcher[1].role)

        val obstetrics = cs.discover(w.carol.id, w.trust.id, speciality = 501).items
        assertEquals(listOf("Maternity - Ward 2" to false, "Obstetrics" to true), obstetrics.map { it.name to it.isExample })
        assertEquals(listOf("Alice Smith"), obstetrics[0].admins.map { it.name })
        assertEquals(JoinOutcome.CREATED, cs.joinExample(w.carol.id, w.trust.id, 501).outcome)

        assertEquals(Role.ADMIN, cs.promote(w.alice.id, w.ward.id, w.bob.id).role)
        assertEquals(MemberStatus.ARCHIVED, cs.archiveMember(w.bob.id, w.ward.id, newbie.id).status)
        assertEquals(listOf("New Starter"), cs.members(w.alice.id, w.ward.id).items.filter { it.status == MemberStatus.ARCHIVED }.map { it.user.name })
        assertFalse(cs.leave(w.alice.id, w.ward.id))

        val events = cs.eventsSince(0L, 1000)
        assertEquals((1..events.size).map { it.toLong() }, events.map { it.seq })
        val created = events.first { it.kind is EventKind.WorkspaceCreated }
        assertEquals(w.alice.id, created.actor)
        assertEquals(EventKind.WorkspaceCreated(w.ward.id, w.trust.id, "Maternity - Ward 2", 501, false), created.kind)
        assertEquals("workspace_created", created.eventType)
        assertTrue(created.json.contains("\"name\":\"Maternity - Ward 2\""))
    }

    @Test
    fun everyErrorKindIsItsOwnException() {
        val cases: List<Pair<Class<out CarespaceException>, (World) -> Any>> = listOf(
            CarespaceException.InvalidEmail::class.java to { w -> w.cs.registerUser("jane@nhs.net.example.com", "Jane") },
            CarespaceException.InvalidText::class.java to { w -> w.cs.createWorkspace(w.alice.id, w.trust.id, "Ward\n2", 501, "") },
            CarespaceException.UnknownSpeciality::class.java to { w -> w.cs.createWorkspace(w.alice.id, w.trust.id, "Ward 3", 999, "") },
            CarespaceException.NotFound::class.java to { w -> w.cs.myWorkspaces(UUID.randomUUID()) },
            CarespaceException.EmailTaken::class.java to { w -> w.cs.registerUser("ALICE@nhs.net", "Alice Again") },
            CarespaceException.OdsCodeTaken::class.java to { w -> w.cs.registerOrganisation("Other", OrganisationKind.OTHER, "rwk") },
            CarespaceException.WorkspaceNameTaken::class.java to { w -> w.cs.createWorkspace(w.alice.id, w.trust.id, "maternity - ward 2", 501, "") },
            CarespaceException.Forbidden::class.java to { w -> w.cs.updateSettings(w.bob.id, w.ward.id, null, null, "x") },
            CarespaceException.LastAdmin::class.java to { w -> w.cs.demote(w.alice.id, w.ward.id, w.alice.id) },
            CarespaceException.AdminMustBeDemoted::class.java to { w ->
                w.cs.requestToJoin(w.bob.id, w.ward.id); w.cs.approve(w.alice.id, w.ward.id, w.bob.id)
                w.cs.promote(w.alice.id, w.ward.id, w.bob.id)
                w.cs.archiveMember(w.alice.id, w.ward.id, w.bob.id)
            },
            CarespaceException.AlreadyMember::class.java to { w -> w.cs.invite(w.alice.id, w.ward.id, "alice@nhs.net") },
            CarespaceException.ArchivedMember::class.java to { w ->
                w.cs.requestToJoin(w.bob.id, w.ward.id)
                w.cs.archiveMember(w.alice.id, w.ward.id, w.bob.id)
                w.cs.invite(w.alice.id, w.ward.id, "bob@nhs.net")
            },
            CarespaceException.NotAMember::class.java to { w -> w.cs.promote(w.alice.id, w.ward.id, w.bob.id) },
            CarespaceException.NoPendingRequest::class.java to { w -> w.cs.approve(w.alice.id, w.ward.id, w.bob.id) },
            CarespaceException.SelfTarget::class.java to { w -> w.cs.archiveMember(w.alice.id, w.ward.id, w.alice.id) },
            CarespaceException.InviteExpired::class.java to { w ->
                val invite = w.cs.invite(w.alice.id, w.ward.id, "bob@nhs.net")
                w.clock.advanceSeconds(15L * 24 * 3600)
                w.cs.acceptInvite(w.bob.id, invite.id)
            },
            CarespaceException.InviteRevoked::class.java to { w ->
                val invite = w.cs.invite(w.alice.id, w.ward.id, "bob@nhs.net")
                w.cs.revokeInvite(w.alice.id, invite.id)
                w.cs.acceptInvite(w.bob.id, invite.id)
            },
            CarespaceException.InviteAlreadyAccepted::class.java to { w ->
                val invite = w.cs.invite(w.alice.id, w.ward.id, "bob@nhs.net")
                w.cs.acceptInvite(w.bob.id, invite.id)
                w.cs.revokeInvite(w.alice.id, invite.id)
            },
            CarespaceException.CoolDown::class.java to { w ->
                w.cs.requestToJoin(w.bob.id, w.ward.id)
                w.cs.decline(w.alice.id, w.ward.id, w.bob.id)
                w.cs.requestToJoin(w.bob.id, w.ward.id)
            },
            CarespaceException.TimeOutOfRange::class.java to { w -> w.cs.sweep(Instant.parse("2300-01-01T00:00:00Z")) },
            CarespaceException.EndDateNotInFuture::class.java to { w -> w.cs.setMembershipEnd(w.alice.id, w.ward.id, w.alice.id, start) },
            CarespaceException.Storage::class.java to { _ -> Carespace.open("/proc/no/such/dir/carespace.sqlite3", Options()) },
            CarespaceException.OrganisationClosed::class.java to { w ->
                val closes = "RWK,EAST LONDON NHS FOUNDATION TRUST,Y56,Q71,,,,LONDON,,E1 6LP,20000401,20260301,,,,,,,,,,0,,H\n"
                w.cs.importOrganisations(odsFile("etr.csv", closes), false)
                w.cs.joinOrganisation(w.cs.registerUser("dan@nhs.net", "Dan Brown").id, w.trust.id)
            },
            CarespaceException.ImportRejected::class.java to { w -> w.cs.importOrganisations(odsFile("etr.csv", "RQX,BAD ROW\n"), true) },
            CarespaceException.Unreadable::class.java to { w -> w.cs.importOrganisations("/proc/no/such/dir/etr.csv", false) },
            CarespaceException.InvalidCursor::class.java to { w -> w.cs.searchOrganisations(OrganisationSearch.Name("east"), null, "not a cursor") },
            CarespaceException.InvalidLimit::class.java to { w -> w.cs.searchOrganisations(OrganisationSearch.Name("east"), 5000, null) },
            CarespaceException.AcknowledgementOutOfRange::class.java to { w ->
                w.cs.registerConsumer("emails", ConsumerStart.BEGINNING)
                w.cs.acknowledge("emails", w.cs.head() + 1L)
            },
        )
        for ((expected, step) in cases) {
            val w = world()
            val thrown = assertThrows(CarespaceException::class.java) { step(w) }
            assertEquals(expected, thrown.javaClass)
            // `toString()` is Carespace's sentence; uniffi's `message` lists the fields, `reason` first.
            assertTrue("${expected.simpleName} carries Carespace's sentence", thrown.toString().isNotBlank())
            assertTrue(thrown.message!!.startsWith("reason=${thrown}"))
        }
        val forbidden = assertThrows(CarespaceException.Forbidden::class.java) {
            val w = world()
            w.cs.approve(w.bob.id, w.ward.id, w.carol.id)
        }
        assertEquals("Bob Jones may not approve join requests in “Maternity - Ward 2”: they are not a member of it", forbidden.reason)
        assertEquals(forbidden.reason, forbidden.toString())
    }

    @Test
    fun r34EveryRefusalForLackOfRightsIsForbidden() {
        val w = world()
        val outsider = w.cs.registerUser("out@nhs.net", "Out Sider")
        val gp = w.cs.registerOrganisation("Mile End Surgery", OrganisationKind.GP_PRACTICE, null)
        w.cs.joinOrganisation(w.alice.id, gp.id)
        val invite = w.cs.invite(w.alice.id, w.ward.id, "bob@nhs.net")
        val refusals: List<Pair<String, () -> Any>> = listOf(
            "Out Sider may not see the workspaces in East London NHS Foundation Trust: they are not a member of its organisation"
                to { w.cs.discover(outsider.id, w.trust.id) },
            "Alice Smith may not create workspaces in Mile End Surgery: this service does not let organisations of its kind (GP practice) create workspaces"
                to { w.cs.createWorkspace(w.alice.id, gp.id, "Reception", 600, "") },
            "Carol White may not accept invites in “Maternity - Ward 2”: the invite is addressed to another email address"
                to { w.cs.acceptInvite(w.carol.id, invite.id) },
        )
        for ((message, refuse) in refusals) {
            val thrown = assertThrows(CarespaceException.Forbidden::class.java) { refuse() }
            assertEquals(message, thrown.reason)
        }
        assertTrue(w.cs.canInOrganisation(w.alice.id, w.trust.id, Action.CREATE_WORKSPACE))
        assertFalse(w.cs.canInOrganisation(w.alice.id, gp.id, Action.CREATE_WORKSPACE))
        assertFalse(w.cs.canInOrganisation(outsider.id, w.trust.id, Action.DISCOVER_WORKSPACES))
    }

    private val day = 24L * 3600

    @Test
    fun r37WhoCouldSeeAWardAndWhatBobCouldSeeAtPastInstants() {
        val w = world()
        val cs = w.cs
        cs.requestToJoin(w.bob.id, w.ward.id)
        w.clock.advanceSeconds(day)
        cs.approve(w.alice.id, w.ward.id, w.bob.id)
        w.clock.advanceSeconds(day)
        cs.leave(w.bob.id, w.ward.id)
        val viewers = { at: Instant -> cs.viewersAt(w.ward.id, at).map { it.person.name to it.sight } }
        assertEquals(listOf("Alice Smith" to Sight.ADMIN), viewers(start))
        assertEquals(listOf("Alice Smith" to Sight.ADMIN, "Bob Jones" to Sight.MEMBER), viewers(start.plusSeconds(day)))
        assertEquals(listOf("Alice Smith" to Sight.ADMIN), viewers(start.plusSeconds(2 * day)))
        val bobThen = cs.workspacesVisibleAt(w.bob.id, start.plusSeconds(day))
        assertEquals(listOf("Maternity - Ward 2" to Sight.MEMBER, "My Workspace" to Sight.OWNER), bobThen.map { it.name to it.sight })
        assertEquals(start.plusSeconds(day), bobThen[0].since)
        val history = cs.membershipHistory(w.ward.id).items
        assertEquals(listOf("workspace_created", "join_requested", "join_approved", "member_left"), history.map { it.eventType })
        assertEquals(listOf(w.alice.id, w.bob.id, w.alice.id, w.bob.id), history.map { it.actor })
    }

    @Test
    fun r38SweepExpiresInvitesAndEscalatesRequestsOnce() {
        val w = world()
        val cs = w.cs
        val invite = cs.invite(w.alice.id, w.ward.id, "dan@nhs.net")
        cs.requestToJoin(w.bob.id, w.ward.id)
        assertEquals(Swept(0, 0, 0, 0, 0), cs.sweep(start.plusSeconds(2 * day)))
        assertEquals(Swept(0, 1, 0, 0, 0), cs.sweep(start.plusSeconds(3 * day)))
        val escalated = cs.eventsSince(0L, 1000).last()
        assertEquals(EventKind.JoinRequestEscalated(w.ward.id, w.bob.id, start, listOf(w.alice.id), listOf(w.alice.id)), escalated.kind)
        assertNull(escalated.actor)
        assertEquals(Swept(1, 0, 0, 0, 0), cs.sweep(start.plusSeconds(14 * day)))
        assertEquals(InviteStatus.EXPIRED, cs.inviteDetails(w.alice.id, invite.id).status)
        assertEquals(Swept(0, 0, 0, 0, 0), cs.sweep(start.plusSeconds(14 * day)))
    }

    @Test
    fun r39EndDatesRemindThenArchiveAndTheLastAdminIsKept() {
        val w = world().also { it.approveBob() }
        val cs = w.cs
        assertTrue(cs.can(w.alice.id, w.ward.id, Action.SET_MEMBERSHIP_END))
        assertFalse(cs.can(w.bob.id, w.ward.id, Action.SET_MEMBERSHIP_END))
        val ends = start.plusSeconds(30 * day)
        assertEquals(ends, cs.setMembershipEnd(w.alice.id, w.ward.id, w.bob.id, ends).endsAt)
        assertEquals(listOf(ends), cs.members(w.alice.id, w.ward.id).items.filter { it.user.id == w.bob.id }.map { it.endsAt })
        assertEquals(1, cs.sweep(start.plusSeconds(23 * day)).endReminders)
        assertEquals(1, cs.sweep(ends).membershipsEnded)
        val (archived, mine) = cs.eventsSince(0L, 1000).takeLast(2)
        assertEquals(EventKind.MemberArchived(w.ward.id, w.bob.id, ArchiveReason.MEMBERSHIP_ENDED), archived.kind)
        assertTrue(archived.json.contains("\"reason\":\"membership_ended\""))
        // R41: Bob's last membership there ended, so his My Workspace is back.
        assertEquals("my_workspace_reactivated", mine.eventType)
        cs.setMembershipEnd(w.alice.id, w.ward.id, w.alice.id, start.plusSeconds(40 * day))
        assertEquals(1, cs.sweep(start.plusSeconds(40 * day)).lastAdminsKept)
        assertEquals(Role.ADMIN, cs.members(w.alice.id, w.ward.id).items.first { it.user.id == w.alice.id }.role)
        assertNull(cs.setMembershipEnd(w.alice.id, w.ward.id, w.alice.id, null).endsAt)
    }

    @Test
    fun lookupsOfAWorkspaceAMembershipAndOrganisations() {
        val w = world()
        val cs = w.cs
        assertEquals(w.ward, cs.workspace(w.bob.id, w.ward.id))
        assertNull(cs.membership(w.bob.id, w.ward.id, w.bob.id))
        cs.requestToJoin(w.bob.id, w.ward.id)
        assertEquals(MemberStatus.UNAPPROVED, cs.membership(w.bob.id, w.ward.id, w.bob.id)?.status)
        assertEquals(MemberStatus.UNAPPROVED, cs.membership(w.alice.id, w.ward.id, w.bob.id)?.status)
        assertThrows(CarespaceException.Forbidden::class.java) { cs.membership(w.bob.id, w.ward.id, w.alice.id) }
        val other = cs.registerOrganisation("Barts Health NHS Trust", OrganisationKind.NHS_TRUST, null)
        cs.joinOrganisation(w.alice.id, other.id)
        assertEquals(listOf("Barts Health NHS Trust", "East London NHS Foundation Trust"), cs.organisationsOf(w.alice.id).map { it.name })
    }

    private fun odsFile(name: String, rows: String): String {
        val path = Files.createTempDirectory(scratch, "ods").resolve(name)
        Files.writeString(path, rows)
        return path.toString()
    }

    @Test
    fun r40DirectoryOnTheRealOdsFiles() {
        Carespace.inMemory(Options()).use { cs ->
            val trusts = cs.importOrganisations("data/ods/etr.csv", true)
            assertEquals(241L, trusts.added)
            val practices = cs.importOrganisations("data/ods/epraccur.csv", false)
            assertEquals(14_357L, practices.added)
            assertEquals(emptyList<RejectedRow>(), practices.rejected)
            assertEquals(241L, cs.importOrganisations("data/ods/etr.csv", false).unchanged)

            val guys = cs.searchOrganisations(OrganisationSearch.Name("st thom"), null, null).items.single { it.odsCode == "RJ1" }
            assertEquals("Guy's and St Thomas' NHS Foundation Trust", guys.name)
            assertEquals("GUY'S AND ST THOMAS' NHS FOUNDATION TRUST", guys.sourceName)
            assertEquals(OrganisationKind.NHS_TRUST, guys.kind)
            val closed = cs.searchOrganisations(OrganisationSearch.OdsCode("a81003"), null, null).items.single()
            assertEquals("2017-10-31", closed.closedOn)
            val ts18 = cs.searchOrganisations(OrganisationSearch.Postcode("ts18"), null, null).items
            assertTrue(ts18.isNotEmpty() && ts18.all { it.postcode!!.startsWith("TS18") })
            assertEquals(ts18.sortedBy { it.closedOn != null }, ts18)

            // Pages follow cursors: every surgery once, the last page says so.
            val seen = mutableListOf<String>()
            var cursor: String? = null
            do {
                val page = cs.searchOrganisations(OrganisationSearch.Name("surgery"), 250, cursor)
                seen += page.items.map { it.odsCode!! }
                cursor = page.nextCursor
            } while (cursor != null)
            assertEquals(seen.size, seen.toSet().size)
            assertTrue(seen.size > 1000)

            val gp = cs.registerUser("gp@nhs.net", "Gill Pratt")
            val refused = assertThrows(CarespaceException.OrganisationClosed::class.java) { cs.joinOrganisation(gp.id, closed.id) }
            assertTrue(refused.reason.contains("31 October 2017"))
        }
    }

    @Test
    fun objectsCloseWithUse() {
        val path = Files.createTempDirectory(scratch, "db").resolve("workspaces.sqlite3").toString()
        val trustId = Carespace.open(path, Options(durability = Durability.NORMAL)).use { cs ->
            cs.registerOrganisation("Trust", OrganisationKind.NHS_TRUST, "RWK").id
        }
        Carespace.open(path, Options()).use { cs ->
            val user = cs.registerUser("alice@nhs.net", "Alice")
            assertEquals(trustId, cs.joinOrganisation(user.id, trustId).organisation)
        }
        ManualClock(start).use { clock -> assertEquals(start, clock.now()) }
    }

    @Test
    fun concurrentCallsFromSeveralThreads() {
        Carespace.inMemory(Options(approvers = Approvers.APPROVED_MEMBERS)).use { cs ->
            val trust = cs.registerOrganisation("Trust", OrganisationKind.NHS_TRUST, null)
            val admin = cs.registerUser("admin@nhs.net", "Admin")
            cs.joinOrganisation(admin.id, trust.id)
            val ward = cs.createWorkspace(admin.id, trust.id, "Ward", 501, "").workspace
            val pool = Executors.newFixedThreadPool(8)
            val jobs = (0 until 8).map { t ->
                Callable {
                    for (i in 0 until 20) {
                        val user = cs.registerUser("t${t}u$i@nhs.net", "Thread $t User $i")
                        cs.joinOrganisation(user.id, trust.id)
                        cs.requestToJoin(user.id, ward.id)
                        cs.approve(admin.id, ward.id, user.id)
                    }
                }
            }
            pool.invokeAll(jobs).forEach { it.get() }
            pool.shutdown()
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS))
            assertEquals(1 + 8 * 20, cs.members(admin.id, ward.id, limit = 1000).items.size)
            val events = cs.eventsSince(0L, 10000)
            assertEquals((1..events.size).map { it.toLong() }, events.map { it.seq })
            assertNull(cs.userByEmail("nobody@nhs.net"))
        }
    }

    @Test
    fun r42ConsumersReceiveUntilAcknowledgedAndWakeForNewEvents() {
        val w = world()
        val cs = w.cs
        val head = cs.head()
        assertEquals(0L, cs.registerConsumer("emails", ConsumerStart.BEGINNING))
        val first = cs.receive("emails", 3)
        assertEquals(listOf(1L, 2L, 3L), first.map { it.seq })
        assertEquals(first, cs.receive("emails", 3))
        assertEquals(3L, cs.acknowledge("emails", 3L))
        assertThrows(CarespaceException.AcknowledgementOutOfRange::class.java) { cs.acknowledge("emails", 2L) }
        assertThrows(CarespaceException.NotFound::class.java) { cs.receive("nobody", 3) }
        assertThrows(CarespaceException.InvalidText::class.java) { cs.registerConsumer("two words", ConsumerStart.HEAD) }
        assertEquals(head, cs.registerConsumer("audit", ConsumerStart.HEAD))
        assertEquals(emptyList<Event>(), cs.receive("audit", 50))

        // The loop of an email sender: every event after the acknowledged one, once.
        val events = cs.consume("emails", 2)
        val seen = generateSequence { events.next(50L) }.map { it.seq }.toList()
        assertEquals((4L..head).toList(), seen)
        assertEquals(5L, events.acknowledge(5L))
        assertEquals(6L, cs.consume("emails", 50).next(50L)?.seq)

        // A wait wakes when another thread commits.
        assertFalse(cs.waitForEvent(head, 50L))
        val writer = Thread { Thread.sleep(100); cs.registerUser("late@nhs.net", "Late") }
        writer.start()
        val started = System.nanoTime()
        assertEquals("user_registered", events.next(10_000L)?.eventType)
        assertTrue(System.nanoTime() - started < 5_000_000_000L)
        writer.join()
    }

    @Test
    fun r43EveryListComesInPagesThatFollowTheirCursors() {
        val w = world()
        val cs = w.cs
        for (i in 0 until 12) {
            val person = cs.registerUser("member.$i@nhs.net", "Member $i")
            cs.joinOrganisation(person.id, w.trust.id)
            cs.requestToJoin(person.id, w.ward.id)
            cs.invite(w.alice.id, w.ward.id, "invited.$i@nhs.uk")
        }
        // By hand: pages of 5 until there is no next cursor.
        fun <T> follow(page: (String?) -> Pair<List<T>, String?>): List<T> {
            val all = mutableListOf<T>()
            var cursor: String? = null
            do {
                val (items, next) = page(cursor)
                assertTrue(items.size <= 5)
                all += items
                cursor = next
            } while (cursor != null)
            return all
        }
        val members = follow { c -> cs.members(w.alice.id, w.ward.id, 5, c).let { it.items to it.nextCursor } }
        assertEquals(1 + 12, members.size)
        assertEquals(members.map { it.user.id }.toSet().size, members.size)
        assertEquals(listOf(Role.ADMIN) + List(12) { Role.MEMBER }, members.map { it.role })
        assertEquals(members, cs.members(w.alice.id, w.ward.id, limit = 1000).items)
        val requests = follow { c -> cs.pendingRequests(w.alice.id, 5, c).let { it.items to it.nextCursor } }
        assertEquals(12, requests.size)
        val invites = follow { c -> cs.pendingInvites(w.alice.id, w.ward.id, 5, c).let { it.items to it.nextCursor } }
        assertEquals(12, invites.size)
        val history = follow { c -> cs.membershipHistory(w.ward.id, 5, c).let { it.items to it.nextCursor } }
        assertEquals(history.map { it.seq }.sorted(), history.map { it.seq })
        val discovered = follow { c -> cs.discover(w.bob.id, w.trust.id, limit = 5, cursor = c).let { it.items to it.nextCursor } }
        assertEquals(discovered.map { it.name.lowercase() }.sorted(), discovered.map { it.name.lowercase() })
        assertEquals(50, cs.discover(w.bob.id, w.trust.id).items.size)
        // Bad limits and cursors from another list are typed errors; so is a page for an outsider.
        val first = cs.members(w.alice.id, w.ward.id, 5, null)
        assertThrows(CarespaceException.InvalidLimit::class.java) { cs.members(w.alice.id, w.ward.id, 0, null) }
        assertThrows(CarespaceException.InvalidCursor::class.java) { cs.pendingRequests(w.alice.id, null, first.nextCursor) }
        val outsider = cs.registerUser("out@nhs.net", "Out Sider")
        assertThrows(CarespaceException.Forbidden::class.java) { cs.members(outsider.id, w.ward.id, 5, first.nextCursor) }
    }

    /** The snake_case type of a kind: `JoinRequested` → `join_requested`. */
    private fun typeOf(kind: EventKind): String =
        kind::class.simpleName!!.replace(Regex("([a-z])([A-Z])"), "$1_$2").lowercase()

    /** Whom a host emails about an event: an exhaustive `when` over the sealed class. */
    private fun recipients(kind: EventKind): List<UUID> = when (kind) {
        is EventKind.JoinRequested -> kind.approvers
        is EventKind.JoinApproved -> listOf(kind.user)
        is EventKind.JoinDeclined -> listOf(kind.user)
        is EventKind.MembershipEndingSoon -> listOf(kind.user) + kind.admins
        is EventKind.JoinRequestEscalated -> kind.escalatedTo
        is EventKind.OrganisationRegistered, is EventKind.OrganisationRenamed, is EventKind.OrganisationClosed,
        is EventKind.OrganisationReopened, is EventKind.OrganisationUpdated, is EventKind.UserRegistered,
        is EventKind.OrganisationJoined, is EventKind.WorkspaceCreated, is EventKind.Invited,
        is EventKind.InviteAccepted, is EventKind.InviteRevoked, is EventKind.InviteExpired,
        is EventKind.MemberLeft, is EventKind.WorkspaceArchived, is EventKind.MemberArchived,
        is EventKind.MemberUnarchived, is EventKind.RoleChanged, is EventKind.SettingsChanged,
        is EventKind.MyWorkspaceArchived, is EventKind.MyWorkspaceReactivated, is EventKind.ConversationStarted,
        is EventKind.MembershipEndChanged, is EventKind.LastAdminKept -> emptyList()
    }

    @Test
    fun r32EventsAreASealedClassWithTypedFields() {
        val w = world()
        val cs = w.cs
        cs.requestToJoin(w.bob.id, w.ward.id)
        cs.decline(w.alice.id, w.ward.id, w.bob.id)
        cs.requestToJoin(w.carol.id, w.ward.id)
        cs.approve(w.alice.id, w.ward.id, w.carol.id)
        val events = cs.eventsSince(0L, 1000)
        // Every event's class names its type, as the JSON and Python do.
        assertEquals(events.map { it.eventType }, events.map { typeOf(it.kind) })
        val kinds = events.map { it.kind }
        assertTrue(EventKind.UserRegistered(w.bob.id, "bob@nhs.net") in kinds)
        assertTrue(EventKind.JoinRequested(w.ward.id, w.bob.id, listOf(w.alice.id)) in kinds)
        assertEquals(listOf(listOf(w.alice.id), listOf(w.bob.id), listOf(w.alice.id), listOf(w.carol.id)),
            kinds.filter { it is EventKind.JoinRequested || it is EventKind.JoinDeclined || it is EventKind.JoinApproved }
                .map { recipients(it) })
        val mine = kinds.filterIsInstance<EventKind.OrganisationJoined>().single { it.user == w.carol.id }
        // R27: asking to join archived Carol's My Workspace, before she was approved.
        assertEquals(listOf(EventKind.MyWorkspaceArchived(mine.myWorkspace, w.trust.id, w.carol.id), EventKind.JoinApproved(w.ward.id, w.carol.id)),
            kinds.takeLast(2))
    }

    @Test
    fun storageErrorsSayWhetherARetryMaySucceed() {
        val thrown = assertThrows(CarespaceException.Storage::class.java) {
            Carespace.open("/proc/no/such/dir/carespace.sqlite3", Options())
        }
        assertFalse(thrown.retryable)
        assertTrue(thrown.code, thrown.code.startsWith("storage_"))
        assertEquals(thrown.reason, thrown.toString())
        // The same failure is one of Carespace's exceptions, caught by their parent.
        val caught: CarespaceException = thrown
        assertTrue(caught is CarespaceException.Storage && !caught.retryable)
    }

    @Test
    fun signedValuesOutOfRangeAreTypedErrors() {
        val w = world()
        val cs = w.cs
        for (code in listOf(-1, 70_000, 999)) {
            val thrown = assertThrows(CarespaceException.UnknownSpeciality::class.java) {
                cs.createWorkspace(w.alice.id, w.trust.id, "Ward $code", code, "")
            }
            assertTrue(thrown.reason, thrown.reason.startsWith("$code is not a speciality code"))
        }
        assertThrows(CarespaceException.InvalidLimit::class.java) { cs.members(w.alice.id, w.ward.id, -1, null) }
        assertThrows(CarespaceException.InvalidLimit::class.java) { cs.eventsSince(0L, -5) }
        cs.registerConsumer("emails", ConsumerStart.BEGINNING)
        assertThrows(CarespaceException.AcknowledgementOutOfRange::class.java) { cs.acknowledge("emails", -1L) }
        // Every event comes after a negative position; a negative wait does not wait.
        assertEquals(cs.eventsSince(0L, 1000), cs.eventsSince(-1L, 1000))
        assertFalse(cs.waitForEvent(cs.head(), -5L))
        assertEquals(501, cs.workspace(w.alice.id, w.ward.id).speciality)
    }

    @Test
    fun r18InvitingTheSameAddressAgainRenewsTheOneInvite() {
        val w = world().also { it.approveBob() }
        val cs = w.cs
        val first = cs.invite(w.alice.id, w.ward.id, "dan@nhs.net")
        w.clock.advanceSeconds(day)
        val renewed = cs.invite(w.bob.id, w.ward.id, "DAN@nhs.net")
        assertEquals(first.id, renewed.id)
        assertEquals(w.bob.id, renewed.invitedBy)
        assertEquals(start.plusSeconds(15 * day), renewed.expiresAt)
        assertEquals(listOf(renewed), cs.pendingInvites(w.alice.id, w.ward.id).items)
        val invited = cs.eventsSince(0L, 1000).map { it.kind }.filterIsInstance<EventKind.Invited>()
        assertEquals(listOf(false, true), invited.map { it.refreshed })
    }

    @Test
    fun r20MembersRevokeTheirOwnInvitesAndAdminsAnyones() {
        val w = world().also { it.approveBob() }
        val cs = w.cs
        val alices = cs.invite(w.alice.id, w.ward.id, "dan@nhs.net")
        val bobs = cs.invite(w.bob.id, w.ward.id, "erin@nhs.net")
        assertThrows(CarespaceException.Forbidden::class.java) { cs.revokeInvite(w.bob.id, alices.id) }
        assertEquals(InviteStatus.REVOKED, cs.revokeInvite(w.bob.id, bobs.id).status)
        val again = cs.invite(w.bob.id, w.ward.id, "erin@nhs.net")
        assertEquals(InviteStatus.REVOKED, cs.revokeInvite(w.alice.id, again.id).status)
        assertEquals(listOf(alices.id), cs.pendingInvites(w.alice.id, w.ward.id).items.map { it.id })
        assertTrue(cs.can(w.alice.id, w.ward.id, Action.REVOKE_ANY_INVITE))
        assertFalse(cs.can(w.bob.id, w.ward.id, Action.REVOKE_ANY_INVITE))
    }

    @Test
    fun r21AndR41TheLastMemberLeavingArchivesTheWorkspaceAndBringsBackMyWorkspace() {
        val w = world().also { it.approveBob() }
        val cs = w.cs
        assertThrows(CarespaceException.LastAdmin::class.java) { cs.leave(w.alice.id, w.ward.id) }
        assertFalse(cs.leave(w.bob.id, w.ward.id))
        assertTrue(cs.leave(w.alice.id, w.ward.id))
        assertEquals(WorkspaceStatus.ARCHIVED, cs.workspace(w.alice.id, w.ward.id).status)
        val tail = cs.eventsSince(0L, 1000).takeLast(3).map { it.kind }
        assertEquals(EventKind.MemberLeft(w.ward.id, w.alice.id), tail[0])
        assertEquals(EventKind.WorkspaceArchived(w.ward.id), tail[1])
        assertTrue(tail[2] is EventKind.MyWorkspaceReactivated)
        assertFalse(cs.myWorkspaces(w.alice.id).single { it.isPersonal }.archived)
        assertThrows(CarespaceException.Forbidden::class.java) { cs.requestToJoin(w.carol.id, w.ward.id) }
    }

    @Test
    fun r22ArchivedMembersAreRestoredOnlyByAnAdmin() {
        val w = world()
        val cs = w.cs
        cs.requestToJoin(w.bob.id, w.ward.id)
        cs.startConversation(w.bob.id, w.ward.id)
        assertEquals(MemberStatus.ARCHIVED, cs.archiveMember(w.alice.id, w.ward.id, w.bob.id).status)
        val refused = assertThrows(CarespaceException.Forbidden::class.java) { cs.conversations(w.bob.id, w.ward.id) }
        assertTrue(refused.reason, refused.reason.endsWith("they were archived from it; an admin can unarchive them"))
        assertThrows(CarespaceException.Forbidden::class.java) { cs.requestToJoin(w.bob.id, w.ward.id) }
        assertThrows(CarespaceException.ArchivedMember::class.java) { cs.invite(w.alice.id, w.ward.id, "bob@nhs.net") }
        assertEquals(MemberStatus.APPROVED, cs.unarchiveMember(w.alice.id, w.ward.id, w.bob.id).status)
        assertEquals(1, cs.conversations(w.bob.id, w.ward.id).size)
        val kinds = cs.eventsSince(0L, 1000).map { it.kind }
        assertTrue(EventKind.MemberArchived(w.ward.id, w.bob.id, ArchiveReason.BY_ADMIN) in kinds)
        // R41: archiving gave Bob his My Workspace back; restoring him archives it again.
        assertEquals(EventKind.MemberUnarchived(w.ward.id, w.bob.id), kinds[kinds.size - 2])
        val bobsMyWorkspace = kinds.mapNotNull {
            when {
                it is EventKind.MyWorkspaceArchived && it.user == w.bob.id -> "archived"
                it is EventKind.MyWorkspaceReactivated && it.user == w.bob.id -> "reactivated"
                else -> null
            }
        }
        assertEquals(listOf("archived", "reactivated", "archived"), bobsMyWorkspace)
    }

    @Test
    fun r23PromoteAndDemoteButNeverTheLastAdmin() {
        val w = world()
        val cs = w.cs
        cs.requestToJoin(w.bob.id, w.ward.id)
        assertThrows(CarespaceException.NotAMember::class.java) { cs.promote(w.alice.id, w.ward.id, w.bob.id) }
        cs.approve(w.alice.id, w.ward.id, w.bob.id)
        assertThrows(CarespaceException.Forbidden::class.java) { cs.promote(w.bob.id, w.ward.id, w.bob.id) }
        assertEquals(Role.ADMIN, cs.promote(w.alice.id, w.ward.id, w.bob.id).role)
        assertEquals(Role.MEMBER, cs.demote(w.bob.id, w.ward.id, w.alice.id).role)
        assertThrows(CarespaceException.LastAdmin::class.java) { cs.demote(w.bob.id, w.ward.id, w.bob.id) }
        val roles = cs.eventsSince(0L, 1000).map { it.kind }.filterIsInstance<EventKind.RoleChanged>()
        assertEquals(listOf(w.bob.id to Role.ADMIN, w.alice.id to Role.MEMBER), roles.map { it.user to it.role })
    }

    @Test
    fun r24AdminsChangeSettingsAndTheEventHoldsOnlyWhatChanged() {
        val w = world().also { it.approveBob() }
        val cs = w.cs
        assertThrows(CarespaceException.Forbidden::class.java) { cs.updateSettings(w.bob.id, w.ward.id, "Ward 3", null, null) }
        val changed = cs.updateSettings(w.alice.id, w.ward.id, "Maternity - Ward 3", 560, null).workspace
        assertEquals("Maternity - Ward 3" to 560, changed.name to changed.speciality)
        assertEquals("Maternity - Ward 3\nEast London NHS Foundation Trust", cs.signature(w.ward.id))
        assertEquals(EventKind.SettingsChanged(w.ward.id, "Maternity - Ward 3", 560, null), cs.eventsSince(0L, 1000).last().kind)
        assertEquals(listOf("Maternity - Ward 3"), cs.discover(w.carol.id, w.trust.id, name = "ward").items.map { it.name })
    }

    @Test
    fun r16ApproversPolicyLetsApprovedMembersApprove() {
        fun attempt(approvers: Approvers?): Boolean {
            val clock = ManualClock(start)
            return Carespace.inMemory(Options(approvers = approvers, clock = clock)).use { cs ->
                val trust = cs.registerOrganisation("Trust", OrganisationKind.NHS_TRUST, null)
                val (admin, member, asker) = listOf("a", "m", "r").map { cs.registerUser("$it@nhs.net", it).also { u -> cs.joinOrganisation(u.id, trust.id) } }
                val ward = cs.createWorkspace(admin.id, trust.id, "Ward", 501, "").workspace
                cs.requestToJoin(member.id, ward.id)
                cs.approve(admin.id, ward.id, member.id)
                cs.requestToJoin(asker.id, ward.id)
                try {
                    cs.approve(member.id, ward.id, asker.id).status == MemberStatus.APPROVED
                } catch (e: CarespaceException.Forbidden) {
                    false
                }
            }
        }
        assertFalse(attempt(null))
        assertFalse(attempt(Approvers.ADMINS))
        assertTrue(attempt(Approvers.APPROVED_MEMBERS))
    }

    @Test
    fun r7CreatorKindsAndR17CooldownAreOptions() {
        val clock = ManualClock(start)
        val options = Options(creatorKinds = listOf(OrganisationKind.GP_PRACTICE), rerequestCooldownSeconds = 60L, clock = clock)
        Carespace.inMemory(options).use { cs ->
            val gp = cs.registerOrganisation("Mile End Surgery", OrganisationKind.GP_PRACTICE, null)
            val trust = cs.registerOrganisation("Trust", OrganisationKind.NHS_TRUST, null)
            val (gill, dan) = listOf("gill", "dan").map { cs.registerUser("$it@nhs.net", it) }
            for (org in listOf(gp, trust)) for (user in listOf(gill, dan)) cs.joinOrganisation(user.id, org.id)
            assertTrue(cs.canInOrganisation(gill.id, gp.id, Action.CREATE_WORKSPACE))
            assertFalse(cs.canInOrganisation(gill.id, trust.id, Action.CREATE_WORKSPACE))
            val reception = cs.createWorkspace(gill.id, gp.id, "Reception", 600, "").workspace
            cs.requestToJoin(dan.id, reception.id)
            cs.decline(gill.id, reception.id, dan.id)
            assertThrows(CarespaceException.CoolDown::class.java) { cs.requestToJoin(dan.id, reception.id) }
            clock.advanceSeconds(61)
            assertEquals(JoinOutcome.REQUESTED, cs.requestToJoin(dan.id, reception.id).outcome)
        }
    }

    @Test
    fun r15UnapprovedMembersSendButSeeOnlyTheirOwn() {
        val w = world()
        val cs = w.cs
        cs.startConversation(w.alice.id, w.ward.id)
        cs.requestToJoin(w.bob.id, w.ward.id)
        val allowed = Action.values().filter { cs.can(w.bob.id, w.ward.id, it) }.toSet()
        // Asking again, or accepting an invite, changes nothing for them but is allowed.
        assertEquals(setOf(Action.START_CONVERSATION, Action.VIEW_OWN_CONVERSATIONS, Action.CREATE_PERSONAL_TEMPLATE,
            Action.CREATE_PERSONAL_PATIENT_LIST, Action.REQUEST_TO_JOIN, Action.LEAVE, Action.ACCEPT_INVITE), allowed)
        val bobs = cs.startConversation(w.bob.id, w.ward.id)
        assertEquals(listOf(bobs), cs.conversations(w.bob.id, w.ward.id))
        assertThrows(CarespaceException.Forbidden::class.java) { cs.members(w.bob.id, w.ward.id) }
        assertThrows(CarespaceException.Forbidden::class.java) { cs.invite(w.bob.id, w.ward.id, "dan@nhs.net") }
    }

    @Test
    fun twoObjectsOnOneFileSeeEachOthersWritesAndWake() {
        val path = Files.createTempDirectory(scratch, "shared").resolve("workspaces.sqlite3").toString()
        Carespace.open(path, Options()).use { writer ->
            Carespace.open(path, Options()).use { reader ->
                val trust = writer.registerOrganisation("Trust", OrganisationKind.NHS_TRUST, "RWK")
                assertEquals(listOf(trust), reader.searchOrganisations(OrganisationSearch.OdsCode("rwk")).items)
                val head = reader.head()
                val late = Thread { Thread.sleep(100); writer.registerUser("late@nhs.net", "Late") }
                late.start()
                assertTrue(reader.waitForEvent(head, 10_000L))
                late.join()
                assertEquals(EventKind.UserRegistered(reader.userByEmail("late@nhs.net")!!.id, "late@nhs.net"),
                    reader.eventsSince(head, 10).single().kind)
            }
        }
    }

    @Test
    fun reopeningAFileKeepsTheLogAndEachConsumersPosition() {
        val path = Files.createTempDirectory(scratch, "reopen").resolve("workspaces.sqlite3").toString()
        val before = Carespace.open(path, Options()).use { cs ->
            val trust = cs.registerOrganisation("Trust", OrganisationKind.NHS_TRUST, null)
            val alice = cs.registerUser("alice@nhs.net", "Alice")
            cs.joinOrganisation(alice.id, trust.id)
            cs.createWorkspace(alice.id, trust.id, "Ward", 501, "")
            cs.registerConsumer("emails", ConsumerStart.BEGINNING)
            cs.acknowledge("emails", 3L)
            cs.eventsSince(0L, 1000)
        }
        Carespace.open(path, Options()).use { cs ->
            assertEquals(before, cs.eventsSince(0L, 1000))
            assertEquals(3L, cs.registerConsumer("emails", ConsumerStart.HEAD))
            assertEquals(4L, cs.receive("emails", 1).single().seq)
        }
    }

    @Test
    fun aConsumptionIsAcknowledgedFromAnotherThreadWhileOneWaits() {
        val w = world()
        val cs = w.cs
        cs.registerConsumer("emails", ConsumerStart.HEAD)
        val events = cs.consume("emails", 10)
        val pool = Executors.newFixedThreadPool(2)
        val waiting = pool.submit(Callable { events.next(10_000L) })
        Thread.sleep(100)
        val joined = cs.requestToJoin(w.bob.id, w.ward.id)
        val got = waiting.get(10, TimeUnit.SECONDS)!!
        assertEquals(EventKind.JoinRequested(w.ward.id, w.bob.id, listOf(w.alice.id)), got.kind)
        assertEquals(got.seq, pool.submit(Callable { events.acknowledge(got.seq) }).get(10, TimeUnit.SECONDS))
        pool.shutdown()
        assertEquals(MemberStatus.UNAPPROVED, joined.membership.status)
        assertEquals(emptyList<Event>(), cs.receive("emails", 10).filter { it.seq <= got.seq })
    }
}
