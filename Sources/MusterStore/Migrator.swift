import Crypto
import Foundation
import Logging
import MusterPQ

/// One migration file: `NNNN_description.sql`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    /// The file name, for messages.
    public let fileName: String
    public let sql: String
    /// SHA-256 of the file's bytes, hex.
    public let checksum: String
}

/// The state of one migration as `musterctl migrate --status` shows it.
public struct MigrationStatus: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable {
        /// Applied, and the file is unchanged.
        case applied
        /// Not applied yet.
        case pending
        /// Applied, but the file's content has changed since: a startup error.
        case changed
        /// Recorded in the database, but no such file exists in this build.
        case unknownToThisBuild = "unknown"
    }

    public let version: Int
    public let name: String
    public let state: State
    public let appliedAt: Date?
}

/// Why migrations cannot run. Each names the file concerned.
public struct MigrationError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Applies `Migrations/NNNN_description.sql` files in order, each in its own transaction, and records each in
/// `schema_migrations` with its checksum. A file that was applied and then edited stops everything: the database
/// no longer matches what the files say, and a person must decide.
///
/// An advisory lock serialises migrators, so several daemons starting at once apply each file once.
public struct Migrator: Sendable {
    public let migrations: [Migration]
    /// An arbitrary constant naming the migration lock (`pg_advisory_lock`).
    static let lockKey: Int64 = 0x6D75_7374_6572_0001

    public init(migrations: [Migration]) {
        self.migrations = migrations
    }

