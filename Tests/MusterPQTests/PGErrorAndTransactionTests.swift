import Synchronization
import MusterPQ
import MusterTestSupport
import Testing

/// SQLSTATEs become typed errors; transactions roll back on error and retry on serialization failures.
@Suite struct PGErrorAndTransactionTests {
    func setUp(_ pool: PGPool) async throws {
        try await pool.withConnection { connection in
            try connection.executeScript(
                """
                CREATE TABLE parent (id int PRIMARY KEY);
                CREATE TABLE child (
                    id int PRIMARY KEY,
                    parent int REFERENCES parent (id),
                    label text NOT NULL,
                    months int CHECK (months >= 0),
                    during int4range,
                    EXCLUDE USING gist (during WITH &&)
                );
                INSERT INTO parent VALUES (1);
                INSERT INTO child VALUES (1, 1, 'a', 0, '[1,5)');
                """)
        }
    }

    @Test(arguments: [
        ("INSERT INTO child (id, parent, label) VALUES (1, 1, 'dup')", PGError.Kind.uniqueViolation, "child_pkey"),
        ("INSERT INTO child (id, parent, label) VALUES (2, 99, 'x')", .foreignKeyViolation, "child_parent_fkey"),
        ("INSERT INTO child (id, parent, label, months) VALUES (3, 1, 'x', -1)", .checkViolation, "child_months_check"),
        ("INSERT INTO child (id, parent, label) VALUES (4, 1, NULL)", .notNullViolation, nil),
        ("INSERT INTO child (id, parent, label, during) VALUES (5, 1, 'x', '[3,9)')", .exclusionViolation, "child_during_excl"),
        ("SELECT 'abc'::int", .invalidData, nil),
        ("SELECT * FROM nowhere", .server, nil),
    ] as [(String, PGError.Kind, String?)])
    func sqlStatesMapToKinds(sql: String, kind: PGError.Kind, constraint: String?) async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        try await setUp(pool)
        let error = await #expect(throws: PGError.self) { try await pool.query(PGQuery(sql)) }
        #expect(error?.kind == kind)
        #expect(error?.sqlState?.count == 5)
        if let constraint { #expect(error?.constraint == constraint) }
        // The short description never carries the server's message (it may quote personal data).
        #expect(error?.description.contains("dup") == false)
    }

    @Test func serializationFailureAndDeadlockAreTransient() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        for (state, kind) in [("40001", PGError.Kind.serializationFailure), ("40P01", .deadlockDetected)] {
            let sql = "DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '" + state + "'; END $$"
            let error = await #expect(throws: PGError.self) { try await pool.query(PGQuery(sql)) }
            #expect(error?.kind == kind, "\(error.map { String(reflecting: $0) } ?? "")")
            #expect(error?.isTransient == true)
        }
    }

    /// A server that answers but cannot do the work now (disk full, out of memory, an I/O error, read-only) is
    /// unavailable, as a server that does not answer is: the client is told to try again, not that musterd failed.
    @Test func aServerOutOfResourcesOrReadOnlyIsUnavailable() async throws {
        let pool = try await TestCluster.makePool(maxConnections: 1)
        defer { Task { try await pool.shutdown() } }
        for state in ["53100", "53200", "53400", "58030"] {
            let sql = "DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '" + state + "'; END $$"
            let error = await #expect(throws: PGError.self) { try await pool.query(PGQuery(sql)) }
            #expect(error?.kind == .serverUnavailable, "\(state): \(error.map { String(reflecting: $0) } ?? "")")
            #expect(error?.isUnavailable == true)
        }
        // A real read-only session, as on a standby.
        let readOnly = await #expect(throws: PGError.self) {
            try await pool.withConnection { connection in
                try connection.executeScript("SET default_transaction_read_only = on")
                defer { try? connection.executeScript("RESET default_transaction_read_only") }
                try connection.query("CREATE TABLE written (id int)")
            }
        }
        #expect(readOnly?.sqlState == "25006")
        #expect(readOnly?.kind == .serverUnavailable)
        // The server ending a session (here: it was terminated) is a lost connection, whatever the 57P code.
        #expect(PGError.kind(forSQLState: "57P05") == .connectionLost)
        #expect(PGError.kind(forSQLState: "57P04") == .connectionLost)
    }

    @Test func transactionRollsBackWhenTheBodyThrows() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        try await setUp(pool)
        struct Abort: Error {}
        await #expect(throws: Abort.self) {
            try await pool.withTransaction { connection in
                try connection.query("INSERT INTO parent VALUES (2)")
                throw Abort()
            }
        }
        await #expect(throws: PGError.self) {
            try await pool.withTransaction { connection in
                try connection.query("INSERT INTO parent VALUES (3)")
                try connection.query("INSERT INTO parent VALUES (1)")  // duplicate: aborts the transaction
            }
        }
        let rows = try await pool.query("SELECT count(*) AS n FROM parent")
        #expect(try rows[0].decode("n", as: Int.self) == 1)
        // The connection went back to the pool clean and still works.
        _ = try await pool.withTransaction { connection in try connection.query("INSERT INTO parent VALUES (4)") }
        #expect(try await pool.query("SELECT count(*) AS n FROM parent")[0].decode("n", as: Int.self) == 2)
    }

    @Test func aSwallowedErrorNeverReportsACommit() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        try await setUp(pool)
        await #expect(throws: PGError.self) {
            try await pool.withTransaction { connection in
                try connection.query("INSERT INTO parent VALUES (7)")
                _ = try? connection.query("INSERT INTO parent VALUES (1)")
            }
        }
        #expect(try await pool.query("SELECT count(*) AS n FROM parent WHERE id = 7")[0].decode("n", as: Int.self) == 0)
    }

    @Test func serializationFailuresAreRetriedABoundedNumberOfTimes() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        try await pool.query("CREATE TABLE log (attempt int)")
        let attempts = Mutex(0)
        let conflict = PGQuery("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
        let final = try await pool.withTransaction(retries: 2) { connection in
            let attempt = attempts.withLock { value -> Int in
                value += 1
                return value
            }
            try connection.query("INSERT INTO log VALUES (\(attempt))")
            if attempt < 3 { try connection.query(conflict) }
            return attempt
        }
        #expect(final == 3)
        // Only the successful attempt's write survived.
        let logged = try await pool.query("SELECT attempt FROM log")
        #expect(try logged.map { try $0.decode("attempt", as: Int.self) } == [3])

        attempts.withLock { $0 = 0 }
        let error = await #expect(throws: PGError.self) {
            try await pool.withTransaction(retries: 1) { connection in
                attempts.withLock { $0 += 1 }
                try connection.query(conflict)
            }
        }
        #expect(error?.kind == .serializationFailure)
        #expect(attempts.withLock { $0 } == 2)
    }
}
