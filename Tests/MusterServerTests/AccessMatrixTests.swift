import Foundation
import MusterClient
import MusterCore
import MusterServer
import MusterStore
import MusterTestSupport
import Testing

/// Every protocol command × every kind of caller, with the outcome each must get. The table must name every
/// command the server has: adding a command without deciding who may run it fails this test.
@Suite struct AccessMatrixTests {
    enum Caller: String, CaseIterable {
        case anonymous, admin, stateA, stateB, hospitalA, hospitalB, revoked
    }

    enum Outcome: Equatable {
        /// Runs: `OK`, or `CONFLICT` when an earlier caller already changed what it acts on. Never an access error.
        case allowed
        /// `FORBIDDEN`, or `NOT_FOUND` for a record outside the caller's scope (nothing about it is revealed).
        case denied
        /// `UNAUTHENTICATED`.
        case unauthenticated
    }

    /// Shorthands for rows.
    static let everyone: [Caller: Outcome] = Dictionary(uniqueKeysWithValues: Caller.allCases.map { ($0, .allowed) })
    static func only(_ allowed: Set<Caller>) -> [Caller: Outcome] {
        Dictionary(uniqueKeysWithValues: Caller.allCases.map { caller in
            (caller, [.anonymous, .revoked].contains(caller) ? .unauthenticated : allowed.contains(caller) ? .allowed : .denied)
        })
    }
    static let authenticated = only([.admin, .stateA, .stateB, .hospitalA, .hospitalB])
    static let adminAndStateA = only([.admin, .stateA])

