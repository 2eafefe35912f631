import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// Serves `GET /metrics` in the Prometheus text format on its own HTTP port (loopback by default), apart from the
/// protocol listener. Each scrape first brings the gauges up to date (pool, subscribers, volunteers by state and
/// status).
public struct MetricsServer: Service {
    let host: String
    let port: Int
    let services: ServerServices
    let group: any EventLoopGroup
    let onListening: @Sendable (SocketAddress) -> Void

    public init(
        host: String, port: Int, services: ServerServices,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) {
        self.host = host
        self.port = port
        self.services = services
        self.group = eventLoopGroup
        self.onListening = onListening
    }

    public func run() async throws {
        let services = services
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(services: services))
                }
            }
            .bind(host: host, port: port)
            .get()
        if let address = channel.localAddress {
            services.logger.info("metrics on http://\(address.ipAddress ?? host):\(address.port ?? port)/metrics")
            onListening(address)
        }
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

/// Answers one HTTP request at a time: `GET /metrics`, or 404 / 405.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let services: ServerServices
    private var head: HTTPRequestHead?

    init(services: ServerServices) { self.services = services }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let request = head else { return }
            head = nil
            let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
            guard path == "/metrics" else {
                respond(.notFound, body: "not found; metrics are at /metrics\n", keepAlive: request.isKeepAlive, context: context)
                return
            }
            guard request.method == .GET || request.method == .HEAD else {
                respond(.methodNotAllowed, body: "GET /metrics\n", keepAlive: request.isKeepAlive, context: context)
                return
            }
            let services = services
            let promise = context.eventLoop.makePromise(of: String.self)
            promise.completeWithTask {
                await services.metrics.refresh(services)
                return services.metrics.exposition()
            }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { text in
                let (handler, context) = loopBound.value
                handler.respond(.ok, body: text, keepAlive: request.isKeepAlive, context: context)
            }
        }
    }

    private func respond(_ status: HTTPResponseStatus, body: String, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { done.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
    }
}

@available(*, unavailable)
extension MetricsHTTPHandler: Sendable {}
