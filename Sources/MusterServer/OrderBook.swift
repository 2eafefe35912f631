import Logging
import MusterEligibility
import MusterPQ
import MusterStore
import NIOConcurrencyHelpers

/// The daemon's compiled rule packs: every stored version, in memory, ready to evaluate.
///
/// Loaded from the database on first use and reloaded whenever a version is added (by this daemon or any other
/// on the same database; `DatabaseWatch` listens for that). Readers take the current catalog without waiting.
public final class OrderBook: Sendable {
    private struct State {
        var catalog: PackCatalog?
        /// Ticket of the reload whose result is installed; an older reload finishing late never replaces a newer one.
        var installedTicket = 0
        var nextTicket = 0
        var failures: [String] = []
        var reloads = 0
    }

    private let state = NIOLockedValueBox(State())
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// The catalog, loading it first if this daemon has not loaded it yet.
    public func catalog(_ pool: PGPool) async throws -> PackCatalog {
        if let loaded { return loaded }
        return try await reload(pool)
    }

    /// The catalog if this daemon has loaded it, without waiting.
    public var loaded: PackCatalog? { state.withLockedValue { $0.catalog } }

    /// Stored versions that no longer compile, from the latest reload (each is left out of the catalog).
    public var failures: [String] { state.withLockedValue { $0.failures } }

    /// How many reloads have completed.
    public var reloads: Int { state.withLockedValue { $0.reloads } }

    /// Reads and compiles every stored version, installs the result, and returns the installed catalog.
    @discardableResult
    public func reload(_ pool: PGPool) async throws -> PackCatalog {
        let ticket = state.withLockedValue { state -> Int in
            state.nextTicket += 1
            return state.nextTicket
        }
        let store = OrderStore()
        let (packs, failures) = try await pool.withConnection { connection in try store.compiledVersions(connection) }
        for failure in failures { logger.error("a stored rule pack no longer compiles; left out", metadata: ["pack": "\(failure)"]) }
        let catalog = PackCatalog(packs)
        return state.withLockedValue { state in
            state.reloads += 1
            if ticket > state.installedTicket {
                state.installedTicket = ticket
                state.catalog = catalog
                state.failures = failures
            }
            return state.catalog!
        }
    }
}
