import Logging
import MusterCore
import MusterPQ
import MusterProtocol
import MusterStore
import Synchronization

/// Who may run a command.
public enum CommandAccess: Sendable, Equatable {
    /// Anyone, before `AUTH` too.
    case anyone
    /// Any authenticated token of one of these roles.
    case roles(Set<Role>)

    /// Any authenticated token.
    public static let authenticated = CommandAccess.roles(Set(Role.allCases))
}

/// What a command's arguments look like, checked before the command runs.
public struct CommandArguments: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        case none, optional, required
    }

    public var minWords: Int
    public var maxWords: Int
    public var body: Body

    public init(minWords: Int = 0, maxWords: Int = 0, body: Body = .none) {
        self.minWords = minWords
        self.maxWords = maxWords
        self.body = body
    }

    public static let none = CommandArguments()
}

/// What a command returns: its reply, and what it does to the connection.
public struct CommandResult: Sendable {
    public enum SessionChange: Sendable, Equatable {
        case keep
        case authenticate(Identity)
        case signOut
        /// Start (or replace) this connection's event subscription.
        case subscribe(topics: Set<EventTopic>, state: String?)
        /// End this connection's event subscription.
        case unsubscribe
    }

    public var reply: Reply
    public var session: SessionChange
    /// Close the connection once the reply is written.
    public var close: Bool

    public init(_ reply: Reply, session: SessionChange = .keep, close: Bool = false) {
        self.reply = reply
        self.session = session
        self.close = close
    }
}

/// How a deferred command answers: once, from any thread, with its result or the error to map to a reply.
///
/// Exactly one answer is delivered. A command that answers again (a bug: its reply would go out after the next
/// request's, out of order) has the later answer dropped, and `repeated` is told, so the connection can log it.
public struct CommandCompletion: Sendable {
    private final class Once: Sendable {
        let answered = Atomic<Bool>(false)
        let deliver: @Sendable (Result<CommandResult, any Error>) -> Void
        let repeated: @Sendable () -> Void

        init(
            deliver: @escaping @Sendable (Result<CommandResult, any Error>) -> Void,
            repeated: @escaping @Sendable () -> Void
        ) {
            self.deliver = deliver
            self.repeated = repeated
        }
    }

    private let once: Once

    /// - Parameters:
    ///   - repeated: told of each answer after the first, which is dropped.
    ///   - deliver: given the first answer.
    public init(
        repeated: @escaping @Sendable () -> Void = {},
        _ deliver: @escaping @Sendable (Result<CommandResult, any Error>) -> Void
    ) {
        once = Once(deliver: deliver, repeated: repeated)
    }

    /// Answers with `result`, if nothing has answered yet.
    public func callAsFunction(_ result: Result<CommandResult, any Error>) {
        if once.answered.exchange(true, ordering: .acquiringAndReleasing) {
            once.repeated()
        } else {
            once.deliver(result)
        }
    }

    /// Answers with what `body` returns or throws, run as a task: the way for a deferred command to await.
    public func complete(with body: @escaping @Sendable () async throws -> CommandResult) {
        Task { self(await Result { try await body() }) }
    }
}

/// The shared services a command may use.
public final class ServerServices: Sendable {
    /// The primary database.
    public let pool: PGPool
    /// Where reports and searches read: the replica when there is one, else `pool`.
    public let reports: ReportDatabase
    public let tokens: TokenStore
    public let volunteers: VolunteerStore
    public let audit: AuditLog
    /// Versioned rule packs, in memory.
    public let orders: OrderBook
    /// Event subscribers on this daemon.
    public let events: EventHub
    /// States waiting for a backfill matching round.
    public let backfill: BackfillQueue
    public let matching: MatchingSettings
    /// Tokens revoked since start, so open connections lose them at their next command.
    public let revocations: RevokedTokens
    /// Failed `AUTH` attempts per client address.
    public let authThrottle: AuthThrottle
    /// Whether the database is ready; commands that need it wait for it with `ERR UNAVAILABLE`.
    public let readiness: DatabaseReadiness
    /// Counters, gauges and latency histograms (Prometheus and `STATS`).
    public let metrics: ServerMetrics
    /// Group commit for `VOLUNTEER.REGISTER`.
    public let registrations: RegistrationBatcher
    /// Registration events, sent after the commit.
    public let announcer: RegistrationAnnouncer
    /// Batched reads of one volunteer by id.
    public let volunteerReader: VolunteerReader
    public let logger: Logger
    /// Today's date; the registry's dates (expiry, availability) are judged against it.
    public let today: @Sendable () -> CalendarDate

