import Logging
@testable import MusterPQ
import MusterTestSupport
import NIOCore
import Synchronization
import Testing

/// The pool: bounded, waits with a timeout, replaces broken connections.
@Suite struct PGPoolTests {
    @Test func neverOpensMoreThanItsLimit() async throws {
        let pool = try await TestCluster.makePool(maxConnections: 2)
        defer { Task { try await pool.shutdown() } }
        let pids = try await withThrowingTaskGroup(of: Int32.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await pool.withConnection { connection in
                        try connection.query("SELECT pg_sleep(0.05)")
                        return connection.backendPID
                    }
                }
            }
            return try await group.reduce(into: Set<Int32>()) { $0.insert($1) }
        }
        #expect(pids.count <= 2)
        #expect(pids.count >= 1)
        let statistics = pool.statistics
        #expect(statistics.open <= 2)
        #expect(statistics.waiting == 0)
        #expect(statistics.inUse == 0)
    }

    @Test func checkoutWaitsThenTimesOut() async throws {
        let base = try await TestCluster.makeDatabase()
        let pool = PGPool(
            configuration: PGPoolConfiguration(connection: base, maxConnections: 1, checkoutTimeout: .milliseconds(200)),
            logger: Logger(label: "test"))
        defer { Task { try await pool.shutdown() } }
        let holding = Task { try await pool.withConnection { connection in try connection.query("SELECT pg_sleep(1.5)") } }
        // Wait until the holder really has the only connection.
        _ = try await eventually(every: .milliseconds(10)) { pool.statistics.inUse > 0 }
        #expect(pool.statistics.inUse == 1)
        let error = await #expect(throws: PGError.self) { try await pool.query("SELECT 1") }
        #expect(error?.kind == .poolTimeout)
        #expect(error?.isUnavailable == true)
        _ = try await holding.value
        // Once the holder is done, a lease gets the connection.
        #expect(try await pool.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
    }

    @Test func aWaitingLeaseGetsTheReleasedConnection() async throws {
        let base = try await TestCluster.makeDatabase()
        let pool = PGPool(
            configuration: PGPoolConfiguration(connection: base, maxConnections: 1, checkoutTimeout: .seconds(60)),
            logger: Logger(label: "test"))
        defer { Task { try await pool.shutdown() } }
        async let first: Int32 = pool.withConnection { connection in
            try connection.query("SELECT pg_sleep(0.3)")
            return connection.backendPID
        }
        try await Task.sleep(for: .milliseconds(50))
        let second = try await pool.withConnection { connection in connection.backendPID }
        #expect(try await first == second)
    }

    /// A lease that finds the pool full and a release that finds no one waiting must not pass each other: the
    /// lease would queue behind a connection that sits idle until its checkout timeout. Checked by the invariant a
    /// snapshot can see: never an idle connection while a lease waits. (Three leasers on two connections: enough
    /// that leases wait, few enough that a release often finds the queue empty. Before the fix this failed about
    /// one run in three.)
    @Test func aConnectionIsNeverIdleWhileALeaseWaits() async throws {
        let pool = try await TestCluster.makePool(maxConnections: 2)
        defer { Task { try await pool.shutdown() } }
        let done = Mutex(false)
        let violations = Mutex<(count: Int, first: PGPool.Statistics?)>((0, nil))
        // Watched from a thread of its own, so the watching takes no cooperative thread from the leases.
        let monitor = Task {
            try await blocking {
                while !done.withLock({ $0 }) {
                    let snapshot = pool.statistics
                    if snapshot.idle > 0, snapshot.waiting > 0 {
                        violations.withLock { $0 = ($0.count + 1, $0.first ?? snapshot) }
                    }
                }
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    for _ in 0..<3000 { _ = try await pool.withConnection { connection in connection.backendPID } }
                }
            }
            try await group.waitForAll()
        }
        done.withLock { $0 = true }
        try await monitor.value
        let seen = violations.withLock { $0 }
        #expect(seen.count == 0, "idle while a lease waited \(seen.count) times, first: \(String(describing: seen.first))")
        #expect(pool.statistics.waiting == 0)
    }

    @Test func aBrokenConnectionIsDiscardedAndReplaced() async throws {
        let pool = try await TestCluster.makePool(maxConnections: 1)
        defer { Task { try await pool.shutdown() } }
        let victim = try await pool.withConnection { connection in connection.backendPID }
        // Kill the pooled connection's server process from outside the pool.
        let killer = try PGConnection.connect(try TestCluster.cluster().connection, logger: Logger(label: "test"))
        defer { killer.close() }
        try killer.query("SELECT pg_terminate_backend(\(victim))")
        try await Task.sleep(for: .milliseconds(100))
        // The pool sees the server's goodbye before lending the connection, and lends a new one instead: the
        // statement runs. (A connection that breaks while in use: PGServerCrashTests.)
        let (replacement, one) = try await pool.withConnection { connection in
            (connection.backendPID, try connection.query("SELECT 1 AS n")[0].decode("n", as: Int.self))
        }
        #expect(one == 1)
        #expect(replacement != victim)
        #expect(pool.statistics.open == 1)
    }

    @Test func anUnreachableServerIsConnectionFailed() async throws {
        var configuration = PGConnectionConfiguration(parameters: [("host", "/nonexistent-muster-socket-dir"), ("dbname", "x")])
        configuration.connectTimeoutSeconds = 1
        let pool = PGPool(configuration: PGPoolConfiguration(connection: configuration, maxConnections: 1), logger: Logger(label: "test"))
        defer { Task { try await pool.shutdown() } }
        let error = await #expect(throws: PGError.self) { try await pool.query("SELECT 1") }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.isUnavailable == true)
        // The failed attempt gave its slot back.
        #expect(pool.statistics.open == 0)
    }

    @Test func aClosedPoolRefusesLeases() async throws {
        let pool = try await TestCluster.makePool(maxConnections: 1)
        try await pool.query("SELECT 1")
        try await pool.shutdown()
        let error = await #expect(throws: PGError.self) { try await pool.query("SELECT 1") }
        #expect(error?.kind == .poolClosed)
    }

    /// The callback lease, as an event loop uses it: a free connection or an open slot is used without a task,
    /// on a pool thread; a full pool makes it wait like any lease; a failed connect gives its slot back; a closed
    /// pool refuses it.
    @Test func aCallbackLeaseRunsOnAPoolThreadWaitsWhenFullAndFailsCleanly() async throws {
        func lease<T: Sendable>(_ pool: PGPool, _ body: @escaping @Sendable (PGConnection) throws -> T) async -> Result<T, any Error> {
            await withCheckedContinuation { continuation in
                pool.withConnection(body) { continuation.resume(returning: $0) }
            }
        }
        let pool = try await TestCluster.makePool(maxConnections: 1)
        // An open slot: the connection is opened on the pool thread, used, and kept.
        let first = try await lease(pool) { connection in try connection.query("SELECT 41 + 1 AS n")[0].decode("n", as: Int.self) }.get()
        #expect(first == 42)
        #expect(pool.statistics.open == 1 && pool.statistics.idle == 1)
        // An idle connection: the same one again.
        let pids = try await [lease(pool) { $0.backendPID }.get(), lease(pool) { $0.backendPID }.get()]
        #expect(pids[0] == pids[1])
        // A statement error reaches the completion, and the connection stays usable.
        let failed = await lease(pool) { connection in try connection.query("SELECT 1/0") }
        #expect(throws: PGError.self) { try failed.get() }
        // A full pool: the callback lease waits for the holder's release.
        let holding = Task { try await pool.withConnection { connection in try connection.query("SELECT pg_sleep(0.3)") } }
        _ = try await eventually(every: .milliseconds(10)) { pool.statistics.inUse > 0 }
        let waited = try await lease(pool) { $0.backendPID }.get()
        _ = try await holding.value
        #expect(waited == pids[0])
        #expect(pool.statistics.waiting == 0 && pool.statistics.inUse == 0)
        try await pool.shutdown()
        let refused = await lease(pool) { $0.backendPID }
        #expect((try? refused.get()) == nil)
        #expect((refused.failure as? PGError)?.kind == .poolClosed)

        var unreachable = PGConnectionConfiguration(parameters: [("host", "/nonexistent-muster-socket-dir"), ("dbname", "x")])
        unreachable.connectTimeoutSeconds = 1
        let nowhere = PGPool(configuration: PGPoolConfiguration(connection: unreachable, maxConnections: 1), logger: Logger(label: "test"))
        defer { Task { try await nowhere.shutdown() } }
        let unconnected = await lease(nowhere) { $0.backendPID }
        #expect((unconnected.failure as? PGError)?.kind == .connectionFailed)
        #expect(nowhere.statistics.open == 0)
    }

    @Test func statementTimeoutCancelsLongQueries() async throws {
        var configuration = try await TestCluster.makeDatabase()
        configuration.statementTimeoutMilliseconds = 100
        let pool = PGPool(configuration: PGPoolConfiguration(connection: configuration), logger: Logger(label: "test"))
        defer { Task { try await pool.shutdown() } }
        let error = await #expect(throws: PGError.self) { try await pool.query("SELECT pg_sleep(2)") }
        #expect(error?.kind == .queryCanceled)
    }

    @Test func connectionStringsAreRedactedForLogs() throws {
        #expect(try PGConnectionConfiguration(url: "postgresql://muster:s3cret@db.internal:5432/muster").redacted
            == "user=muster password=*** dbname=muster host=db.internal port=5432")
        #expect(try PGConnectionConfiguration(url: "host=db.internal password='s3 cret' dbname=muster").redacted
            == "password=*** dbname=muster host=db.internal")
        #expect(PGConnectionConfiguration(parameters: [("user", "u"), ("password", "p")]).redacted == "user=u password=***")
        // A connection string handed over as a `dbname` keyword (not read at once) is masked too.
        #expect(PGConnectionConfiguration(parameters: [("dbname", "postgresql://muster:s3cret@db.internal/muster")]).redacted
            == "dbname=postgresql://muster:***@db.internal/muster")
    }

    /// A connection string's own settings are used: musterd's defaults fill only what it leaves out, and its
    /// `options` may change the statement timeout but not the time zone or date formats musterd relies on.
    @Test func aConnectionStringsSettingsWinOverMusterdsDefaults() async throws {
        let base = try await TestCluster.makeDatabase()
        let keywords = base.parameters.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let given = try PGConnectionConfiguration(
            url: keywords + " application_name=muster-east connect_timeout=3 options='-c statement_timeout=1234 -c TimeZone=Asia/Tokyo -c search_path=public'")
        // What is not observable from the server: libpq's own TCP settings.
        let sent = Dictionary(try given.connectKeywords().map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        #expect(sent["connect_timeout"] == "3")
        #expect(sent["keepalives_idle"] == "10" && sent["keepalives_interval"] == "5" && sent["keepalives_count"] == "3")
        #expect(sent["tcp_user_timeout"] == "20000")
        let patient = try PGConnectionConfiguration(url: "postgresql://db.internal/muster?keepalives_idle=60&tcp_user_timeout=0")
        let patientSent = Dictionary(try patient.connectKeywords().map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        #expect(patientSent["keepalives_idle"] == "60" && patientSent["tcp_user_timeout"] == "0")
        #expect(patientSent["keepalives_count"] == "3")
        let settings = try await blocking {
            let connection = try PGConnection.connect(given, logger: Logger(label: "test"))
            defer { connection.close() }
            return try connection.query(
                "SELECT current_setting('application_name') AS a, current_setting('statement_timeout') AS s, current_setting('TimeZone') AS z, current_setting('search_path') AS p"
            ).first.map { row in
                [try row.decode("a", as: String.self), try row.decode("s", as: String.self), try row.decode("z", as: String.self), try row.decode("p", as: String.self)]
            }
        }
        #expect(settings == ["muster-east", "1234ms", "UTC", "public"])
    }

    /// A read-only configuration cannot write, even when the connection string's own options ask for writes.
    @Test func aReadOnlyConnectionRefusesWritesWhateverItsOptionsSay() async throws {
        let base = try await TestCluster.makeDatabase()
        let keywords = base.parameters.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        var readOnly = try PGConnectionConfiguration(url: keywords + " options='-c default_transaction_read_only=off'")
        readOnly.readOnly = true
        let error = try await blocking { [readOnly] () -> PGError? in
            let connection = try PGConnection.connect(readOnly, logger: Logger(label: "test"))
            defer { connection.close() }
            #expect(try connection.query("SELECT 1 AS one").first?.decode("one", as: Int32.self) == 1)
            do {
                try connection.executeScript("CREATE TABLE written (id int)")
                return nil
            } catch let error as PGError {
                return error
            }
        }
        #expect(error?.sqlState == "25006", "\(String(describing: error))")
        #expect(error?.kind == .serverUnavailable)
    }

    @Test func aMalformedURLIsRefusedWithLibpqsReason() {
        let error = #expect(throws: PGError.self) { try PGConnectionConfiguration(url: "postgresql://db.internal:5432/muster?sslmode") }
        #expect(error?.message.hasPrefix("invalid database URL: ") == true, "\(String(describing: error))")
        let unknown = #expect(throws: PGError.self) { try PGConnectionConfiguration(url: "host=db.internal colour=blue") }
        #expect(unknown?.message.contains("colour") == true, "\(String(describing: unknown))")
    }
}
