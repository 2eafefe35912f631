import Foundation
import MusterClient
import MusterCore
import MusterPQ
import MusterServer
import MusterTestSupport
import Testing

/// Pushed events across daemons, automatic backfill rounds, and the explanation of unfilled slots, over TCP
/// against real PostgreSQL.
@Suite struct EventsBackfillShortageTests {
    let staffing = StaffingTests()

    func object(_ text: String?) throws -> [String: Any] { try staffing.object(text) }

    func field(_ event: String, _ key: String) -> Any? {
        (try? JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any])?[key]
    }

    /// A nurse with `extra` registration fields; verified (identity and licence) and made available unless told not.
    func nurse(
        _ ny: MusterClient, _ ref: String, _ extra: [String: Any] = [:], licensedIn: String = "NJ", verify: Bool = true,
        available: Bool = true
    ) async throws -> Int {
        var fields: [String: Any] = [
            "location": ["lat": 40.75, "lon": -73.99],
            "licenses": [["jurisdiction": licensedIn, "type": "RN", "number": "RN-\(ref)", "status": "active", "expires": "2021-05-31"]],
        ]
        for (key, value) in extra { fields[key] = value }
        let reply = try await ny.send("VOLUNTEER.REGISTER " + VolunteerRegistryTests.registration(ref, fields))
        #expect(reply.isOK, "\(reply)")
        let id = try object(reply.payload)["id"] as? Int ?? -1
        if verify {
            for (item, subject) in [("identity", ""), ("license", "\(licensedIn):RN-\(ref)")] {
                let body = try staffing.json(["item": item, "subject": subject, "outcome": "verified", "source": "NJ board", "reference": "x"])
                let verified = try await ny.send("VOLUNTEER.VERIFY \(id) \(body)")
                #expect(verified.isOK, "\(verified)")
            }
        }
        if verify && available {
            let made = try await ny.send(#"VOLUNTEER.UPDATE \#(id) {"status": "available"}"#)
            #expect(made.isOK, "\(made)")
        }
        return id
    }

    @Test func eventsReachEveryDaemonsSubscribersAndOnlyThoseEntitled() async throws {
        let database = try await TestCluster.makeDatabase()
        try await withTestServer(database: database, today: { StaffingTests.today }) { first in
            try await withTestServer(database: database, today: { StaffingTests.today }) { second in
                let (_, ny, facility) = try await staffing.setUp(first)
                let other = try await first.makeFacility(name: "Mount Sinai", lat: 40.79, lon: -73.95)
                // Subscribers on the second daemon; every change below is made through the first.
                let hospital = try await second.connect(role: .hospital, facilityID: Int64(facility))
                let otherHospital = try await second.connect(role: .hospital, facilityID: other)
                let nyWatch = try await second.connect(role: .state, state: "NY")
                let njWatch = try await second.connect(role: .state, state: "NJ")
                let adminWatch = try await second.connect(role: .admin)
                #expect(try await hospital.send("EVENTS.SUBSCRIBE volunteers").errorCode == "FORBIDDEN")
                #expect(try await nyWatch.send("EVENTS.SUBSCRIBE gossip").errorMessage?.hasPrefix("gossip: expected a topic") == true)
                #expect(try await nyWatch.send("EVENTS.SUBSCRIBE NJ").errorCode == "BAD_REQUEST")
                let subscribed = try object(try await hospital.send("EVENTS.SUBSCRIBE").payload)
                #expect(subscribed["subscribed"] as? [String] == ["offers", "requests"])
                #expect(try await otherHospital.send("EVENTS.SUBSCRIBE").isOK)
                #expect(try await nyWatch.send("EVENTS.SUBSCRIBE").isOK)
                #expect(try await njWatch.send("EVENTS.SUBSCRIBE").isOK)
                #expect(try await adminWatch.send("EVENTS.SUBSCRIBE offers NJ").isOK)
                let registrationWatch = try await second.connect(role: .state, state: "NY")
                #expect(try await registrationWatch.send("EVENTS.SUBSCRIBE volunteers").isOK)

                let nurses = [try await nurse(ny, "e1"), try await nurse(ny, "e2", ["location": ["lat": 40.8, "lon": -73.95]])]
                // Registrations are announced by the daemon after they commit (no trigger holds up their commit).
                let announced = try await registrationWatch.waitForEvent {
                    field($0, "type") as? String == "volunteer" && field($0, "change") as? String == "registered"
                        && field($0, "id") as? Int == nurses[0]
                }
                // In the protocol's compact form, keys in their documented order (PostgreSQL wrote it with spaces).
                #expect(
                    announced.match
                        == #"{"type":"volunteer","change":"registered","id":\#(nurses[0]),"state":"NY","status":"registered","credentialLevel":null}"#)
                let registered = try await nyWatch.waitForEvent {
                    field($0, "type") as? String == "volunteer" && field($0, "id") as? Int == nurses[1]
                        && field($0, "status") as? String == "available"
                }
                #expect(field(registered.match, "state") as? String == "NY")

                let submitter = try await first.connect(role: .hospital, facilityID: Int64(facility))
                let request = try await staffing.submit(submitter, count: 2)
                let submitted = try await hospital.waitForEvent { field($0, "type") as? String == "request" }
                #expect(field(submitted.match, "id") as? Int == request)
                #expect(field(submitted.match, "status") as? String == "open")
                #expect(!submitted.match.contains(" "), "\(submitted.match)")

                let round = try await ny.send("MATCH.RUN NY")
                #expect(try object(round.payload)["offers"] as? Int == 2, "\(round)")
                var offered: Set<Int> = []
                while offered.count < 2 {
                    let event = try await hospital.waitForEvent { field($0, "type") as? String == "offer" }
                    #expect(field(event.match, "status") as? String == "offered")
                    #expect(field(event.match, "requestId") as? Int == request)
                    // Ids and scope only: names and contact details are never in an event.
                    #expect(!event.match.contains("Ana") && !event.match.contains("example.org"))
                    offered.insert(field(event.match, "volunteerId") as? Int ?? -1)
                }
                #expect(offered == Set(nurses))
                let roundEvent = try await nyWatch.waitForEvent { field($0, "type") as? String == "round" }
                #expect(field(roundEvent.match, "offers") as? Int == 2)
                #expect(field(roundEvent.match, "backfill") as? Bool == false)

                // The state accepts, the hospital confirms: the confirmation reaches the hospital on the other daemon.
                let offerID = try #require(try round.rows.map { try object($0) }.first?["assignmentId"] as? Int)
                #expect(try await ny.send("OFFER.ACCEPT \(offerID)").isOK)
                #expect(try await submitter.send("OFFER.CONFIRM \(offerID)").isOK)
                _ = try await hospital.waitForEvent {
                    field($0, "type") as? String == "offer" && field($0, "id") as? Int == offerID
                        && field($0, "status") as? String == "confirmed"
                }

                // Nobody else heard any of it: the other hospital, New Jersey, and an admin watching New Jersey only.
                for client in [otherHospital, njWatch, adminWatch] {
                    #expect(try await client.send("PING").isOK)
                    #expect(client.takeEvents().isEmpty)
                }
                // Unsubscribing stops them.
                #expect(try await hospital.send("EVENTS.UNSUBSCRIBE").isOK)
                _ = hospital.takeEvents()
                #expect(try await submitter.send("REQUEST.CANCEL \(request)").isOK)
                _ = try await nyWatch.waitForEvent { field($0, "type") as? String == "request" && field($0, "status") as? String == "cancelled" }
                #expect(try await hospital.send("PING").isOK)
                #expect(hospital.takeEvents().isEmpty)
                #expect(second.services.events.subscribers == 5)
            }
        }
    }

    @Test func aDeclineAnExpiryAndACancellationEachTriggerABackfillRound() async throws {
        try await withTestServer(today: { StaffingTests.today }) { server in
            let (_, ny, facility) = try await staffing.setUp(server)
            let nurses = [
                try await nurse(ny, "b1", ["location": ["lat": 40.74, "lon": -73.98]]),
                try await nurse(ny, "b2", ["location": ["lat": 40.80, "lon": -73.95]]),
                try await nurse(ny, "b3", ["location": ["lat": 40.90, "lon": -74.00]]),
            ]
            let hospital = try await server.connect(role: .hospital, facilityID: Int64(facility))
            #expect(try await hospital.send("EVENTS.SUBSCRIBE offers").isOK)
            #expect(try await ny.send("EVENTS.SUBSCRIBE rounds").isOK)
            let first = try await staffing.submit(hospital, count: 1)
            let round = try await ny.send("MATCH.RUN NY")
            let offer = try #require(try round.rows.map { try object($0) }.first)
            #expect(offer["volunteerId"] as? Int == nurses[0])

            func offeredEvent(_ volunteer: Int) -> (String) -> Bool {
                { field($0, "type") as? String == "offer" && field($0, "volunteerId") as? Int == volunteer
                    && field($0, "status") as? String == "offered" }
            }
            // A decline: the slot goes to the next best nurse without anyone asking.
            #expect(try await ny.send("OFFER.DECLINE \(offer["assignmentId"] as? Int ?? -1)").isOK)
            let second = try await hospital.waitForEvent(offeredEvent(nurses[1]))
            let backfill = try await ny.waitForEvent { field($0, "type") as? String == "round" && field($0, "backfill") as? Bool == true }
            #expect(field(backfill.match, "offers") as? Int == 1)

            // An expiry: the deadline passes, the sweep expires the offer, and the third nurse is offered the slot.
            let secondID = try #require(field(second.match, "id") as? Int)
            try await server.pool.query("UPDATE assignments SET deadline = now() - interval '1 minute' WHERE id = \(Int64(secondID))")
            let sweeper = ExpiryWatch(pool: server.pool, logger: .init(label: "test"), backfill: server.services.backfill)
            #expect(try await sweeper.sweepOffers() == 1)
            _ = try await hospital.waitForEvent(offeredEvent(nurses[2]))

            // A cancellation: the released nurse goes to another open request. Before it, that request gets the two
            // free nurses and stays one short, since the third is booked over its dates.
            let later = try await staffing.submit(hospital, count: 3, start: "2020-04-10", end: "2020-04-12")
            #expect(try object(try await ny.send("MATCH.RUN NY").payload)["offers"] as? Int == 2)
            #expect(try await hospital.send("REQUEST.CANCEL \(first)").isOK)
            _ = try await hospital.waitForEvent {
                field($0, "type") as? String == "offer" && field($0, "requestId") as? Int == later
                    && field($0, "volunteerId") as? Int == nurses[2] && field($0, "status") as? String == "offered"
            }
            let audited = try await server.pool.query(
                "SELECT count(*) AS n FROM audit_log WHERE action = 'assignment.offer' AND actor_name = 'system'")[0].decode("n", as: Int.self)
            #expect(audited == 3)
        }
    }

    @Test func everyUnfilledSlotIsExplainedFilterByFilter() async throws {
        // No automatic backfill here: the test decides when rounds run.
        try await withTestServer(matching: MatchingSettings(backfillDelay: .seconds(3600)), today: { StaffingTests.today }) { server in
            let (_, ny, facility) = try await staffing.setUp(server)
            // Booked elsewhere over the same dates.
            _ = try await nurse(ny, "s-busy")
            let queens = try await server.makeFacility(name: "Queens Hospital", lat: 40.71, lon: -73.80)
            _ = try await staffing.submit(ny, facility: Int(queens), count: 1, priority: 5, start: "2020-04-01", end: "2020-04-30")
            #expect(try object(try await ny.send("MATCH.RUN NY").payload)["offers"] as? Int == 1)
            // The request: two critical-care nurses, credential level 3 or better, 5-19 April, at Bellevue. Its one
            // offer is declined.
            _ = try await nurse(ny, "s-declined")
            let request = try await staffing.submit(ny, facility: facility, count: 2, priority: 3)
            let first = try await ny.send("MATCH.RUN NY")
            let declined = try #require(try first.rows.map { try object($0) }.first?["assignmentId"] as? Int, "\(first)")
            #expect(try await ny.send("OFFER.DECLINE \(declined)").isOK)
            // One volunteer ruled out by each filter, in turn.
            let physician = try await ny.send(
                "VOLUNTEER.REGISTER " + VolunteerRegistryTests.registration("s-profession", ["profession": "physician"]))
            #expect(physician.isOK, "\(physician)")
            _ = try await nurse(ny, "s-skills", ["skills": ["pediatrics"]])
            _ = try await nurse(ny, "s-unverified", verify: false)
            _ = try await nurse(ny, "s-verified", available: false)
            // Licensed in Puerto Rico: no New York order covers a territory's nursing licence.
            let lapsed = try await nurse(ny, "s-territory", licensedIn: "PR")
            _ = try await nurse(ny, "s-far", ["location": ["lat": 42.89, "lon": -78.88], "maxTravelKm": 50])
            _ = try await nurse(ny, "s-dates", ["availability": ["from": "2020-05-01", "to": "2020-06-30"]])
            let chosen = try await nurse(ny, "s-chosen")
            let gone = try await nurse(ny, "s-gone")
            #expect(try await ny.send("VOLUNTEER.WITHDRAW \(gone)").isOK)
            // A critical request for the same dates takes the one nurse who could fill either.
            let urgent = try await staffing.submit(ny, facility: facility, count: 1, priority: 5)
            // And one nobody qualifies for: credential level 1 only.
            let strict = try await ny.send(
                "REQUEST.SUBMIT " + (try staffing.json([
                    "facilityId": facility, "profession": "registered_nurse", "skills": ["critical_care"], "maxCredentialLevel": 1,
                    "count": 1, "start": "2020-04-05", "end": "2020-04-19", "priority": 1,
                ])))
            let strictID = try object(strict.payload)["id"] as? Int ?? -1
            let lapsedCheck = try object(try await ny.send("ELIGIBILITY.CHECK \(lapsed) NY").payload)
            try #require(lapsedCheck["eligible"] as? Bool == false, "a Puerto Rico licence must not qualify: \(lapsedCheck)")

            let explanation = try await ny.send("SHORTAGE NY")
            #expect(explanation.isOK, "\(explanation)")
            let rows = try explanation.rows.map { try object($0) }
            #expect(Set(rows.compactMap { $0["requestId"] as? Int }) == [request, strictID], "the urgent request \(urgent) is filled")
            let short = try #require(rows.first { $0["requestId"] as? Int == request })
            #expect(short["wanted"] as? Int == 2)
            #expect(short["short"] as? Int == 2)
            let removed = try #require(short["removedBy"] as? [String: Int])
            #expect(removed == [
                "profession": 1, "skills": 1, "awaitingVerification": 1, "notMarkedAvailable": 1, "credentialLevel": 0,
                "notEligible": 1, "conditions": 0, "tooFar": 1, "notAvailableOnDates": 1, "alreadyAssigned": 1,
                "declined": 1, "offeredElsewhere": 1,
            ])
            // Everyone but the withdrawn is counted exactly once.
            #expect(short["considered"] as? Int == 10)
            #expect(removed.values.reduce(0, +) == 10)
            let strictRow = try #require(rows.first { $0["requestId"] as? Int == strictID })
            let strictRemoved = try #require(strictRow["removedBy"] as? [String: Int])
            // Every verified, available critical-care nurse fails on credential level before anything else.
            #expect(strictRemoved["credentialLevel"] == 6, "\(strictRemoved)")
            let summary = try object(explanation.payload)
            #expect(summary["requestsShort"] as? Int == 2)
            #expect(summary["slotsShort"] as? Int == 3)
            #expect((summary["removedBy"] as? [String: Int])?["credentialLevel"] == 6)
            // Nothing was written: the urgent request is still unfilled, the chosen nurse still unbooked.
            #expect(try await staffing.activeAssignments(server) == 1)
            #expect(try object(try await ny.send("VOLUNTEER.STATUS \(chosen)").payload)["stage"] as? String == "eligible")
            // Access: another state may not ask.
            let nj = try await server.connect(role: .state, state: "NJ")
            #expect(try await nj.send("SHORTAGE NY").errorCode == "FORBIDDEN")
            #expect(try await ny.send("SHORTAGE ZZ").errorCode == "BAD_REQUEST")
        }
    }
}
