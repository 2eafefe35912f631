import MusterPQ
import MusterStore
import NIOConcurrencyHelpers

/// Token ids revoked since this daemon connected to the database, kept in memory so every command can be checked
/// without a query. `DatabaseWatch` fills it: in full after each (re)connection, then from each `muster_tokens`
/// notification, which PostgreSQL sends when any daemon or `musterctl token revoke` revokes a token.
public final class RevokedTokens: Sendable {
    /// The channel revocations are published on (payload: the token id).
    public static let channel = "muster_tokens"

    private let revoked = NIOLockedValueBox(Set<Int64>())

    public init() {}

    public func contains(_ tokenID: Int64) -> Bool { revoked.withLockedValue { $0.contains(tokenID) } }

    func insert(_ tokenID: Int64) { _ = revoked.withLockedValue { $0.insert(tokenID) } }

    /// Replaces the set with every revoked token in the database.
    func reload(_ pool: PGPool) async throws {
        let ids = try await pool.withConnection { connection in
            try connection.query("SELECT id FROM api_tokens WHERE revoked_at IS NOT NULL").map { row -> Int64 in
                try row.decode("id")
            }
        }
        revoked.withLockedValue { $0 = Set(ids) }
    }
}

/// Failed `AUTH` attempts per client address: after `limit` failures within `window`, that address's `AUTH`
/// commands are refused without touching the database until the window has passed. Remembers at most
/// `capacity` addresses (the oldest windows are forgotten first), so a flood of addresses cannot grow it without
/// bound.
public final class AuthThrottle: Sendable {
    struct Window {
        var start: ContinuousClock.Instant
        var failures: Int
    }

    public let limit: Int
    public let window: Duration
    let capacity: Int
    private let windows = NIOLockedValueBox([String: Window]())

    public init(limit: Int = 10, window: Duration = .seconds(60), capacity: Int = 10_000) {
        self.limit = limit
        self.window = window
        self.capacity = capacity
    }

    /// How long `address` must wait before its next `AUTH`, or nil when it may try now.
    public func retryAfter(_ address: String, now: ContinuousClock.Instant = .now) -> Duration? {
        windows.withLockedValue { windows in
            guard let entry = windows[address] else { return nil }
            if now - entry.start >= window {
                windows.removeValue(forKey: address)
                return nil
            }
            return entry.failures >= limit ? window - (now - entry.start) : nil
        }
    }

    /// Counts a failed attempt; returns the failures in the current window.
    @discardableResult
    public func recordFailure(_ address: String, now: ContinuousClock.Instant = .now) -> Int {
        windows.withLockedValue { windows in
            if var entry = windows[address], now - entry.start < window {
                entry.failures += 1
                windows[address] = entry
                return entry.failures
            }
            if windows.count >= capacity {
                let expired = windows.filter { now - $0.value.start >= window }.map(\.key)
                for key in expired { windows.removeValue(forKey: key) }
                if windows.count >= capacity, let oldest = windows.min(by: { $0.value.start < $1.value.start })?.key {
                    windows.removeValue(forKey: oldest)
                }
            }
            windows[address] = Window(start: now, failures: 1)
            return 1
        }
    }

    /// A successful `AUTH` clears the address's failures.
    public func recordSuccess(_ address: String) {
        _ = windows.withLockedValue { $0.removeValue(forKey: address) }
    }
}
