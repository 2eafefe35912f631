import Histogram
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Writes request number `sequence` of connection `connection` (one line, with its LF) into `buffer`. Called on the
/// connection's event loop.
typealias RequestWriter = @Sendable (_ connection: Int, _ sequence: Int, _ buffer: inout ByteBuffer) -> Void

/// What a load run measured: latencies of the replies completed inside the measuring window, in microseconds.
struct LoadResult: Sendable {
    var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    /// Replies in the window: `OK`, `ERR`.
    var ok = 0
    var errors = 0
    /// A few error replies, for the report.
    var sampleErrors: [String] = []
    /// The window's length in seconds.
    var seconds = 0.0

    mutating func merge(_ other: LoadResult) {
        histogram.add(other.histogram)
        ok += other.ok
        errors += other.errors
        for error in other.sampleErrors where sampleErrors.count < 3 && !sampleErrors.contains(error) { sampleErrors.append(error) }
    }
}

/// A closed-loop load generator in the manner of redis-benchmark: each connection keeps `depth` requests in flight;
/// every reply that completes sends the next request at once (written on the read, flushed when the read burst
/// ends). Latency is measured from the moment a request is written to the moment its final line (`OK` or `ERR`) is
/// read, so with pipelining it includes the time the request waited behind the others.
///
/// Replies are framed by scanning for LF and looking at the first bytes of each line only: `ROW` and `EVENT` lines
/// are not final, `OK` and `ERR` are (and redis's `+…` and `-…`, for the PING reference). No strings are made except
/// for error samples.
enum LoadEngine {
    struct Plan: Sendable {
        var host: String
        var port: Int
        var token: String?
        var connections: Int
        var depth: Int
        var warmup: Double
        var duration: Double
        var threads: Int
    }

