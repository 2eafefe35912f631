import MusterProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// A complete reply: any `ROW` lines, then the final `OK` or `ERR` line.
public struct Response: Sendable, Equatable, CustomStringConvertible {
    public var rows: [String]
    /// `.ok` or `.error`.
    public var final: ReplyLine

    /// True for `OK …`.
    public var isOK: Bool {
        if case .ok = final { return true }
        return false
    }

    /// The text after `OK `, nil for `OK` alone or an error.
    public var payload: String? {
        if case .ok(let payload) = final { return payload }
        return nil
    }

    /// The code after `ERR `, nil for `OK`.
    public var errorCode: String? {
        if case .error(let code, _) = final { return code }
        return nil
    }

    /// The message after `ERR CODE `, nil for `OK`.
    public var errorMessage: String? {
        if case .error(_, let message) = final { return message }
        return nil
    }

    public var description: String {
        let head = rows.map { "ROW \($0)\n" }.joined()
        switch final {
        case .ok(let payload): return head + (payload.map { "OK \($0)" } ?? "OK")
        case .error(let code, let message): return head + "ERR \(code) \(message)"
        case .row(let row): return head + "ROW \(row)"
        case .event(let event): return head + "EVENT \(event)"
        }
    }
}

/// Why a client call failed.
public struct ClientError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// TLS settings for a client.
public struct ClientTLS: Sendable {
    /// PEM bundle of the CAs to trust for the server's certificate; nil: the system's.
    public var trustRootsPath: String?
    /// The name the server's certificate must carry; nil: the host connected to (unless it is an IP address).
    public var serverName: String?
    /// A client certificate chain and key (PEM), for a server that requires one.
    public var certificatePath: String?
    public var privateKeyPath: String?

    public init(trustRootsPath: String? = nil, serverName: String? = nil, certificatePath: String? = nil, privateKeyPath: String? = nil) {
        self.trustRootsPath = trustRootsPath
        self.serverName = serverName
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    func makeContext(checkingName: Bool) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let trustRootsPath { configuration.trustRoots = .file(trustRootsPath) }
        if let certificatePath, let privateKeyPath {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKeyPath, format: .pem))
        }
        if !checkingName {
            // Connecting by IP address with no name to check: the chain is still verified against the trust roots.
            configuration.certificateVerification = .noHostnameVerification
        }
        return try NIOSSLContext(configuration: configuration)
    }
}

/// A client for musterd's line protocol, for `musterctl` and tests.
///
/// One caller at a time: requests may be pipelined with `write` and their replies read in order with
/// `readResponse`, but two tasks must not read concurrently.
public final class MusterClient: Sendable {
    private let channel: any Channel
    private let inbox: LineInbox
    private let pushed = NIOLockedValueBox<[String]>([])

    private init(channel: any Channel, inbox: LineInbox) {
        self.channel = channel
        self.inbox = inbox
    }

    /// Connects to a server; with `tls`, over TLS (the server's certificate is verified).
    public static func connect(
        host: String, port: Int, tls: ClientTLS? = nil, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> MusterClient {
        let inbox = LineInbox()
        let channel: any Channel
        let serverName = tls.flatMap { $0.serverName ?? (ClientTLS.isIPAddress(host) ? nil : host) }
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = try tls.map { try $0.makeContext(checkingName: serverName != nil) }
        } catch {
            throw ClientError("cannot set up TLS: \(error)")
        }
        do {
            channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tlsContext {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tlsContext, serverHostname: serverName))
                        }
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(LineFrameDecoder(maxLineLength: 64 * 1024 * 1024)))
                        try channel.pipeline.syncOperations.addHandler(LineCollector(inbox: inbox))
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            throw ClientError("cannot connect to musterd at \(host):\(port): \(error)")
        }
        return MusterClient(channel: channel, inbox: inbox)
    }

    /// Sends one request line and returns its complete reply.
    public func send(_ line: String) async throws -> Response {
        try await write(line)
        return try await readResponse()
    }

    /// Sends one request line without waiting for the reply.
    public func write(_ line: String) async throws {
        try await writeRaw(Array((line + "\n").utf8))
    }

    /// Sends bytes exactly as given (for tests of framing and bad input).
    public func writeRaw(_ bytes: [UInt8]) async throws {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        do {
            try await channel.writeAndFlush(buffer)
        } catch {
            throw ClientError("cannot send to musterd: \(error)")
        }
    }

    /// Reads the next complete reply; pushed `EVENT` lines met on the way are kept for `takeEvents()`.
    public func readResponse() async throws -> Response {
        var rows: [String] = []
        while true {
            guard let line = await inbox.next() else {
                throw ClientError("connection closed by musterd before the reply was complete")
            }
            guard let parsed = ReplyLine(line) else {
                throw ClientError("unexpected line from musterd: \(line.prefix(200))")
            }
            switch parsed {
            case .row(let row): rows.append(row)
            case .event(let event): pushed.withLockedValue { $0.append(event) }
            case .ok, .error: return Response(rows: rows, final: parsed)
            }
        }
    }

    /// The next raw line, or nil once the server has closed the connection.
    public func readLine() async -> String? {
        await inbox.next()
    }

    /// Events pushed so far, oldest first; clears the list.
    public func takeEvents() -> [String] {
        pushed.withLockedValue { events in
            defer { events = [] }
            return events
        }
    }

    /// Waits for a pushed event that satisfies `predicate` and returns it, with the events before it; later events
    /// stay for `takeEvents()`. Between checks it sends `PING`, so use it only when no other reply is awaited.
    public func waitForEvent(
        timeout: Duration = .seconds(15), _ predicate: (String) -> Bool
    ) async throws -> (match: String, before: [String]) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let found = pushed.withLockedValue { events -> (String, [String])? in
                guard let index = events.firstIndex(where: predicate) else { return nil }
                let before = Array(events[..<index])
                let match = events[index]
                events.removeFirst(index + 1)
                return (match, before)
            }
            if let found { return found }
            guard ContinuousClock.now < deadline else {
                throw ClientError("no matching event within \(timeout); received \(pushed.withLockedValue { $0 })")
            }
            _ = try await send("PING")
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Shuts down the sending side: the server answers what it has received, then closes.
    public func shutdownOutput() async throws {
        try await channel.close(mode: .output)
    }

    /// Closes the connection.
    public func close() async {
        try? await channel.close()
    }
}

/// Lines received and not yet read, with at most one reader waiting.
final class LineInbox: Sendable {
    private struct State {
        var lines: CircularBuffer<String> = []
        var waiter: CheckedContinuation<String?, Never>?
        var finished = false
    }

    private let state = NIOLockedValueBox(State())

    func push(_ line: String) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<String?, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.lines.append(line)
            return nil
        }
        waiter?.resume(returning: line)
    }

    func finish() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<String?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    func next() async -> String? {
        await withCheckedContinuation { continuation in
            let immediate = state.withLockedValue { state -> String?? in
                if let line = state.lines.popFirst() { return .some(line) }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }
}

/// Hands decoded lines to the inbox.
final class LineCollector: ChannelInboundHandler {
    typealias InboundIn = LineFrame
    private let inbox: LineInbox

    init(inbox: LineInbox) { self.inbox = inbox }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .line(let buffer): inbox.push(String(buffer: buffer))
        case .tooLong: inbox.push("ERR CLIENT reply line too long for the client")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension LineCollector: Sendable {}
