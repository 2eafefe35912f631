import ArgumentParser
import Foundation
import Logging
import MusterCluster
import MusterPQ
import NIOPosix
import ServiceLifecycle

/// Where the database is: `--database-url`, or the embedded cluster under `--data-dir`. Shared by musterd and
/// musterctl so both find the same database the same way.
public struct DatabaseOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL or libpq connection string (env MUSTER_DATABASE_URL). Without it, the embedded cluster is used.")
    public var databaseURL: String?

    @Option(help: "Directory of the embedded PostgreSQL cluster (env MUSTER_DATA_DIR; default ./.muster).")
    public var dataDir: String?

    public init() {}

    /// Connects the options to a database: an external server as given, or the embedded cluster, started if it
    /// is not running.
    public func resolve(logger: Logger) async throws -> DatabaseTarget {
        let environment = ProcessInfo.processInfo.environment
        if let url = databaseURL ?? environment["MUSTER_DATABASE_URL"], !url.isEmpty {
            let connection: PGConnectionConfiguration
            do {
                connection = try PGConnectionConfiguration(url: url)
            } catch {
                throw ValidationError("--database-url (MUSTER_DATABASE_URL): \(error.message)")
            }
            logger.info("using external PostgreSQL", metadata: ["database": "\(connection.redacted)"])
            return DatabaseTarget(connection: connection, ownedCluster: nil)
        }
        let directory = dataDir ?? environment["MUSTER_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".muster"
        let cluster = try EmbeddedCluster(directory: directory)
        let outcome = try await NIOThreadPool.singleton.runIfActive { try cluster.start(logger: logger) }
        return DatabaseTarget(connection: cluster.connection, ownedCluster: outcome == .started ? cluster : nil)
    }
}

/// The database a process uses, and the embedded cluster it must stop when done (nil when it started none).
public struct DatabaseTarget: Sendable {
    public let connection: PGConnectionConfiguration
    /// The embedded cluster this process started, which it stops when it ends.
    public let ownedCluster: EmbeddedCluster?

    /// Stops the embedded cluster if this process started it.
    public func release(logger: Logger) async throws {
        guard let cluster = ownedCluster else { return }
        try await NIOThreadPool.singleton.runIfActive { try cluster.stop(logger: logger) }
    }
}

/// Stops the embedded cluster on graceful shutdown. Listed first in the service group, so it stops last: after
/// the server has answered everything and the pool has closed.
public struct EmbeddedClusterService: Service {
    let cluster: EmbeddedCluster
    let logger: Logger

    public init(cluster: EmbeddedCluster, logger: Logger) {
        self.cluster = cluster
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        let cluster = cluster
        let logger = logger
        try await NIOThreadPool.singleton.runIfActive { try cluster.stop(logger: logger) }
    }
}
