import ArgumentParser
import Foundation
import Logging
import MusterCore
import MusterRuntime
import MusterStore

extension MusterCtl {
    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create, list and revoke API tokens (directly in the database).",
            subcommands: [Create.self, List.self, Revoke.self])
    }
}

extension Role: ExpressibleByArgument {}

extension MusterCtl.Token {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token. The token is printed once and never stored; keep it safe.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "admin, state or hospital.")
        var role: Role

        @Option(help: "For a state token: the two-letter state or territory code, e.g. NY.")
        var state: String?

        @Option(help: "For a hospital token: the facility id.")
        var facility: Int64?

        @Option(help: "A label saying who holds the token, e.g. \"NY DOH intake desk\".")
        var name: String

        func validate() throws {
            if let state, Jurisdiction(state) == nil {
                throw ValidationError("--state: \"\(state)\" is not a US state or territory code (e.g. NY, PR)")
            }
        }

        func run() async throws {
            MusterCtl.bootstrapLogging(verbose: output.verbose)
            let logger = Logger(label: "musterctl")
            let (role, name, facility) = (role, name, facility)
            let jurisdiction = state.flatMap { Jurisdiction($0) }
            let issued: IssuedToken
            do {
                issued = try await withDatabase(database, logger: logger) { pool in
                    try await pool.withConnection { connection in
                        try TokenStore().create(
                            connection, name: name, role: role, state: jurisdiction, facilityID: facility)
                    }
                }
            } catch let error as TokenError {
                throw ValidationError(error.message)
            }
            if output.json {
                struct Created: Encodable {
                    let token: String
                    let record: TokenRecord
                }
                try JSONOutput.print(Created(token: issued.secret, record: issued.record))
            } else {
                let scope = issued.record.state.map { " for \($0)" } ?? ""
                print("Created \(issued.record.role.rawValue) token \(issued.record.id) (\"\(issued.record.name)\")\(scope).")
                print("Token (shown only now):")
                print(issued.secret)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Only tokens that are not revoked.")
        var active = false

        func run() async throws {
            MusterCtl.bootstrapLogging(verbose: output.verbose)
            let logger = Logger(label: "musterctl")
            let includeRevoked = !active
            let records = try await withDatabase(database, logger: logger) { pool in
                try await pool.withConnection { connection in
                    try TokenStore().list(connection, includeRevoked: includeRevoked)
                }
            }
            if output.json {
                try JSONOutput.print(records)
                return
            }
            print(
                Table.render(
                    header: ["ID", "ROLE", "SCOPE", "NAME", "PREFIX", "CREATED", "LAST USED", "REVOKED"],
                    rows: records.map { record in
                        [
                            String(record.id), record.role.rawValue,
                            record.state ?? record.facilityID.map { "facility \($0)" } ?? "-",
                            record.name, record.prefix + "…", record.createdAt.shortText,
                            record.lastUsedAt?.shortText ?? "-", record.revokedAt?.shortText ?? "-",
                        ]
                    }), terminator: "")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token by id. Connections using it lose access at their next command.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: "The token id, as `token list` shows it.")
        var id: Int64

        func run() async throws {
            MusterCtl.bootstrapLogging(verbose: output.verbose)
            let logger = Logger(label: "musterctl")
            let id = id
            let record = try await withDatabase(database, logger: logger) { pool in
                try await pool.withConnection { connection in try TokenStore().revoke(connection, id: id) }
            }
            guard let record else {
                throw ValidationError("no token with id \(id)")
            }
            if output.json {
                try JSONOutput.print(record)
            } else {
                print("Revoked token \(record.id) (\"\(record.name)\").")
            }
        }
    }
}
