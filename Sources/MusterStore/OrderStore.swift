import Crypto
import Foundation
import MusterCore
import MusterEligibility
import MusterPQ

/// One stored version of an instrument, without its compiled rules.
public struct StoredPackVersion: Sendable, Equatable, Codable {
    public let id: String
    public let version: Int
    public let state: String
    public let appliesTo: [String]
    public let title: String
    public let effectiveFrom: CalendarDate
    public let effectiveTo: CalendarDate?
    public let rescindedOn: CalendarDate?
    public let revision: Int
    public let file: String
    public let sha256: String
    public let loadedAt: Date
    public let loadedBy: String
}

/// The outcome of storing a pack.
public struct PackLoadOutcome: Sendable, Equatable, Codable {
    public let id: String
    public let version: Int
    /// False when this exact text was already stored (as `version`); nothing was added.
    public let created: Bool

    public init(id: String, version: Int, created: Bool) {
        self.id = id
        self.version = version
        self.created = created
    }
}

/// Why a pack version could not be stored.
public enum OrderStoreError: Error, Sendable, Equatable {
    case notFound(String)
    case versionNotFound(String, Int)
    /// The rescission date is before the instrument first took effect.
    case rescindBeforeEffective(String, effectiveFrom: CalendarDate)
    /// The instrument already ended (by its window or an earlier rescission) on or before that day.
    case alreadyEnded(String, lastDay: CalendarDate)
}

/// Versioned rule packs in `order_packs`. Versions are only ever added: a changed file is a new version, and a
/// rescission is a new version that ends the instrument. Each insert notifies every daemon (`muster_orders`).
public struct OrderStore: Sendable {
    public init() {}

    /// The channel on which each added version is announced.
    public static let channel = "muster_orders"

    /// Stores `pack` (compiled from `yaml`) as the instrument's next version, unless this exact text is already
    /// one of its versions. Run inside a transaction.
    public func load(
        _ connection: PGConnection, pack: RulePack, yaml: String, by actor: Identity?
    ) throws -> PackLoadOutcome {
        let digest = PGBytes(Array(SHA256.hash(data: Data(yaml.utf8))))
        try lock(connection, id: pack.id)
        let existing = try connection.query(
            "SELECT version FROM order_packs WHERE instrument_id = \(pack.id) AND sha256 = \(digest) AND rescinded_on IS NULL ORDER BY version LIMIT 1")
        if let row = existing.first {
            return PackLoadOutcome(id: pack.id, version: try row.decode("version"), created: false)
        }
        let version = try nextVersion(connection, id: pack.id)
        try insert(connection, pack: pack, version: version, rescindedOn: nil, file: pack.file, yaml: yaml, digest: digest, by: actor)
        return PackLoadOutcome(id: pack.id, version: version, created: true)
    }

    /// Adds a version that ends the instrument from `date` (its last day in force is the day before), based on
    /// the latest version. Run inside a transaction.
    public func rescind(
        _ connection: PGConnection, id: String, on date: CalendarDate, by actor: Identity?
    ) throws -> PackLoadOutcome {
        try lock(connection, id: id)
        let rows = try connection.query(
            """
            SELECT version, yaml, file_name, effective_from, effective_to, rescinded_on FROM order_packs
            WHERE instrument_id = \(id) ORDER BY version DESC LIMIT 1
            """)
        guard let latest = rows.first else { throw OrderStoreError.notFound(id) }
        let yaml: String = try latest.decode("yaml")
        let file: String = try latest.decode("file_name")
        let from: CalendarDate = try latest.decode("effective_from")
        let writtenEnd: CalendarDate? = try latest.decode("effective_to")
        let earlier: CalendarDate? = try latest.decode("rescinded_on")
        if date <= from { throw OrderStoreError.rescindBeforeEffective(id, effectiveFrom: from) }
        let lastDay = [writtenEnd, earlier?.adding(days: -1)].compactMap { $0 }.min()
        if let lastDay, lastDay < date { throw OrderStoreError.alreadyEnded(id, lastDay: lastDay) }
        let pack: RulePack
        do { pack = try RulePack.load(yaml: yaml, file: file) } catch {
            throw PGError(.decoding, message: "stored pack \(id) no longer compiles: \(error)")
        }
        let version = try nextVersion(connection, id: id)
        let digest = PGBytes(Array(SHA256.hash(data: Data(yaml.utf8))))
        try insert(connection, pack: pack, version: version, rescindedOn: date, file: file, yaml: yaml, digest: digest, by: actor)
        return PackLoadOutcome(id: id, version: version, created: true)
    }