    /// - Parameters:
    ///   - replica: a streaming replica of `pool`'s database for reports and searches.
    ///   - replicaMaxLag: the oldest the replica's view may be before reports read the primary.
    public init(
        pool: PGPool, replica: PGPool? = nil, replicaMaxLag: Duration = .seconds(30), tokens: TokenStore = TokenStore(),
        logger: Logger,
        matching: MatchingSettings = MatchingSettings(),
        authThrottle: AuthThrottle = AuthThrottle(), readiness: DatabaseReadiness = DatabaseReadiness(ready: true),
        today: @escaping @Sendable () -> CalendarDate = { CalendarDate.today() }
    ) {
        self.pool = pool
        self.tokens = tokens
        let volunteers = VolunteerStore()
        self.volunteers = volunteers
        self.audit = AuditLog()
        self.orders = OrderBook(logger: logger)
        self.events = EventHub()
        self.backfill = BackfillQueue()
        self.matching = matching
        self.revocations = RevokedTokens()
        self.authThrottle = authThrottle
        self.readiness = readiness
        let metrics = ServerMetrics()
        self.metrics = metrics
        self.reports = ReportDatabase(primary: pool, replica: replica, maxLag: replicaMaxLag, metrics: metrics, logger: logger)
        let announcer = RegistrationAnnouncer(pool: pool, store: volunteers, logger: logger)
        self.announcer = announcer
        self.registrations = RegistrationBatcher(
            pool: pool, store: volunteers, announcer: announcer, batchSizes: { metrics.recordRegistrationBatch(size: $0) })
        self.volunteerReader = VolunteerReader(pool: pool, store: volunteers)
        self.logger = logger
        self.today = today
    }
}

/// What a command sees when it runs.
public struct CommandContext: Sendable {
    /// The authenticated identity, nil before `AUTH`.
    public let identity: Identity?
    public let services: ServerServices
    public let registry: CommandRegistry
    public let logger: Logger
    /// The server's line limit, for `HELLO`.
    public let maxLineLength: Int
    /// The client's IP address (for per-address limits and logs).
    public let peer: String

    /// A context for running a command outside a connection's handler (tests, tools).
    public init(
        identity: Identity?, services: ServerServices, registry: CommandRegistry = MusterServer.standardCommands,
        logger: Logger, maxLineLength: Int = ServerConfiguration().maxLineLength, peer: String = "local"
    ) {
        self.identity = identity
        self.services = services
        self.registry = registry
        self.logger = logger
        self.maxLineLength = maxLineLength
        self.peer = peer
    }
}

/// One protocol command: its name, documentation, access rule, argument shape and implementation.
///
/// A class: the dispatcher passes the command it looked up along each request, and a reference is one retain
/// where a struct of strings and closures is several.
public final class Command: Sendable {
    /// How the command runs: on the connection's event loop (pure, fast, no I/O), as an async task (anything
    /// that touches the database), or started on the event loop and finished from elsewhere.
    public enum Body: Sendable {
        case immediate(@Sendable (Request, CommandContext) throws -> CommandResult)
        case async(@Sendable (Request, CommandContext) async throws -> CommandResult)
        /// Started on the connection's event loop, where it must not block, and answered later through the
        /// completion, from any thread: for a read that hands its work to a batch and so needs no task (the
        /// busiest read, `ELIGIBILITY.CHECK`). It calls the completion once; a later call is dropped.
        case deferred(@Sendable (Request, CommandContext, CommandCompletion) -> Void)
    }

    public let name: String
    /// One-line usage, e.g. `AUTH <token>`.
    public let usage: String
    public let summary: String
    public let access: CommandAccess
    public let arguments: CommandArguments
    public let body: Body

    public init(
        name: String, usage: String, summary: String, access: CommandAccess, arguments: CommandArguments = .none,
        body: Body
    ) {
        self.name = name
        self.usage = usage
        self.summary = summary
        self.access = access
        self.arguments = arguments
        self.body = body
    }

    /// Checks the request's shape against `arguments`; the error repeats the usage.
    func validateShape(_ request: Request) throws {
        let count = request.words.count
        if count < arguments.minWords || count > arguments.maxWords {
            throw CommandError.badRequest("wrong number of arguments; usage: \(usage)")
        }
        switch arguments.body {
        case .none where request.body != nil:
            throw CommandError.badRequest("\(name) takes no JSON object; usage: \(usage)")
        case .required where request.body == nil:
            throw CommandError.badRequest("\(name) needs a JSON object; usage: \(usage)")
        default:
            break
        }
    }

    /// Nil when `identity` may run this command, else the error to reply with.
    func denial(for identity: Identity?) -> CommandError? {
        switch access {
        case .anyone:
            return nil
        case .roles(let roles):
            guard let identity else {
                return CommandError(.unauthenticated, "\(name) needs authentication; send AUTH <token> first")
            }
            if !roles.contains(identity.role) {
                return .forbidden("\(name) is not available to a \(identity.role.rawValue) token")
            }
            return nil
        }
    }
}

/// Every command the server knows, by name.
public struct CommandRegistry: Sendable {
    public private(set) var commands: [String: Command] = [:]

    public init(_ commands: [Command] = []) {
        for command in commands { register(command) }
    }

    /// Adds a command; a second command with the same name is a programming error.
    public mutating func register(_ command: Command) {
        precondition(commands[command.name] == nil, "command \(command.name) registered twice")
        commands[command.name] = command
    }

    public subscript(name: String) -> Command? { commands[name] }

    /// Commands sorted by name.
    public var all: [Command] { commands.values.sorted { $0.name < $1.name } }
}
