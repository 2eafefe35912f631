import Logging
import MusterPQ
import MusterRuntime

/// Runs `body` with a small pool on the configured database, then closes it and stops the embedded cluster if
/// this command started it.
func withDatabase<T: Sendable>(
    _ options: DatabaseOptions, logger: Logger, _ body: (PGPool) async throws -> T
) async throws -> T {
    let target = try await options.resolve(logger: logger)
    let pool = PGPool(configuration: PGPoolConfiguration(connection: target.connection, maxConnections: 2), logger: logger)
    do {
        let value = try await body(pool)
        await pool.close()
        try await target.release(logger: logger)
        return value
    } catch {
        await pool.close()
        try? await target.release(logger: logger)
        throw error
    }
}
