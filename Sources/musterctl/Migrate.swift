import ArgumentParser
import Logging
import MusterRuntime
import MusterStore

extension MusterCtl {
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply pending database migrations, or list them with --status.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "List every migration and whether it is applied, pending, or changed since it was applied.")
        var status = false

        @Option(help: "Directory of NNNN_description.sql files (env MUSTER_MIGRATIONS_DIR; default: found beside the program).")
        var migrationsDir: String?

        func run() async throws {
            MusterCtl.bootstrapLogging(verbose: output.verbose)
            let logger = Logger(label: "musterctl")
            let migrator = try Migrator(directory: Migrator.locateDirectory(explicit: migrationsDir))
            if status {
                let statuses = try await withDatabase(database, logger: logger) { pool in try await migrator.status(pool) }
                if output.json {
                    try JSONOutput.print(statuses)
                } else {
                    print(
                        Table.render(
                            header: ["VERSION", "NAME", "STATE", "APPLIED AT"],
                            rows: statuses.map { status in
                                [
                                    String(format: "%04d", status.version), status.name, status.state.rawValue,
                                    status.appliedAt?.shortText ?? "-",
                                ]
                            }), terminator: "")
                }
                if statuses.contains(where: { $0.state == .changed }) { throw ExitCode(2) }
                return
            }
            let applied = try await withDatabase(database, logger: logger) { pool in
                try await migrator.migrate(pool, logger: logger)
            }
            if output.json {
                try JSONOutput.print(applied.map(\.fileName))
            } else if applied.isEmpty {
                print("Nothing to apply: all \(migrator.migrations.count) migrations are applied.")
            } else {
                for migration in applied { print("applied \(migration.fileName)") }
            }
        }
    }
}
