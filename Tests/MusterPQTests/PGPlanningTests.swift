import MusterPQ
import MusterTestSupport
import Testing

/// `PGPlanning`: a connection's planning setting follows the statement it runs, a rollback cannot leave it wrong, and
/// a `.generic` statement is planned once and reused, by its index even after its table has grown.
@Suite struct PGPlanningTests {
    /// The session's `plan_cache_mode`, read by a statement planned as `planning`.
    private static func mode(_ connection: PGConnection, as planning: PGPlanning) throws -> String {
        let read: PGQuery = "SELECT current_setting('plan_cache_mode') AS mode"
        return try connection.query(read.planned(planning))[0].decode("mode")
    }

    @Test func theSessionSettingFollowsEachStatementsPlanning() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let seen = try await pool.withConnection { connection in
            [
                try Self.mode(connection, as: .automatic), try Self.mode(connection, as: .generic),
                try Self.mode(connection, as: .generic), try Self.mode(connection, as: .automatic),
            ]
        }
        #expect(seen == ["auto", "force_generic_plan", "force_generic_plan", "auto"])
    }

    @Test func aPipelineIsGenericOnlyWhenEveryStatementIs() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let setting: PGQuery = "SELECT current_setting('plan_cache_mode') AS mode"
        let one: PGQuery = "SELECT 1 AS n"
        let (all, mixed) = try await pool.withConnection { connection in
            let all = try connection.pipeline([setting.planned(.generic), one.planned(.generic)])
            let mixed = try connection.pipeline([setting.planned(.generic), one])
            return (try all[0][0].decode("mode", as: String.self), try mixed[0][0].decode("mode", as: String.self))
        }
        #expect(all == "force_generic_plan")
        #expect(mixed == "auto")
    }

    /// `.custom` is a session mode like the others; `localSetting` changes the mode for the rest of one pipeline only,
    /// which is how a registration batch plans its look-ups and its insert differently in one round trip.
    @Test func aLocalSettingLastsForItsPipelineOnly() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let setting: PGQuery = "SELECT current_setting('plan_cache_mode') AS mode"
        let seen = try await pool.withConnection { connection in
            let piped = try connection.pipeline([
                setting, PGPlanning.custom.localSetting, setting, PGPlanning.generic.localSetting, setting,
                PGPlanning.automatic.localSetting, setting,
            ])
            let modes = try [0, 2, 4, 6].map { try piped[$0][0].decode("mode", as: String.self) }
            return modes + [try Self.mode(connection, as: .automatic), try Self.mode(connection, as: .custom)]
        }
        #expect(seen == ["auto", "force_custom_plan", "force_generic_plan", "auto", "auto", "force_custom_plan"])
    }

    /// A setting made inside a transaction is undone by its rollback; the connection must not go on believing it.
    @Test func aRollbackDoesNotLeaveTheSettingWrong() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        struct Abandon: Error {}
        let after = try await pool.withConnection { connection in
            #expect(throws: Abandon.self) {
                try connection.transaction { connection in
                    #expect(try Self.mode(connection, as: .generic) == "force_generic_plan")
                    throw Abandon()
                }
            }
            return try Self.mode(connection, as: .generic)
        }
        #expect(after == "force_generic_plan")
    }

    /// The eligibility read's shape: a `.generic` primary-key look-up is planned once, its plan reused for other
    /// ids; planned `.automatic`, the same statement is planned again for each execution's array. The plan made on
    /// the empty table still probes the index once the table holds 50,000 rows (no ANALYZE since, which would have
    /// it made again).
    @Test func aGenericPrimaryKeyLookUpIsPlannedOnceAndKeepsItsIndex() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        try await pool.withConnection { connection in
            try connection.executeScript("CREATE TABLE grown (id bigint PRIMARY KEY, label text NOT NULL)")
        }
        let lookup = "SELECT label FROM grown WHERE id = ANY($1::bigint[])"
        let (genericCounts, plan) = try await pool.withConnection { connection in
            for ids: [Int64] in [[1], [1, 2], [1, 2, 3], [4, 5, 6, 7], [8], [9, 10], [11]] {
                #expect(try connection.query(PGQuery(lookup, binds: [ids]).planned(.generic)).isEmpty)
            }
            try connection.executeScript("INSERT INTO grown SELECT n, 'row ' || n FROM generate_series(1, 50000) AS n")
            let found = try connection.query(PGQuery(lookup, binds: [[Int64(7), 70, 700]]).planned(.generic))
            #expect(found.count == 3)
            return (try Self.planCounts(connection, lookup), try Self.plan(connection, lookup))
        }
        let automaticCounts = try await pool.withConnection { connection in
            for ids: [Int64] in [[1], [1, 2], [1, 2, 3], [4, 5, 6, 7], [8], [9, 10], [11]] {
                #expect(try connection.query(PGQuery(lookup, binds: [ids])).count == ids.count)
            }
            return try Self.planCounts(connection, lookup)
        }
        #expect(genericCounts.generic == 8)
        #expect(genericCounts.custom == 0)
        #expect(automaticCounts.custom >= 5)
        #expect(plan.contains("grown_pkey"))
        #expect(!plan.contains("Seq Scan"))
    }

    /// How often this connection's prepared form of `sql` ran on a reused plan and on one made for its values.
    private static func planCounts(_ connection: PGConnection, _ sql: String) throws -> (generic: Int, custom: Int) {
        let row = try connection.query(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = \(sql)")[0]
        return (try row.decode("generic_plans"), try row.decode("custom_plans"))
    }

    /// The plan this connection's prepared form of `sql` reuses, as EXPLAIN prints it.
    private static func plan(_ connection: PGConnection, _ sql: String) throws -> String {
        let name: String = try connection.query(
            "SELECT name FROM pg_prepared_statements WHERE statement = \(sql)")[0].decode("name")
        // A name the connection chose and a fixed literal, no input; explained with generic plans, as it runs.
        let explain = "EXPLAIN EXECUTE " + name + "('{1,2,3}')"
        return try connection.query(PGQuery(explain).planned(.generic))
            .map { try $0.decode("QUERY PLAN", as: String.self) }.joined(separator: "\n")
    }
}
