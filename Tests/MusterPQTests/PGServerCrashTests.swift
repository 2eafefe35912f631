import Foundation
import Logging
import MusterCluster
import MusterPQ
import MusterTestSupport
import Synchronization
import Testing

/// A server that crashes under open connections, as a primary does before a failover. Its own cluster, stopped in
/// PostgreSQL's immediate mode: the backends exit with no error message, only a warning notice.
@Suite(.serialized) struct PGServerCrashTests {
    let logger = Logger(label: "test")

    func withCrashableCluster(_ body: (EmbeddedCluster) async throws -> Void) async throws {
        let root = try makeScratchDirectory("pqcrash")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cluster = try EmbeddedCluster(directory: root + "/pg")
        _ = try await blocking { [logger] in try cluster.start(logger: logger) }
        defer { try? cluster.kill(logger: logger) }
        try await body(cluster)
    }

    /// libpq (15) reports such a crash as "server closed the connection unexpectedly" while still calling the
    /// connection fine. It is a lost connection (`UNAVAILABLE` to a client, not an internal error), and the
    /// connection says it is broken, also after a pipeline, which must not leave it stuck in pipeline mode.
    @Test func aStatementOnAConnectionWhoseServerCrashedIsALostConnection() async throws {
        try await withCrashableCluster { cluster in
            let statements: [PGQuery] = ["SELECT \(1) AS n", "SELECT \(2) AS n"]
            let uses: [(String, @Sendable (PGConnection) throws -> Void)] = [
                ("a statement", { connection in _ = try connection.query(statements[0]) }),
                ("a pipeline", { connection in _ = try connection.pipeline(statements) }),
                ("a pipeline in a transaction", { connection in _ = try connection.transaction { try $0.pipeline(statements) } }),
            ]
            for (name, use) in uses {
                let outcome = try await blocking { [logger] () -> (PGError?, Bool) in
                    let connection = try PGConnection.connect(cluster.connection, logger: logger)
                    defer { connection.close() }
                    // Used once, so the statements are prepared and the next use goes straight to the server.
                    try use(connection)
                    try cluster.kill(logger: logger)
                    do {
                        try use(connection)
                        return (nil, connection.isHealthy)
                    } catch let error as PGError {
                        return (error, connection.isHealthy)
                    }
                }
                #expect(outcome.0?.kind == .connectionLost, "\(name): \(String(describing: outcome.0))")
                #expect(!outcome.1, "\(name): the connection knows it is broken")
                _ = try await blocking { [logger] in try cluster.start(logger: logger) }
            }
        }
    }

    /// After the server restarts, pooled connections to the old one are replaced before they are lent, so the first
    /// command after an outage works, through either kind of lease.
    @Test func aPooledConnectionWhoseServerRestartedIsReplacedBeforeItIsLent() async throws {
        try await withCrashableCluster { cluster in
            let pool = PGPool(configuration: PGPoolConfiguration(connection: cluster.connection, maxConnections: 1), logger: logger)
            let callbackLease: @Sendable (PGPool) async throws -> Int32 = { pool in
                try await withCheckedThrowingContinuation { continuation in
                    pool.withConnection({ connection in connection.backendPID }, completion: { continuation.resume(with: $0) })
                }
            }
            let leases: [(String, @Sendable (PGPool) async throws -> Int32)] = [
                ("the async lease", { pool in try await pool.withConnection { connection in connection.backendPID } }),
                ("the callback lease", callbackLease),
            ]
            for (name, lease) in leases {
                let before = try await lease(pool)
                try await blocking { [logger] in
                    try cluster.kill(logger: logger)
                    try cluster.start(logger: logger)
                }
                let after = try await lease(pool)
                #expect(after != before, "\(name): a new connection")
                #expect(pool.statistics.open == 1, "\(name)")
            }
            try await pool.shutdown()
        }
    }
}
