import Foundation
import Logging
import MusterClient
import MusterCore
import MusterProtocol
import MusterServer
import MusterTestSupport
import Testing

/// Rule packs and eligibility over TCP against real PostgreSQL: loading and scoping packs, checks of stored and
/// unsaved records with basis, conditions and reasons, rescission and past dates, the funnel, blockers, and a
/// pack loaded through one daemon reaching another.
@Suite struct EligibilityTests {
    static let today = CalendarDate("2020-04-03")!
    static let ordersDirectory = RepositoryPaths.root + "/Deploy/orders"

    static func packFiles(_ prefix: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: ordersDirectory)
            .filter { $0.hasSuffix(".yaml") && $0.hasPrefix(prefix) }.sorted()
    }

    static func loadLine(_ file: String, text: String? = nil) throws -> String {
        let yaml = try text ?? String(contentsOfFile: ordersDirectory + "/" + file, encoding: .utf8)
        let body = try JSONSerialization.data(withJSONObject: ["file": file, "yaml": yaml], options: [.sortedKeys])
        return "ORDERS.LOAD " + String(decoding: body, as: UTF8.self)
    }

    /// Loads shipped packs whose file names start with `prefix`, and checks each was stored.
    static func loadPacks(_ client: MusterClient, prefix: String = "") async throws {
        for file in try packFiles(prefix) {
            let reply = try await client.send(try loadLine(file))
            #expect(reply.isOK, "\(file): \(reply)")
        }
    }

    static func img(_ ref: String, gme: Int) -> String {
        VolunteerRegistryTests.registration(ref, [
            "category": "img", "profession": "physician", "licenses": [], "homeState": "NY",
            "img": [
                "medicalSchool": "AIIMS", "country": "IN", "graduationDate": "2012-06-01", "ecfmgCertified": true,
                "ecfmgNumber": "0-000-\(ref)", "usGmeMonths": gme, "yearsOfPractice": 6,
                "homeCountryLicense": ["country": "IN", "standing": "good"],
            ],
        ])
    }

    func object(_ text: String?) throws -> [String: Any] {
        let payload = try #require(text)
        return try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
    }

    func register(_ client: MusterClient, _ body: String) async throws -> Int {
        let reply = try await client.send("VOLUNTEER.REGISTER " + body)
        #expect(reply.isOK, "\(reply)")
        return try object(reply.payload)["id"] as? Int ?? -1
    }

    func serve(_ body: @Sendable @escaping (TestServer) async throws -> Void) async throws {
        try await withTestServer(today: { Self.today }, body)
    }

    @Test func packsLoadOnceAreScopedToTheirStateAndBadOnesAreRejectedWhole() async throws {
        try await serve { server in
            let admin = try await server.connect(role: .admin)
            let files = try Self.packFiles()
            for file in files {
                let reply = try await admin.send(try Self.loadLine(file))
                #expect(try object(reply.payload)["created"] as? Bool == true, "\(file): \(reply)")
                #expect(try object(reply.payload)["version"] as? Int == 1)
            }
            let again = try await admin.send(try Self.loadLine("NY-EO-202.10.yaml"))
            #expect(try object(again.payload)["created"] as? Bool == false)
            let stored = try await server.pool.query("SELECT count(*) AS n FROM order_packs")[0].decode("n", as: Int.self)
            #expect(stored == files.count)

            // A state token manages its own state's instruments only.
            let ny = try await server.connect(role: .state, state: "NY")
            #expect(try await ny.send(try Self.loadLine("NJ-EO-112-reactivation.yaml")).errorCode == "FORBIDDEN")
            #expect(try await ny.send(try Self.loadLine("MECH-NLC.yaml")).errorCode == "FORBIDDEN")
            let revised = try String(contentsOfFile: Self.ordersDirectory + "/NY-EO-202.10.yaml", encoding: .utf8)
                .replacingOccurrences(of: "version: 1", with: "version: 2")
            let amended = try await ny.send(try Self.loadLine("NY-EO-202.10.yaml", text: revised))
            #expect(try object(amended.payload)["version"] as? Int == 2, "\(amended)")

            // Every error in a bad file is named, and nothing of it is stored.
            let broken = revised.replacingOccurrences(of: "categories: [img]", with: "categories: [imgs]")
                .replacingOccurrences(of: "{ge: {field: img.usGmeMonths", with: "{gte: {field: img.usGmeMonths")
            let rejected = try await ny.send(try Self.loadLine("broken.yaml", text: broken))
            #expect(rejected.errorCode == "BAD_REQUEST")
            #expect(rejected.errorMessage?.contains("broken.yaml: rejected with 2 error(s)") == true, "\(rejected)")
            #expect(rejected.errorMessage?.contains("unknown category \"imgs\"") == true)
            #expect(rejected.errorMessage?.contains("gte") == true)
            #expect(try await ny.send("ORDERS.LOAD {\"file\":\"x.yaml\"}").errorMessage == "yaml: required")
            let after = try await server.pool.query("SELECT count(*) AS n FROM order_packs")[0].decode("n", as: Int.self)
            #expect(after == files.count + 1)

            // Anyone authenticated may read the orders.
            let hospital = try await server.connect(role: .hospital, facilityID: try await server.makeFacility())
            let listed = try await hospital.send("ORDERS.LIST NY")
            let rows = try listed.rows.map { try object($0) }
            let order = try #require(rows.first { $0["id"] as? String == "NY-EO-202.10" })
            #expect(order["version"] as? Int == 2)
            #expect(order["versions"] as? Int == 2)
            #expect(order["inForceToday"] as? Bool == true)
            #expect(rows.allSatisfy { ($0["appliesTo"] as? [String])?.contains("NY") == true })
            #expect(!rows.contains { $0["id"] as? String == "NJ-EO-112-reactivation" })
            let shown = try object(try await hospital.send("ORDERS.SHOW NY-EO-202.10 1").payload)
            #expect(shown["version"] as? Int == 1)
            #expect(shown["revision"] as? Int == 1)
            let provisions = try #require(shown["provisions"] as? [[String: Any]])
            #expect(provisions.first?["criteria"] as? String == "US GME ≥ 12 months and home-country licence standing = good")
            #expect((shown["yaml"] as? String)?.hasPrefix("id: NY-EO-202.10") == true)
            #expect(try await hospital.send("ORDERS.SHOW NY-EO-202.10 9").errorMessage == "instrument NY-EO-202.10 has no version 9")
            #expect(try await hospital.send("ORDERS.SHOW NO-SUCH").errorCode == "NOT_FOUND")
            #expect(try await hospital.send("ORDERS.SHOW NY-EO-202.10 x").errorCode == "BAD_REQUEST")
            #expect(try await hospital.send("ORDERS.LIST XX").errorMessage == "state: unknown US state or territory \"XX\"")
            #expect(try await hospital.send(try Self.loadLine("NY-EO-202.5.yaml")).errorCode == "FORBIDDEN")
        }
    }

    @Test func aStoredVolunteerIsCheckedWithBasisConditionsReasonsAndPastDates() async throws {
        try await serve { server in
            let admin = try await server.connect(role: .admin)
            try await Self.loadPacks(admin)
            let ny = try await server.connect(role: .state, state: "NY")
            let ready = try await register(ny, Self.img("e1", gme: 12))
            let short = try await register(ny, Self.img("e2", gme: 11))

            let yes = try object(try await ny.send("ELIGIBILITY.CHECK \(ready) NY").payload)
            #expect(yes["eligible"] as? Bool == true)
            #expect(yes["date"] as? String == "2020-04-03")
            let grants = try #require(yes["grants"] as? [[String: Any]])
            let basis = try #require(grants.first { $0["instrument"] as? String == "NY-EO-202.10" })
            #expect(basis["provision"] as? String == "§2")
            #expect(basis["version"] as? Int == 1)
            #expect(basis["settings"] as? [String] == ["hospital"])
            #expect((yes["conditions"] as? [String])?.contains("hospital_only") == true)
            #expect(yes["uncertain"] as? Bool == true)
            #expect(yes["primary"] is [String: Any])

            let no = try object(try await ny.send("ELIGIBILITY.CHECK \(short) NY").payload)
            #expect(no["eligible"] as? Bool == false)
            #expect(no["primary"] is NSNull)
            #expect((no["reasons"] as? [String])?.contains("US GME 11 months < 12 required (NY-EO-202.10 §2)") == true)

            // Dates outside the order's window, and before it was signed.
            let late = try object(try await ny.send("ELIGIBILITY.CHECK \(ready) NY 2020-04-23").payload)
            #expect(late["eligible"] as? Bool == false)
            #expect((late["reasons"] as? [String])?.contains("2020-04-23 is after the window closed (2020-04-22) (NY-EO-202.10 §2)") == true)
            let early = try object(try await ny.send("ELIGIBILITY.CHECK \(ready) NY 2020-03-01").payload)
            #expect((early["reasons"] as? [String])?.contains { $0.hasPrefix("2020-03-01 is before NY-EO-202.10 was signed") } == true)

            // Precise errors for a bad state, an impossible date and an unknown volunteer.
            #expect(try await ny.send("ELIGIBILITY.CHECK \(ready) XX").errorMessage == "state: unknown US state or territory \"XX\"")
            #expect(try await ny.send("ELIGIBILITY.CHECK \(ready) NY 2020-02-30").errorMessage
                == "date: \"2020-02-30\" is not a calendar date (YYYY-MM-DD)")
            #expect(try await admin.send("ELIGIBILITY.CHECK 999999 NY").errorMessage == "no volunteer 999999")
            #expect(try await ny.send("ELIGIBILITY.CHECK 999999 NY").errorCode == "FORBIDDEN")
            let nj = try await server.connect(role: .state, state: "NJ")
            #expect(try await nj.send("ELIGIBILITY.CHECK \(ready) NY").errorCode == "FORBIDDEN")
            #expect(try await ny.send("ELIGIBILITY.CHECK \(ready)").errorCode == "BAD_REQUEST")

            // Every state where she may serve; New York among them, each on a basis that applies there.
            let states = try await ny.send("ELIGIBILITY.STATES \(ready)")
            let rows = try states.rows.map { try object($0) }
            #expect(rows.contains { $0["state"] as? String == "NY" })
            #expect(try object(states.payload)["count"] as? Int == rows.count)
            let none = try await ny.send("ELIGIBILITY.STATES \(short) 2020-03-01")
            #expect(none.rows.isEmpty && none.isOK)

            // Rescinding the order: later dates lose it, earlier dates still answer from it.
            let rescinded = try object(try await admin.send("ORDERS.RESCIND NY-EO-202.10 2020-04-10").payload)
            #expect(rescinded["version"] as? Int == 2)
            let afterRescission = try object(try await ny.send("ELIGIBILITY.CHECK \(ready) NY 2020-04-12").payload)
            #expect(!((afterRescission["grants"] as? [[String: Any]]) ?? []).contains { $0["instrument"] as? String == "NY-EO-202.10" })
            let before = try object(try await ny.send("ELIGIBILITY.CHECK \(ready) NY 2020-04-05").payload)
            let stillGranted = try #require((before["grants"] as? [[String: Any]])?.first { $0["instrument"] as? String == "NY-EO-202.10" })
            #expect(stillGranted["version"] as? Int == 2)
            #expect(try await admin.send("ORDERS.RESCIND NY-EO-202.10 2020-05-01").errorCode == "CONFLICT")
            #expect(try await admin.send("ORDERS.RESCIND NY-EO-202.10 2020-13-01").errorCode == "BAD_REQUEST")
            #expect(try await nj.send("ORDERS.RESCIND NY-EO-202.10 2020-04-08").errorCode == "FORBIDDEN")
            let audit = try await server.pool.query("SELECT count(*) AS n FROM audit_log WHERE action LIKE 'orders.%'")[0].decode("n", as: Int.self)
            #expect(audit == (try Self.packFiles().count) + 1)
        }
    }

    /// A check normally decides on the pool thread that read the record, with the catalog already in memory; a
    /// daemon that has not loaded its catalog yet (a check arriving as it starts) loads it first and answers the
    /// same. Run here straight through the command, on services whose catalog is not loaded.
    @Test func aCheckBeforeTheCatalogIsLoadedLoadsItAndAnswersTheSame() async throws {
        try await serve { server in
            let admin = try await server.connect(role: .admin)
            try await Self.loadPacks(admin, prefix: "NY")
            let ny = try await server.connect(role: .state, state: "NY")
            let ready = try await register(ny, Self.img("f1", gme: 12))
            let overTCP = try #require(try await ny.send("ELIGIBILITY.CHECK \(ready) NY").payload)

            let fresh = ServerServices(pool: server.pool, logger: Logger(label: "test"), today: { Self.today })
            #expect(fresh.orders.loaded == nil)
            let command = try #require(MusterServer.standardCommands["ELIGIBILITY.CHECK"])
            guard case .deferred(let start) = command.body else {
                Issue.record("ELIGIBILITY.CHECK is not a deferred command")
                return
            }
            let identity = Identity(tokenID: 1, name: "test", role: .state, jurisdiction: Jurisdiction("NY"), facilityID: nil)
            let context = CommandContext(identity: identity, services: fresh, logger: Logger(label: "test"))
            func check(_ line: String) async throws -> Result<CommandResult, any Error> {
                let request = try RequestParser.parse(Array(line.utf8))
                guard case .request(let request) = request else { throw TestSupportError("not a request: \(line)") }
                return await withCheckedContinuation { continuation in
                    start(request, context, CommandCompletion { continuation.resume(returning: $0) })
                }
            }
            let direct = try await check("ELIGIBILITY.CHECK \(ready) NY").get()
            guard case .ok(let payload) = direct.reply else {
                Issue.record("expected OK, got \(direct.reply)")
                return
            }
            #expect(payload == overTCP)
            #expect(fresh.orders.loaded != nil)
            // Loaded now: the next check takes the batched path, and errors come back through the completion too.
            #expect(try await check("ELIGIBILITY.CHECK \(ready) NY").get().reply == direct.reply)
            let absent = try await check("ELIGIBILITY.CHECK 999999 NY")
            #expect((absent.failure as? CommandError)?.code == .forbidden)
            let badID = try await check("ELIGIBILITY.CHECK x NY")
            #expect((badID.failure as? CommandError)?.message == "id: expected a positive whole number, got \"x\"")
        }
    }

    @Test func screeningAnUnsavedProfileStoresNothing() async throws {
        try await serve { server in
            let admin = try await server.connect(role: .admin)
            try await Self.loadPacks(admin, prefix: "NY-")
            let ny = try await server.connect(role: .state, state: "NY")
            var profile = try object(Self.img("s1", gme: 12))
            profile.removeValue(forKey: "ref")
            let body = String(decoding: try JSONSerialization.data(withJSONObject: profile), as: UTF8.self)
            let screened = try object(try await ny.send("ELIGIBILITY.SCREEN NY " + body).payload)
            #expect(screened["eligible"] as? Bool == true)
            #expect(screened["volunteerId"] == nil)
            let past = try object(try await ny.send("ELIGIBILITY.SCREEN NY 2020-05-01 " + body).payload)
            #expect(past["eligible"] as? Bool == false)
            let bad = try await ny.send("ELIGIBILITY.SCREEN NY " + body.replacingOccurrences(of: "\"usGmeMonths\":12", with: "\"usGmeMonths\":\"x\""))
            #expect(bad.errorCode == "BAD_REQUEST")
            #expect(bad.errorMessage?.contains("img.usGmeMonths") == true, "\(bad)")
            #expect(try await ny.send("ELIGIBILITY.SCREEN ZZ " + body).errorMessage == "state: unknown US state or territory \"ZZ\"")
            #expect(try await ny.send("ELIGIBILITY.SCREEN NY").errorCode == "BAD_REQUEST")
            // A state with no orders loaded answers no, and says why.
            let wyoming = try object(try await ny.send("ELIGIBILITY.SCREEN WY " + body).payload)
            #expect(wyoming["eligible"] as? Bool == false)
            #expect(wyoming["reasons"] as? [String] == ["no emergency order or cross-state mechanism is loaded for WY"])
            let count = try await server.pool.query("SELECT count(*) AS n FROM volunteers")[0].decode("n", as: Int.self)
            #expect(count == 0)
        }
    }

    @Test func statusAndFunnelShowWhereVerifiedVolunteersAreEligible() async throws {
        try await serve { server in
            let admin = try await server.connect(role: .admin)
            try await Self.loadPacks(admin, prefix: "NY-")
            let ny = try await server.connect(role: .state, state: "NY")
            func verify(_ id: Int, _ item: String, _ subject: String = "") async throws {
                let body = "{\"item\":\"\(item)\",\"subject\":\"\(subject)\",\"outcome\":\"verified\",\"source\":\"ECFMG\",\"reference\":\"r\"}"
                let reply = try await ny.send("VOLUNTEER.VERIFY \(id) \(body)")
                #expect(reply.isOK, "\(reply)")
            }
            let ready = try await register(ny, Self.img("f1", gme: 12))
            let short = try await register(ny, Self.img("f2", gme: 11))
            let pending = try await register(ny, Self.img("f3", gme: 24))

            let before = try object(try await ny.send("VOLUNTEER.STATUS \(ready)").payload)
            #expect(before["stage"] as? String == "awaiting_verification")
            #expect((before["eligibleIn"] as? [[String: Any]])?.map { $0["state"] as? String } == ["NY"])
            #expect((before["message"] as? String)?.hasSuffix("Once verified, eligible in NY on the record as registered.") == true)
            for id in [ready, short] {
                try await verify(id, "identity")
                try await verify(id, "ecfmg", "0-000-f\(id == ready ? 1 : 2)")
            }
            let after = try object(try await ny.send("VOLUNTEER.STATUS \(ready)").payload)
            #expect(after["stage"] as? String == "eligible", "\(after)")
            let first = try #require((after["eligibleIn"] as? [[String: Any]])?.first)
            #expect((first["primary"] as? [String: Any])?["instrument"] as? String == "NY-EO-202.10")
            let shortStatus = try object(try await ny.send("VOLUNTEER.STATUS \(short)").payload)
            #expect(shortStatus["stage"] as? String == "verified")
            #expect((shortStatus["eligibleIn"] as? [Any])?.isEmpty == true)

            let funnel = try await ny.send("VOLUNTEER.FUNNEL")
            let row = try #require(try funnel.rows.map { try object($0) }.first { $0["category"] as? String == "img" })
            #expect(row["registered"] as? Int == 3)
            #expect(row["verified"] as? Int == 2)
            #expect(row["eligible"] as? Int == 1)
            _ = pending
        }
    }

    @Test func blockersCountVolunteersPerUnmetRequirement() async throws {
        try await serve { server in
            let admin = try await server.connect(role: .admin)
            try await Self.loadPacks(admin, prefix: "NY-")
            let ny = try await server.connect(role: .state, state: "NY")
            _ = try await register(ny, Self.img("b1", gme: 12))
            _ = try await register(ny, Self.img("b2", gme: 11))
            _ = try await register(ny, Self.img("b3", gme: 3))
            let gone = try await register(ny, Self.img("b4", gme: 1))
            #expect(try await ny.send("VOLUNTEER.WITHDRAW \(gone)").isOK)
            let nj = try await server.connect(role: .state, state: "NJ")
            _ = try await register(nj, Self.img("b5", gme: 2))

            let report = try await ny.send("ELIGIBILITY.BLOCKERS NY")
            let summary = try object(report.payload)
            #expect(summary["volunteers"] as? Int == 3)
            #expect(summary["eligible"] as? Int == 1)
            #expect(summary["notEligible"] as? Int == 2)
            let rows = try report.rows.map { try object($0) }
            let gme = try #require(rows.first { $0["requirement"] as? String == "US GME ≥ 12 months" })
            #expect(gme["category"] as? String == "img")
            #expect(gme["volunteers"] as? Int == 2)
            #expect(gme["basis"] as? [String] == ["NY-EO-202.10 §2"])
            #expect(rows.first?["volunteers"] as? Int == 2)

            // After 202.10's window, the only NY provision still covering IMGs is 202.18's (a Canadian licence).
            let later = try await ny.send("ELIGIBILITY.BLOCKERS NY 2020-06-01")
            #expect(try object(later.payload)["eligible"] as? Int == 0)
            let laterRows = try later.rows.map { try object($0) }
            #expect(laterRows.count == 1, "\(later)")
            #expect(laterRows.first?["basis"] as? [String] == ["NY-EO-202.18 §canada"])
            #expect(laterRows.first?["volunteers"] as? Int == 3)
            // Before any New York order, no provision covers them at all, and the report says so.
            let before = try await ny.send("ELIGIBILITY.BLOCKERS NY 2020-03-01")
            let beforeRows = try before.rows.map { try object($0) }
            #expect(beforeRows.count == 1, "\(before)")
            #expect(beforeRows.first?["requirement"] as? String == "no provision in force in NY covers img physician")
            #expect(beforeRows.first?["volunteers"] as? Int == 3)
            #expect(try await nj.send("ELIGIBILITY.BLOCKERS NY").errorCode == "FORBIDDEN")
            #expect(try await ny.send("ELIGIBILITY.BLOCKERS NY 2020-02-31").errorCode == "BAD_REQUEST")
        }
    }

    @Test func aPackLoadedThroughOneDaemonReachesAnother() async throws {
        let database = try await TestCluster.makeDatabase()
        try await withTestServer(database: database, today: { Self.today }) { first in
            try await withTestServer(database: database, today: { Self.today }) { second in
                let loader = try await first.connect(role: .admin)
                let reader = try await second.connect(role: .admin)
                var body = try object(Self.img("r1", gme: 12))
                body["registeringState"] = "NY"
                let id = try await register(reader, String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
                func eligible(_ date: String) async throws -> Bool {
                    try object(try await reader.send("ELIGIBILITY.CHECK \(id) NY \(date)").payload)["eligible"] as? Bool == true
                }
                #expect(try await eligible("2020-04-03") == false)
                #expect(try await loader.send(try Self.loadLine("NY-EO-202.10.yaml")).isOK)
                let seen = try await eventually(every: .milliseconds(100)) { try await eligible("2020-04-03") }
                #expect(seen, "the second daemon never saw the pack loaded through the first")
                #expect(try await loader.send("ORDERS.RESCIND NY-EO-202.10 2020-04-01").isOK)
                let ended = try await eventually(every: .milliseconds(100)) { try await !eligible("2020-04-03") }
                #expect(ended, "the second daemon never saw the rescission")
                #expect(try await eligible("2020-03-25"))
            }
        }
    }
}
