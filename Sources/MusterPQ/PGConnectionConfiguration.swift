import CLibPQ

/// How to reach a PostgreSQL server, and the session settings every connection gets.
///
/// What the caller says wins: the timeouts, application name and keep-alives here are used only where the URL or
/// keywords set none, and their `options` come after musterd's statement timeout (so they may change it) but
/// before the time zone and date formats musterd's code relies on (so they cannot).
public struct PGConnectionConfiguration: Sendable {
    /// libpq connection keywords and values (`host`, `port`, `dbname`, `user`, …). A `dbname` holding a
    /// `postgresql://` URI or a `key=value` string is read into its keywords, and later keywords override them.
    public var parameters: [(key: String, value: String)]
    /// Seconds libpq waits to establish a connection.
    public var connectTimeoutSeconds: Int = 5
    /// Server-side limit for one statement, in milliseconds (0 = none).
    public var statementTimeoutMilliseconds: Int = 30_000
    /// Shown in `pg_stat_activity`.
    public var applicationName: String = "musterd"
    /// Every transaction read-only (`default_transaction_read_only`, set after the caller's options so they cannot
    /// undo it): for connections that must never write, such as the reports' read replica, which may also be given
    /// a primary.
    public var readOnly: Bool = false

    /// A server given by a `postgresql://` URI or a libpq `key=value` connection string, read into its keywords at
    /// once, so a malformed one is refused here, with libpq's reason, rather than at every connection attempt.
    public init(url: String) throws(PGError) {
        self.parameters = try Self.keywords(parsing: url)
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

    /// The full keyword list handed to `PQconnectdbParams` (which is not asked to expand anything): the caller's,
    /// with a connection string in `dbname` read into its keywords; ours for what they leave out; `options` joined.
    func connectKeywords() throws(PGError) -> [(key: String, value: String)] {
        var keywords: [(key: String, value: String)] = []
        var expanded = false
        for (key, value) in parameters {
            // As libpq would: only the first `dbname` may be a connection string.
            if key == "dbname", !expanded, Self.isExpandable(value) {
                keywords += try Self.keywords(parsing: value)
                expanded = true
            } else {
                keywords.append((key, value))
            }
        }
        let given = Set(keywords.map(\.key))
        func add(_ key: String, _ value: String) {
            if !given.contains(key) { keywords.append((key, value)) }
        }
        add("application_name", applicationName)
        add("connect_timeout", String(connectTimeoutSeconds))
        add("client_encoding", "UTF8")
        // A server host that dies silently (power, network) answers nothing, not even a reset. TCP keep-alives
        // find it under an idle connection within about 25 s (10 s idle, then 3 probes 5 s apart), and
        // tcp_user_timeout within 20 s under a statement sent and never acknowledged. Left to Linux's defaults (9
        // probes 75 s apart; about 15 minutes of retransmissions) the pool's connections and the commands on them
        // would hang for 11 to 15 minutes.
        add("keepalives", "1")
        add("keepalives_idle", "10")
        add("keepalives_interval", "5")
        add("keepalives_count", "3")
        add("tcp_user_timeout", "20000")
        var options: [String] = []
        if statementTimeoutMilliseconds > 0 { options.append("-c statement_timeout=\(statementTimeoutMilliseconds)") }
        options += keywords.filter { $0.key == "options" }.map(\.value)
        options.append("-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601")
        if readOnly { options.append("-c default_transaction_read_only=on") }
        keywords.removeAll { $0.key == "options" }
        keywords.append(("options", options.joined(separator: " ")))
        return keywords
    }

    /// The keywords a `postgresql://` URI or `key=value` string sets, in libpq's order (only those it sets).
    static func keywords(parsing connectionString: String) throws(PGError) -> [(key: String, value: String)] {
        var reason: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &reason) else {
            let text = reason.map { String(cString: $0).trimmingTrailingWhitespace() } ?? "libpq could not read it"
            if let reason { PQfreemem(reason) }
            throw PGError(.client, message: "invalid database URL: \(text)")
        }
        defer { PQconninfoFree(options) }
        var keywords: [(key: String, value: String)] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { keywords.append((String(cString: keyword), String(cString: value))) }
            option += 1
        }
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