    @Test func everyCommandForEveryCaller() async throws {
        try await withTestServer(today: { StaffingTests.today }) { server in
            let staffing = StaffingTests()
            let (admin, ny, facilityA) = try await staffing.setUp(server)
            let volunteer = try await staffing.availableNurse(ny, "m1")
            let leaving = try await staffing.availableNurse(ny, "m2", lat: 40.9, lon: -74.2)
            let facilityB = try await server.makeFacility(state: "NJ", name: "Newark Beth Israel", lat: 40.71, lon: -74.19)
            let request = try await staffing.submit(ny, facility: facilityA, count: 1)
            let round = try await ny.send("MATCH.RUN NY")
            let offer = try #require(try round.rows.map { try staffing.object($0) }.first?["assignmentId"] as? Int, "\(round)")
            let yaml = try String(contentsOfFile: EligibilityTests.ordersDirectory + "/NY-EO-202.5.yaml", encoding: .utf8)
            let load = "ORDERS.LOAD " + (try staffing.json(["file": "NY-EO-202.5.yaml", "yaml": yaml]))
            let registration = VolunteerRegistryTests.registration("matrix", ["registeringState": "NY"])
            let verification = try staffing.json(["item": "identity", "subject": "", "outcome": "verified", "source": "NY DOH", "reference": "m"])
            let newRequest = try staffing.json([
                "facilityId": facilityA, "profession": "registered_nurse", "maxCredentialLevel": 3, "count": 1,
                "start": "2020-04-05", "end": "2020-04-06", "priority": 1,
            ])

            // Command → (a request line, the outcome for each caller). Run in this order, one caller after another.
            let matrix: [(String, String, [Caller: Outcome])] = [
                ("HELLO", "HELLO", Self.everyone),
                ("PING", "PING", Self.everyone),
                ("HELP", "HELP", Self.everyone),
                ("WHOAMI", "WHOAMI", Self.authenticated),
                ("VOLUNTEER.REGISTER", "VOLUNTEER.REGISTER \(registration)", Self.adminAndStateA),
                ("VOLUNTEER.IMPORT", #"VOLUNTEER.IMPORT {"registeringState": "NY", "rows": [{"line": 1, "registration": \#(registration)}]}"#, Self.adminAndStateA),
                ("VOLUNTEER.GET", "VOLUNTEER.GET \(volunteer)", Self.adminAndStateA),
                ("VOLUNTEER.UPDATE", #"VOLUNTEER.UPDATE \#(volunteer) {"phone": "+12125550100"}"#, Self.adminAndStateA),
                ("VOLUNTEER.VERIFY", "VOLUNTEER.VERIFY \(volunteer) \(verification)", Self.adminAndStateA),
                ("VOLUNTEER.LIST", "VOLUNTEER.LIST", Self.only([.admin, .stateA, .stateB])),
                ("VOLUNTEER.STATUS", "VOLUNTEER.STATUS \(volunteer)", Self.adminAndStateA),
                ("VOLUNTEER.FUNNEL", "VOLUNTEER.FUNNEL", Self.only([.admin, .stateA, .stateB])),
                ("VOLUNTEER.EXPIRING", "VOLUNTEER.EXPIRING", Self.only([.admin, .stateA, .stateB])),
                ("AUDIT", "AUDIT", Self.only([.admin, .stateA, .stateB])),
                ("ELIGIBILITY.CHECK", "ELIGIBILITY.CHECK \(volunteer) NY", Self.adminAndStateA),
                ("ELIGIBILITY.STATES", "ELIGIBILITY.STATES \(volunteer)", Self.adminAndStateA),
                ("ELIGIBILITY.SCREEN", "ELIGIBILITY.SCREEN NY \(VolunteerRegistryTests.registration("screen"))", Self.only([.admin, .stateA, .stateB])),
                ("ELIGIBILITY.BLOCKERS", "ELIGIBILITY.BLOCKERS NY", Self.adminAndStateA),
                ("ORDERS.LOAD", load, Self.adminAndStateA),
                ("ORDERS.LIST", "ORDERS.LIST NY", Self.authenticated),
                ("ORDERS.SHOW", "ORDERS.SHOW NY-EO-202.5", Self.authenticated),
                ("ORDERS.RESCIND", "ORDERS.RESCIND NY-EO-202.5 2099-01-01", Self.adminAndStateA),
                ("FACILITY.CREATE", #"FACILITY.CREATE {"state": "NY", "name": "Field Hospital", "kind": "alternate_care_site", "lat": 40.77, "lon": -73.97}"#, Self.adminAndStateA),
                ("FACILITY.LIST", "FACILITY.LIST", Self.authenticated),
                ("REQUEST.SUBMIT", "REQUEST.SUBMIT \(newRequest)", Self.only([.admin, .stateA, .hospitalA])),
                ("REQUEST.GET", "REQUEST.GET \(request)", Self.only([.admin, .stateA, .hospitalA])),
                ("REQUEST.LIST", "REQUEST.LIST", Self.authenticated),
                ("MATCH.RUN", #"MATCH.RUN NY {"dryRun": true}"#, Self.adminAndStateA),
                ("SHORTAGE", "SHORTAGE NY", Self.adminAndStateA),
                ("OFFER.LIST", "OFFER.LIST", Self.authenticated),
                ("OFFER.ACCEPT", "OFFER.ACCEPT \(offer)", Self.adminAndStateA),
                ("OFFER.CONFIRM", "OFFER.CONFIRM \(offer)", Self.only([.admin, .hospitalA])),
                ("OFFER.DECLINE", "OFFER.DECLINE \(offer)", Self.only([.admin, .stateA, .hospitalA])),
                ("OFFER.RELEASE", "OFFER.RELEASE \(offer)", Self.only([.admin, .stateA, .hospitalA])),
                ("REQUEST.CANCEL", "REQUEST.CANCEL \(request)", Self.only([.admin, .stateA, .hospitalA])),
                ("VOLUNTEER.WITHDRAW", "VOLUNTEER.WITHDRAW \(leaving)", Self.adminAndStateA),
                ("STATS", "STATS", Self.only([.admin])),
                ("EVENTS.SUBSCRIBE", "EVENTS.SUBSCRIBE", Self.authenticated),
                ("EVENTS.UNSUBSCRIBE", "EVENTS.UNSUBSCRIBE", Self.authenticated),
                // A wrong token signs the connection out, whoever sent it; the limit on failures is in TokenGuardTests.
                ("AUTH", "AUTH mst_wrong", Dictionary(uniqueKeysWithValues: Caller.allCases.map { ($0, .unauthenticated) })),
                ("QUIT", "QUIT", Self.everyone),
            ]

            // The table covers every command the server has, once.
            let named = matrix.map(\.0)
            #expect(named.count == Set(named).count, "a command is listed twice")
            #expect(Set(named) == Set(MusterServer.standardCommands.all.map(\.name)), "commands without a row, or rows without a command")
            for row in matrix { #expect(Set(row.2.keys) == Set(Caller.allCases), "\(row.0) lacks callers") }

            // Callers: one connection each (re-opened after AUTH and QUIT end a session).
            let revokedToken = try await server.makeToken(role: .admin, name: "to be revoked")
            func open(_ caller: Caller) async throws -> MusterClient {
                switch caller {
                case .anonymous: return try await server.connect()
                case .admin: return try await server.connect(role: .admin)
                case .stateA: return try await server.connect(role: .state, state: "NY")
                case .stateB: return try await server.connect(role: .state, state: "NJ")
                case .hospitalA: return try await server.connect(role: .hospital, facilityID: Int64(facilityA))
                case .hospitalB: return try await server.connect(role: .hospital, facilityID: facilityB)
                case .revoked:
                    let client = try await server.connect()
                    #expect(try await client.send("AUTH \(revokedToken)").isOK)
                    return client
                }
            }
            var clients: [Caller: MusterClient] = [:]
            for caller in Caller.allCases { clients[caller] = try await open(caller) }
            #expect(try await admin.send("WHOAMI").isOK)
            try await server.pool.query("UPDATE api_tokens SET revoked_at = now() WHERE name = 'to be revoked'")
            // The revocation reaches the daemon; from then on the connection is refused.
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline, try await clients[.revoked]!.send("VOLUNTEER.FUNNEL").errorCode != "UNAUTHENTICATED" {
                try await Task.sleep(for: .milliseconds(20))
            }

            var failures: [String] = []
            for (name, line, expected) in matrix {
                for caller in Caller.allCases {
                    let reply = try await clients[caller]!.send(line)
                    let code = reply.errorCode
                    let got: Outcome? =
                        reply.isOK || code == "CONFLICT" ? .allowed
                        : code == "FORBIDDEN" || code == "NOT_FOUND" ? .denied
                        : code == "UNAUTHENTICATED" ? .unauthenticated : nil
                    if got != expected[caller] {
                        failures.append("\(name) as \(caller.rawValue): expected \(expected[caller]!), got \(reply)")
                    }
                    if name == "AUTH" || name == "QUIT" {
                        await clients[caller]!.close()
                        clients[caller] = try await open(caller == .revoked ? .anonymous : caller)
                    }
                }
            }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        }
    }
}
