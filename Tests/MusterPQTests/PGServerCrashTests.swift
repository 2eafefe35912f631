import Foundation
import Logging
import MusterCluster
import MusterPQ
import MusterTestSupport
import Testing

/// A server that crashes under idle pooled connections, as a primary does before a failover. Its own cluster,
/// stopped in PostgreSQL's immediate mode: the backends exit with no error message, only a warning notice.
@Suite(.serialized) struct PGServerCrashTests {
    let logger = Logger(label: "test")

    /// The first statement on such a connection is a lost connection (`UNAVAILABLE` to a client, not an internal
    /// error), and the pool replaces the connection; a pipeline never leaves it stuck in pipeline mode.
    @Test func theFirstUseAfterACrashIsALostConnectionAndThePoolReplacesIt() async throws {
        let root = try makeScratchDirectory("pqcrash")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cluster = try EmbeddedCluster(directory: root + "/pg")
        try await blocking { [logger] in try cluster.start(logger: logger) }
        defer { try? cluster.kill(logger: logger) }
        let pool = PGPool(configuration: PGPoolConfiguration(connection: cluster.connection, maxConnections: 1), logger: logger)
        let statements: [PGQuery] = ["SELECT \(1) AS n", "SELECT \(2) AS n"]
        let uses: [(String, @Sendable (PGPool) async throws -> [Int])] = [
            ("a statement", { pool in try await pool.query("SELECT \(1) AS n").map { try $0.decode("n", as: Int.self) } }),
            ("a pipeline", { pool in
                try await pool.withConnection { connection in try connection.pipeline(statements).map { try $0[0].decode("n", as: Int.self) } }
            }),
            ("a pipeline in a transaction", { pool in
                try await pool.withTransaction { connection in try connection.pipeline(statements).map { try $0[0].decode("n", as: Int.self) } }
            }),
        ]
        for (name, use) in uses {
            // Used once, so the statements are prepared and the next use goes straight to the server.
            let before = try await pool.withConnection { connection in connection.backendPID }
            _ = try await use(pool)
            try await blocking { [logger] in try cluster.kill(logger: logger) }
            let error = await #expect(throws: PGError.self, "\(name) on a crashed server") { try await use(pool) }
            #expect(error?.kind == .connectionLost, "\(name): \(String(describing: error))")
            try await blocking { [logger] in try cluster.start(logger: logger) }
            let after = try await pool.withConnection { connection in connection.backendPID }
            #expect(after != before, "\(name): the broken connection was replaced")
            #expect(try await use(pool).count >= 1, "\(name) works again")
            #expect(pool.statistics.open == 1)
        }
        try await pool.shutdown()
    }
}
