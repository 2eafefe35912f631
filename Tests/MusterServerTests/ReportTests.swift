import Foundation
import Logging
import MusterClient
import MusterCore
import MusterServer
import MusterTestSupport
import Testing

/// Funnel counts, the expiring list, the audit log over the protocol, and the expiry watch.
@Suite struct ReportTests {
    static let today = CalendarDate("2020-04-03")!

    func id(_ response: Response) throws -> Int {
        let payload = try #require(response.payload)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
        return try #require(object["id"] as? Int)
    }

    func rows(_ response: Response) throws -> [[String: Any]] {
        try response.rows.map { row in
            let object = try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any]
            return try #require(object)
        }
    }

    @Test func funnelExpiringAndAuditAreScopedToTheState() async throws {
        try await withTestServer(today: { Self.today }) { server in
            let ny = try await server.connect(role: .state, state: "NY", name: "NY desk")
            let nj = try await server.connect(role: .state, state: "NJ")
            var ids: [Int] = []
            for index in 0..<3 {
                let reply = try await ny.send("VOLUNTEER.REGISTER " + VolunteerRegistryTests.registration("f\(index)"))
                ids.append(try id(reply))
            }
            _ = try await nj.send("VOLUNTEER.REGISTER " + VolunteerRegistryTests.registration("j1"))
            for body in [
                #"{"item":"identity","outcome":"verified","source":"DMV","reference":"x"}"#,
                #"{"item":"license","subject":"NJ:RN-f0","outcome":"verified","source":"board","reference":"y","expires":"2020-04-20"}"#,
            ] {
                #expect(try await ny.send("VOLUNTEER.VERIFY \(ids[0]) \(body)").isOK)
            }
            _ = try await ny.send("VOLUNTEER.WITHDRAW \(ids[2])")

            let funnel = try rows(try await ny.send("VOLUNTEER.FUNNEL"))
            #expect(funnel.count == 1)
            #expect(funnel.first?["registered"] as? Int == 2)
            #expect(funnel.first?["verified"] as? Int == 1)
            #expect(funnel.first?["withdrawn"] as? Int == 1)
            #expect(try await ny.send(#"VOLUNTEER.FUNNEL {"state":"NJ"}"#).errorCode == "FORBIDDEN")

            let soon = try rows(try await ny.send(#"VOLUNTEER.EXPIRING {"withinDays": 30}"#))
            #expect(soon.map { $0["id"] as? Int } == [ids[0]])
            #expect(soon.first?["credentialValidUntil"] as? String == "2020-04-20")
            #expect(try rows(try await ny.send(#"VOLUNTEER.EXPIRING {"withinDays": 10}"#)).isEmpty)

            let audit = try rows(try await ny.send(#"AUDIT {"limit": 100}"#))
            #expect(audit.allSatisfy { $0["state"] as? String == "NY" })
            #expect(audit.contains { $0["action"] as? String == "volunteer.verify" })
            #expect(try rows(try await nj.send(#"AUDIT {}"#)).allSatisfy { $0["state"] as? String == "NJ" })
            #expect(try await ny.send(#"AUDIT {"colour": 1}"#).errorMessage == "colour: unknown field")
        }
    }

    @Test func theExpiryWatchTakesLapsedCredentialsOutOfMatching() async throws {
        try await withTestServer(today: { Self.today }) { server in
            let ny = try await server.connect(role: .state, state: "NY")
            let reply = try await ny.send("VOLUNTEER.REGISTER " + VolunteerRegistryTests.registration("w1"))
            let id = try id(reply)
            for body in [
                #"{"item":"identity","outcome":"verified","source":"DMV","reference":"x"}"#,
                #"{"item":"license","subject":"NJ:RN-w1","outcome":"verified","source":"board","reference":"y","expires":"2020-04-10"}"#,
            ] {
                _ = try await ny.send("VOLUNTEER.VERIFY \(id) \(body)")
            }
            _ = try await ny.send(#"VOLUNTEER.UPDATE \#(id) {"status": "available"}"#)
            let watch = ExpiryWatch(pool: server.pool, logger: Logger(label: "test"), today: { CalendarDate("2020-04-11")! })
            #expect(try await watch.sweep() == 1)
            #expect(try await watch.sweep() == 0)  // idempotent: nothing left to lower
            let after = try await ny.send(#"VOLUNTEER.LIST {"status": "available"}"#)
            #expect(after.rows.isEmpty)
            let record = try await ny.send(#"VOLUNTEER.LIST {"status": "registered"}"#)
            #expect(record.rows.count == 1)
        }
    }
}
