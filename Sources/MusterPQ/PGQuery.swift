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
    /// How PostgreSQL plans the statement: `.automatic` unless `planned(_:)` says otherwise.
    public var planning: PGPlanning = .automatic

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

    /// The same statement, planned as `planning` says.
    public func planned(_ planning: PGPlanning) -> PGQuery {
        var query = self
        query.planning = planning
        return query
    }

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

/// How PostgreSQL plans a statement a `PGConnection` runs. Every statement is prepared once per connection; this
/// decides whether its plan is made again for each execution's values.
///
/// A statement's `planning` (`PGQuery.planned(_:)`) is applied by the connection as a session setting, changed only
/// when the next statement or pipeline wants another mode. Statements that share a round trip with others of other
/// modes set theirs inside it instead, with `localSetting`.
public enum PGPlanning: Sendable, Hashable {
    /// PostgreSQL's own choice (`plan_cache_mode` as configured, normally `auto`): a plan for each execution's
    /// values until it estimates a reusable plan no dearer. Right for any statement whose best plan depends on its
    /// values or on the table's size (optional filters, searches, joins against arrays).
    case automatic
    /// One plan per connection, made at the first execution and reused for any values (`plan_cache_mode =
    /// force_generic_plan`). Only for statements whose plan cannot go wrong as values and tables change: a look-up
    /// by primary key, a statement that reads no table. Such a statement costs PostgreSQL no planning from its
    /// second execution on.
    case generic
    /// A plan for every execution's values, never a reused one (`plan_cache_mode = force_custom_plan`): for
    /// statements whose reused plan, made while a table was small, would go on scanning it as it grows.
    case custom

    /// The session setting that puts a connection in this mode.
    var settingSQL: String {
        switch self {
        case .automatic: "RESET plan_cache_mode"
        case .generic: "SET plan_cache_mode = force_generic_plan"
        case .custom: "SET plan_cache_mode = force_custom_plan"
        }
    }

    /// A statement that puts the statements after it in this mode until the end of the transaction (or of the
    /// pipeline, which outside a transaction is one): `SET LOCAL`, for a mode that only part of a pipeline wants.
    public var localSetting: PGQuery {
        switch self {
        case .automatic: "SET LOCAL plan_cache_mode TO DEFAULT"
        case .generic: "SET LOCAL plan_cache_mode = force_generic_plan"
        case .custom: "SET LOCAL plan_cache_mode = force_custom_plan"
        }
    }
}
