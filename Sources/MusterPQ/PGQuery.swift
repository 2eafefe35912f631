/// A SQL statement with its parameters bound as `$1, $2, …`, never spliced into the text.
///
/// Write queries with string interpolation; every interpolated value becomes a parameter:
///
/// ```swift
/// let rows = try conn.query("SELECT id FROM api_tokens WHERE token_hash = \(hash) AND revoked_at IS NULL")
/// ```
///
/// Only `\(unescaped:)` puts text into the SQL itself, for fixed identifiers chosen by code, never by input.
public struct PGQuery: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The SQL text with `$n` placeholders.
    public var sql: String
    /// The parameters in text format; nil is SQL NULL.
    public var binds: [String?]

    /// A statement with explicit placeholders and their values, in order.
    public init(_ sql: String, binds: [(any PGEncodable)?] = []) {
        self.sql = sql
        self.binds = binds.map { $0?.pgText }
    }

    public init(stringLiteral value: String) {
        self.sql = value
        self.binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.binds = stringInterpolation.binds
    }

    /// The SQL only; parameters are never printed (they may hold personal data).
    public var description: String { sql }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql: String
        var binds: [String?]

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds = []
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Binds a value as the next parameter.
        public mutating func appendInterpolation(_ value: some PGEncodable) {
            binds.append(value.pgText)
            sql += "$\(binds.count)"
        }

        /// Binds an optional value as the next parameter; nil is SQL NULL.
        public mutating func appendInterpolation(_ value: (some PGEncodable)?) {
            binds.append(value?.pgText)
            sql += "$\(binds.count)"
        }

        /// Inserts SQL text as is. Only for fixed fragments chosen by code, never for input.
        public mutating func appendInterpolation(unescaped fragment: String) {
            sql += fragment
        }
    }
}
