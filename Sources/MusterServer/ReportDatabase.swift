import CoreMetrics
import Logging
import MusterPQ
import Synchronization

/// Where reports and searches read: a streaming replica of the primary when musterd is given one
/// (`--replica-url`), so that scanning the whole registry does not compete with intake and matching on the
/// primary; the primary otherwise, and whenever the replica cannot answer.
///
/// Before its first use, and again after any failure, the replica is checked to be a copy of the primary: the same
/// cluster (a streaming replica shares its primary's system identifier) and the same database name. One that is
/// not, or that cannot be checked (the primary will not say), is never used, because a report read from another
/// database would be wrong without looking wrong. A replica
/// that cannot answer (unreachable, out of resources, a query cancelled by a conflict with recovery, a table a
/// migration has not yet reached) is passed over for `retryAfter`, and each read in the meantime goes to the
/// primary.
///
/// What a replica serves is as old as its replay lag (`replicaReading()`, in `STATS` and the metrics): with
/// asynchronous replication a search may miss a registration acknowledged a moment before. It is bounded: a replica
/// whose replay is more than `maxLag` behind (replication broken, replay paused, the replica overloaded) is passed
/// over like a failed one, so a report is never older than that.
public final class ReportDatabase: Sendable {
    /// Whether reads go to the replica, and why not.
    public enum ReplicaState: Sendable, Equatable {
        /// Not checked yet (or again, after being passed over): the next read checks it.
        case unchecked
        /// Checked: reads go to it.
        case serving
        /// Failed; reads go to the primary until `until`, then it is checked again.
        case passedOver(until: ContinuousClock.Instant, reason: String)
        /// Not a copy of the primary, or not checkable: never used.
        case refused(reason: String)
    }

    /// The primary: every write, and reads when there is no usable replica.
    public let primary: PGPool
    /// The replica, nil when musterd has none.
    public let replica: PGPool?
    /// How long a failed replica is passed over before it is tried again.
    public let retryAfter: Duration
    /// The oldest a replica's view may be: how long ago it replayed its last transaction while the primary has
    /// more. Checked at most every `lagCheckInterval` (half of it, at most 5 s).
    public let maxLag: Duration
    let lagCheckInterval: Duration
    private let state = Mutex(ReplicaState.unchecked)
    /// When the lag was last checked (or is being checked).
    private let lagCheckedAt = Mutex<ContinuousClock.Instant?>(nil)
    private let replicaReads: CoreMetrics.Counter?
    private let primaryReads: CoreMetrics.Counter?
    private let counts = Counts()
    private let logger: Logger

    private final class Counts: Sendable {
        let replica = Atomic<Int>(0)
        let primary = Atomic<Int>(0)
    }

    /// - Parameters:
    ///   - maxLag: the oldest a replica's view may be before reads go to the primary.
    ///   - metrics: where reads are counted by the database that served them (`muster_report_reads_total`).
    public init(
        primary: PGPool, replica: PGPool?, retryAfter: Duration = .seconds(10), maxLag: Duration = .seconds(30),
        metrics: ServerMetrics?, logger: Logger
    ) {
        self.primary = primary
        self.replica = replica
        self.retryAfter = retryAfter
        self.maxLag = maxLag
        self.lagCheckInterval = min(maxLag / 2, .seconds(5))
        self.logger = logger
        replicaReads = replica == nil ? nil : metrics?.reportReads(from: "replica")
        primaryReads = replica == nil ? nil : metrics?.reportReads(from: "primary")
    }

    /// A pool on a replica for reports: its sessions read-only (whatever the URL's options say) and named
    /// `musterd-reports` unless the URL names them.
    public static func replicaPool(_ configuration: PGPoolConfiguration, logger: Logger) -> PGPool {
        var configuration = configuration
        configuration.connection.readOnly = true
        configuration.connection.applicationName = "musterd-reports"
        return PGPool(configuration: configuration, logger: logger)
    }

    /// The replica's state now (`.unchecked` also when there is no replica).
    public var replicaState: ReplicaState { state.withLock { $0 } }

    /// Reads served by the replica and by the primary since start (both zero without a replica).
    public var readCounts: (replica: Int, primary: Int) {
        (counts.replica.load(ordering: .relaxed), counts.primary.load(ordering: .relaxed))
    }

