import Foundation
import Logging
import MusterCluster
import MusterPQ

#if canImport(Glibc)
    import Glibc
#endif

/// The throwaway PostgreSQL cluster of one test run: started in a temporary directory the first time a test asks
/// for a database (as the `postgres` OS user when the tests run as root), stopped and deleted when the test
/// process exits. Each test gets a database of its own in it, so tests may run in parallel.
///
/// If the cluster cannot start, every test that needs it fails with the reason: integration tests never skip.
public enum TestCluster {
    private static let started: Result<EmbeddedCluster, any Error> = {
        do {
            let directory = try makeScratchDirectory("test")
            let cluster = try EmbeddedCluster(directory: directory + "/cluster", database: "postgres")
            try cluster.start(logger: Logger(label: "muster.test-cluster"))
            clusterForExit = cluster
            atexit {
                guard let cluster = TestCluster.clusterForExit else { return }
                try? cluster.kill(logger: Logger(label: "muster.test-cluster"))
                let parent = URL(fileURLWithPath: cluster.directory).deletingLastPathComponent().path
                try? FileManager.default.removeItem(atPath: parent)
            }
            return .success(cluster)
        } catch {
            return .failure(error)
        }
    }()

    nonisolated(unsafe) static var clusterForExit: EmbeddedCluster?

    /// The cluster, started on first use.
    public static func cluster() throws -> EmbeddedCluster {
        try started.get()
    }

    private static let counter = Counter()

    /// Creates an empty database for one test and returns how to connect to it.
    ///
    /// The work (starting the cluster the first time, then `CREATE DATABASE`, a few hundred milliseconds that fsync)
    /// runs on a blocking-I/O thread, never on Swift's cooperative pool: the suite runs in parallel on as few as two
    /// cores, and dozens of tests blocking both cooperative threads at once would starve the in-process servers of
    /// the very tasks other tests are waiting on.
    public static func makeDatabase() async throws -> PGConnectionConfiguration {
        try await blocking { try makeDatabaseBlocking() }
    }

    private static func makeDatabaseBlocking() throws -> PGConnectionConfiguration {
        let cluster = try cluster()
        let name = "t_\(getpid())_\(counter.next())"
        let maintenance = try PGConnection.connect(cluster.connection, logger: Logger(label: "muster.test-cluster"))
        defer { maintenance.close() }
        // The name is generated above from digits; identifiers cannot be parameters.
        try maintenance.executeScript("CREATE DATABASE \(name)")
        return cluster.connection.database(name)
    }

    /// A pool on a fresh database.
    public static func makePool(maxConnections: Int = 4, logger: Logger = Logger(label: "muster.test")) async throws
        -> PGPool
    {
        // A generous checkout timeout: the whole suite runs in parallel on two cores, and a loaded machine is not
        // what these pools are tested for.
        PGPool(
            configuration: PGPoolConfiguration(
                connection: try await makeDatabase(), maxConnections: maxConnections, checkoutTimeout: .seconds(60)),
            logger: logger)
    }
}

final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int { value.withLock { $0 += 1; return $0 } }
}

import Synchronization