    /// Every version of every instrument, compiled, for the daemon's catalog. A stored version that no longer
    /// compiles (the language changed under it) is reported in `failures` and left out.
    public func compiledVersions(_ connection: PGConnection) throws -> (packs: [RulePack], failures: [String]) {
        let rows = try connection.query(
            "SELECT instrument_id, version, rescinded_on, file_name, yaml FROM order_packs ORDER BY instrument_id, version")
        var packs: [RulePack] = []
        var failures: [String] = []
        for row in rows {
            let id: String = try row.decode("instrument_id")
            let version: Int = try row.decode("version")
            do {
                let pack = try RulePack.load(yaml: try row.decode("yaml"), file: try row.decode("file_name"))
                packs.append(pack.stored(version: version, rescindedOn: try row.decode("rescinded_on")))
            } catch {
                failures.append("\(id) version \(version): \(error)")
            }
        }
        return (packs, failures)
    }

    /// The latest version of each instrument, optionally only those that apply to `state`.
    public func list(_ connection: PGConnection, state: String?) throws -> [StoredPackVersion] {
        let rows = try connection.query(
            """
            SELECT DISTINCT ON (instrument_id) \(unescaped: Self.columns)
            FROM order_packs
            WHERE \(state)::text IS NULL OR \(state) = ANY (applies_to) OR state = \(state)
            ORDER BY instrument_id, version DESC
            """)
        return try rows.map(Self.record)
    }

    /// One version (the latest when `version` is nil) with its YAML text.
    public func show(_ connection: PGConnection, id: String, version: Int?) throws -> (StoredPackVersion, yaml: String, versions: Int) {
        let rows = try connection.query(
            """
            SELECT \(unescaped: Self.columns), yaml,
                   (SELECT count(*) FROM order_packs c WHERE c.instrument_id = \(id)) AS versions
            FROM order_packs
            WHERE instrument_id = \(id) AND (\(version)::integer IS NULL OR version = \(version))
            ORDER BY version DESC LIMIT 1
            """)
        guard let row = rows.first else {
            if let version, try exists(connection, id: id) { throw OrderStoreError.versionNotFound(id, version) }
            throw OrderStoreError.notFound(id)
        }
        return (try Self.record(row), try row.decode("yaml"), try row.decode("versions"))
    }

    private func exists(_ connection: PGConnection, id: String) throws -> Bool {
        try connection.query("SELECT 1 FROM order_packs WHERE instrument_id = \(id) LIMIT 1").first != nil
    }

    private static let columns = """
        instrument_id, version, state, applies_to, title, effective_from, effective_to, rescinded_on, revision, \
        file_name, encode(sha256, 'hex') AS sha256, loaded_at, loaded_by_name
        """

    private static func record(_ row: PGRow) throws -> StoredPackVersion {
        StoredPackVersion(
            id: try row.decode("instrument_id"), version: try row.decode("version"), state: try row.decode("state"),
            appliesTo: try row.decode("applies_to"), title: try row.decode("title"),
            effectiveFrom: try row.decode("effective_from"), effectiveTo: try row.decode("effective_to"),
            rescindedOn: try row.decode("rescinded_on"), revision: try row.decode("revision"),
            file: try row.decode("file_name"), sha256: try row.decode("sha256"), loadedAt: try row.decode("loaded_at"),
            loadedBy: try row.decode("loaded_by_name"))
    }

    /// Serialises version numbering per instrument for the rest of the transaction.
    private func lock(_ connection: PGConnection, id: String) throws {
        try connection.query("SELECT pg_advisory_xact_lock(hashtextextended('muster.orders:' || \(id), 0))")
    }

    private func nextVersion(_ connection: PGConnection, id: String) throws -> Int {
        let row = try connection.query(
            "SELECT coalesce(max(version), 0) + 1 AS next FROM order_packs WHERE instrument_id = \(id)").first!
        return try row.decode("next")
    }

    private func insert(
        _ connection: PGConnection, pack: RulePack, version: Int, rescindedOn: CalendarDate?, file: String, yaml: String,
        digest: PGBytes, by actor: Identity?
    ) throws {
        try connection.query(
            """
            INSERT INTO order_packs (instrument_id, version, state, applies_to, title, effective_from, effective_to,
                                     rescinded_on, revision, file_name, yaml, sha256, loaded_by, loaded_by_name)
            VALUES (\(pack.id), \(version), \(pack.state), \(pack.appliesTo.sorted()), \(pack.title), \(pack.effectiveFrom),
                    \(pack.effectiveTo), \(rescindedOn), \(pack.revision), \(file), \(yaml), \(digest), \(actor?.tokenID),
                    \(actor?.name ?? "system"))
            """)
    }
}