    static func run(_ plan: Plan, writer: @escaping RequestWriter) async throws -> LoadResult {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: plan.threads)
        do {
            let result = try await run(plan, group: group, writer: writer)
            try? await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private static func run(_ plan: Plan, group: MultiThreadedEventLoopGroup, writer: @escaping RequestWriter) async throws -> LoadResult {
        var handlers: [(any Channel, LoadHandler)] = []
        // Connect and authenticate every connection before the clock starts.
        for index in 0..<plan.connections {
            let loop = group.next()
            let ready = loop.makePromise(of: Void.self)
            let finished = loop.makePromise(of: LoadResult.self)
            let handler = LoadHandler(
                index: index, depth: plan.depth, token: plan.token, writer: writer, ready: ready, finished: finished)
            let channel = try await ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
                }
                .connect(host: plan.host, port: plan.port)
                .get()
            try await ready.futureResult.get()
            handlers.append((channel, handler))
        }
        let now = NIODeadline.now()
        let warmupEnd = now + .nanoseconds(Int64(plan.warmup * 1e9))
        let end = warmupEnd + .nanoseconds(Int64(plan.duration * 1e9))
        var futures: [EventLoopFuture<LoadResult>] = []
        for (channel, handler) in handlers {
            futures.append(
                channel.eventLoop.flatSubmit {
                    handler.start(windowStart: warmupEnd.uptimeNanoseconds, windowEnd: end.uptimeNanoseconds)
                })
        }
        var total = LoadResult()
        total.seconds = plan.duration
        do {
            for future in futures { total.merge(try await future.get()) }
        } catch {
            for (channel, _) in handlers { try? await channel.close() }
            throw error
        }
        for (channel, _) in handlers { try? await channel.close() }
        return total
    }
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

final class LoadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case connecting, authenticating, idle, running, draining, done
    }

    private let index: Int
    private let depth: Int
    private let token: String?
    private let writer: RequestWriter
    private let ready: EventLoopPromise<Void>
    private let finished: EventLoopPromise<LoadResult>
    private var phase = Phase.connecting
    private var context: ChannelHandlerContext?
    private var cumulation: ByteBuffer?
    private var outbox: ByteBuffer?
    /// When each request in flight was written, oldest first (uptime nanoseconds).
    private var sentAt = CircularBuffer<UInt64>(initialCapacity: 64)
    private var sequence = 0
    private var windowStart: UInt64 = 0
    private var windowEnd: UInt64 = 0
    private var result = LoadResult()
    private var timeout: Scheduled<Void>?

    init(
        index: Int, depth: Int, token: String?, writer: @escaping RequestWriter, ready: EventLoopPromise<Void>,
        finished: EventLoopPromise<LoadResult>
    ) {
        self.index = index
        self.depth = depth
        self.token = token
        self.writer = writer
        self.ready = ready
        self.finished = finished
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        outbox = context.channel.allocator.buffer(capacity: 4096)
        cumulation = context.channel.allocator.buffer(capacity: 4096)
    }

    func channelActive(context: ChannelHandlerContext) {
        if let token {
            phase = .authenticating
            var buffer = context.channel.allocator.buffer(capacity: token.utf8.count + 6)
            buffer.writeString("AUTH \(token)\n")
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        } else {
            phase = .idle
            ready.succeed(())
        }
        context.fireChannelActive()
    }

    /// Sends the first `depth` requests; the returned future completes when the window has ended and every
    /// request in flight has been answered.
    func start(windowStart: UInt64, windowEnd: UInt64) -> EventLoopFuture<LoadResult> {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        guard let context, phase == .idle else {
            finished.fail(LoadError("connection \(index) was not ready"))
            return finished.futureResult
        }
        phase = .running
        for _ in 0..<depth { enqueue() }
        flush(context: context)
        // A stalled server must not hang the benchmark for ever.
        let deadline = NIODeadline.uptimeNanoseconds(windowEnd) + .seconds(120)
        let promise = finished
        let index = index
        timeout = context.eventLoop.scheduleTask(deadline: deadline) {
            promise.fail(LoadError("connection \(index): replies still missing 120 s after the end"))
        }
        return finished.futureResult
    }

    private func enqueue() {
        sentAt.append(NIODeadline.now().uptimeNanoseconds)
        writer(index, sequence, &outbox!)
        sequence += 1
    }

    private func flush(context: ChannelHandlerContext) {
        guard let pending = outbox, pending.readableBytes > 0 else { return }
        context.writeAndFlush(wrapOutboundOut(pending), promise: nil)
        outbox = context.channel.allocator.buffer(capacity: max(4096, pending.readableBytes))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        cumulation!.writeBuffer(&incoming)
        while let newline = cumulation!.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let start = cumulation!.readerIndex
            let length = newline - start
            let first = cumulation!.getInteger(at: start, as: UInt8.self) ?? 0
            let second = length > 1 ? cumulation!.getInteger(at: start + 1, as: UInt8.self) ?? 0 : 0
            // OK…, ERR…; ROW… and EVENT… are not final. Redis's simple replies (+PONG, -ERR…) count too, so the
            // same client can drive redis-server as the reference for PING.
            let isOK = (first == UInt8(ascii: "O") && second == UInt8(ascii: "K")) || first == UInt8(ascii: "+")
            let isError = (first == UInt8(ascii: "E") && second == UInt8(ascii: "R")) || first == UInt8(ascii: "-")
            if isOK || isError {
                var errorText: String?
                if isError, result.sampleErrors.count < 3 || phase == .authenticating {
                    errorText = cumulation!.getString(at: start, length: min(length, 300))
                }
                complete(ok: isOK, errorText: errorText, context: context)
            }
            cumulation!.moveReaderIndex(to: newline + 1)
        }
        if cumulation!.readerIndex > 65536 { cumulation!.discardReadBytes() }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context: context)
        if phase == .draining, sentAt.isEmpty { finish() }
        context.fireChannelReadComplete()
    }

    private func complete(ok: Bool, errorText: String?, context: ChannelHandlerContext) {
        switch phase {
        case .authenticating:
            if ok {
                phase = .idle
                ready.succeed(())
            } else {
                phase = .done
                ready.fail(LoadError("AUTH refused: \(errorText ?? "ERR")"))
            }
            return
        case .running, .draining:
            break
        default:
            return
        }
        guard let sent = sentAt.popFirst() else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        if now >= windowStart, now <= windowEnd {
            _ = result.histogram.record(max(1, (now - sent) / 1000))
            if ok {
                result.ok += 1
            } else {
                result.errors += 1
                if let errorText, result.sampleErrors.count < 3, !result.sampleErrors.contains(errorText) {
                    result.sampleErrors.append(errorText)
                }
            }
        }
        if now > windowEnd { phase = .draining }
        if phase == .running { enqueue() }
    }

    private func finish() {
        phase = .done
        timeout?.cancel()
        finished.succeed(result)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if phase != .done {
            let error = LoadError("connection \(index) closed by musterd")
            ready.fail(error)
            finished.fail(error)
            phase = .done
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        ready.fail(error)
        finished.fail(error)
        phase = .done
        context.close(promise: nil)
    }
}

/// Created off its event loop, then used only on it (the pipeline, `start`).
extension LoadHandler: @unchecked Sendable {}
