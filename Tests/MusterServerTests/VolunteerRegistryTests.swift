import Foundation
import Logging
import MusterClient
import MusterCore
import MusterPQ
import MusterRegistry
import MusterStore
import MusterTestSupport
import Testing

/// The registry over TCP against real PostgreSQL: idempotent registration, conflicts, de-duplication, scoping,
/// verification and credential levels, updates, withdrawal, audit, pagination.
@Suite struct VolunteerRegistryTests {
    static let today = CalendarDate("2020-04-03")!

    static func registration(_ ref: String, _ extra: [String: Any] = [:]) -> String {
        var body: [String: Any] = [
            "ref": ref, "category": "licensed", "profession": "registered_nurse", "firstName": "Ana",
            "lastName": "Pérez-\(ref)", "dateOfBirth": "1980-02-29", "email": "ana.\(ref)@example.org",
            "homeState": "NJ", "location": ["lat": 40.73, "lon": -74.17],
            "licenses": [["jurisdiction": "NJ", "type": "RN", "number": "RN-\(ref)", "status": "active", "expires": "2021-05-31"]],
            "skills": ["critical_care"], "availability": ["from": "2020-04-01", "to": "2020-06-30"], "maxTravelKm": 80,
        ]
        for (key, value) in extra { body[key] = value }
        let data = try! JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    func object(_ text: String?) throws -> [String: Any] {
        let payload = try #require(text)
        return try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
    }

    func register(_ client: MusterClient, _ ref: String, _ extra: [String: Any] = [:]) async throws -> Int {
        let reply = try await client.send("VOLUNTEER.REGISTER " + Self.registration(ref, extra))
        #expect(reply.isOK, "\(reply)")
        return try object(reply.payload)["id"] as? Int ?? -1
    }

    func serve(_ body: @Sendable @escaping (TestServer) async throws -> Void) async throws {
        try await withTestServer(today: { Self.today }, body)
    }

    @Test func registrationIsIdempotentByRef() async throws {
        try await serve { server in
            let ny = try await server.connect(role: .state, state: "NY")
            let first = try await ny.send("VOLUNTEER.REGISTER " + Self.registration("a1"))
            #expect(try object(first.payload)["created"] as? Bool == true)
            let again = try await ny.send("VOLUNTEER.REGISTER " + Self.registration("a1"))
            #expect(try object(again.payload)["created"] as? Bool == false)
            #expect(try object(again.payload)["id"] as? Int == object(first.payload)["id"] as? Int)
            let changed = try await ny.send("VOLUNTEER.REGISTER " + Self.registration("a1", ["phone": "+12125550100", "maxTravelKm": 20]))
            #expect(changed.errorCode == "CONFLICT")
            #expect(changed.errorMessage?.hasSuffix("different content: maxTravelKm, phone") == true, "\(changed)")
            let count = try await server.pool.query("SELECT count(*) AS n FROM volunteers")[0].decode("n", as: Int.self)
            #expect(count == 1)
        }
    }

    @Test func invalidRegistrationsNameEveryFieldAndStoreNothing() async throws {
        try await serve { server in
            let ny = try await server.connect(role: .state, state: "NY")
            let reply = try await ny.send(
                "VOLUNTEER.REGISTER " + Self.registration("b1", ["npi": "1234567890", "phone": "555-0100", "nickname": "x"]))
            #expect(reply.errorCode == "BAD_REQUEST")
            let message = try #require(reply.errorMessage)
            #expect(message.contains("npi: check digit mismatch"))
            #expect(message.contains("phone: not E.164"))
            #expect(message.contains("nickname: unknown field"))
            #expect(try await ny.send("VOLUNTEER.REGISTER {\"ref\": }").errorMessage?.hasPrefix("body: malformed JSON") == true)
            #expect(try await server.pool.query("SELECT count(*) AS n FROM volunteers")[0].decode("n", as: Int.self) == 0)
            #expect(try await server.pool.query("SELECT count(*) AS n FROM audit_log")[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test func duplicatesAreRefusedOrLinkedAcrossStatesWithConsent() async throws {
        try await serve { server in
            let ny = try await server.connect(role: .state, state: "NY")
            let nj = try await server.connect(role: .state, state: "NJ")
            let original = try await register(ny, "p1", ["npi": "1234567893"])
            // Same NPI, another ref, same state: refused with the existing id.
            let sameState = try await ny.send("VOLUNTEER.REGISTER " + Self.registration("p2", ["npi": "1234567893"]))
            #expect(sameState.errorCode == "CONFLICT")
            #expect(sameState.errorMessage?.contains("duplicate of volunteer \(original) registered in NY (same NPI)") == true)
            // Same licence in another state without consent: refused; with consent: linked.
            let licence: [String: Any] = ["licenses": [["jurisdiction": "NJ", "type": "RN", "number": "RN-p1", "status": "active"]]]
            let noConsent = try await nj.send("VOLUNTEER.REGISTER " + Self.registration("q1", licence))
            #expect(noConsent.errorCode == "CONFLICT")
            #expect(noConsent.errorMessage?.contains("consentToShare") == true)
            var consenting = licence
            consenting["consentToShare"] = true
            let linkedID = try await register(nj, "q1", consenting)
            let linked = try await nj.send("VOLUNTEER.GET \(linkedID)")
            #expect(try object(linked.payload)["linkedTo"] as? Int == original)
            // Same name and date of birth.
            let twin = try await ny.send(
                "VOLUNTEER.REGISTER " + Self.registration("p3", ["lastName": "Pérez-p1", "licenses": [["jurisdiction": "NY", "type": "RN", "number": "other", "status": "active"]]]))
            #expect(twin.errorMessage?.contains("same name and date of birth") == true, "\(twin)")
        }
    }

    @Test func statesSeeOnlyTheirOwnVolunteers() async throws {
        try await serve { server in
            let ny = try await server.connect(role: .state, state: "NY")
            let nj = try await server.connect(role: .state, state: "NJ")
            let admin = try await server.connect(role: .admin)
            let id = try await register(ny, "s1")
            let foreign = try await nj.send("VOLUNTEER.GET \(id)")
            let missing = try await nj.send("VOLUNTEER.GET 999999")
            #expect(foreign.errorCode == "FORBIDDEN")
            #expect(missing.errorCode == "FORBIDDEN")  // no hint which ids exist elsewhere
            for command in ["VOLUNTEER.UPDATE \(id) {\"maxTravelKm\": 5}", "VOLUNTEER.WITHDRAW \(id)", "VOLUNTEER.STATUS \(id)",
                            "VOLUNTEER.VERIFY \(id) {\"item\":\"identity\",\"outcome\":\"verified\",\"source\":\"x\",\"reference\":\"y\"}"] {
                #expect(try await nj.send(command).errorCode == "FORBIDDEN", "\(command)")
            }
            #expect(try await nj.send("VOLUNTEER.LIST").rows.isEmpty)
            #expect(try await nj.send("VOLUNTEER.LIST {\"state\":\"NY\"}").errorCode == "FORBIDDEN")
            #expect(try await nj.send("VOLUNTEER.REGISTER " + Self.registration("s2", ["registeringState": "NY"])).errorCode == "FORBIDDEN")
            #expect(try await admin.send("VOLUNTEER.GET \(id)").isOK)
            #expect(try await admin.send("VOLUNTEER.GET 999999").errorCode == "NOT_FOUND")
            #expect(try await admin.send("VOLUNTEER.REGISTER " + Self.registration("s3")).errorMessage == "registeringState: required for an admin token")
            let adminRegistered = try await register(admin, "s3", ["registeringState": "NJ"])
            #expect(try await nj.send("VOLUNTEER.GET \(adminRegistered)").isOK)
            let unauthenticated = try await server.connect()
            #expect(try await unauthenticated.send("VOLUNTEER.GET \(id)").errorCode == "UNAUTHENTICATED")
        }
    }

    @Test func verificationsDeriveTheCredentialLevelForEachCategory() async throws {
        try await serve { server in
            let ny = try await server.connect(role: .state, state: "NY")
            func verify(_ id: Int, _ item: String, _ subject: String = "", expires: String? = nil) async throws -> [String: Any] {
                var body: [String: Any] = ["item": item, "subject": subject, "outcome": "verified", "source": "primary source", "reference": "ref-1"]
                if let expires { body["expires"] = expires }
                let text = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
                let reply = try await ny.send("VOLUNTEER.VERIFY \(id) \(text)")
                #expect(reply.isOK, "\(reply)")
                return try object(reply.payload)
            }
            let nurse = try await register(ny, "c1")
            #expect(try await verify(nurse, "license", "NJ:RN-c1")["credentialLevel"] is NSNull)  // identity not yet
            let level3 = try await verify(nurse, "identity")
            #expect(level3["credentialLevel"] as? Int == 3)
            #expect(level3["status"] as? String == "verified")
            #expect(try await verify(nurse, "privileges")["credentialLevel"] as? Int == 1)

            let img = try await register(ny, "c2", [
                "category": "img", "profession": "physician", "licenses": [],
                "img": ["medicalSchool": "AIIMS", "country": "IN", "graduationDate": "2014-06-01", "ecfmgCertified": true,
                        "ecfmgNumber": "0-000-001", "usGmeMonths": 12],
            ])
            _ = try await verify(img, "identity")
            #expect(try await verify(img, "ecfmg", "0-000-001")["credentialLevel"] as? Int == 4)

            let student = try await register(ny, "c3", [
                "category": "student", "profession": "medical_student", "licenses": [],
                "student": ["school": "NYU", "program": "medicine", "year": 4, "graduationDate": "2020-05-15"],
            ])
            _ = try await verify(student, "identity")
            #expect(try await verify(student, "enrollment", "NYU")["credentialLevel"] as? Int == 4)

            let retired = try await register(ny, "c4", [
                "category": "retired", "licenses": [["jurisdiction": "NY", "type": "RN", "number": "old-c4", "status": "lapsed", "lapsed": "2018-01-31"]],
                "retired": ["lastClinicalPractice": "2018-01-31"],
            ])
            _ = try await verify(retired, "identity")
            #expect(try await verify(retired, "license", "NY:old-c4")["credentialLevel"] as? Int == 4)

            // A self-reported claim with nothing verified has no level, and the status says what is awaited.
            let unverified = try await register(ny, "c5")
            let status = try object(try await ny.send("VOLUNTEER.STATUS \(unverified)").payload)
            #expect(status["stage"] as? String == "awaiting_verification")
            #expect(status["awaitingVerificationOf"] as? [String] == ["identity", "an active US licence"])

            let bad = try await ny.send("VOLUNTEER.VERIFY \(nurse) {\"item\":\"licence\",\"outcome\":\"yes\",\"source\":\"x\",\"reference\":\"y\"}")
            #expect(bad.errorMessage?.contains("item: unknown value \"licence\"") == true)
            #expect(bad.errorMessage?.contains("outcome: unknown value \"yes\"") == true)
            let history = try object(try await ny.send("VOLUNTEER.GET \(nurse)").payload)["verifications"] as? [[String: Any]]
            #expect(history?.count == 3)
            // Verifications are append-only, in the database itself.
            await #expect(throws: PGError.self) { try await server.pool.query("UPDATE verifications SET outcome = 'failed'") }
        }
    }

    @Test func expiredCredentialsLowerTheLevelUntilReverified() async throws {
        try await serve { server in
            let ny = try await server.connect(role: .state, state: "NY")
            let id = try await register(ny, "e1")
            for body in [
                #"{"item":"identity","outcome":"verified","source":"DMV","reference":"x"}"#,
                #"{"item":"license","subject":"NJ:RN-e1","outcome":"verified","source":"NJ board","reference":"y","expires":"2020-04-30"}"#,
            ] {
                #expect(try await ny.send("VOLUNTEER.VERIFY \(id) \(body)").isOK)
            }
            #expect(try object(try await ny.send("VOLUNTEER.GET \(id)").payload)["credentialValidUntil"] as? String == "2020-04-30")
            let store = VolunteerStore()
            let changed = try await server.pool.withTransaction { connection in
                try store.reassessExpired(connection, today: CalendarDate("2020-05-01")!)
            }
            #expect(changed == 1)
            let after = try object(try await ny.send("VOLUNTEER.GET \(id)").payload)
            #expect(after["credentialLevel"] is NSNull)
            #expect(after["status"] as? String == "registered")
        }
    }

    @Test func updatesStatusesAndWithdrawal() async throws {
        try await serve { server in
            let ny = try await server.connect(role: .state, state: "NY")
            let id = try await register(ny, "u1")
            let patched = try await ny.send(#"VOLUNTEER.UPDATE \#(id) {"phone": "+12125550100", "availability": {"to": "2020-05-31"}}"#)
            let profile = try object(patched.payload)["profile"] as? [String: Any]
            #expect(profile?["phone"] as? String == "+12125550100")
            #expect((profile?["availability"] as? [String: Any])?["from"] as? String == "2020-04-01")
            #expect((profile?["availability"] as? [String: Any])?["to"] as? String == "2020-05-31")
            #expect(try await ny.send(#"VOLUNTEER.UPDATE \#(id) {"availability": {"to": "2020-01-01"}}"#).errorMessage == "availability: from after to")
            #expect(try await ny.send(#"VOLUNTEER.UPDATE \#(id) {"ref": "other"}"#).errorMessage == "ref: cannot be changed")
            #expect(try await ny.send(#"VOLUNTEER.UPDATE \#(id) {"status": "available"}"#).errorMessage == "status cannot change from registered to available")
            #expect(try await ny.send(#"VOLUNTEER.UPDATE \#(id) {"status": "sleeping"}"#).errorCode == "BAD_REQUEST")
            #expect(try await ny.send(#"VOLUNTEER.WITHDRAW \#(id) {"reason": "moved abroad"}"#).isOK)
            #expect(try await ny.send(#"VOLUNTEER.UPDATE \#(id) {"phone": "+12125550101"}"#).errorCode == "CONFLICT")
            let status = try object(try await ny.send("VOLUNTEER.STATUS \(id)").payload)
            #expect(status["stage"] as? String == "withdrawn")
        }
    }

    @Test func everyChangeAndEveryReadIsAudited() async throws {
        try await serve { server in
            let ny = try await server.connect(role: .state, state: "NY", name: "NY intake")
            let id = try await register(ny, "a1")
            _ = try await ny.send(#"VOLUNTEER.UPDATE \#(id) {"maxTravelKm": 40}"#)
            _ = try await ny.send(#"VOLUNTEER.VERIFY \#(id) {"item":"identity","outcome":"verified","source":"DMV","reference":"x"}"#)
            _ = try await ny.send("VOLUNTEER.GET \(id)")
            _ = try await ny.send("VOLUNTEER.WITHDRAW \(id)")
            let entries = try await server.pool.withConnection { connection in
                try AuditLog().entries(connection, entity: "volunteer", entityID: Int64(id), state: "NY", limit: 10)
            }
            #expect(entries.map(\.action) == ["volunteer.withdraw", "volunteer.read", "volunteer.verify", "volunteer.update", "volunteer.register"])
            #expect(entries.allSatisfy { $0.actor == "NY intake" })
            let update = try #require(entries.first { $0.action == "volunteer.update" })
            #expect(update.before?.contains("\"maxTravelKm\": 80") == true)
            #expect(update.after?.contains("\"maxTravelKm\": 40") == true)
        }
    }

    @Test func searchFiltersAndPagesStayCorrectWhileRowsAreAdded() async throws {
        try await serve { server in
            let ny = try await server.connect(role: .state, state: "NY")
            let writer = try await server.connect(role: .state, state: "NY")
            var original: Set<Int> = []
            for index in 0..<25 {
                original.insert(try await register(ny, "g\(index)", index % 5 == 0 ? ["skills": ["pediatrics"], "location": ["lat": 42.65, "lon": -73.75]] : [:]))
            }
            let pediatric = try await ny.send(#"VOLUNTEER.LIST {"skill": "pediatrics"}"#)
            #expect(pediatric.rows.count == 5)
            let nearAlbany = try await ny.send(#"VOLUNTEER.LIST {"near": {"lat": 42.65, "lon": -73.75, "km": 10}}"#)
            #expect(nearAlbany.rows.count == 5)
            #expect(try await ny.send(#"VOLUNTEER.LIST {"availableOn": "2020-07-01"}"#).rows.isEmpty)
            #expect(try await ny.send(#"VOLUNTEER.LIST {"status": "registered", "category": "licensed", "limit": 1000}"#).rows.count == 25)
            #expect(try await ny.send(#"VOLUNTEER.LIST {"limit": 0}"#).errorMessage == "limit: must be from 1 to 1000, got 0")
            #expect(try await ny.send(#"VOLUNTEER.LIST {"after": "garbage"}"#).errorMessage == "after: not a cursor from a previous page")

            var seen: [Int] = []
            var cursor: String?
            var added = 0
            repeat {
                let request = cursor.map { #"VOLUNTEER.LIST {"limit": 10, "after": "\#($0)"}"# } ?? #"VOLUNTEER.LIST {"limit": 10}"#
                let page = try await ny.send(request)
                seen += try page.rows.map { try object($0)["id"] as? Int ?? -1 }
                cursor = try object(page.payload)["next"] as? String
                // Others register while we page.
                if added < 10 {
                    for _ in 0..<5 { _ = try await register(writer, "late\(added)"); added += 1 }
                }
            } while cursor != nil
            #expect(Set(seen).count == seen.count, "no row repeated")
            #expect(original.isSubset(of: Set(seen)), "no original row skipped")
            #expect(seen == seen.sorted())
        }
    }
}

extension VolunteerRegistryTests {
    @Test func importDecidesEachRowOnItsOwnWithinOneBatch() async throws {
        try await serve { server in
            let ny = try await server.connect(role: .state, state: "NY")
            let first = Self.registration("i1")
            let rows = [
                #"{"line":2,"registration":\#(first)}"#,
                #"{"line":3,"registration":\#(first)}"#,  // the same row again: same id, not created
                #"{"line":4,"registration":\#(Self.registration("i1", ["maxTravelKm": 5]))}"#,  // same ref, other content
                #"{"line":5,"registration":\#(Self.registration("i2", ["licenses": [["jurisdiction": "NJ", "type": "RN", "number": "rn-I1", "status": "active"]]]))}"#,  // same licence (case-insensitive)
                #"{"line":6,"registration":\#(Self.registration("i3", ["npi": "12345"]))}"#,  // invalid
                #"{"line":7,"registration":\#(Self.registration("i4"))}"#,
            ]
            let reply = try await ny.send(#"VOLUNTEER.IMPORT {"rows":[\#(rows.joined(separator: ","))]}"#)
            #expect(reply.isOK, "\(reply)")
            let outcomes = try reply.rows.map { try object($0) }
            #expect(outcomes.map { $0["line"] as? Int } == [2, 3, 4, 5, 6, 7])
            let firstID = outcomes[0]["id"] as? Int
            #expect(outcomes[0]["created"] as? Bool == true)
            #expect(outcomes[1]["id"] as? Int == firstID)
            #expect(outcomes[1]["created"] as? Bool == false)
            let conflict = (outcomes[2]["errors"] as? [[String: Any]])?.first?["rule"] as? String
            #expect(conflict == "registered before as volunteer \(firstID ?? -1) with different content: maxTravelKm")
            let duplicate = (outcomes[3]["errors"] as? [[String: Any]])?.first?["rule"] as? String
            #expect(duplicate == "duplicate of volunteer \(firstID ?? -1) registered in NY (same licence NJ RN-I1)")
            #expect((outcomes[4]["errors"] as? [[String: Any]])?.first?["field"] as? String == "npi")
            #expect(outcomes[5]["created"] as? Bool == true)
            #expect(try object(reply.payload)["created"] as? Int == 2)
            #expect(try object(reply.payload)["existing"] as? Int == 1)
            #expect(try object(reply.payload)["failed"] as? Int == 3)
            let stored = try await server.pool.query("SELECT count(*) AS n FROM volunteers")[0].decode("n", as: Int.self)
            #expect(stored == 2)
            let audited = try await server.pool.query("SELECT count(*) AS n FROM audit_log WHERE action = 'volunteer.register'")
            #expect(try audited[0].decode("n", as: Int.self) == 2)
            let licences = try await server.pool.query("SELECT count(*) AS n FROM volunteer_licenses")
            #expect(try licences[0].decode("n", as: Int.self) == 2)
        }
    }
}

extension VolunteerRegistryTests {
    @Test func namesWithAnyCharacterAreStillMatchedAsTheSamePerson() async throws {
        try await serve { server in
            let ny = try await server.connect(role: .state, state: "NY")
            let odd: [String: Any] = ["firstName": "Ana|María", "lastName": "O'Neil|Pérez"]
            _ = try await register(ny, "n1", odd)
            var again = odd
            again["licenses"] = [["jurisdiction": "NY", "type": "RN", "number": "other-n2", "status": "active"]]
            let twin = try await ny.send("VOLUNTEER.REGISTER " + Self.registration("n2", again))
            #expect(twin.errorMessage?.contains("same name and date of birth") == true, "\(twin)")
        }
    }

    @Test func importAnswersEveryRowEvenWithRepeatedLineNumbers() async throws {
        try await serve { server in
            let ny = try await server.connect(role: .state, state: "NY")
            let rows = [
                #"{"line":2,"registration":\#(Self.registration("r1"))}"#,
                #"{"line":2,"registration":\#(Self.registration("r2"))}"#,
            ]
            let reply = try await ny.send(#"VOLUNTEER.IMPORT {"rows":[\#(rows.joined(separator: ","))]}"#)
            #expect(reply.rows.count == 2)
            #expect(try object(reply.payload)["created"] as? Int == 2)
        }
    }
}
