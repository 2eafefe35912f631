import Logging
import MusterCore
import MusterProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOSSL

/// Counts open connections against the limits: in total, and per client address.
final class ConnectionLimiter: Sendable {
    /// Why a connection was refused.
    enum Refusal {
        case total, perAddress
    }

    private struct Counts {
        var total = 0
        var byAddress: [String: Int] = [:]
    }

    private let counts = NIOLockedValueBox(Counts())
    let limit: Int
    let perAddressLimit: Int

    init(limit: Int, perAddressLimit: Int = .max) {
        self.limit = limit
        self.perAddressLimit = perAddressLimit
    }

    /// Admits a connection from `address`, or says which limit refuses it.
    func tryAcquire(address: String) -> Refusal? {
        counts.withLockedValue { counts in
            guard counts.total < limit else { return .total }
            guard counts.byAddress[address, default: 0] < perAddressLimit else { return .perAddress }
            counts.total += 1
            counts.byAddress[address, default: 0] += 1
            return nil
        }
    }

    func release(address: String) {
        counts.withLockedValue { counts in
            counts.total -= 1
            let left = counts.byAddress[address, default: 1] - 1
            counts.byAddress[address] = left > 0 ? left : nil
        }
    }

    var current: Int { counts.withLockedValue { $0.total } }
}

