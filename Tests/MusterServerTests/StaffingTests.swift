import Foundation
import MusterClient
import MusterCore
import MusterPQ
import MusterTestSupport
import Testing

/// Facilities, staffing requests, exact matching rounds and the offer lifecycle over TCP against real
/// PostgreSQL, with double booking made impossible by the database.
@Suite struct StaffingTests {
    static let today = CalendarDate("2020-04-03")!

    func object(_ text: String?) throws -> [String: Any] {
        let payload = try #require(text)
        return try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
    }

    func json(_ value: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
    }

    /// A verified, available nurse licensed in New Jersey (eligible in New York under EO 202.5), near Manhattan.
    func availableNurse(_ ny: MusterClient, _ ref: String, lat: Double = 40.75, lon: Double = -73.99) async throws -> Int {
        let body = VolunteerRegistryTests.registration(ref, ["location": ["lat": lat, "lon": lon]])
        let reply = try await ny.send("VOLUNTEER.REGISTER " + body)
        let id = try object(reply.payload)["id"] as? Int ?? -1
        for (item, subject) in [("identity", ""), ("license", "NJ:RN-\(ref)")] {
            let verify = try json(["item": item, "subject": subject, "outcome": "verified", "source": "NJ board", "reference": "x"])
            #expect(try await ny.send("VOLUNTEER.VERIFY \(id) \(verify)").isOK)
        }
        let available = try await ny.send(#"VOLUNTEER.UPDATE \#(id) {"status": "available"}"#)
        #expect(available.isOK, "\(available)")
        return id
    }

    /// Loads New York's shipped orders, creates a hospital in Manhattan, and returns its id.
    func setUp(_ server: TestServer) async throws -> (admin: MusterClient, ny: MusterClient, facility: Int) {
        let admin = try await server.connect(role: .admin)
        try await EligibilityTests.loadPacks(admin, prefix: "NY-")
        let ny = try await server.connect(role: .state, state: "NY")
        let created = try await ny.send(
            #"FACILITY.CREATE {"name": "Bellevue", "kind": "hospital", "lat": 40.7394, "lon": -73.9754, "provides": ["supervision"]}"#)
        #expect(created.isOK, "\(created)")
        return (admin, ny, try object(created.payload)["id"] as? Int ?? -1)
    }

    func submit(_ client: MusterClient, facility: Int? = nil, count: Int, priority: Int = 5, start: String = "2020-04-05", end: String = "2020-04-19") async throws -> Int {
        var body: [String: Any] = [
            "profession": "registered_nurse", "skills": ["critical_care"], "maxCredentialLevel": 3, "count": count,
            "start": start, "end": end, "priority": priority, "notes": "ICU surge",
        ]
        if let facility { body["facilityId"] = facility }
        let reply = try await client.send("REQUEST.SUBMIT " + (try json(body)))
        #expect(reply.isOK, "\(reply)")
        return try object(reply.payload)["id"] as? Int ?? -1
    }

    func activeAssignments(_ server: TestServer) async throws -> Int {
        try await server.pool.query("SELECT count(*) AS n FROM assignments WHERE status IN ('offered','accepted','confirmed')")[0]
            .decode("n", as: Int.self)
    }

    @Test func aHospitalRequestIsMatchedOfferedAcceptedAndConfirmed() async throws {
        try await withTestServer(today: { Self.today }) { server in
            let (_, ny, facility) = try await setUp(server)
            let nurses = [
                try await availableNurse(ny, "m1", lat: 40.74, lon: -73.98),
                try await availableNurse(ny, "m2", lat: 40.80, lon: -73.95),
                try await availableNurse(ny, "m3", lat: 40.90, lon: -74.00),
            ]
            let hospital = try await server.connect(role: .hospital, facilityID: Int64(facility))
            let request = try await submit(hospital, count: 2)
            #expect(try await hospital.send(#"REQUEST.SUBMIT {"facilityId": 999, "profession": "registered_nurse", "maxCredentialLevel": 3, "count": 1, "start": "2020-04-05", "end": "2020-04-06", "priority": 1}"#).errorMessage?.hasPrefix("facilityId: a hospital token submits for its own facility") == true)
            let invalid = try await hospital.send(#"REQUEST.SUBMIT {"profession": "wizard", "maxCredentialLevel": 7, "count": 0, "start": "2020-04-09", "end": "2020-04-01", "priority": 9}"#)
            #expect(invalid.errorCode == "BAD_REQUEST")
            for field in ["profession: unknown value \"wizard\"", "maxCredentialLevel", "count", "end: before start", "priority"] {
                #expect(invalid.errorMessage?.contains(field) == true, "\(field): \(invalid)")
            }

            // A dry run proposes without writing anything.
            let dry = try await ny.send(#"MATCH.RUN NY {"dryRun": true}"#)
            #expect(dry.rows.count == 2, "\(dry)")
            #expect(try await activeAssignments(server) == 0)

            let round = try await ny.send("MATCH.RUN NY")
            let summary = try object(round.payload)
            #expect(summary["offers"] as? Int == 2, "\(round)")
            #expect(summary["weightedFilled"] as? Int == 10)
            #expect((summary["unfilled"] as? [Any])?.isEmpty == true)
            let offers = try round.rows.map { try object($0) }
            // The two nearest nurses, on the out-of-state licence order.
            #expect(Set(offers.compactMap { $0["volunteerId"] as? Int }) == Set(nurses.prefix(2)))
            #expect(offers.allSatisfy { $0["basis"] as? String == "NY-EO-202.5 §out-of-state-nurses" })
            #expect(try await activeAssignments(server) == 2)
            // The request is full: another round offers nothing.
            #expect(try object(try await ny.send("MATCH.RUN NY").payload)["offers"] as? Int == 0)

            let status = try object(try await ny.send("VOLUNTEER.STATUS \(nurses[0])").payload)
            #expect(status["stage"] as? String == "offered")
            let funnel = try await ny.send("VOLUNTEER.FUNNEL")
            let row = try #require(try funnel.rows.map { try object($0) }.first)
            #expect(row["offered"] as? Int == 2)
            #expect(row["eligible"] as? Int == 3)

            // The hospital sees its offers with names and contacts; it may not accept on the volunteer's behalf.
            let listed = try await hospital.send("OFFER.LIST")
            let seen = try listed.rows.map { try object($0) }
            #expect(seen.count == 2)
            #expect(seen.allSatisfy { ($0["volunteer"] as? [String: Any])?["email"] is String })
            let first = try #require(offers.first { $0["volunteerId"] as? Int == nurses[0] }?["assignmentId"] as? Int)
            let second = try #require(offers.first { $0["volunteerId"] as? Int == nurses[1] }?["assignmentId"] as? Int)
            #expect(try await hospital.send("OFFER.ACCEPT \(first)").errorCode == "FORBIDDEN")
            #expect(try await hospital.send("OFFER.CONFIRM \(first)").errorMessage == "offer \(first) is offered; it cannot become confirmed")
            #expect(try object(try await ny.send("OFFER.ACCEPT \(first)").payload)["status"] as? String == "accepted")
            #expect(try object(try await hospital.send("OFFER.CONFIRM \(first)").payload)["status"] as? String == "confirmed")
            let deployed = try object(try await ny.send("VOLUNTEER.STATUS \(nurses[0])").payload)
            #expect(deployed["stage"] as? String == "deployed")
            let other = try await server.connect(role: .hospital, facilityID: try await server.makeFacility(name: "Elsewhere"))
            #expect(try await other.send("OFFER.CONFIRM \(second)").errorCode == "FORBIDDEN")
            #expect(try await other.send("OFFER.LIST").rows.isEmpty)

            // A decline reopens the slot, and the backfill round offers it to the next best nurse by itself.
            #expect(try await hospital.send("EVENTS.SUBSCRIBE offers").isOK)
            #expect(try await ny.send("OFFER.DECLINE \(second)").isOK)
            let backfill = try await hospital.waitForEvent { event in
                (try? object(event))?["status"] as? String == "offered"
            }
            #expect(try object(backfill.match)["volunteerId"] as? Int == nurses[2])
            let requestView = try object(try await hospital.send("REQUEST.GET \(request)").payload)
            #expect(requestView["filled"] as? Int == 2)

            // Cancelling releases every booking, and the deployed nurse is available again.
            let cancelled = try object(try await hospital.send("REQUEST.CANCEL \(request)").payload)
            #expect(cancelled["released"] as? Int == 2)
            #expect(try await activeAssignments(server) == 0)
            let back = try object(try await ny.send("VOLUNTEER.GET \(nurses[0])").payload)
            #expect(back["status"] as? String == "available")
            let audit = try await server.pool.query("SELECT count(*) AS n FROM audit_log WHERE action LIKE 'assignment.%'")[0].decode("n", as: Int.self)
            #expect(audit == 5)  // two rounds with offers, then accept, confirm and decline (the cancel is audited as request.cancel)
        }
    }

    @Test func theDatabaseRefusesADoubleBookingWhateverTheCodePath() async throws {
        try await withTestServer(today: { Self.today }) { server in
            let (_, ny, facility) = try await setUp(server)
            let nurse = try await availableNurse(ny, "x1")
            let request = try await submit(ny, facility: facility, count: 1)
            #expect(try object(try await ny.send("MATCH.RUN NY").payload)["offers"] as? Int == 1)
            // A forged insert overlapping the booking, straight into the table, is refused by the exclusion constraint.
            let error = try await #require(throws: PGError.self) {
                try await server.pool.query(
                    """
                    INSERT INTO assignments (request_id, volunteer_id, period, status, basis, distance_km, round_id, deadline)
                    VALUES (\(Int64(request)), \(Int64(nurse)), daterange('2020-04-19', '2020-04-30', '[]'), 'confirmed', 'x', 0, 0, now())
                    """)
            }
            #expect(error.kind == .exclusionViolation)
            #expect(error.constraint == "assignments_no_double_booking")
            // An inactive (declined) row may overlap; history is kept.
            try await server.pool.query(
                """
                INSERT INTO assignments (request_id, volunteer_id, period, status, basis, distance_km, round_id, deadline)
                VALUES (\(Int64(request)), \(Int64(nurse)), daterange('2020-04-10', '2020-04-12', '[]'), 'declined', 'x', 0, 0, now())
                """)
            // A non-overlapping period is fine.
            try await server.pool.query(
                """
                INSERT INTO assignments (request_id, volunteer_id, period, status, basis, distance_km, round_id, deadline)
                VALUES (\(Int64(request)), \(Int64(nurse)), daterange('2020-04-20', '2020-04-25', '[]'), 'offered', 'x', 0, 0, now())
                """)
        }
    }

    @Test func twoDaemonsMatchingTheSameStateAtOnceNeverDoubleBook() async throws {
        let database = try await TestCluster.makeDatabase()
        try await withTestServer(database: database, today: { Self.today }) { first in
            try await withTestServer(database: database, today: { Self.today }) { second in
                let (_, ny, facility) = try await setUp(first)
                for index in 0..<6 { _ = try await availableNurse(ny, "c\(index)", lat: 40.7 + Double(index) / 100) }
                for _ in 0..<4 { _ = try await submit(ny, facility: facility, count: 2) }
                let a = try await first.connect(role: .state, state: "NY")
                let b = try await second.connect(role: .state, state: "NY")
                async let left = a.send("MATCH.RUN NY")
                async let right = b.send("MATCH.RUN NY")
                let (one, two) = try await (left, right)
                #expect(one.isOK && two.isOK, "\(one) \(two)")
                let offered = try (object(one.payload)["offers"] as? Int ?? 0) + (object(two.payload)["offers"] as? Int ?? 0)
                #expect(offered == 6)
                let perVolunteer = try await first.pool.query(
                    "SELECT max(n) AS m FROM (SELECT count(*) AS n FROM assignments WHERE status = 'offered' GROUP BY volunteer_id) c")
                #expect(try perVolunteer[0].decode("m", as: Int.self) == 1)
                #expect(try await activeAssignments(first) == 6)
            }
        }
    }

    @Test func facilitiesAndRequestsAreScoped() async throws {
        try await withTestServer(today: { Self.today }) { server in
            let (admin, ny, facility) = try await setUp(server)
            let nj = try await server.connect(role: .state, state: "NJ")
            #expect(try await nj.send(#"FACILITY.CREATE {"state": "NY", "name": "x", "kind": "clinic", "lat": 40, "lon": -74}"#).errorCode == "FORBIDDEN")
            #expect(try await admin.send(#"FACILITY.CREATE {"name": "x", "kind": "clinic", "lat": 40, "lon": -74}"#).errorMessage == "state: required for an admin token")
            let bad = try await ny.send(#"FACILITY.CREATE {"name": "", "kind": "spa", "lat": 91, "lon": -74, "provides": ["Bad Token"]}"#)
            #expect(bad.errorCode == "BAD_REQUEST")
            #expect(bad.errorMessage?.contains("kind: unknown value \"spa\"") == true, "\(bad)")
            #expect(bad.errorMessage?.contains("provides[0]: expected a lower-case token") == true, "\(bad)")
            let request = try await submit(ny, facility: facility, count: 1)
            #expect(try await nj.send("REQUEST.GET \(request)").errorCode == "FORBIDDEN")
            #expect(try await admin.send("REQUEST.GET 99999").errorCode == "NOT_FOUND")
            #expect(try await nj.send("REQUEST.LIST").rows.isEmpty)
            #expect(try await ny.send("REQUEST.LIST").rows.count == 1)
            #expect(try await nj.send("MATCH.RUN NY").errorCode == "FORBIDDEN")
            #expect(try await nj.send(try "REQUEST.SUBMIT " + json(["facilityId": facility, "profession": "emt", "maxCredentialLevel": 4, "count": 1, "start": "2020-04-05", "end": "2020-04-06", "priority": 1])).errorCode == "FORBIDDEN")
            #expect(try await ny.send("REQUEST.CANCEL \(request)").isOK)
            #expect(try await ny.send("REQUEST.CANCEL \(request)").errorCode == "CONFLICT")
            let facilities = try await nj.send("FACILITY.LIST")
            #expect(facilities.rows.isEmpty)
            #expect(try await ny.send("FACILITY.LIST").rows.count == 1)
        }
    }
}
