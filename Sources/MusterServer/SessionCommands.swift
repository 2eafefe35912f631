import MusterCore
import MusterProtocol

/// The connection-level commands: `HELLO`, `PING`, `AUTH`, `WHOAMI`, `HELP`, `QUIT`.
enum SessionCommands {
    static var all: [Command] { [hello, ping, auth, whoami, help, quit] }

    struct HelloPayload: Encodable {
        let server: String
        let version: String
        let `protocol`: Int
        let maxLineLength: Int
        /// Whether the database is ready (false while musterd waits for it, migrates or seeds).
        let ready: Bool
    }

    static let hello = Command(
        name: "HELLO", usage: "HELLO",
        summary: "Server name, software version, protocol version, line limit, and whether the database is ready.",
        access: .anyone,
        body: .immediate { _, context in
            CommandResult(
                .ok(
                    JSONText.encode(
                        HelloPayload(
                            server: ServerInfo.name, version: ServerInfo.version, protocol: ServerInfo.protocolVersion,
                            maxLineLength: context.maxLineLength, ready: context.services.readiness.isReady))))
        })

    static let ping = Command(
        name: "PING", usage: "PING", summary: "Answers OK PONG; checks the connection.", access: .anyone,
        body: .immediate { _, _ in CommandResult(.ok("PONG")) })

    static let auth = Command(
        name: "AUTH", usage: "AUTH <token>",
        summary: "Authenticates the connection with an API token; replies with the token's role and scope.",
        access: .anyone, arguments: CommandArguments(minWords: 1, maxWords: 1),
        body: .async { request, context in
            let secret = request.words[0]
            let throttle = context.services.authThrottle
            if let wait = throttle.retryAfter(context.peer) {
                let seconds = max(1, Int(wait.components.seconds) + 1)
                context.logger.warning("AUTH refused: too many failed attempts from this address")
                return CommandResult(
                    .error(.busy, "too many failed AUTH attempts from this address; try again in \(seconds)s"), session: .signOut)
            }
            let tokens = context.services.tokens
            let identity = try await context.services.pool.withConnection { connection in
                try tokens.authenticate(connection, secret: secret)
            }
            guard let identity else {
                let failures = throttle.recordFailure(context.peer)
                // The attempt is logged; the token material never is.
                context.logger.warning("authentication failed", metadata: ["failures-in-window": "\(failures)"])
                return CommandResult(.error(.unauthenticated, "token not accepted"), session: .signOut)
            }
            throttle.recordSuccess(context.peer)
            context.logger.info(
                "authenticated", metadata: ["token-id": "\(identity.tokenID)", "role": "\(identity.role.rawValue)"])
            return CommandResult(.ok(JSONText.encode(IdentityPayload(identity))), session: .authenticate(identity))
        })

    static let whoami = Command(
        name: "WHOAMI", usage: "WHOAMI", summary: "The authenticated token's id, name, role and scope.",
        access: .authenticated,
        body: .immediate { _, context in
            // Access control has already required an identity.
            CommandResult(.ok(JSONText.encode(IdentityPayload(context.identity!))))
        })

    struct HelpEntry: Encodable {
        let command: String
        let usage: String
        let summary: String
        let access: String

        init(_ command: Command) {
            self.command = command.name
            self.usage = command.usage
            self.summary = command.summary
            switch command.access {
            case .anyone: access = "anyone"
            case .roles(let roles): access = roles.map(\.rawValue).sorted().joined(separator: ",")
            }
        }
    }

    struct CountPayload: Encodable {
        let count: Int
    }

    static let help = Command(
        name: "HELP", usage: "HELP [command]",
        summary: "Lists every command (one ROW each), or describes one.",
        access: .anyone, arguments: CommandArguments(minWords: 0, maxWords: 1),
        body: .immediate { request, context in
            if let name = request.words.first {
                guard let command = context.registry[name.uppercased()] else {
                    throw CommandError(.unknownCommand, "no command \(name.prefix(40)); HELP lists them")
                }
                return CommandResult(.ok(JSONText.encode(HelpEntry(command))))
            }
            let rows = context.registry.all.map { JSONText.encode(HelpEntry($0)) }
            return CommandResult(.rows(rows, summary: JSONText.encode(CountPayload(count: rows.count))))
        })

    static let quit = Command(
        name: "QUIT", usage: "QUIT", summary: "Says goodbye and closes the connection.", access: .anyone,
        body: .immediate { _, _ in CommandResult(.ok("bye"), close: true) })
}

/// How an identity appears in replies: never the token itself.
struct IdentityPayload: Encodable {
    let tokenId: Int64
    let name: String
    let role: String
    @ExplicitNull var state: String?
    @ExplicitNull var facilityId: Int64?

    init(_ identity: Identity) {
        tokenId = identity.tokenID
        name = identity.name
        role = identity.role.rawValue
        state = identity.jurisdiction?.code
        facilityId = identity.facilityID
    }
}
