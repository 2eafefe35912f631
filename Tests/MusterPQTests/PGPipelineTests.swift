import MusterPQ
import MusterTestSupport
import Testing

/// Pipeline mode: several statements in one round trip, each with its own rows, in order; the first failure is
/// thrown, nothing after it runs (outside a transaction, nothing of it stays), and the connection stays usable.
@Suite struct PGPipelineTests {
    @Test func eachStatementGetsItsOwnRowsInOrder() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let results = try await pool.withTransaction { connection in
            try connection.executeScript("CREATE TABLE t (id int PRIMARY KEY, label text NOT NULL)")
            return try connection.pipeline([
                "INSERT INTO t VALUES (\(1), \("one")), (\(2), \("two"))",
                "SELECT label FROM t WHERE id = ANY(\([1, 2])::int[]) ORDER BY id",
                "SELECT count(*) AS n FROM t WHERE label = \("two")",
                "SET LOCAL plan_cache_mode = force_custom_plan",
            ])
        }
        #expect(results.count == 4)
        #expect(results[0].affectedRows == 2)
        #expect(try results[1].map { try $0.decode("label", as: String.self) } == ["one", "two"])
        #expect(try results[2][0].decode("n", as: Int.self) == 1)
        // The same statements again reuse their prepared forms.
        let again = try await pool.withConnection { connection in
            try connection.pipeline(["SELECT \(5) AS n", "SELECT \(6) AS n"]).map { try $0[0].decode("n", as: Int.self) }
        }
        #expect(again == [5, 6])
    }

    @Test func theFirstFailureIsThrownAndNothingAfterItRuns() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        try await pool.withConnection { connection in
            try connection.executeScript("CREATE TABLE t (id int PRIMARY KEY)")
        }
        let error = await #expect(throws: PGError.self) {
            try await pool.withTransaction { connection in
                try connection.pipeline([
                    "INSERT INTO t VALUES (\(1))",
                    "INSERT INTO t VALUES (\(1))",
                    "INSERT INTO t VALUES (\(3))",
                ])
            }
        }
        #expect(error?.kind == .uniqueViolation)
        // The transaction rolled back as a whole, and the pooled connection still works.
        let count = try await pool.withConnection { connection in
            try connection.query("SELECT count(*) AS n FROM t")[0].decode("n", as: Int.self)
        }
        #expect(count == 0)
        // Outside a transaction the pipeline is one implicit transaction: the statement before the failure is
        // rolled back too.
        await #expect(throws: PGError.self) {
            try await pool.withConnection { connection in
                try connection.pipeline(["INSERT INTO t VALUES (\(7))", "SELECT 'x'::int", "INSERT INTO t VALUES (\(8))"])
            }
        }
        let ids = try await pool.withConnection { connection in
            try connection.query("SELECT id FROM t ORDER BY id").map { try $0.decode("id", as: Int.self) }
        }
        #expect(ids.isEmpty)
    }

    @Test func aNulByteIsRefusedBeforeAnythingIsSent() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let error = await #expect(throws: PGError.self) {
            try await pool.withConnection { connection in
                try connection.pipeline(["SELECT 1", "SELECT \("a\u{0}b")::text"])
            }
        }
        #expect(error?.kind == .client)
        #expect(try await pool.query("SELECT 1 AS n")[0].decode("n", as: Int.self) == 1)
    }

    /// Outside a transaction a pipeline is one implicit transaction, so a `SET LOCAL` in it applies to the
    /// statements after it, and to nothing after the pipeline (the eligibility read and the registration
    /// announcement set their plan mode this way, in the same round trip).
    @Test func aSetLocalInAPipelineLastsForThatPipelineOnly() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let (inside, after) = try await pool.withConnection { connection in
            let results = try connection.pipeline([
                "SET LOCAL plan_cache_mode = force_generic_plan",
                "SET LOCAL synchronous_commit = off",
                "SELECT current_setting('plan_cache_mode') || ' ' || current_setting('synchronous_commit') AS s",
            ])
            let after = try connection.query(
                "SELECT current_setting('plan_cache_mode') || ' ' || current_setting('synchronous_commit') AS s")
            return (try results[2][0].decode("s", as: String.self), try after[0].decode("s", as: String.self))
        }
        #expect(inside == "force_generic_plan off")
        #expect(after == "auto on")
    }
}
