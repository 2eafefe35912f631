import NIOCore

/// Everything that shapes the listener and its limits.
public struct ServerConfiguration: Sendable {
    /// Address to listen on; `127.0.0.1` by default, so nothing is exposed until an operator says so.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one (tests).
    public var port: Int = 7878
    /// The longest request line, in bytes, terminator excluded.
    public var maxLineLength: Int = 64 * 1024
    /// Connections open at once; one more gets `ERR BUSY` and is closed.
    public var maxConnections: Int = 1024
    /// Connections open at once from one client address; one more gets `ERR BUSY` and is closed. Behind a load
    /// balancer every client shares its address, so raise this there.
    public var maxConnectionsPerAddress: Int = 256
    /// A connection with no complete request for this long gets `ERR TIMEOUT` and is closed.
    public var idleTimeout: TimeAmount = .seconds(300)
    /// Requests read but not yet answered on one connection before the server stops reading from it.
    public var maxQueuedRequests: Int = 1024
    /// Output buffered for a client before the server stops working for it until it reads (bytes).
    public var writeBufferHighWaterMark: Int = 256 * 1024
    /// A client whose unread replies have kept the output full for this long is logged and disconnected, so a
    /// client that sends but never reads cannot hold a connection slot for ever.
    public var writeStallTimeout: TimeAmount = .seconds(120)
    /// TLS on the listener; nil serves plain TCP (fine on loopback, not across a network).
    public var tls: ServerTLS?

    public init() {}
}

/// What `HELLO` reports.
public struct ServerInfo: Sendable {
    public static let name = "musterd"
    public static let version = "0.1.0"
    public static let protocolVersion = 1
}
