import ArgumentParser
import Logging

/// `musterctl`: the Muster admin CLI.
@main
struct MusterCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "musterctl",
        abstract: "Administer Muster: database migrations, API tokens, and the running daemon.",
        discussion: """
            Commands that manage the database itself (migrate, token) connect to PostgreSQL directly, using \
            --database-url / MUSTER_DATABASE_URL or, without one, the embedded cluster under --data-dir (started \
            for the command and stopped after it if musterd is not running). Everything else talks to musterd \
            over its protocol at --address / MUSTER_ADDRESS with --token / MUSTER_TOKEN.
            """,
        version: "0.1.0",
        subcommands: [Migrate.self, Token.self, Ping.self, Status.self, Volunteers.self, Funnel.self, Audit.self, Orders.self, Eligibility.self, Match.self, Shortage.self, Solve.self])

    static func bootstrapLogging(verbose: Bool) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .info : .warning
            return handler
        }
    }
}
