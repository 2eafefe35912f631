import Logging
import MusterCore
import MusterPQ
import MusterStore
import ServiceLifecycle

/// Re-assesses volunteers whose credentials have expired, at start and then every `interval`: their credential
/// level drops (and a verified or available volunteer goes back to registered, out of matching) until re-verified.
/// Offers whose deadline has passed are marked expired in the same sweep.
/// Several daemons on one database may all run it; each run is one transaction and the work is idempotent.
public struct ExpiryWatch: Service {
    let pool: PGPool
    let interval: Duration
    let logger: Logger
    let today: @Sendable () -> CalendarDate

    public init(
        pool: PGPool, interval: Duration = .seconds(3600), logger: Logger,
        today: @escaping @Sendable () -> CalendarDate = { CalendarDate.today() }
    ) {
        self.pool = pool
        self.interval = interval
        self.logger = logger
        self.today = today
    }

    /// One sweep; returns how many volunteers were re-assessed.
    @discardableResult
    public func sweep() async throws -> Int {
        let date = today()
        let store = VolunteerStore()
        return try await pool.withTransaction { connection in
            // Offers past their deadline expire too (a matching round also does this before it starts).
            try StaffingStore().expireOverdue(connection, state: nil)
            return try store.reassessExpired(connection, today: date)
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let count = try await sweep()
                    if count > 0 { logger.info("expired credentials re-assessed", metadata: ["volunteers": "\(count)"]) }
                } catch {
                    logger.warning("expiry sweep failed; will retry", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
