import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Whether the database is ready for commands: reachable, migrated and seeded.
///
/// musterd listens at once; until the database is ready, every command that needs it is answered
/// `ERR UNAVAILABLE database not ready: <why>` (PING, HELLO and HELP still work), while `DatabasePreparation`
/// keeps retrying. Background services wait for it before they start.
public final class DatabaseReadiness: Sendable {
    private struct State {
        var ready = false
        var reason = "starting"
    }

    private let state = NIOLockedValueBox(State())

    /// - Parameter ready: start ready (tests and tools that prepare the database themselves).
    public init(ready: Bool = false) {
        state.withLockedValue { $0.ready = ready }
    }

    public var isReady: Bool { state.withLockedValue { $0.ready } }

    /// Why the database is not ready yet (the latest problem, without server details), for replies.
    public var reason: String { state.withLockedValue { $0.reason } }

    public func update(reason: String) { state.withLockedValue { $0.reason = reason } }

    public func markReady() { state.withLockedValue { $0.ready = true } }

    /// Returns once the database is ready; throws `CancellationError` if the task is cancelled first (shutdown).
    public func waitUntilReady() async throws {
        while !isReady { try await Task.sleep(for: .milliseconds(100)) }
    }
}

/// Prepares the database in the background (wait for it, migrate, seed), then marks it ready. Retrying while the
/// database is unreachable belongs to `prepare`; an error it throws (a changed migration, a bad rule pack) ends the
/// service, and with it musterd.
public struct DatabasePreparation: Service {
    let readiness: DatabaseReadiness
    let prepare: @Sendable (DatabaseReadiness) async throws -> Void
    let logger: Logger

    public init(
        readiness: DatabaseReadiness, logger: Logger, prepare: @escaping @Sendable (DatabaseReadiness) async throws -> Void
    ) {
        self.readiness = readiness
        self.prepare = prepare
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await prepare(readiness)
        }
        if Task.isCancelled { return }
        readiness.markReady()
        logger.info("database ready; serving every command")
    }
}
