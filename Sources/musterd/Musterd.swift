import ArgumentParser
import Logging
import MusterCluster
import MusterPQ
import MusterRuntime
import MusterServer
import MusterStore
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `musterd`: the Muster daemon.
@main
struct Musterd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "musterd",
        abstract: "The Muster daemon: the emergency health-workforce volunteer registry, over a line protocol.",
        discussion: """
            With no database URL, musterd runs its own private PostgreSQL cluster under --data-dir (created on \
            first run, started and stopped with the daemon). Every option can also be set by the environment \
            variable named in its help. SIGTERM or SIGINT shut down gracefully.
            """,
        version: ServerInfo.version)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Address to listen on, HOST:PORT (env MUSTER_LISTEN; default 127.0.0.1:7878).")
    var listen: String?

    @Flag(help: "Do not apply pending migrations at start (env MUSTER_SKIP_MIGRATIONS=1). Changed files still stop the start.")
    var skipMigrations = false

    @Option(help: "Directory of NNNN_description.sql migrations (env MUSTER_MIGRATIONS_DIR; default: found beside the program).")
    var migrationsDir: String?

    @Option(help: "Directory of rule packs (*.yaml) to store at start if not stored yet (env MUSTER_LOAD_ORDERS). Any invalid file stops the start.")
    var loadOrders: String?

    @Option(help: "Database connections in the pool (env MUSTER_POOL_SIZE; default 16).")
    var poolSize: Int?

    @Option(help: "A streaming replica of the database, URL or connection string, for reports and searches (env MUSTER_REPLICA_URL; default: none, they read the primary). Read-only sessions; the primary answers whenever the replica cannot.")
    var replicaURL: String?

    @Option(help: "Seconds the replica's view may be behind the primary's before reports read the primary instead (env MUSTER_REPLICA_MAX_LAG; default 30).")
    var replicaMaxLag: Int?

    @Option(help: "Threads serving client connections and the metrics port (env MUSTER_EVENT_LOOPS; default one per CPU core).")
    var eventLoops: Int?

    @Option(help: "Most client connections at once (env MUSTER_MAX_CONNECTIONS; default 1024).")
    var maxConnections: Int?

    @Option(help: "Most client connections at once from one address (env MUSTER_MAX_CONNECTIONS_PER_ADDRESS; default 256).")
    var maxConnectionsPerAddress: Int?

    @Option(help: "Seconds a connection may stay without a complete request (env MUSTER_IDLE_TIMEOUT; default 300).")
    var idleTimeout: Int?

    @Option(help: "Seconds a client may leave its replies unread (output full) before it is disconnected (env MUSTER_STALL_TIMEOUT; default 120).")
    var stallTimeout: Int?

    @Option(help: "Longest request line in bytes (env MUSTER_MAX_LINE_LENGTH; default 65536).")
    var maxLineLength: Int?

    @Option(help: "Hours an offer stays open before it expires (env MUSTER_OFFER_HOURS; default 12).")
    var offerHours: Int?

    @Option(help: "Seconds of quiet after a decline, expiry or cancellation before the state's backfill round runs (env MUSTER_BACKFILL_DELAY; default 10).")
    var backfillDelay: Int?

    @Option(help: "Prometheus metrics over HTTP at HOST:PORT/metrics, or off (env MUSTER_METRICS_LISTEN; default 127.0.0.1:7879).")
    var metricsListen: String?

    @Option(help: "TLS: the server's certificate chain, PEM (env MUSTER_TLS_CERTIFICATE). With --tls-key, the listener speaks only TLS.")
    var tlsCertificate: String?

    @Option(help: "TLS: the server's private key, PEM (env MUSTER_TLS_KEY).")
    var tlsKey: String?

    @Option(help: "TLS: require client certificates signed by these CAs, PEM bundle (env MUSTER_TLS_CLIENT_CA).")
    var tlsClientCa: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env MUSTER_LOG_LEVEL; default info).")
    var logLevel: String?

    func run() async throws {
        let environment = Environment()
        let level = try environment.logLevel(logLevel)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "musterd")

        var server = ServerConfiguration()
        let address = try environment.listenAddress(listen)
        server.host = address.host
        server.port = address.port
        server.maxConnections = try environment.positive(maxConnections, "MUSTER_MAX_CONNECTIONS", default: 1024, name: "--max-connections")
        server.maxConnectionsPerAddress = try environment.positive(
            maxConnectionsPerAddress, "MUSTER_MAX_CONNECTIONS_PER_ADDRESS", default: 256, name: "--max-connections-per-address")
        server.idleTimeout = .seconds(Int64(try environment.positive(idleTimeout, "MUSTER_IDLE_TIMEOUT", default: 300, name: "--idle-timeout")))
        server.writeStallTimeout = .seconds(
            Int64(try environment.positive(stallTimeout, "MUSTER_STALL_TIMEOUT", default: 120, name: "--stall-timeout")))
        server.maxLineLength = try environment.positive(maxLineLength, "MUSTER_MAX_LINE_LENGTH", default: 64 * 1024, name: "--max-line-length")
        let poolSize = try environment.positive(poolSize, "MUSTER_POOL_SIZE", default: 16, name: "--pool-size")
        let loopCount = try environment.positive(eventLoops, "MUSTER_EVENT_LOOPS", name: "--event-loops")
        let matching = MatchingSettings(
            offerHours: try environment.positive(offerHours, "MUSTER_OFFER_HOURS", default: 12, name: "--offer-hours"),
            backfillDelay: .seconds(try environment.positive(backfillDelay, "MUSTER_BACKFILL_DELAY", default: 10, name: "--backfill-delay")))
        let certificate = tlsCertificate ?? environment.string("MUSTER_TLS_CERTIFICATE")
        let key = tlsKey ?? environment.string("MUSTER_TLS_KEY")
        let clientCA = tlsClientCa ?? environment.string("MUSTER_TLS_CLIENT_CA")
        switch (certificate, key) {
        case let (certificate?, key?):
            server.tls = ServerTLS(certificateChainPath: certificate, privateKeyPath: key, clientCAPath: clientCA)
            // Fail now, before anything starts, if a file is missing or unusable.
            do throws(TLSSetupError) { _ = try server.tls!.makeContext() } catch { throw ValidationError(error.message) }
        case (nil, nil):
            if clientCA != nil { throw ValidationError("--tls-client-ca needs --tls-certificate and --tls-key") }
        default:
            throw ValidationError("--tls-certificate and --tls-key go together")
        }
        let metricsText = metricsListen ?? environment.string("MUSTER_METRICS_LISTEN") ?? "127.0.0.1:7879"
        let metricsAddress = metricsText == "off" ? nil : try Environment.parseHostPort(metricsText, what: "metrics address")
        let skip = skipMigrations || environment.flag("MUSTER_SKIP_MIGRATIONS")
        var replicaConnection: PGConnectionConfiguration?
        if let url = replicaURL ?? environment.string("MUSTER_REPLICA_URL") {
            do {
                replicaConnection = try PGConnectionConfiguration(url: url)
            } catch {
                throw ValidationError("--replica-url (MUSTER_REPLICA_URL): \(error.message)")
            }
        }
        let maxLagSeconds = try environment.positive(replicaMaxLag, "MUSTER_REPLICA_MAX_LAG", name: "--replica-max-lag")
        if maxLagSeconds != nil, replicaConnection == nil {
            throw ValidationError("--replica-max-lag (MUSTER_REPLICA_MAX_LAG) needs --replica-url (MUSTER_REPLICA_URL)")
        }
        let replicaMaxLag = Duration.seconds(maxLagSeconds ?? 30)

        let target = try await database.resolve(logger: logger)
        let pool = PGPool(
            configuration: PGPoolConfiguration(connection: target.connection, maxConnections: poolSize), logger: logger)
        let replica = replicaConnection.map { connection in
            logger.info("reports and searches will read from a replica", metadata: ["replica": "\(connection.redacted)"])
            return ReportDatabase.replicaPool(PGPoolConfiguration(connection: connection, maxConnections: poolSize), logger: logger)
        }
        // musterd listens at once; until the database is reachable, migrated and seeded, commands that need it get
        // ERR UNAVAILABLE while this keeps retrying (a changed migration or a bad rule pack stops musterd instead).
        let readiness = DatabaseReadiness()
        let (migrations, orders) = (migrationsDir, loadOrders ?? environment.string("MUSTER_LOAD_ORDERS"))
        let preparation = DatabasePreparation(readiness: readiness, logger: logger) { readiness in
            try await DatabaseStartup.prepare(
                pool: pool, migrationsDirectory: migrations, applyMigrations: !skip, logger: logger,
                maxWait: .seconds(100 * 365 * 24 * 3600), onRetry: { readiness.update(reason: $0) })
            if let orders {
                readiness.update(reason: "storing the rule packs")
                try await OrderSeeding.load(directory: orders, pool: pool, logger: logger)
            }
        }

        let services = ServerServices(
            pool: pool, replica: replica, replicaMaxLag: replicaMaxLag, logger: logger, matching: matching, readiness: readiness)
        // NIO's shared group (a loop per core) unless a number was asked for; a group of our own is shut down last.
        let loops = loopCount.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) }
        let loopGroup = loops ?? MultiThreadedEventLoopGroup.singleton
        var runnable: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let cluster = target.ownedCluster {
            runnable.append(.init(service: EmbeddedClusterService(cluster: cluster, logger: logger)))
        }
        runnable.append(.init(service: pool))
        if let replica { runnable.append(.init(service: replica)) }
        runnable.append(.init(service: preparation, successTerminationBehavior: .ignore))
        runnable.append(.init(service: ExpiryWatch(pool: pool, logger: logger, backfill: services.backfill, readiness: readiness)))
        runnable.append(
            .init(
                service: DatabaseWatch(
                    book: services.orders, events: services.events, revocations: services.revocations, readiness: readiness,
                    pool: pool, connection: target.connection, logger: logger)))
        runnable.append(.init(service: BackfillService(services: services)))
        if let metricsAddress {
            runnable.append(
                .init(
                    service: MetricsServer(
                        host: metricsAddress.host, port: metricsAddress.port, services: services, eventLoopGroup: loopGroup)))
        }
        runnable.append(.init(service: MusterServer(configuration: server, services: services, eventLoopGroup: loopGroup)))
        let group = ServiceGroup(
            configuration: .init(
                services: runnable,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        // (Should the services fail, the process ends with them; the threads go with it.)
        try await loops?.shutdownGracefully()
        logger.info("musterd stopped")
    }
}
