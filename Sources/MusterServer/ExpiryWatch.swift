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
    let offerInterval: Duration
    let today: @Sendable () -> CalendarDate
    let backfill: BackfillQueue?
    let readiness: DatabaseReadiness?

    /// - Parameters:
    ///   - interval: how often credentials are re-assessed.
    ///   - offerInterval: how often overdue offers are expired (each expiry asks for a backfill round in its state).
    public init(
        pool: PGPool, interval: Duration = .seconds(3600), offerInterval: Duration = .seconds(60), logger: Logger,
        backfill: BackfillQueue? = nil, readiness: DatabaseReadiness? = nil, today: @escaping @Sendable () -> CalendarDate = { CalendarDate.today() }
    ) {
        self.pool = pool
        self.interval = interval
        self.offerInterval = offerInterval
        self.backfill = backfill
        self.readiness = readiness
        self.logger = logger
        self.today = today
    }

    /// One sweep of credentials; returns how many volunteers were re-assessed.
    @discardableResult
    public func sweep() async throws -> Int {
        let date = today()
        let store = VolunteerStore()
        return try await pool.withTransaction { connection in try store.reassessExpired(connection, today: date) }
    }

    /// Expires offers past their deadline (a matching round also does this before it starts) and asks for a
    /// backfill round in each state concerned; returns how many expired.
    @discardableResult
    public func sweepOffers() async throws -> Int {
        let states = try await pool.withTransaction { connection in try StaffingStore().expireOverdue(connection, state: nil) }
        for state in Set(states) { backfill?.request(state: state) }
        return states.count
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            if let readiness {
                do { try await readiness.waitUntilReady() } catch { return }
            }
            var lastCredentialSweep: ContinuousClock.Instant?
            while !Task.isCancelled {
                do {
                    let expired = try await sweepOffers()
                    if expired > 0 { logger.info("overdue offers expired", metadata: ["offers": "\(expired)"]) }
                    if lastCredentialSweep.map({ ContinuousClock.now - $0 >= interval }) ?? true {
                        let count = try await sweep()
                        lastCredentialSweep = .now
                        if count > 0 { logger.info("expired credentials re-assessed", metadata: ["volunteers": "\(count)"]) }
                    }
                } catch {
                    logger.warning("expiry sweep failed; will retry", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: min(offerInterval, interval))
            }
        }
    }
}
