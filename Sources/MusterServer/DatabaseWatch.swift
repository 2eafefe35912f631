import Logging
import MusterPQ
import MusterStore
import NIOPosix
import ServiceLifecycle

/// The daemon's ear on the database: a dedicated connection `LISTEN`s on `muster_orders` and `muster_events`.
///
/// - A notification on `muster_orders` (a rule-pack version added by any daemon, or by plain SQL) reloads the
///   `OrderBook`.
/// - Notifications on `muster_events` are published to the `EventHub`'s subscribers.
/// - A notification on `muster_tokens` (a token revoked) adds it to `RevokedTokens` and ends its subscriptions.
///
/// After every (re)connection the book and the revoked tokens are reloaded in full, so a rule change missed while disconnected is never
/// lost, and subscribers are sent a `resync` event, since events may have been. The blocking wait runs on a thread
/// of its own, never on an event loop.
public struct DatabaseWatch: Service {
    let book: OrderBook
    let events: EventHub
    let revocations: RevokedTokens
    let readiness: DatabaseReadiness?
    let pool: PGPool
    let connection: PGConnectionConfiguration
    let logger: Logger
    /// How long one wait for notifications blocks before checking for shutdown.
    let pollMilliseconds: Int32

    public init(
        book: OrderBook, events: EventHub, revocations: RevokedTokens, readiness: DatabaseReadiness? = nil, pool: PGPool,
        connection: PGConnectionConfiguration, logger: Logger, pollMilliseconds: Int32 = 250
    ) {
        self.readiness = readiness
        self.book = book
        self.events = events
        self.revocations = revocations
        self.pool = pool
        self.connection = connection
        self.logger = logger
        self.pollMilliseconds = pollMilliseconds
    }

    public func run() async throws {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        await cancelWhenGracefulShutdown {
            // Not before the tables exist.
            if let readiness {
                do { try await readiness.waitUntilReady() } catch { return }
            }
            await watch(on: thread)
        }
        try await thread.shutdownGracefully()
    }

    /// The longest wait between attempts to reconnect. While the watch is away, a token revoked on another daemon
    /// still works here and events are not delivered, so it stays short; an attempt is one connection.
    static let longestBackoff: Duration = .seconds(2)

    private func watch(on thread: NIOThreadPool) async {
        var connectedBefore = false
        // Failed attempts since the last connection: the wait before the next is 0.25 s doubling to `longestBackoff`.
        var failures = 0
        let (configuration, logger, poll) = (connection, logger, pollMilliseconds)
        while !Task.isCancelled {
            var listener: PGConnection?
            do {
                let opened = try await thread.runIfActive {
                    let connection = try PGConnection.connect(configuration, logger: logger)
                    do {
                        try connection.listen(OrderStore.channel)
                        try connection.listen(MusterEvent.channel)
                        try connection.listen(RevokedTokens.channel)
                    } catch {
                        connection.close()
                        throw error
                    }
                    return connection
                }
                listener = opened
                try await revocations.reload(pool)
                try await book.reload(pool)
                if connectedBefore { events.publish([.resync]) }
                if failures > 0 { logger.info("database watch reconnected", metadata: ["failed-attempts": "\(failures)"]) }
                connectedBefore = true
                failures = 0
                while !Task.isCancelled {
                    let notifications = try await thread.runIfActive {
                        try opened.waitForNotifications(timeoutMilliseconds: poll)
                    }
                    if notifications.isEmpty { continue }
                    for notification in notifications where notification.channel == RevokedTokens.channel {
                        guard let id = Int64(notification.payload) else { continue }
                        revocations.insert(id)
                        events.revoke(tokenID: id)
                        logger.notice("token revoked; open connections lose it", metadata: ["token-id": "\(id)"])
                    }
                    let published = notifications.filter { $0.channel == MusterEvent.channel }.compactMap { notification in
                        let event = MusterEvent(payload: notification.payload)
                        if event == nil { logger.warning("ignored a malformed event", metadata: ["payload": "\(notification.payload.prefix(200))"]) }
                        return event
                    }
                    events.publish(published)
                    let changed = notifications.filter { $0.channel == OrderStore.channel }
                    if !changed.isEmpty {
                        try await book.reload(pool)
                        logger.info("rule packs reloaded", metadata: ["changed": "\(changed.map(\.payload).joined(separator: ", "))"])
                    }
                }
            } catch {
                if Task.isCancelled { break }
                failures += 1
                // Once per outage as a warning; each further attempt at debug.
                logger.log(
                    level: failures == 1 ? .warning : .debug, "database watch lost its connection; retrying",
                    metadata: ["error": "\(error)", "attempt": "\(failures)"])
                try? await Task.sleep(for: min(.milliseconds(250) * (1 << min(failures - 1, 8)), Self.longestBackoff))
            }
            if let listener { _ = try? await thread.runIfActive { listener.close() } }
        }
    }
}
