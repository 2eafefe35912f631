import Logging
import MusterPQ
import MusterStore
import NIOPosix
import ServiceLifecycle

/// Keeps an `OrderBook` current: a dedicated connection `LISTEN`s on `muster_orders`, and every notification
/// (a version added by any daemon on this database) reloads the book.
///
/// After every (re)connection the book is reloaded in full, so notifications missed while disconnected are never
/// lost. The blocking wait runs on a thread of its own, never on an event loop.
public struct OrderWatch: Service {
    let book: OrderBook
    let pool: PGPool
    let connection: PGConnectionConfiguration
    let logger: Logger
    /// How long one wait for notifications blocks before checking for shutdown.
    let pollMilliseconds: Int32

    public init(
        book: OrderBook, pool: PGPool, connection: PGConnectionConfiguration, logger: Logger, pollMilliseconds: Int32 = 250
    ) {
        self.book = book
        self.pool = pool
        self.connection = connection
        self.logger = logger
        self.pollMilliseconds = pollMilliseconds
    }

    public func run() async throws {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        await cancelWhenGracefulShutdown { await watch(on: thread) }
        try await thread.shutdownGracefully()
    }

    private func watch(on thread: NIOThreadPool) async {
        var backoff: Duration = .milliseconds(250)
        let (configuration, logger, poll) = (connection, logger, pollMilliseconds)
        while !Task.isCancelled {
            var listener: PGConnection?
            do {
                let opened = try await thread.runIfActive {
                    let connection = try PGConnection.connect(configuration, logger: logger)
                    do { try connection.listen(OrderStore.channel) } catch {
                        connection.close()
                        throw error
                    }
                    return connection
                }
                listener = opened
                try await book.reload(pool)
                backoff = .milliseconds(250)
                while !Task.isCancelled {
                    let notifications = try await thread.runIfActive {
                        try opened.waitForNotifications(timeoutMilliseconds: poll)
                    }
                    if !notifications.isEmpty {
                        try await book.reload(pool)
                        logger.info(
                            "rule packs reloaded",
                            metadata: ["changed": "\(notifications.map(\.payload).joined(separator: ", "))"])
                    }
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning("rule-pack watch lost its connection; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
            if let listener { _ = try? await thread.runIfActive { listener.close() } }
        }
    }
}
