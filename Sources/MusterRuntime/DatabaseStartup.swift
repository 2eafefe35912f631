import Logging
import MusterPQ
import MusterStore

/// What musterd does with the database before it serves: wait until it answers, then apply (or at least check)
/// the migrations.
public enum DatabaseStartup {
    /// Waits for the database (retrying with backoff while it is unreachable), then applies pending migrations, or
    /// with `applyMigrations` false only checks that no applied file has changed.
    public static func prepare(
        pool: PGPool, migrationsDirectory: String?, applyMigrations: Bool, logger: Logger,
        maxWait: Duration = .seconds(120), onRetry: @Sendable (String) -> Void = { _ in }
    ) async throws {
        let migrator = try Migrator(directory: Migrator.locateDirectory(explicit: migrationsDirectory))
        try await waitForDatabase(pool: pool, logger: logger, maxWait: maxWait, onRetry: onRetry)
        if applyMigrations {
            let applied = try await migrator.migrate(pool, logger: logger)
            logger.info("migrations up to date", metadata: ["applied-now": "\(applied.count)", "known": "\(migrator.migrations.count)"])
        } else {
            try await migrator.verify(pool)
            let pending = try await migrator.status(pool).filter { $0.state == .pending }
            if !pending.isEmpty {
                logger.warning("migrations are pending and --skip-migrations is set", metadata: ["pending": "\(pending.count)"])
            }
        }
    }

    /// Retries `SELECT 1` with exponential backoff (0.25 s doubling to 8 s) until it works or `maxWait` passes.
    static func waitForDatabase(
        pool: PGPool, logger: Logger, maxWait: Duration, onRetry: @Sendable (String) -> Void
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + maxWait
        var delay = Duration.milliseconds(250)
        while true {
            do {
                try await pool.query("SELECT 1")
                return
            } catch let error as PGError where error.isUnavailable && clock.now + delay < deadline {
                logger.warning(
                    "database not reachable; retrying",
                    metadata: ["in": "\(delay)", "error": "\(error.message)"])
                onRetry("the database is not reachable")
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(8))
            }
        }
    }
}
