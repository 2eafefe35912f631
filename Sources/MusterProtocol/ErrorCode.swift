/// The machine-readable first word after `ERR`. A small fixed set; clients branch on these, people read the
/// message that follows.
public enum ErrorCode: String, Sendable, CaseIterable, Equatable {
    /// The request is malformed: bad syntax, invalid UTF-8, a missing or invalid argument.
    case badRequest = "BAD_REQUEST"
    /// No such command.
    case unknownCommand = "UNKNOWN_COMMAND"
    /// The command needs `AUTH` first, or the token was not accepted.
    case unauthenticated = "UNAUTHENTICATED"
    /// The token's role or scope does not allow this.
    case forbidden = "FORBIDDEN"
    /// The thing asked for does not exist (or is not visible to this token).
    case notFound = "NOT_FOUND"
    /// The request conflicts with stored data (a duplicate, a changed idempotent request, a booking overlap).
    case conflict = "CONFLICT"
    /// The line exceeded the maximum line length; it was discarded.
    case tooLong = "TOO_LONG"
    /// The server is at a limit (connections, requests in flight); try again later.
    case busy = "BUSY"
    /// The database cannot be reached, or the server is shutting down; try again later.
    case unavailable = "UNAVAILABLE"
    /// The connection was idle for too long and is being closed.
    case timeout = "TIMEOUT"
    /// An unexpected server fault; the message carries an id to find it in the server log.
    case internalError = "INTERNAL"

    /// True when the same request may succeed if sent again later.
    public var isTransient: Bool {
        switch self {
        case .busy, .unavailable, .timeout: return true
        default: return false
        }
    }
}
