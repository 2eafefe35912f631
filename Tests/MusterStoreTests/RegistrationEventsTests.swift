import Logging
import MusterPQ
import MusterStore
import MusterTestSupport
import Testing

/// Registration events, as every daemon's subscribers receive them: built from what was registered, not read back.
@Suite struct RegistrationEventsTests {
    func announced(_ registered: [RegisteredVolunteer]) async throws -> [String] {
        let pool = try await TestCluster.makePool(maxConnections: 2)
        defer { Task { try await pool.shutdown() } }
        try await Migrator(directory: RepositoryPaths.migrations).migrate(pool, logger: Logger(label: "test"))
        let listener = try PGConnection.connect(pool.configuration.connection, logger: Logger(label: "test"))
        defer { listener.close() }
        try listener.listen("muster_events")
        try await pool.withConnection { connection in try VolunteerStore().announceRegistrations(connection, registered) }
        var received: [PGNotification] = []
        _ = try await eventually(every: .zero) {
            received += try await blocking { try listener.waitForNotifications(timeoutMilliseconds: 100) }
            return !received.isEmpty
        }
        // Everything one announcement sends commits at once; anything more would arrive with it.
        received += try await blocking { try listener.waitForNotifications(timeoutMilliseconds: 100) }
        #expect(Set(received.map(\.channel)) == ["muster_events"])
        return received.map(\.payload)
    }

    @Test func aFewVolunteersAreAnnouncedOneByOneInIdOrder() async throws {
        let payloads = try await announced([RegisteredVolunteer(id: 12, state: "NJ"), RegisteredVolunteer(id: 7, state: "NY")])
        #expect(
            payloads == [
                #"{"type" : "volunteer", "change" : "registered", "id" : 7, "state" : "NY", "status" : "registered", "credentialLevel" : null}"#,
                #"{"type" : "volunteer", "change" : "registered", "id" : 12, "state" : "NJ", "status" : "registered", "credentialLevel" : null}"#,
            ])
    }

    @Test func manyVolunteersAreAnnouncedAsACountPerState() async throws {
        let registered = (1...120).map { RegisteredVolunteer(id: Int64($0), state: "NY") }
            + (121...150).map { RegisteredVolunteer(id: Int64($0), state: "NJ") }
        let payloads = try await announced(registered)
        #expect(
            payloads == [
                #"{"type" : "volunteers", "change" : "registered", "state" : "NJ", "count" : 30}"#,
                #"{"type" : "volunteers", "change" : "registered", "state" : "NY", "count" : 120}"#,
            ])
    }
}