    /// Leases a connection for a read-only `body`: on the replica when it is usable, else on the primary. A read
    /// the replica fails for a reason of its own is run again on the primary.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        if let replica, try await replicaIsUsable(replica) {
            do {
                let value = try await replica.withConnection(body)
                counts.replica.add(1, ordering: .relaxed)
                replicaReads?.increment()
                return value
            } catch let error as PGError where Self.isReplicaTrouble(error) {
                passOver(because: error.message)
            }
        }
        let value = try await primary.withConnection(body)
        if replica != nil {
            counts.primary.add(1, ordering: .relaxed)
            primaryReads?.increment()
        }
        return value
    }

    /// Where the replica is and how far behind, as read from it now.
    public struct ReplicaReading: Sendable {
        /// The replica server answering (`host:port`).
        public let server: String?
        /// Bytes of the primary's WAL the replica has yet to replay; nil when it is not replaying (a primary given
        /// as the replica).
        public let lagBytes: Int64?
        /// How old the replica's view is: seconds since it replayed its last transaction while the primary has WAL
        /// it has not replayed (an idle primary leaves a caught-up replica's last transaction old, so 0 when caught
        /// up, or not replaying at all); nil when it is behind but has replayed no transaction since it started.
        public let secondsBehind: Double?
    }

    /// Reads the replica's position against the primary's; nil without a replica that is serving, or when either
    /// cannot be asked.
    public func replicaReading() async -> ReplicaReading? {
        guard let replica, case .serving = replicaState else { return nil }
        return try? await reading(of: replica)
    }

    /// The primary's WAL position, then, on the replica, how much of it is left to replay and how old its last
    /// replayed transaction is.
    private func reading(of replica: PGPool) async throws -> ReplicaReading? {
        let current = try await primary.withConnection { connection in
            try connection.query("SELECT pg_current_wal_lsn()::text AS lsn").first?.decode("lsn", as: String.self)
        }
        guard let current else { return nil }
        return try await replica.withConnection { connection in
            guard
                let row = try connection.query(
                    """
                    SELECT pg_wal_lsn_diff(\(current)::pg_lsn, pg_last_wal_replay_lsn())::bigint AS lag,
                        extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS age
                    """
                ).first
            else { return nil }
            // Null when not replaying; the replica may replay past the position read a moment before from the
            // primary, so never below 0.
            let lag = try row.decode("lag", as: Int64?.self).map { max(0, $0) }
            let age: Double? = try row.decode("age")
            let secondsBehind: Double?
            if let lag, lag > 0 { secondsBehind = age } else { secondsBehind = 0 }
            return ReplicaReading(server: connection.serverAddress, lagBytes: lag, secondsBehind: secondsBehind)
        }
    }

    /// Errors of the replica's own (the read would succeed on the primary), as opposed to errors of the read.
    static func isReplicaTrouble(_ error: PGError) -> Bool {
        if error.isUnavailable { return true }
        switch error.sqlState {
        // A query cancelled by a conflict with recovery (the replica replaying a change under it), or a deadlock
        // with the startup process.
        case "40001", "40P01": return true
        // A table, column or function a migration has created on the primary and the replica has not yet replayed.
        case "42P01", "42703", "42883": return true
        default: return false
        }
    }

    private func replicaIsUsable(_ replica: PGPool) async throws -> Bool {
        switch replicaState {
        case .serving: return try await isRecentEnough(replica)
        case .refused: return false
        case .passedOver(let until, _) where ContinuousClock.now < until: return false
        case .passedOver, .unchecked: break
        }
        // Checked on both servers: which cluster and database each is.
        let identity: PGQuery = "SELECT system_identifier::text AS system, current_database() AS database FROM pg_control_system()"
        let decode = { @Sendable (connection: PGConnection) throws -> (system: String, database: String)? in
            try connection.query(identity).first.map { (try $0.decode("system"), try $0.decode("database")) }
        }
        let expected: (system: String, database: String)?
        do {
            expected = try await primary.withConnection(decode)
        } catch let error as PGError where !error.isUnavailable {
            // The primary would not say (a server that restricts pg_control_system): unverifiable, so unused.
            refuse(because: "cannot check it is a copy of the primary: \(error.message)")
            return false
        }
        let found: (system: String, database: String)?
        do {
            found = try await replica.withConnection(decode)
        } catch let error as PGError {
            passOver(because: error.message)
            return false
        }
        guard let expected, let found else { return false }
        if found.system != expected.system {
            refuse(because: "not a replica of the primary: cluster system identifier \(found.system), the primary's \(expected.system)")
            return false
        }
        if found.database != expected.database {
            refuse(because: "database \"\(found.database)\", the primary's is \"\(expected.database)\"")
            return false
        }
        guard try await isRecentEnough(replica, force: true) else { return false }
        let wasServing = state.withLock { state in
            let was = state == .serving
            state = .serving
            return was
        }
        if !wasServing { logger.info("reports and searches read from the replica", metadata: ["replica": "\(replica.configuration.connection.redacted)"]) }
        return true
    }

    /// Whether the replica's view is within `maxLag` of the primary's: asked every time when `force`, else at most
    /// every `lagCheckInterval` (one read claims each check; the others go on meanwhile).
    private func isRecentEnough(_ replica: PGPool, force: Bool = false) async throws -> Bool {
        let now = ContinuousClock.now
        let due = lagCheckedAt.withLock { checkedAt in
            if !force, let checkedAt, now - checkedAt < lagCheckInterval { return false }
            checkedAt = now
            return true
        }
        guard due else { return true }
        let behind: Double?
        do {
            behind = try await reading(of: replica)?.secondsBehind
        } catch let error as PGError {
            passOver(because: error.message)
            return false
        }
        if let behind, .seconds(behind) > maxLag {
            passOver(because: "\(Int(behind)) s behind the primary (reports may be at most \(maxLag.components.seconds) s old)")
            return false
        }
        return true
    }

    private func refuse(because reason: String) {
        state.withLock { $0 = .refused(reason: reason) }
        logger.error("the replica is not used: \(reason); reports read from the primary")
    }

    private func passOver(because reason: String) {
        let until = ContinuousClock.now + retryAfter
        let newlyPassedOver = state.withLock { state -> Bool in
            switch state {
            case .refused:
                return false
            case .passedOver:
                state = .passedOver(until: until, reason: reason)
                return false
            case .serving, .unchecked:
                state = .passedOver(until: until, reason: reason)
                return true
            }
        }
        if newlyPassedOver {
            logger.warning("the replica cannot answer; reports read from the primary for \(retryAfter)", metadata: ["reason": "\(reason)"])
        }
    }
}
