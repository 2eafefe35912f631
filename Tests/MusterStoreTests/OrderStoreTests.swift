import Foundation
import Logging
import MusterCore
import MusterEligibility
import MusterPQ
import MusterStore
import MusterTestSupport
import Testing

/// Versioned rule packs in PostgreSQL: idempotent loads, new versions, rescissions, append-only rows, and the
/// notification every daemon listens for.
@Suite struct OrderStoreTests {
    static let packYAML = """
        id: ZZ-EO-1
        state: NY
        title: "Test order"
        instrument: {type: executive_order, number: "1"}
        signed: 2020-03-20
        effective: {from: 2020-03-20, to: open}
        version: 1
        sources: [{citation: "test", grade: V}]
        provisions:
          - id: "§1"
            covers: {categories: [img], professions: [physician]}
            criteria: {ge: {field: img.usGmeMonths, value: 12}}
            grants: {settings: [hospital], conditions: [hospital_only]}
            grade: V
        """

    func migratedPool() async throws -> (PGPool, PGConnectionConfiguration) {
        let database = try await TestCluster.makeDatabase()
        let pool = PGPool(configuration: PGPoolConfiguration(connection: database, maxConnections: 4), logger: Logger(label: "test"))
        try await Migrator(directory: RepositoryPaths.migrations).migrate(pool, logger: Logger(label: "test"))
        return (pool, database)
    }

    func load(_ pool: PGPool, _ yaml: String) async throws -> PackLoadOutcome {
        let pack = try RulePack.load(yaml: yaml, file: "zz.yaml")
        return try await pool.withTransaction { connection in try OrderStore().load(connection, pack: pack, yaml: yaml, by: nil) }
    }

    @Test func sameTextIsStoredOnceAndChangedTextIsANewVersion() async throws {
        let (pool, _) = try await migratedPool()
        defer { Task { try await pool.shutdown() } }
        #expect(try await load(pool, Self.packYAML) == PackLoadOutcome(id: "ZZ-EO-1", version: 1, created: true))
        #expect(try await load(pool, Self.packYAML) == PackLoadOutcome(id: "ZZ-EO-1", version: 1, created: false))
        let amended = Self.packYAML.replacingOccurrences(of: "value: 12", with: "value: 6")
            .replacingOccurrences(of: "version: 1", with: "version: 2")
        #expect(try await load(pool, amended) == PackLoadOutcome(id: "ZZ-EO-1", version: 2, created: true))

        let (packs, failures) = try await pool.withConnection { connection in try OrderStore().compiledVersions(connection) }
        #expect(failures.isEmpty)
        #expect(packs.map(\.version) == [1, 2])
        #expect(packs.map(\.revision) == [1, 2])
        let listed = try await pool.withConnection { connection in try OrderStore().list(connection, state: "NY") }
        #expect(listed.map(\.version) == [2])
        #expect(try await pool.withConnection { connection in try OrderStore().list(connection, state: "NJ") }.isEmpty)
        let (first, text, versions) = try await pool.withConnection { connection in try OrderStore().show(connection, id: "ZZ-EO-1", version: 1) }
        #expect(first.version == 1 && versions == 2 && text == Self.packYAML)
        #expect(first.sha256.count == 64)
        await #expect(throws: OrderStoreError.versionNotFound("ZZ-EO-1", 7)) {
            try await pool.withConnection { connection in _ = try OrderStore().show(connection, id: "ZZ-EO-1", version: 7) }
        }
        // Stored versions never change.
        await #expect(throws: PGError.self) { try await pool.query("UPDATE order_packs SET title = 'x'") }
        await #expect(throws: PGError.self) { try await pool.query("DELETE FROM order_packs") }
    }

    @Test func aRescissionIsANewVersionThatEndsTheInstrument() async throws {
        let (pool, _) = try await migratedPool()
        defer { Task { try await pool.shutdown() } }
        _ = try await load(pool, Self.packYAML)
        func rescind(_ date: String) async throws -> PackLoadOutcome {
            try await pool.withTransaction { connection in
                try OrderStore().rescind(connection, id: "ZZ-EO-1", on: CalendarDate(date)!, by: nil)
            }
        }
        await #expect(throws: OrderStoreError.rescindBeforeEffective("ZZ-EO-1", effectiveFrom: CalendarDate("2020-03-20")!)) {
            _ = try await rescind("2020-03-20")
        }
        #expect(try await rescind("2020-06-01") == PackLoadOutcome(id: "ZZ-EO-1", version: 2, created: true))
        await #expect(throws: OrderStoreError.alreadyEnded("ZZ-EO-1", lastDay: CalendarDate("2020-05-31")!)) {
            _ = try await rescind("2020-07-01")
        }
        // An earlier rescission date is allowed: it ends it sooner.
        #expect(try await rescind("2020-05-01").version == 3)
        await #expect(throws: OrderStoreError.notFound("NOPE")) {
            try await pool.withTransaction { connection in _ = try OrderStore().rescind(connection, id: "NOPE", on: CalendarDate("2020-05-01")!, by: nil) }
        }
        // Re-loading the original file does not undo the rescission.
        #expect(try await load(pool, Self.packYAML).created == false)
        let (packs, _) = try await pool.withConnection { connection in try OrderStore().compiledVersions(connection) }
        let catalog = PackCatalog(packs)
        #expect(catalog.packs(for: "NY", on: CalendarDate("2020-06-15")!).map(\.version) == [3])
        #expect(catalog.packs(for: "NY", on: CalendarDate("2020-06-15")!).first?.effectiveTo == CalendarDate("2020-04-30"))
    }

    @Test func everyAddedVersionIsAnnouncedToListeners() async throws {
        let (pool, database) = try await migratedPool()
        defer { Task { try await pool.shutdown() } }
        let listener = try PGConnection.connect(database, logger: Logger(label: "test"))
        defer { listener.close() }
        try listener.listen(OrderStore.channel)
        #expect(try listener.waitForNotifications(timeoutMilliseconds: 50).isEmpty)
        _ = try await load(pool, Self.packYAML)
        var received: [PGNotification] = []
        _ = try await eventually(every: .zero) {
            received = try await blocking { try listener.waitForNotifications(timeoutMilliseconds: 100) }
            return !received.isEmpty
        }
        #expect(received.map(\.channel) == ["muster_orders"])
        #expect(received.map(\.payload) == ["ZZ-EO-1 1"])
        // An unchanged load adds no version and announces nothing.
        _ = try await load(pool, Self.packYAML)
        #expect(try listener.waitForNotifications(timeoutMilliseconds: 200).isEmpty)
        #expect(throws: PGError.self) { try listener.listen("bad; DROP TABLE x") }
    }
}
