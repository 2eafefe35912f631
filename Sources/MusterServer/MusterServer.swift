import Logging
import NIOConcurrencyHelpers
import MusterProtocol
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The musterd TCP listener as a `Service`: it binds, serves connections until graceful shutdown, then stops
/// accepting, lets every connection finish the requests it already sent, and returns once all are closed.
public final class MusterServer: Service, Sendable {
    public let configuration: ServerConfiguration
    private let services: ServerServices
    private let registry: CommandRegistry
    private let group: any EventLoopGroup
    private let onListening: @Sendable (SocketAddress) -> Void
    private let limiter: ConnectionLimiter
    private let nextConnectionID = NIOLockedValueBox(0)

    /// - Parameters:
    ///   - registry: the commands to serve; `MusterServer.standardCommands` is every command musterd has.
    ///   - onListening: called once with the bound address (useful with port 0).
    public init(
        configuration: ServerConfiguration, services: ServerServices,
        registry: CommandRegistry = MusterServer.standardCommands,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.services = services
        self.registry = registry
        self.group = eventLoopGroup
        self.onListening = onListening
        self.limiter = ConnectionLimiter(
            limit: configuration.maxConnections, perAddressLimit: configuration.maxConnectionsPerAddress)
    }

    /// Every command musterd serves.
    public static var standardCommands: CommandRegistry {
        CommandRegistry(
            SessionCommands.all + VolunteerCommands.all + ReportCommands.all + EligibilityCommands.all + OrderCommands.all
                + StaffingCommands.all + EventCommands.all + [StatsCommand.command])
    }

    /// Connections open now.
    public var openConnections: Int { limiter.current }

    public func run() async throws {
        let quiesce = ServerQuiescingHelper(group: group)
        let configuration = configuration
        let services = services
        let registry = registry
        let limiter = limiter
        let nextConnectionID = nextConnectionID
        // Built once, before binding: a bad certificate or key stops the start with the file named.
        let tlsContext = try configuration.tls.map { tls throws(TLSSetupError) in try tls.makeContext() }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client may send everything and shut down its sending side; it still gets every reply.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelOption(
                .writeBufferWaterMark,
                value: .init(low: configuration.writeBufferHighWaterMark / 2, high: configuration.writeBufferHighWaterMark)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let id = nextConnectionID.withLockedValue { id -> Int in
                        id += 1
                        return id
                    }
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LineFrameDecoder(maxLineLength: configuration.maxLineLength)))
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(
                            services: services, registry: registry, configuration: configuration, limiter: limiter,
                            connectionID: id, allocator: channel.allocator))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()

        guard let address = channel.localAddress else {
            throw ServerError("the listener has no local address")
        }
        services.logger.info(
            "listening on \(address.ipAddress ?? configuration.host):\(address.port ?? configuration.port)",
            metadata: [
                "tls": "\(configuration.tls == nil ? "off" : configuration.tls?.clientCAPath == nil ? "on" : "on, client certificates required")",
                "event-loops": "\(group.makeIterator().reduce(0) { count, _ in count + 1 })",
            ])
        onListening(address)

        let stopped = group.next().makePromise(of: Void.self)
        let shutdownStarted = NIOLockedValueBox(false)
        channel.closeFuture.whenComplete { _ in
            // The listener closing on its own (not through shutdown) ends the service with an error.
            if !shutdownStarted.withLockedValue({ $0 }) {
                stopped.fail(ServerError("the listener closed unexpectedly"))
            }
        }
        try await withGracefulShutdownHandler {
            try await stopped.futureResult.get()
        } onGracefulShutdown: {
            shutdownStarted.withLockedValue { $0 = true }
            services.logger.info("shutting down: no new connections; finishing requests in progress")
            quiesce.initiateShutdown(promise: stopped)
        }
        services.logger.info("all connections closed")
    }
}

/// The listener could not run.
public struct ServerError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
