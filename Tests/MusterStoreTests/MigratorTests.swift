import Foundation
import Logging
import MusterPQ
import MusterStore
import MusterTestSupport
import Testing

/// Scratch directories of this test process, deleted at exit.
final class ScratchDirectories: @unchecked Sendable {
    static let shared = ScratchDirectories()
    // Guarded by `lock`.
    private var paths: [String] = []
    private let lock = NSLock()

    private init() {
        atexit {
            for path in ScratchDirectories.shared.all { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    func remember(_ path: String) {
        lock.lock()
        paths.append(path)
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return paths
    }
}

@Suite struct MigratorTests {
    let logger = Logger(label: "test")

    /// A scratch migrations directory with the given files (removed when the test process exits).
    func directory(_ files: [String: String]) throws -> String {
        let path = NSTemporaryDirectory() + "muster-migrations-\(UUID().uuidString)"
        ScratchDirectories.shared.remember(path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, sql) in files { try sql.write(toFile: "\(path)/\(name)", atomically: true, encoding: .utf8) }
        return path
    }

    @Test func theRepositoryMigrationsApplyOnceAndInOrder() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let migrator = try Migrator(directory: RepositoryPaths.migrations)
        #expect(!migrator.migrations.isEmpty)
        #expect(migrator.migrations.map(\.version) == migrator.migrations.map(\.version).sorted())
        let first = try await migrator.migrate(pool, logger: logger)
        #expect(first.map(\.version) == migrator.migrations.map(\.version))
        let second = try await migrator.migrate(pool, logger: logger)
        #expect(second.isEmpty)
        let status = try await migrator.status(pool)
        #expect(status.allSatisfy { $0.state == .applied && $0.appliedAt != nil })
        let recorded = try await pool.query("SELECT count(*) AS n FROM schema_migrations")
        #expect(try recorded[0].decode("n", as: Int.self) == migrator.migrations.count)
    }

    @Test func concurrentMigratorsApplyEachFileOnce() async throws {
        let database = try await TestCluster.makeDatabase()
        let migrator = try Migrator(directory: RepositoryPaths.migrations)
        let pools = (0..<3).map { _ in PGPool(configuration: PGPoolConfiguration(connection: database, maxConnections: 1), logger: logger) }
        defer { for pool in pools { Task { try await pool.shutdown() } } }
        let appliedCounts = try await withThrowingTaskGroup(of: Int.self) { group in
            for pool in pools { group.addTask { try await migrator.migrate(pool, logger: logger).count } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(appliedCounts.reduce(0, +) == migrator.migrations.count)
        let recorded = try await pools[0].query("SELECT count(*) AS n FROM schema_migrations")
        #expect(try recorded[0].decode("n", as: Int.self) == migrator.migrations.count)
    }

    @Test func aChangedAppliedFileStopsEverythingAndIsNamed() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let path = try directory([
            "0001_first.sql": "CREATE TABLE first (id int);",
            "0002_second.sql": "CREATE TABLE second (id int);",
        ])
        try await Migrator(directory: path).migrate(pool, logger: logger)
        try "CREATE TABLE first (id bigint);".write(toFile: "\(path)/0001_first.sql", atomically: true, encoding: .utf8)
        try "CREATE TABLE third (id int);".write(toFile: "\(path)/0003_third.sql", atomically: true, encoding: .utf8)
        let changed = try Migrator(directory: path)
        let error = await #expect(throws: MigrationError.self) { try await changed.migrate(pool, logger: logger) }
        #expect(error?.message.contains("0001_first.sql") == true)
        #expect(error?.message.contains("changed after it was applied") == true)
        // Nothing after the mismatch ran.
        let third = try await pool.query("SELECT to_regclass('third') IS NULL AS absent")
        #expect(try third[0].decode("absent", as: Bool.self))
        let states = try await changed.status(pool).map(\.state)
        #expect(states == [.changed, .applied, .pending])
        await #expect(throws: MigrationError.self) { try await changed.verify(pool) }
    }

    @Test func aFailingMigrationIsRolledBackAndNotRecorded() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let path = try directory([
            "0001_good.sql": "CREATE TABLE good (id int);",
            "0002_bad.sql": "CREATE TABLE half (id int);\nCREATE TABLE broken (id nosuchtype);",
        ])
        let error = await #expect(throws: MigrationError.self) { try await Migrator(directory: path).migrate(pool, logger: logger) }
        #expect(error?.message.hasPrefix("0002_bad.sql failed") == true)
        let rows = try await pool.query(
            "SELECT to_regclass('good') IS NOT NULL AS good, to_regclass('half') IS NULL AS half_absent")
        #expect(try rows[0].decode("good", as: Bool.self))
        #expect(try rows[0].decode("half_absent", as: Bool.self))
        let versions = try await pool.query("SELECT version FROM schema_migrations").map { try $0.decode("version", as: Int.self) }
        #expect(versions == [1])
    }

    @Test(arguments: [
        (["1_x.sql": "SELECT 1"], "1_x.sql: bad migration file name"),
        (["0001-x.sql": "SELECT 1"], "0001-x.sql: bad migration file name"),
        (["0001_X.sql": "SELECT 1"], "0001_X.sql: bad migration file name"),
        (["0001_x.txt": "SELECT 1"], "0001_x.txt: not a migration"),
        (["0001_a.sql": "SELECT 1", "0001_b.sql": "SELECT 1"], "the same version 0001"),
    ])
    func badDirectoriesAreRejectedNamingTheFile(files: [String: String], message: String) throws {
        let path = try directory(files)
        let error = #expect(throws: MigrationError.self) { try Migrator(directory: path) }
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test func statusOnAnEmptyDatabaseIsAllPendingAndChangesNothing() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let migrator = try Migrator(directory: RepositoryPaths.migrations)
        let status = try await migrator.status(pool)
        #expect(status.count == migrator.migrations.count)
        #expect(status.allSatisfy { $0.state == .pending })
        let table = try await pool.query("SELECT to_regclass('schema_migrations') IS NULL AS absent")
        #expect(try table[0].decode("absent", as: Bool.self))
    }
}
