import Logging
import MusterCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Settings of a `PGPool`.
public struct PGPoolConfiguration: Sendable {
    public var connection: PGConnectionConfiguration
    /// The most connections open at once (and the number of threads that run libpq calls).
    public var maxConnections: Int
    /// How long a lease waits for a free connection before failing with `poolTimeout`.
    public var checkoutTimeout: TimeAmount

    public init(connection: PGConnectionConfiguration, maxConnections: Int = 10, checkoutTimeout: TimeAmount = .seconds(5)) {
        precondition(maxConnections >= 1, "a pool needs at least one connection")
        self.connection = connection
        self.maxConnections = maxConnections
        self.checkoutTimeout = checkoutTimeout
    }
}

/// A bounded pool of libpq connections whose blocking calls run on the pool's own threads.
///
/// Callers lease a connection with `withConnection` or `withTransaction` and hand in a synchronous closure; the
/// closure runs on one of the pool's threads (never on an event loop or the cooperative pool), and its result is
/// returned to the awaiting task. A connection that broke is discarded and a new one is opened on demand. When
/// every connection is busy, a lease waits up to `checkoutTimeout`.
///
/// As a `Service`, the pool closes itself on graceful shutdown after the leases in progress end.
public final class PGPool: Sendable, Service {
    /// A snapshot of the pool's occupancy.
    public struct Statistics: Sendable, Equatable {
        public var open: Int
        public var idle: Int
        public var inUse: Int { open - idle }
        public var waiting: Int
    }

    private enum Grant {
        case connection(PGConnection)
        case openSlot
    }

