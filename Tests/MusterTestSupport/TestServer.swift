import Foundation
import Logging
import MusterClient
import MusterCore
import MusterPQ
import MusterRuntime
import MusterServer
import MusterStore
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A real musterd server, in this process, on a fresh database and an ephemeral loopback port.
public struct TestServer: Sendable {
    public let port: Int
    public let pool: PGPool
    public let server: MusterServer
    /// The server's compiled rule packs.
    public let orders: OrderBook
    /// The server's shared services (event hub, backfill queue, …).
    public let services: ServerServices
    /// The Prometheus metrics port (HTTP, loopback).
    public let metricsPort: Int
    let group: ServiceGroup

    /// A new client connection.
    public func connect() async throws -> MusterClient {
        try await MusterClient.connect(host: "127.0.0.1", port: port)
    }

    /// A new client connection, authenticated with a new token of this role and scope.
    public func connect(role: Role, state: String? = nil, facilityID: Int64? = nil, name: String = "test") async throws -> MusterClient {
        let token = try await makeToken(role: role, state: state, facilityID: facilityID, name: name)
        let client = try await connect()
        let reply = try await client.send("AUTH \(token)")
        guard reply.isOK else { throw TestSupportError("AUTH failed: \(reply)") }
        return client
    }

    /// Creates a token directly in the database; returns its secret.
    public func makeToken(role: Role, state: String? = nil, facilityID: Int64? = nil, name: String = "test") async throws -> String {
        let jurisdiction = state.flatMap { Jurisdiction($0) }
        return try await pool.withConnection { connection in
            try TokenStore().create(connection, name: name, role: role, state: jurisdiction, facilityID: facilityID).secret
        }
    }

    /// Creates a facility directly in the database (a hospital token needs one); returns its id.
    public func makeFacility(state: String = "NY", name: String = "Test General", lat: Double = 40.74, lon: Double = -73.98) async throws -> Int64 {
        try await pool.withConnection { connection in
            try StaffingStore().createFacility(
                connection, state: state, name: name, kind: "hospital", lat: lat, lon: lon, provides: [], by: nil
            ).id
        }
    }

    /// Starts graceful shutdown (as SIGTERM would).
    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }
}

/// Runs `body` against a fresh in-process server, then shuts the server down gracefully.
///
/// - Parameters:
///   - configure: adjusts the server configuration (port is always ephemeral).
///   - database: a database to use instead of a fresh one (for example an unreachable one).
///   - replica: a replica of that database for reports and searches (a pool made as musterd makes it).
///   - replicaMaxLag: the oldest the replica's view may be before reports read the primary.
///   - registry: the commands served (musterd's own unless a test adds some).
public func withTestServer(
    configure: (inout ServerConfiguration) -> Void = { _ in },
    registry: CommandRegistry = MusterServer.standardCommands,
    database: PGConnectionConfiguration? = nil,
    replica: PGConnectionConfiguration? = nil,
    replicaMaxLag: Duration = .seconds(30),
    migrate: Bool = true,
    matching: MatchingSettings = MatchingSettings(backfillDelay: .milliseconds(200)),
    authThrottle: AuthThrottle = AuthThrottle(),
    eventLoopGroup: (any EventLoopGroup)? = nil,
    today: @escaping @Sendable () -> CalendarDate = { CalendarDate.today() },
    _ body: @Sendable (TestServer) async throws -> Void
) async throws {
    var logger = Logger(label: "muster.test-server")
    // MUSTER_TEST_LOG_LEVEL=debug (or trace, info…) shows what the in-process servers do, to chase a failing test.
    logger.logLevel = ProcessInfo.processInfo.environment["MUSTER_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    var configuration = ServerConfiguration()
    configuration.host = "127.0.0.1"
    configuration.port = 0
    configure(&configuration)
    let connection: PGConnectionConfiguration
    if let database { connection = database } else { connection = try await TestCluster.makeDatabase() }
    // Small pools that wait patiently for a connection and give up soon on a server that is not there.
    func poolConfiguration(_ connection: PGConnectionConfiguration) -> PGPoolConfiguration {
        var configuration = PGPoolConfiguration(connection: connection, maxConnections: 4, checkoutTimeout: .seconds(10))
        configuration.connection.connectTimeoutSeconds = 2
        return configuration
    }
    let pool = PGPool(configuration: poolConfiguration(connection), logger: logger)
    if migrate {
        try await DatabaseStartup.prepare(
            pool: pool, migrationsDirectory: RepositoryPaths.migrations, applyMigrations: true, logger: logger)
    }
    let (addresses, addressContinuation) = AsyncStream.makeStream(of: SocketAddress.self)
    let (metricsAddresses, metricsContinuation) = AsyncStream.makeStream(of: SocketAddress.self)
    let replicaPool = replica.map { ReportDatabase.replicaPool(poolConfiguration($0), logger: logger) }
    let services = ServerServices(
        pool: pool, replica: replicaPool, replicaMaxLag: replicaMaxLag, logger: logger, matching: matching,
        authThrottle: authThrottle, today: today)
    let server = MusterServer(
        configuration: configuration, services: services, registry: registry,
        eventLoopGroup: eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton,
        onListening: { address in
            addressContinuation.yield(address)
            addressContinuation.finish()
        })
    let group = ServiceGroup(
        configuration: .init(
            services: [
                .init(service: pool)
            ] + (replicaPool.map { [.init(service: $0)] } ?? []) + [
                .init(
                    service: DatabaseWatch(
                        book: services.orders, events: services.events, revocations: services.revocations, pool: pool, connection: connection, logger: logger)),
                .init(service: BackfillService(services: services)),
                .init(
                    service: MetricsServer(
                        host: "127.0.0.1", port: 0, services: services,
                        onListening: { address in
                            metricsContinuation.yield(address)
                            metricsContinuation.finish()
                        })),
                .init(service: server),
            ],
            logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = addresses.makeAsyncIterator()
        guard let address = await iterator.next(), let port = address.port else {
            throw TestSupportError("the test server did not start listening")
        }
        var metricsIterator = metricsAddresses.makeAsyncIterator()
        guard let metricsAddress = await metricsIterator.next(), let metricsPort = metricsAddress.port else {
            throw TestSupportError("the test server's metrics port did not start listening")
        }
        let testServer = TestServer(
            port: port, pool: pool, server: server, orders: services.orders, services: services, metricsPort: metricsPort,
            group: group)
        do {
            try await body(testServer)
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}