/// Runs one client connection: reads framed lines, runs their commands strictly one after another, and writes
/// the replies in request order.
///
/// Everything here runs on the channel's event loop. Commands that touch the database answer later, from a task or
/// (a deferred command) from the pool thread that ran their batch; while one runs, later lines wait in a bounded
/// queue. Back-pressure both ways: when the queue is full, or the client is
/// not reading its replies (the channel is not writable), the handler stops reading from the socket, so a client
/// can never make the server buffer without bound.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = LineFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let services: ServerServices
    private let registry: CommandRegistry
    private let configuration: ServerConfiguration
    private let limiter: ConnectionLimiter
    private var logger: Logger

    private var queue = CircularBuffer<LineFrame>(initialCapacity: 16)
    private var identity: Identity?
    private var commandInFlight = false
    private var closing = false
    private var quiescing = false
    /// The client has shut down its sending side: answer what it sent, then close.
    private var inputClosed = false
    private var heldRead = false
    private var needsFlush = false
    private var admitted = false
    private var idleTimer: Scheduled<Void>?
    /// Since when the connection has had nothing to do (no request queued or running); nil while it has.
    private var idleSince: NIODeadline?
    /// Checks, while the output is full, whether the client has stopped reading for too long.
    private var stallCheck: RepeatedTask?
    private var unwritableSince: NIODeadline?
    private var output: ByteBuffer
    /// This connection's event subscription, if any.
    private var subscriptionID: Int?
    /// Events not written because the client was not reading; reported in one `overflow` event once it reads again.
    private var droppedEvents = 0
    /// The client's IP address.
    private var peer = "?"
    /// Per command this connection has run: its logger (one per command name and connection, since setting
    /// metadata re-renders it, too costly per request) and its metrics (so answering takes no lock).
    private var perCommand: [ObjectIdentifier: CommandLocal] = [:]
    /// The metrics of an answer that names no command object (an unknown verb).
    private var unknownInstruments: ServerMetrics.CommandInstruments?

    init(
        services: ServerServices, registry: CommandRegistry, configuration: ServerConfiguration,
        limiter: ConnectionLimiter, connectionID: Int, allocator: ByteBufferAllocator
    ) {
        self.services = services
        self.registry = registry
        self.configuration = configuration
        self.limiter = limiter
        self.logger = services.logger
        self.logger[metadataKey: "connection"] = "\(connectionID)"
        self.output = allocator.buffer(capacity: 256)
    }

    // MARK: - Lifecycle

    func channelActive(context: ChannelHandlerContext) {
        peer = context.remoteAddress?.ipAddress ?? "?"
        logger[metadataKey: "peer"] = "\(peer)"
        if let refusal = limiter.tryAcquire(address: peer) {
            let message =
                refusal == .total
                ? "too many connections (limit \(limiter.limit)); try again later"
                : "too many connections from this address (limit \(limiter.perAddressLimit)); try again later"
            logger.warning("connection refused", metadata: ["reason": "\(message)"])
            services.metrics.connectionRefused()
            closing = true
            emit(.error(.busy, message), context: context)
            flushThenClose(context: context)
            return
        }
        admitted = true
        services.metrics.connectionOpened()
        logger.debug("connection opened")
        armIdleTimer(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        stallCheck?.cancel()
        stallCheck = nil
        endSubscription()
        if admitted {
            admitted = false
            limiter.release(address: peer)
            services.metrics.connectionClosed()
        }
        logger.debug("connection closed")
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: answer what was already received, then close.
            quiescing = true
            closeIfDrained(context: context)
            return
        }
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            closeIfDrained(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            // A plain-TCP client on the TLS port, an untrusted client certificate, a failed handshake.
            logger.notice("TLS failure; closing", metadata: ["error": "\(error)"])
        } else {
            logger.debug("connection error", metadata: ["error": "\(error)"])
        }
        context.close(promise: nil)
    }

    // MARK: - Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        queue.append(unwrapInboundIn(data))
        // Busy: the idle timer, if it fires now, finds nothing to time out and lets itself be armed again later.
        idleSince = nil
        processQueue(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context: context)
        context.fireChannelReadComplete()
    }

    /// Holds the next socket read back while the queue is full, the client is not reading, or we are closing.
    func read(context: ChannelHandlerContext) {
        if closing || quiescing || queue.count >= configuration.maxQueuedRequests || !context.channel.isWritable {
            heldRead = true
            return
        }
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            unwritableSince = nil
        } else if unwritableSince == nil {
            unwritableSince = .now()
            startStallCheck(context: context)
        }
        if context.channel.isWritable {
            reportDroppedEvents(context: context)
            processQueue(context: context)
            flushIfNeeded(context: context)
            resumeReadingIfHeld(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    private func resumeReadingIfHeld(context: ChannelHandlerContext) {
        guard heldRead, !closing, !quiescing, queue.count < configuration.maxQueuedRequests, context.channel.isWritable
        else { return }
        heldRead = false
        context.read()
    }

    // MARK: - Processing

    private func processQueue(context: ChannelHandlerContext) {
        while !commandInFlight, !closing, context.channel.isWritable, let frame = queue.popFirst() {
            handle(frame, context: context)
        }
        if !commandInFlight, !closing {
            if queue.isEmpty { armIdleTimer(context: context) }
            resumeReadingIfHeld(context: context)
            closeIfDrained(context: context)
        }
    }

    private func handle(_ frame: LineFrame, context: ChannelHandlerContext) {
        switch frame {
        case .tooLong:
            emit(
                .error(.tooLong, "line exceeds \(configuration.maxLineLength) bytes; it was discarded"),
                context: context)
        case .line(let line):
            // Parsed from the buffer's contiguous bytes, not byte by byte through a view of them.
            let result = line.withUnsafeReadableBytes { bytes in
                Result { () throws(RequestError) in try RequestParser.parse(bytes) }
            }
            let parsed: ParsedLine
            switch result {
            case .success(let line): parsed = line
            case .failure(let error):
                emit(.error(.badRequest, error.description), context: context)
                return
            }
            switch parsed {
            case .empty:
                return
            case .httpRequest:
                logger.notice("closing a connection that spoke HTTP")
                closing = true
                flushThenClose(context: context)
            case .request(let request):
                dispatch(request, context: context)
            }
        }
    }

    private func dispatch(_ request: Request, context: ChannelHandlerContext) {
        let started = ContinuousClock.now
        guard let command = registry[request.verb] else {
            let instruments = unknownInstruments ?? services.metrics.instruments(for: "UNKNOWN")
            unknownInstruments = instruments
            answer(
                .error(.unknownCommand, "unknown command \(request.verb); HELP lists the commands"),
                instruments: instruments, started: started, context: context)
            return
        }
        let local = self.local(for: command)
        let instruments = local.instruments
        if let current = identity, services.revocations.contains(current.tokenID) {
            // Revoked since this connection authenticated (by any daemon): the token is gone from here on.
            logger.notice("revoked token signed out", metadata: ["token-id": "\(current.tokenID)"])
            identity = nil
            endSubscription()
            if command.access != .anyone {
                answer(
                    .error(.unauthenticated, "token revoked; AUTH with a valid token"), instruments: instruments,
                    started: started, context: context)
                return
            }
        }
        if let denial = command.denial(for: identity) {
            answer(.error(denial.code, denial.message), instruments: instruments, started: started, context: context)
            return
        }
        let logger = local.logger
        let commandContext = CommandContext(
            identity: identity, services: services, registry: registry, logger: logger,
            maxLineLength: configuration.maxLineLength, peer: peer)
        do {
            try command.validateShape(request)
        } catch {
            answer(
                ErrorMapping.reply(for: error, verb: command.name, logger: logger), instruments: instruments,
                started: started, context: context)
            return
        }
        switch command.body {
        case .immediate(let body):
            do {
                apply(try body(request, commandContext), instruments: instruments, started: started, context: context)
            } catch {
                answer(
                    ErrorMapping.reply(for: error, verb: command.name, logger: logger), instruments: instruments,
                    started: started, context: context)
            }
        case .async(let body):
            run(command, logger: logger, instruments: instruments, started: started, context: context) { completion in
                completion.complete { try await body(request, commandContext) }
            }
        case .deferred(let start):
            run(command, logger: logger, instruments: instruments, started: started, context: context) { completion in
                start(request, commandContext, completion)
            }
        }
    }

    /// Runs a command that answers later (a task, or a deferred read), holding the connection's later lines until
    /// its reply is written.
    private func run(
        _ command: Command, logger: Logger, instruments: ServerMetrics.CommandInstruments,
        started: ContinuousClock.Instant, context: ChannelHandlerContext, _ start: (CommandCompletion) -> Void
    ) {
        guard services.readiness.isReady else {
            answer(
                .error(.unavailable, "database not ready: \(services.readiness.reason); musterd keeps retrying"),
                instruments: instruments, started: started, context: context)
            return
        }
        commandInFlight = true
        // The work is bounded by this connection: graceful shutdown waits for the connection, and so for the
        // completion, before the server stops.
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        start(
            CommandCompletion(repeated: {
                logger.error("a command answered more than once; the later answer was dropped")
            }) { result in
                eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.commandInFlight = false
                    switch result {
                    case .success(let outcome):
                        handler.apply(outcome, instruments: instruments, started: started, context: context)
                    case .failure(let error):
                        handler.answer(
                            ErrorMapping.reply(for: error, verb: command.name, logger: logger), instruments: instruments,
                            started: started, context: context)
                    }
                    handler.flushIfNeeded(context: context)
                    handler.processQueue(context: context)
                    handler.flushIfNeeded(context: context)
                }
            })
    }

    /// This connection's logger and metrics for `command`, made at its first use here.
    private func local(for command: Command) -> CommandLocal {
        if let known = perCommand[ObjectIdentifier(command)] { return known }
        var logger = self.logger
        logger[metadataKey: "command"] = "\(command.name)"
        let local = CommandLocal(logger: logger, instruments: services.metrics.instruments(for: command.name))
        perCommand[ObjectIdentifier(command)] = local
        return local
    }

    /// Writes a command's reply and records it (count, outcome, latency).
    private func answer(
        _ reply: Reply, instruments: ServerMetrics.CommandInstruments, started: ContinuousClock.Instant,
        context: ChannelHandlerContext
    ) {
        let outcome: String
        if case .error(let code, _) = reply { outcome = code.rawValue } else { outcome = "ok" }
        services.metrics.recordCommand(instruments, outcome: outcome, duration: ContinuousClock.now - started)
        emit(reply, context: context)
    }

    private func apply(
        _ result: CommandResult, instruments: ServerMetrics.CommandInstruments, started: ContinuousClock.Instant,
        context: ChannelHandlerContext
    ) {
        switch result.session {
        case .keep: break
        case .authenticate(let identity):
            // A subscription belongs to the identity that made it.
            if identity != self.identity { endSubscription() }
            self.identity = identity
        case .signOut:
            endSubscription()
            self.identity = nil
        case .subscribe(let topics, let state):
            subscribe(topics: topics, state: state, context: context)
        case .unsubscribe:
            endSubscription()
        }
        answer(result.reply, instruments: instruments, started: started, context: context)
        if result.close {
            closing = true
            flushThenClose(context: context)
        }
    }

    // MARK: - Writing

    /// Appends a reply to the output. Replies are gathered and written once per read burst (or every 16 KiB, so the
    /// channel's writability, and with it back-pressure, still follows a long run of replies).
    private func emit(_ reply: Reply, context: ChannelHandlerContext) {
        reply.write(into: &output)
        needsFlush = true
        if output.readableBytes >= 16 * 1024 { writeOutput(context: context) }
    }

    /// Hands the gathered output to the channel (without flushing).
    private func writeOutput(context: ChannelHandlerContext) {
        guard output.readableBytes > 0 else { return }
        context.write(wrapOutboundOut(output), promise: nil)
        output.clear()
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        guard needsFlush else { return }
        needsFlush = false
        if output.readableBytes > 0 {
            context.write(wrapOutboundOut(output), promise: nil)
            context.flush()
            // Usually written by now, so the storage is ours again and is reused.
            output.clear()
        } else {
            context.flush()
        }
    }

    private func flushThenClose(context: ChannelHandlerContext) {
        needsFlush = false
        writeOutput(context: context)
        idleTimer?.cancel()
        idleTimer = nil
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }

    private func closeIfDrained(context: ChannelHandlerContext) {
        guard quiescing || inputClosed, !closing, !commandInFlight, queue.isEmpty else { return }
        closing = true
        flushThenClose(context: context)
    }

    // MARK: - Events

    private func subscribe(topics: Set<EventTopic>, state: String?, context: ChannelHandlerContext) {
        guard let identity else { return }
        endSubscription()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        subscriptionID = services.events.subscribe(
            EventHub.Subscription(identity: identity, topics: topics, state: state) { events in
                eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.deliver(events, context: context)
                }
            })
        // A subscriber may wait quietly for events; the idle timeout no longer applies.
        idleTimer?.cancel()
        idleTimer = nil
    }

    private func endSubscription() {
        guard let id = subscriptionID else { return }
        services.events.unsubscribe(id)
        subscriptionID = nil
        droppedEvents = 0
    }

    /// Writes events between replies (a reply is always written whole, so an event line never splits one). A client
    /// that does not read gets no more events queued: they are counted, and reported once it reads again.
    private func deliver(_ events: [MusterEvent], context: ChannelHandlerContext) {
        guard subscriptionID != nil, !closing else { return }
        for event in events {
            guard context.channel.isWritable else {
                droppedEvents += 1
                continue
            }
            Reply.writeEvent(event.payload, into: &output)
            needsFlush = true
            if output.readableBytes >= 16 * 1024 { writeOutput(context: context) }
        }
        flushIfNeeded(context: context)
    }

    private func reportDroppedEvents(context: ChannelHandlerContext) {
        guard droppedEvents > 0, subscriptionID != nil, !closing else { return }
        logger.notice("events dropped for a client that was not reading", metadata: ["dropped": "\(droppedEvents)"])
        Reply.writeEvent(#"{"type":"overflow","dropped":\#(droppedEvents)}"#, into: &output)
        droppedEvents = 0
        needsFlush = true
    }

    // MARK: - Stalled clients

    /// While the output stays full, checks every second whether it has been full for `writeStallTimeout`; if so, the
    /// client has stopped reading its replies, and is logged and disconnected.
    private func startStallCheck(context: ChannelHandlerContext) {
        guard stallCheck == nil, !closing else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let period = TimeAmount.nanoseconds(min(configuration.writeStallTimeout.nanoseconds, 1_000_000_000))
        stallCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { task in
            let (handler, context) = loopBound.value
            guard let since = handler.unwritableSince, !handler.closing else {
                task.cancel()
                handler.stallCheck = nil
                return
            }
            guard NIODeadline.now() - since >= handler.configuration.writeStallTimeout else { return }
            task.cancel()
            handler.stallCheck = nil
            handler.logger.notice(
                "closing a client that has not read its replies",
                metadata: ["for-seconds": "\(handler.configuration.writeStallTimeout.seconds)"])
            handler.closing = true
            context.close(promise: nil)
        }
    }

    // MARK: - Idle timeout

    /// Marks the connection idle from now. One timer serves many idle spells: it is scheduled only when none is,
    /// and when it fires early (the connection was busy since) it schedules itself for the end of the current spell,
    /// so a busy connection does not schedule a timer per request.
    private func armIdleTimer(context: ChannelHandlerContext) {
        guard !closing, subscriptionID == nil else { return }
        let now = NIODeadline.now()
        idleSince = now
        if idleTimer == nil { scheduleIdleTimer(at: now + configuration.idleTimeout, context: context) }
    }

    private func scheduleIdleTimer(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.idleTimer = nil
            guard let since = handler.idleSince, !handler.closing, handler.subscriptionID == nil else { return }
            let due = since + handler.configuration.idleTimeout
            guard NIODeadline.now() >= due else {
                handler.scheduleIdleTimer(at: due, context: context)
                return
            }
            guard !handler.commandInFlight, handler.queue.isEmpty else { return }
            handler.logger.info("closing idle connection")
            handler.closing = true
            handler.emit(
                .error(.timeout, "no complete request for \(handler.configuration.idleTimeout.seconds)s; closing"),
                context: context)
            handler.flushThenClose(context: context)
        }
    }
}

@available(*, unavailable)
extension ConnectionHandler: Sendable {}

/// What a connection keeps per command it has run.
private struct CommandLocal {
    let logger: Logger
    let instruments: ServerMetrics.CommandInstruments
}

extension TimeAmount {
    var seconds: Int64 { nanoseconds / 1_000_000_000 }
}