    /// What every lease asked of a closed pool, or cut short by its closing, fails with.
    private static let shutDown = PGError(.poolClosed, message: "the database pool is shut down")

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Grant, any Error>
    }

    private struct State {
        var idle: [PGConnection] = []
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var closed = false

        /// An idle connection, else a slot to open one in while fewer than `maxConnections` are open; nil when the
        /// pool is full.
        mutating func grantNow(maxConnections: Int) -> Grant? {
            if let connection = idle.popLast() { return .connection(connection) }
            guard open < maxConnections else { return nil }
            open += 1
            return .openSlot
        }
    }

    public let configuration: PGPoolConfiguration
    private let threads: NIOThreadPool
    private let timers: any EventLoopGroup
    private let state = NIOLockedValueBox(State())
    private let logger: Logger

    /// Creates a pool; no connection is opened until the first lease.
    public init(configuration: PGPoolConfiguration, logger: Logger, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.logger = logger
        self.timers = eventLoopGroup
        self.threads = NIOThreadPool(numberOfThreads: configuration.maxConnections)
        self.threads.start()
    }

    /// The current occupancy.
    public var statistics: Statistics {
        state.withLockedValue { Statistics(open: $0.open, idle: $0.idle.count, waiting: $0.waiters.count) }
    }

    /// Leases a connection, runs `body` with it on a pool thread, and returns the connection to the pool.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        let connection = try await lease()
        do {
            let value = try await threads.runIfActive { try body(connection) }
            release(connection)
            return value
        } catch {
            release(connection)
            throw error
        }
    }

    /// Leases a connection, runs `body` with it on a pool thread, returns the connection, and calls `completion`
    /// with the result on that thread.
    ///
    /// The same lease as the async `withConnection`, for callers that are not in a task (an event loop handing a
    /// read to the database): when a connection is free, or one may be opened, no task is made at all. When the
    /// pool is full, the lease waits as usual, in a task.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PGConnection) throws -> T,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        let maxConnections = configuration.maxConnections
        let grant: Grant?
        do {
            grant = try state.withLockedValue { state -> Grant? in
                if state.closed { throw Self.shutDown }
                return state.grantNow(maxConnections: maxConnections)
            }
        } catch {
            completion(.failure(error))
            return
        }
        // On a pool thread: runs the body with the leased connection, returns it, and reports.
        let use = { @Sendable [self] (connection: PGConnection) in
            let result = Result { try body(connection) }
            release(connection)
            completion(result)
        }
        // Runs `work` on a pool thread; if the threads are shutting down, gives back what was granted instead.
        let onPoolThread = { @Sendable [self] (giveBack: @escaping @Sendable () -> Void, work: @escaping @Sendable () -> Void) in
            threads.submit { state in
                guard state == .active else {
                    giveBack()
                    completion(.failure(Self.shutDown))
                    return
                }
                work()
            }
        }
        // The async lease, which waits if it must, in a task: when the pool is full, or the connection granted
        // turned out to be closed.
        let leaseInTask: @Sendable () -> Void = { [self] in
            Task { completion(await Result { try await withConnection(body) }) }
        }
        switch grant {
        case .connection(let connection):
            // Whether it is still open is asked on the pool thread, off the caller's (perhaps an event loop).
            onPoolThread({ [self] in release(connection) }) { [self] in
                guard connection.isStillOpen() else {
                    discard(connection)
                    leaseInTask()
                    return
                }
                use(connection)
            }
        case .openSlot:
            onPoolThread(freeSlot) { [self] in
                do {
                    use(try connectInSlot())
                } catch {
                    completion(.failure(error))
                }
            }
        case nil:
            leaseInTask()
        }
    }

    /// Runs `body` in a transaction on a leased connection. Serialization failures and deadlocks restart the
    /// whole transaction up to `retries` more times, so `body` must be safe to run again.
    public func withTransaction<T: Sendable>(
        isolation: PGIsolationLevel = .readCommitted, retries: Int = 2,
        _ body: @escaping @Sendable (PGConnection) throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await withConnection { connection in try connection.transaction(isolation: isolation, body) }
            } catch let error as PGError
                where (error.kind == .serializationFailure || error.kind == .deadlockDetected) && attempt < retries
            {
                attempt += 1
                logger.debug("retrying transaction", metadata: ["attempt": "\(attempt)", "sqlstate": "\(error.sqlState ?? "")"])
            }
        }
    }

    /// Runs one statement on a leased connection.
    @discardableResult
    public func query(_ query: PGQuery) async throws -> PGRows {
        try await withConnection { connection in try connection.query(query) }
    }

    /// Closes idle connections and refuses new leases; leases in progress finish and then close theirs.
    public func close() async {
        let (idle, waiters) = state.withLockedValue { state -> ([PGConnection], [Waiter]) in
            state.closed = true
            let idle = state.idle
            state.open -= idle.count
            state.idle = []
            let waiters = state.waiters
            state.waiters = []
            return (idle, waiters)
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: Self.shutDown)
        }
        if !idle.isEmpty {
            _ = try? await threads.runIfActive { for connection in idle { connection.close() } }
        }
    }

    /// Closes the pool and stops its threads once the leases in progress end.
    public func shutdown() async throws {
        await close()
        // Leases still running hold pool threads; shutting the thread pool down waits for them.
        try await threads.shutdownGracefully()
    }

    /// Waits for graceful shutdown, then shuts the pool down.
    public func run() async throws {
        try? await gracefulShutdown()
        try await shutdown()
    }

    // MARK: - Leasing

    private func lease() async throws -> PGConnection {
        let maxConnections = configuration.maxConnections
        while true {
            let now = try state.withLockedValue { state -> Grant? in
                if state.closed { throw Self.shutDown }
                return state.grantNow(maxConnections: maxConnections)
            }
            let grant: Grant
            if let now { grant = now } else { grant = try await waitForGrant() }
            switch grant {
            case .connection(let connection):
                // Asked here, off any event loop; the probe never waits.
                if connection.isStillOpen() { return connection }
                discard(connection)
            case .openSlot:
                return try await openConnection()
            }
        }
    }

    /// Opens a connection in a slot already counted in `open`; gives the slot back on failure.
    private func openConnection() async throws -> PGConnection {
        do {
            return try await threads.runIfActive { [self] in try connectInSlot() }
        } catch let error as PGError {
            throw error
        } catch {
            // Refused before it ran: the pool's threads are shutting down.
            freeSlot()
            throw Self.shutDown
        }
    }

    /// Opens a connection, on the calling pool thread, in a slot already counted in `open`; gives the slot back on
    /// failure.
    private func connectInSlot() throws(PGError) -> PGConnection {
        do {
            return try PGConnection.connect(configuration.connection, logger: logger)
        } catch {
            freeSlot()
            if let error = error as? PGError { throw error }
            throw PGError(.connectionFailed, message: "could not open a connection: \(error)")
        }
    }

    /// Queues for a connection after `lease` found none free.
    ///
    /// Between that look and this queueing a release may have put a connection back with no one yet waiting, so
    /// the look is taken again under the same lock that queues (and that `release` holds): either this lease gets
    /// what became free, or it is queued before the next release looks for waiters. The checkout timer starts only
    /// once the lease is queued, so it always finds it.
    private func waitForGrant() async throws -> Grant {
        let id = state.withLockedValue { state -> Int in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let timeout = configuration.checkoutTimeout
        let maxConnections = configuration.maxConnections
        let timer = NIOLockedValueBox<Scheduled<Void>?>(nil)
        defer { timer.withLockedValue { $0?.cancel() } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let now = state.withLockedValue { state -> Result<Grant, any Error>? in
                    if state.closed { return .failure(Self.shutDown) }
                    // Checked under the lock `onCancel` takes too: a cancellation is seen here or finds the waiter.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let grant = state.grantNow(maxConnections: maxConnections) { return .success(grant) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let now {
                    continuation.resume(with: now)
                    return
                }
                let scheduled = timers.next().scheduleTask(in: timeout) { [self] in
                    self.failWaiter(id, PGError(.poolTimeout, message: "no database connection became free within \(timeout)"))
                }
                timer.withLockedValue { $0 = scheduled }
            }
        } onCancel: {
            self.failWaiter(id, CancellationError())
        }
    }

    private func failWaiter(_ id: Int, _ error: any Error) {
        let waiter = state.withLockedValue { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Returns a connection after a lease: to a waiter, to the idle list, or closed if it is not reusable.
    private func release(_ connection: PGConnection) {
        guard connection.isHealthy, connection.isIdle else {
            discard(connection)
            return
        }
        enum Action {
            case handTo(Waiter)
            case keep
            case close
        }
        let action = state.withLockedValue { state -> Action in
            if state.closed {
                state.open -= 1
                return .close
            }
            if !state.waiters.isEmpty { return .handTo(state.waiters.removeFirst()) }
            state.idle.append(connection)
            return .keep
        }
        switch action {
        case .handTo(let waiter): waiter.continuation.resume(returning: .connection(connection))
        case .keep: break
        case .close: closeInBackground(connection)
        }
    }

    private func discard(_ connection: PGConnection) {
        logger.info("discarding a broken database connection")
        closeInBackground(connection)
        freeSlot()
    }

    /// Gives up one slot; a waiter, if any, gets the right to open a new connection in it.
    private func freeSlot() {
        let waiter = state.withLockedValue { state -> Waiter? in
            if !state.closed, !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.open -= 1
            return nil
        }
        waiter?.continuation.resume(returning: .openSlot)
    }

    /// `PQfinish` may write to the socket, so it runs on a pool thread too.
    private func closeInBackground(_ connection: PGConnection) {
        threads.submit { _ in connection.close() }
    }
}
