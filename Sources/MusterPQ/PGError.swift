/// An error from PostgreSQL, from libpq, or from the pool, classified so that callers can act on it.
///
/// `description` is deliberately terse (kind and SQLSTATE only): server messages can quote the data
/// that caused them, which may be personal. `debugDescription` has everything, for server-side logs.
public struct PGError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong, in the terms a caller decides on.
    public enum Kind: String, Sendable, Equatable {
        /// Could not open a connection (server down, refused, authentication failed).
        case connectionFailed
        /// The connection broke while in use; the statement's outcome is unknown unless it was not sent.
        case connectionLost
        /// No pooled connection became free within the checkout timeout.
        case poolTimeout
        /// The pool is shut down.
        case poolClosed
        /// SQLSTATE 23505.
        case uniqueViolation
        /// SQLSTATE 23503.
        case foreignKeyViolation
        /// SQLSTATE 23514.
        case checkViolation
        /// SQLSTATE 23P01 (an exclusion constraint, e.g. overlapping bookings).
        case exclusionViolation
        /// SQLSTATE 23502.
        case notNullViolation
        /// SQLSTATE 40001: retry the whole transaction.
        case serializationFailure
        /// SQLSTATE 40P01: retry the whole transaction.
        case deadlockDetected
        /// SQLSTATE 57014 (statement timeout or cancel).
        case queryCanceled
        /// SQLSTATE class 22: a value the server rejected (bad date, out of range, invalid text).
        case invalidData
        /// The server cannot do it now, though it answers: out of disk, memory or another resource (SQLSTATE class
        /// 53), a system or I/O error (class 58), or it is read-only (25006: a standby, or a primary set read-only).
        case serverUnavailable
        /// Any other server error; see `sqlState`.
        case server
        /// A misuse of the client API, e.g. a NUL byte in a parameter.
        case client
        /// A column could not be decoded into the requested Swift type.
        case decoding
    }

    public var kind: Kind
    /// The five-character SQLSTATE when the server sent one.
    public var sqlState: String?
    /// The primary message (server or client).
    public var message: String
    public var detail: String?
    public var hint: String?
    /// The constraint named by the server, for integrity violations.
    public var constraint: String?

    public init(
        _ kind: Kind, message: String, sqlState: String? = nil, detail: String? = nil, hint: String? = nil,
        constraint: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
    }

    /// True when retrying later (or the whole transaction again) may succeed.
    public var isTransient: Bool {
        switch kind {
        case .connectionFailed, .connectionLost, .poolTimeout, .serializationFailure, .deadlockDetected: return true
        default: return false
        }
    }

    /// True when the database could not be reached or the connection broke: callers answer "unavailable".
    public var isUnavailable: Bool {
        switch kind {
        case .connectionFailed, .connectionLost, .poolTimeout, .poolClosed, .serverUnavailable: return true
        default: return false
        }
    }

    /// Maps a SQLSTATE to a kind.
    public static func kind(forSQLState state: String) -> Kind {
        switch state {
        case "23505": return .uniqueViolation
        case "23503": return .foreignKeyViolation
        case "23514": return .checkViolation
        case "23P01": return .exclusionViolation
        case "23502": return .notNullViolation
        case "40001": return .serializationFailure
        case "40P01": return .deadlockDetected
        case "57014": return .queryCanceled
        // protocol_violation: a client bug (for example a parameter count mismatch); the session goes on.
        case "08P01": return .client
        // read_only_sql_transaction: connected to a standby, or to a primary made read-only.
        case "25006": return .serverUnavailable
        default:
            if state.hasPrefix("08") { return .connectionLost }
            // Operator intervention (admin or crash shutdown, cannot connect now, database dropped, idle session
            // timeout): the server ends the session.
            if state.hasPrefix("57P") { return .connectionLost }
            // Insufficient resources (disk full, out of memory, too many connections) and system errors (I/O).
            if state.hasPrefix("53") || state.hasPrefix("58") { return .serverUnavailable }
            if state.hasPrefix("22") { return .invalidData }
            return .server
        }
    }

    public var description: String {
        if let sqlState { return "PGError(\(kind.rawValue), SQLSTATE \(sqlState))" }
        return "PGError(\(kind.rawValue))"
    }

    public var debugDescription: String {
        var text = "PGError(\(kind.rawValue)"
        if let sqlState { text += ", SQLSTATE \(sqlState)" }
        text += "): \(message)"
        if let constraint { text += " [constraint \(constraint)]" }
        if let detail { text += " DETAIL: \(detail)" }
        if let hint { text += " HINT: \(hint)" }
        return text
    }
}
