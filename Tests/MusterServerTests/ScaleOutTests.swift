import Foundation
import MusterClient
import MusterCore
import MusterTestSupport
import Synchronization
import Testing

/// The outcomes of both runs.
final class Results: Sendable {
    let single = Mutex(ScaleOutTests.Outcome())
    let pair = Mutex(ScaleOutTests.Outcome())
}

/// Several musterd instances on one database behave as one: the same workload, with its clients spread across two
/// daemons, ends in the same state as on a single daemon.
@Suite struct ScaleOutTests {
    struct Outcome: Equatable, Sendable {
        var volunteers = 0
        var eligibleRefs: Set<String> = []  // last names carry the ref
        var offers = 0
        var weightedFilled = 0
        var filledPerRequest: [Int] = []
        var doubleBooked = 0
    }

    /// The workload: rule packs loaded through one daemon and used through the other, registrations from eight
    /// clients, then every daemon matching the state at once.
    func workload(_ servers: [TestServer]) async throws -> Outcome {
        let staffing = StaffingTests()
        let first = servers[0]
        let last = servers[servers.count - 1]
        let admin = try await first.connect(role: .admin)
        try await EligibilityTests.loadPacks(admin, prefix: "NY-")
        // The reload reaches every daemon (LISTEN/NOTIFY): wait until the last one has the packs.
        let reader = try await last.connect(role: .state, state: "NY")
        let deadline = ContinuousClock.now + .seconds(10)
        while try await reader.send("ORDERS.LIST NY").rows.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }

        // Eight clients, spread round-robin over the daemons, each registering and verifying five nurses.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                let server = servers[worker % servers.count]
                group.addTask {
                    let ny = try await server.connect(role: .state, state: "NY")
                    for index in 0..<5 {
                        let lat = 40.6 + Double(worker) * 0.03 + Double(index) * 0.005
                        _ = try await staffing.availableNurse(ny, "w\(worker)-\(index)", lat: lat, lon: -73.95)
                    }
                }
            }
            try await group.waitForAll()
        }
        let ny = try await first.connect(role: .state, state: "NY")
        let created = try await ny.send(
            #"FACILITY.CREATE {"name": "Bellevue", "kind": "hospital", "lat": 40.7394, "lon": -73.9754, "provides": ["supervision"]}"#)
        let facility = try staffing.object(created.payload)["id"] as? Int ?? -1
        var requests: [Int] = []
        for (count, priority) in [(12, 5), (10, 3), (30, 1)] {
            requests.append(try await staffing.submit(ny, facility: facility, count: count, priority: priority))
        }
        // Every daemon runs a round for the state at the same moment.
        let rounds = try await withThrowingTaskGroup(of: (offers: Int, weighted: Int).self) { group in
            for server in servers {
                group.addTask {
                    let client = try await server.connect(role: .state, state: "NY")
                    let summary = try staffing.object(try await client.send("MATCH.RUN NY").payload)
                    return (summary["offers"] as? Int ?? 0, summary["weightedFilled"] as? Int ?? 0)
                }
            }
            return try await group.reduce(into: [(offers: Int, weighted: Int)]()) { $0.append($1) }
        }

        var outcome = Outcome()
        outcome.offers = rounds.map(\.offers).reduce(0, +)
        outcome.weightedFilled = rounds.map(\.weighted).reduce(0, +)
        outcome.volunteers = try await first.pool.query("SELECT count(*) AS n FROM volunteers")[0].decode("n", as: Int.self)
        for row in try await reader.send(#"VOLUNTEER.LIST {"limit": 500}"#).rows {
            let volunteer = try staffing.object(row)
            let id = volunteer["id"] as? Int ?? -1
            let check = try staffing.object(try await reader.send("ELIGIBILITY.CHECK \(id) NY").payload)
            if check["eligible"] as? Bool == true { outcome.eligibleRefs.insert(volunteer["lastName"] as? String ?? "?") }
        }
        for request in requests {
            outcome.filledPerRequest.append(try staffing.object(try await reader.send("REQUEST.GET \(request)").payload)["filled"] as? Int ?? -1)
        }
        outcome.doubleBooked = try await first.pool.query(
            """
            SELECT count(*) AS n FROM (SELECT volunteer_id FROM assignments
            WHERE status IN ('offered', 'accepted', 'confirmed') GROUP BY volunteer_id HAVING count(*) > 1) d
            """)[0].decode("n", as: Int.self)
        return outcome
    }

    @Test func twoDaemonsOnOneDatabaseEndAsOneDaemonDoes() async throws {
        let results = Results()
        try await withTestServer(today: { StaffingTests.today }) { server in
            results.single.withLock { $0 = Outcome() }
            let outcome = try await workload([server])
            results.single.withLock { $0 = outcome }
        }
        let database = try await TestCluster.makeDatabase()
        try await withTestServer(database: database, today: { StaffingTests.today }) { first in
            try await withTestServer(database: database, today: { StaffingTests.today }) { second in
                let outcome = try await workload([first, second])
                results.pair.withLock { $0 = outcome }
            }
        }
        let single = results.single.withLock { $0 }
        let pair = results.pair.withLock { $0 }
        #expect(single.volunteers == 40)
        #expect(single.eligibleRefs.count == 40)
        #expect(single.offers == 40, "40 nurses for 52 slots")
        #expect(single.filledPerRequest == [12, 10, 18], "the critical requests first")
        #expect(single.doubleBooked == 0)
        #expect(pair == single)
    }
}
