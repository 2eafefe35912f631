/// Why a match instance was rejected: what is wrong and where.
///
/// `path` names the offending value the way a reader would look for it
/// (`volunteers[12].credentialLevel`, `requests[3].eligibleStates.NY[0]`, or `""` for the
/// document itself); `message` says what was expected and what was found. For JSON syntax
/// errors `line` and `column` (1-based, columns counted in bytes) point into the document.
///
/// `description` renders the whole thing on one line, for example
/// `volunteers[12].credentialLevel: expected integer 1...4, got 7 (line 14, column 88)`.
public struct MatchInstanceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The class of problem, for callers that want to react to it programmatically.
    public enum Kind: String, Sendable, Equatable {
        /// The bytes are not well-formed JSON (or not UTF-8).
        case syntax
        /// A required field is absent.
        case missingField
        /// A field holds the wrong JSON type (a string where a number belongs, ...).
        case wrongType
        /// A field has the right type but a value outside what the spec allows.
        case invalidValue
        /// The `format` string is not `muster-match-instance/1`.
        case unsupportedFormat
        /// Two volunteers (or two requests) share an `id`.
        case duplicateID
        /// One JSON object names the same key twice.
        case duplicateKey
    }

    /// The class of problem.
    public let kind: Kind
    /// Where in the document: `volunteers[12].lat`, `requests[0]`, or `""` for the top level.
    public let path: String
    /// What was expected and what was found.
    public let message: String
    /// 1-based line of the offending byte, when known.
    public let line: Int?
    /// 1-based column (in bytes) of the offending byte, when known.
    public let column: Int?

    /// Creates an error; `line`/`column` are optional because instances built in memory have none.
    public init(kind: Kind, path: String, message: String, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.path = path
        self.message = message
        self.line = line
        self.column = column
    }

    /// One line: `path: message (line L, column C)`.
    public var description: String {
        var s = path.isEmpty ? message : "\(path): \(message)"
        if let line, let column { s += " (line \(line), column \(column))" }
        return s
    }
}