    /// Reads every `*.sql` file in `directory`; any other naming, or two files with one version, is an error.
    public init(directory: String) throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError("cannot read the migrations directory \(directory): \(error.localizedDescription)")
        }
        var migrations: [Migration] = []
        for fileName in names.sorted() where !fileName.hasPrefix(".") {
            guard fileName.hasSuffix(".sql") else {
                if fileName.lowercased() == "readme.md" { continue }
                throw MigrationError("\(directory)/\(fileName): not a migration (expected NNNN_description.sql)")
            }
            let stem = fileName.dropLast(4)
            let parts = stem.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 4, let version = Int(parts[0]), version > 0,
                !parts[1].isEmpty,
                parts[1].allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
            else {
                throw MigrationError(
                    "\(directory)/\(fileName): bad migration file name (expected NNNN_description.sql, "
                        + "four digits from 0001, then lower-case words joined by _)")
            }
            if let clash = migrations.first(where: { $0.version == version }) {
                throw MigrationError("\(fileName) and \(clash.fileName) have the same version \(parts[0])")
            }
            let path = "\(directory)/\(fileName)"
            guard let data = FileManager.default.contents(atPath: path), let sql = String(data: data, encoding: .utf8)
            else { throw MigrationError("\(path): cannot read it as UTF-8 text") }
            let checksum = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            migrations.append(
                Migration(version: version, name: String(parts[1]), fileName: fileName, sql: sql, checksum: checksum))
        }
        self.init(migrations: migrations)
    }

    /// Finds the migrations directory: the explicit one if given, else `MUSTER_MIGRATIONS_DIR`, else the
    /// installed copy beside the executable (`../share/muster/migrations`), else a `Migrations` folder in a
    /// source checkout above the executable, else `./Migrations`.
    public static func locateDirectory(explicit: String?) throws -> String {
        if let explicit { return explicit }
        if let env = ProcessInfo.processInfo.environment["MUSTER_MIGRATIONS_DIR"], !env.isEmpty { return env }
        var candidates: [String] = []
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        candidates.append(directory.appendingPathComponent("../share/muster/migrations").standardizedFileURL.path)
        for _ in 0..<6 {
            candidates.append(directory.appendingPathComponent("Migrations").path)
            directory = directory.deletingLastPathComponent()
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/Migrations")
        for candidate in candidates {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue {
                return candidate
            }
        }
        throw MigrationError(
            "no migrations directory found (looked in \(candidates.joined(separator: ", "))); "
                + "pass --migrations-dir or set MUSTER_MIGRATIONS_DIR")
    }

    /// Applies every pending migration; returns the ones applied. Fails, changing nothing further, at the first
    /// applied file whose checksum differs or the first file whose SQL fails.
    @discardableResult
    public func migrate(_ pool: PGPool, logger: Logger) async throws -> [Migration] {
        let migrations = self.migrations
        return try await pool.withConnection { connection in
            try connection.query("SELECT pg_advisory_lock(\(Self.lockKey))")
            defer { _ = try? connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))") }
            try Self.ensureTable(connection)
            let applied = try Self.appliedRows(connection)
            try Self.verifyChecksums(migrations, applied: applied)
            var done: [Migration] = []
            for migration in migrations where applied[migration.version] == nil {
                logger.info("applying migration", metadata: ["file": "\(migration.fileName)"])
                do {
                    try connection.transaction { connection in
                        try connection.executeScript(migration.sql)
                        try connection.query(
                            """
                            INSERT INTO schema_migrations (version, name, checksum)
                            VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                            """)
                    }
                } catch let error as PGError {
                    throw MigrationError("\(migration.fileName) failed: \(error.debugDescription)")
                }
                done.append(migration)
            }
            return done
        }
    }

    /// Every migration's state, for `migrate --status`. Changes nothing.
    public func status(_ pool: PGPool) async throws -> [MigrationStatus] {
        let migrations = self.migrations
        return try await pool.withConnection { connection in
            let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
            let applied = try exists[0].decode("present", as: Bool.self) ? Self.appliedRows(connection) : [:]
            var statuses: [MigrationStatus] = migrations.map { migration in
                guard let row = applied[migration.version] else {
                    return MigrationStatus(version: migration.version, name: migration.name, state: .pending, appliedAt: nil)
                }
                return MigrationStatus(
                    version: migration.version, name: migration.name,
                    state: row.checksum == migration.checksum ? .applied : .changed, appliedAt: row.appliedAt)
            }
            let known = Set(migrations.map(\.version))
            for (version, row) in applied where !known.contains(version) {
                statuses.append(
                    MigrationStatus(version: version, name: row.name, state: .unknownToThisBuild, appliedAt: row.appliedAt))
            }
            return statuses.sorted { $0.version < $1.version }
        }
    }

    /// Throws when an applied migration differs from its file. Used at startup even when not migrating.
    public func verify(_ pool: PGPool) async throws {
        let statuses = try await status(pool)
        try Self.verifyChecksums(statuses, migrations: migrations)
    }

    // MARK: - Internals

    struct AppliedRow {
        let name: String
        let checksum: String
        let appliedAt: Date
    }

    static func ensureTable(_ connection: PGConnection) throws {
        try connection.executeScript(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
    }

    static func appliedRows(_ connection: PGConnection) throws -> [Int: AppliedRow] {
        var rows: [Int: AppliedRow] = [:]
        for row in try connection.query("SELECT version, name, checksum, applied_at FROM schema_migrations") {
            rows[try row.decode("version")] = AppliedRow(
                name: try row.decode("name"), checksum: try row.decode("checksum"), appliedAt: try row.decode("applied_at"))
        }
        return rows
    }

    static func verifyChecksums(_ migrations: [Migration], applied: [Int: AppliedRow]) throws {
        for migration in migrations {
            if let row = applied[migration.version], row.checksum != migration.checksum {
                throw changedError(migration)
            }
        }
    }

    static func verifyChecksums(_ statuses: [MigrationStatus], migrations: [Migration]) throws {
        for status in statuses where status.state == .changed {
            if let migration = migrations.first(where: { $0.version == status.version }) { throw changedError(migration) }
        }
    }

    static func changedError(_ migration: Migration) -> MigrationError {
        MigrationError(
            "\(migration.fileName) was changed after it was applied (checksum differs from the one recorded in "
                + "schema_migrations); restore the applied version and put the change in a new migration")
    }
}
