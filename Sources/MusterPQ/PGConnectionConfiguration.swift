/// How to reach a PostgreSQL server, and the session settings every connection gets.
public struct PGConnectionConfiguration: Sendable {
    /// libpq connection keywords and values (`host`, `port`, `dbname`, `user`, …). A `dbname` holding a
    /// `postgresql://` URI or a `key=value` string is expanded by libpq, and later keywords override it.
    public var parameters: [(key: String, value: String)]
    /// Seconds libpq waits to establish a connection.
    public var connectTimeoutSeconds: Int = 5
    /// Server-side limit for one statement, in milliseconds (0 = none).
    public var statementTimeoutMilliseconds: Int = 30_000
    /// Shown in `pg_stat_activity`.
    public var applicationName: String = "musterd"

    /// A server given by a `postgresql://` URI or a libpq `key=value` connection string.
    public init(url: String) {
        self.parameters = [("dbname", url)]
    }

    /// A server given by libpq keywords.
    public init(parameters: [(key: String, value: String)]) {
        self.parameters = parameters
    }

    /// The same server with another database name.
    public func database(_ name: String) -> PGConnectionConfiguration {
        var copy = self
        copy.parameters.removeAll { $0.key == "dbname" && !PGConnectionConfiguration.isExpandable($0.value) }
        copy.parameters.append((key: "dbname", value: name))
        return copy
    }

    static func isExpandable(_ value: String) -> Bool {
        value.hasPrefix("postgresql://") || value.hasPrefix("postgres://") || value.contains("=")
    }

    /// The full keyword list handed to `PQconnectdbParams`: ours first, then the caller's (which win).
    var connectKeywords: [(key: String, value: String)] {
        var options = "-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601"
        if statementTimeoutMilliseconds > 0 { options += " -c statement_timeout=\(statementTimeoutMilliseconds)" }
        // With expand_dbname, libpq expands only the first `dbname`; put the caller's first so its URI applies,
        // then our defaults for anything it does not say, then nothing overrides the caller's explicit keys.
        var keywords = parameters
        let given = Set(parameters.map(\.key))
        func add(_ key: String, _ value: String) {
            if !given.contains(key) { keywords.append((key, value)) }
        }
        add("application_name", applicationName)
        add("connect_timeout", String(connectTimeoutSeconds))
        add("client_encoding", "UTF8")
        add("keepalives", "1")
        add("keepalives_idle", "30")
        add("options", options)
        return keywords
    }

    /// A description for logs with any password removed.
    public var redacted: String {
        parameters.map { key, value in
            if key == "password" { return "password=***" }
            if key == "dbname", let scheme = value.range(of: "://"), let at = value.lastIndex(of: "@"),
                at > scheme.upperBound
            {
                let userInfo = value[scheme.upperBound..<at]
                if let colon = userInfo.firstIndex(of: ":") {
                    return "\(key)=\(value[..<colon]):***\(value[at...])"
                }
            }
            return "\(key)=\(value)"
        }.joined(separator: " ")
    }
}
