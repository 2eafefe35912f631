import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// How matching rounds are run when nobody asks for one.
public struct MatchingSettings: Sendable {
    /// How long an offer stays open before it expires.
    public var offerHours: Int
    /// Quiet time after a decline, expiry or cancellation before the backfill round for that state runs; further
    /// changes meanwhile join the same round. A round runs at the latest `4 × backfillDelay` after the first change.
    public var backfillDelay: Duration

    public init(offerHours: Int = 12, backfillDelay: Duration = .seconds(10)) {
        self.offerHours = offerHours
        self.backfillDelay = backfillDelay
    }
}

/// States waiting for a backfill round: a decline, an expiry or a cancellation freed slots or volunteers there.
///
/// Requests are debounced per state: a burst of declines becomes one round. `BackfillService` runs the rounds.
public final class BackfillQueue: Sendable {
    struct Pending {
        var first: ContinuousClock.Instant
        var last: ContinuousClock.Instant
    }

    private let pending = NIOLockedValueBox([String: Pending]())
    private let completed = NIOLockedValueBox(0)

    public init() {}

    /// Asks for a backfill round in `state`.
    public func request(state: String) {
        let now = ContinuousClock.now
        pending.withLockedValue { pending in
            if pending[state] == nil {
                pending[state] = Pending(first: now, last: now)
            } else {
                pending[state]!.last = now
            }
        }
    }

    /// States whose quiet time has passed (or that have waited `4 × delay`), removed from the queue.
    func takeDue(delay: Duration, now: ContinuousClock.Instant = .now) -> [String] {
        pending.withLockedValue { pending in
            let due = pending.filter { now - $0.value.last >= delay || now - $0.value.first >= delay * 4 }.keys.sorted()
            for state in due { pending.removeValue(forKey: state) }
            return due
        }
    }

    /// States waiting now.
    public var waiting: [String] { pending.withLockedValue { $0.keys.sorted() } }

    /// Backfill rounds run so far.
    public var roundsRun: Int { completed.withLockedValue { $0 } }

    func recordRound() { completed.withLockedValue { $0 += 1 } }
}

/// Runs the backfill rounds that `BackfillQueue` asks for, one state at a time, with the daemon's matching
/// settings. A round that fails is logged and asked for again after the delay.
public struct BackfillService: Service {
    let services: ServerServices

    public init(services: ServerServices) {
        self.services = services
    }

    public func run() async throws {
        let queue = services.backfill
        let delay = services.matching.backfillDelay
        let tick = min(delay / 4, .milliseconds(250))
        await cancelWhenGracefulShutdown {
            do { try await services.readiness.waitUntilReady() } catch { return }
            while !Task.isCancelled {
                for state in queue.takeDue(delay: delay) {
                    do {
                        let options = MatchRound.Options(dryRun: false, offerHours: services.matching.offerHours)
                        let outcome = try await MatchRound.run(state: state, options: options, actor: nil, services: services)
                        queue.recordRound()
                        services.logger.info(
                            "backfill round", metadata: ["state": "\(state)", "offers": "\(outcome.result.offers)"])
                    } catch {
                        if Task.isCancelled { return }
                        services.logger.warning(
                            "backfill round failed; will retry", metadata: ["state": "\(state)", "error": "\(error)"])
                        queue.request(state: state)
                    }
                }
                try? await Task.sleep(for: tick)
            }
        }
    }
}
