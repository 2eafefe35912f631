import Foundation
import Logging
import MusterClient
import MusterCluster
import MusterPQ
import MusterTestSupport
import Testing

/// Reports and searches on a streaming replica (`--replica-url`): a real primary and a standby made from it with
/// `pg_basebackup`, which the test pauses, resumes and kills.
@Suite(.serialized) struct ReplicaReportsTests {
    let logger = Logger(label: "test")

    /// The `registered` counts of a `VOLUNTEER.FUNNEL` reply, summed.
    static func registeredInFunnel(_ reply: Response) -> Int? {
        guard reply.isOK else { return nil }
        return reply.rows.reduce(0) { total, row in
            let object = (try? JSONSerialization.jsonObject(with: Data(row.utf8))) as? [String: Any]
            return total + (object?["registered"] as? Int ?? 0)
        }
    }

    /// The `count` of a listing's summary (`VOLUNTEER.LIST`, `ELIGIBILITY.BLOCKERS`: `volunteers`).
    static func count(_ reply: Response, _ key: String = "count") -> Int? {
        reply.object?[key] as? Int
    }

    /// The `database.replica` object of `STATS`.
    static func replicaStats(_ admin: MusterClient) async throws -> [String: Any]? {
        let stats = try await admin.send("STATS").object
        return (stats?["database"] as? [String: Any])?["replica"] as? [String: Any]
    }

    /// A primary and its standby in a scratch directory, musterd on the primary with the standby as its replica
    /// (reports bounded to `maxLag`), a state client and an admin; `body` gets them with a pool on the standby for
    /// the test's own looks. Everything is stopped and removed after.
    func withReplicatedServer(
        maxLag: Duration,
        _ body: @Sendable (_ server: TestServer, _ standby: EmbeddedCluster, _ standbyPool: PGPool, _ registrar: MusterClient, _ admin: MusterClient)
            async throws -> Void
    ) async throws {
        let root = try makeScratchDirectory("replica")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (primary, standby) = try await startPrimaryAndStandby(in: root, logger: logger)
        defer {
            try? standby.kill(logger: logger)
            try? primary.kill(logger: logger)
        }
        // The test's own look at the standby (musterd's replica pool is its own).
        let standbyPool = PGPool(configuration: PGPoolConfiguration(connection: standby.connection, maxConnections: 1), logger: logger)
        do {
            try await withTestServer(database: primary.connection, replica: standby.connection, replicaMaxLag: maxLag) { server in
                let registrar = try await server.connect(role: .state, state: "NY")
                let admin = try await server.connect(role: .admin)
                try await body(server, standby, standbyPool, registrar, admin)
                await registrar.close()
                await admin.close()
            }
        } catch {
            try? await standbyPool.shutdown()
            throw error
        }
        try await standbyPool.shutdown()
    }

    /// Registers volunteers with these refs through `registrar`, then waits until the standby has replayed `total`.
    static func register(_ refs: [String], through registrar: MusterClient, thenWaitForStandbyToHave total: Int, _ standbyPool: PGPool)
        async throws
    {
        for ref in refs {
            #expect(try await registrar.send("VOLUNTEER.REGISTER " + CrashSafetyTests.registration(ref)).isOK)
        }
        let replayed = try await eventually {
            (try? await standbyPool.query("SELECT count(*)::int AS n FROM volunteers").first?.decode("n", as: Int32.self)) == Int32(total)
        }
        try #require(replayed, "the standby should replay the registrations")
    }

    @Test func reportsAndSearchesReadTheReplicaAndThePrimaryAnswersWhileItCannot() async throws {
        // Replay is paused for a few seconds below; the staleness bound (its own test) is kept out of the way.
        try await withReplicatedServer(maxLag: .seconds(600)) { server, standby, standbyPool, registrar, admin in
            try await Self.register(["rep-1", "rep-2", "rep-3"], through: registrar, thenWaitForStandbyToHave: 3, standbyPool)

            // Replay paused: what the primary acknowledges now, the replica does not have.
            _ = try await standbyPool.query("SELECT pg_wal_replay_pause()")
            let paused = try await eventually {
                try await standbyPool.query("SELECT pg_get_wal_replay_pause_state() AS s").first?.decode("s", as: String.self) == "paused"
            }
            try #require(paused)
            for index in 4...5 {
                #expect(try await registrar.send("VOLUNTEER.REGISTER " + CrashSafetyTests.registration("rep-\(index)")).isOK)
            }

            // Reports and searches are the replica's view: three volunteers.
            #expect(Self.count(try await registrar.send(#"VOLUNTEER.LIST {"limit": 100}"#)) == 3)
            #expect(Self.registeredInFunnel(try await registrar.send("VOLUNTEER.FUNNEL")) == 3)
            #expect(Self.count(try await registrar.send("ELIGIBILITY.BLOCKERS NY"), "volunteers") == 3)
            #expect(try await registrar.send(#"VOLUNTEER.EXPIRING {"withinDays": 3650}"#).isOK)
            // Full records are read on the primary with their audit row: all five.
            #expect(Self.count(try await registrar.send(#"VOLUNTEER.LIST {"limit": 100, "full": true}"#)) == 5)

            var replica = try await Self.replicaStats(admin)
            #expect(replica?["state"] as? String == "serving", "\(String(describing: replica))")
            #expect(replica?["server"] as? String == "\(standby.directory):\(standby.port)")
            #expect((replica?["lagBytes"] as? Int).map { $0 > 0 } == true, "replay is paused: \(String(describing: replica))")
            #expect((replica?["readsFromReplica"] as? Int).map { $0 >= 4 } == true)
            #expect(replica?["readsFromPrimary"] as? Int == 0)
            var samples = try await scrapeMetrics(port: server.metricsPort)
            #expect(samples["muster_replica_serving{}"]?.value == 1, "\(samples.keys.sorted())")
            #expect(samples["muster_replica_lag_bytes{}"].map { $0.value > 0 } == true)
            #expect(samples[#"muster_report_reads_total{database="replica"}"#].map { $0.value >= 4 } == true)

            // Replay resumed: the replica catches up, and so do the reports.
            _ = try await standbyPool.query("SELECT pg_wal_replay_resume()")
            let caughtUp = try await eventually {
                Self.registeredInFunnel(try await registrar.send("VOLUNTEER.FUNNEL")) == 5
            }
            #expect(caughtUp, "the funnel shows all five once the replica has replayed them")
            #expect(Self.count(try await registrar.send(#"VOLUNTEER.LIST {"limit": 100}"#)) == 5)

            // The replica gone: the primary answers, and the operator sees why.
            await standbyPool.close()
            try await blocking { [logger] in try standby.kill(logger: logger) }
            #expect(Self.count(try await registrar.send(#"VOLUNTEER.LIST {"limit": 100}"#)) == 5)
            #expect(Self.registeredInFunnel(try await registrar.send("VOLUNTEER.FUNNEL")) == 5)
            #expect(Self.count(try await registrar.send("ELIGIBILITY.BLOCKERS NY"), "volunteers") == 5)
            replica = try await Self.replicaStats(admin)
            #expect(replica?["state"] as? String == "passed over", "\(String(describing: replica))")
            #expect((replica?["reason"] as? String).map { !$0.isEmpty } == true)
            #expect((replica?["readsFromPrimary"] as? Int).map { $0 >= 3 } == true, "\(String(describing: replica))")
            samples = try await scrapeMetrics(port: server.metricsPort)
            #expect(samples["muster_replica_serving{}"]?.value == 0)
            #expect(samples[#"muster_report_reads_total{database="primary"}"#].map { $0.value >= 3 } == true)
        }
    }

    /// A replica whose replay falls behind (here paused) by more than the bound is passed over, so no report is
    /// older than that; once it has caught up it serves again.
    @Test func aReplicaFallenTooFarBehindIsPassedOverUntilItCatchesUp() async throws {
        try await withReplicatedServer(maxLag: .seconds(1)) { _, _, standbyPool, registrar, admin in
            try await Self.register(["lag-1"], through: registrar, thenWaitForStandbyToHave: 1, standbyPool)
            #expect(Self.count(try await registrar.send(#"VOLUNTEER.LIST {"limit": 100}"#)) == 1)
            let servingFirst = try await eventually(every: .milliseconds(200)) {
                _ = try await registrar.send(#"VOLUNTEER.LIST {"limit": 100}"#)
                return try await Self.replicaStats(admin)?["state"] as? String == "serving"
            }
            #expect(servingFirst)

            _ = try await standbyPool.query("SELECT pg_wal_replay_pause()")
            #expect(try await registrar.send("VOLUNTEER.REGISTER " + CrashSafetyTests.registration("lag-2")).isOK)
            // Within moments the replica is more than a second behind: searches read the primary (two volunteers).
            let bounded = try await eventually {
                Self.count(try await registrar.send(#"VOLUNTEER.LIST {"limit": 100}"#)) == 2
            }
            #expect(bounded, "a search should not be served by a replica more than 1 s behind")
            var replica = try await Self.replicaStats(admin)
            #expect(replica?["state"] as? String == "passed over", "\(String(describing: replica))")
            #expect((replica?["reason"] as? String)?.contains("s behind the primary (reports may be at most 1 s old)") == true,
                "\(String(describing: replica))")

            // Replay resumed: checked again once it has been passed over for its time, it serves again.
            _ = try await standbyPool.query("SELECT pg_wal_replay_resume()")
            let serving = try await eventually(every: .milliseconds(200)) {
                _ = try await registrar.send(#"VOLUNTEER.LIST {"limit": 100}"#)
                return try await Self.replicaStats(admin)?["state"] as? String == "serving"
            }
            replica = try await Self.replicaStats(admin)
            #expect(serving, "\(String(describing: replica))")
            #expect((replica?["readsFromReplica"] as? Int).map { $0 >= 2 } == true)
        }
    }

    /// A "replica" that is another cluster, or another database of the same cluster, would give reports that look
    /// right and are not: it is never used.
    @Test func aReplicaThatIsNotACopyOfThePrimaryIsRefusedAndThePrimaryAnswers() async throws {
        let root = try makeScratchDirectory("replica")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let other = try EmbeddedCluster(directory: root + "/other")
        defer { try? other.kill(logger: logger) }
        _ = try await blocking { [logger] in try other.start(logger: logger) }
        let sameClusterOtherDatabase = try await TestCluster.makeDatabase()
        let cases: [(replica: PGConnectionConfiguration, reason: String)] = [
            (other.connection, "not a replica of the primary: cluster system identifier"),
            (sameClusterOtherDatabase, "database \""),
        ]
        for (replicaConnection, reason) in cases {
            try await withTestServer(replica: replicaConnection) { server in
                let registrar = try await server.connect(role: .state, state: "NY")
                #expect(try await registrar.send("VOLUNTEER.REGISTER " + CrashSafetyTests.registration("only")).isOK)
                #expect(Self.count(try await registrar.send(#"VOLUNTEER.LIST {"limit": 100}"#)) == 1)
                #expect(Self.registeredInFunnel(try await registrar.send("VOLUNTEER.FUNNEL")) == 1)
                let admin = try await server.connect(role: .admin)
                let replica = try await Self.replicaStats(admin)
                #expect(replica?["state"] as? String == "refused", "\(String(describing: replica))")
                #expect((replica?["reason"] as? String)?.hasPrefix(reason) == true, "\(String(describing: replica))")
                #expect((replica?["readsFromPrimary"] as? Int).map { $0 >= 2 } == true)
                #expect(replica?["readsFromReplica"] as? Int == 0)
                await registrar.close()
                await admin.close()
            }
        }
    }

    /// A primary that will not say which cluster it is (`pg_control_system` not granted to musterd's role, as some
    /// managed servers do): the replica cannot be checked, so it is not used, and reports read the primary.
    @Test func aReplicaThatCannotBeCheckedIsRefused() async throws {
        let database = try await TestCluster.makeDatabase()
        let name = try #require(database.parameters.last { $0.key == "dbname" }?.value)
        let role = "r" + name  // from the generated database name: letters, digits and underscores
        // As the cluster's superuser, as an administrator would: a role owning the database, the extension the
        // migrations need, and the control functions kept from PUBLIC.
        let admin = PGPool(configuration: PGPoolConfiguration(connection: database, maxConnections: 1), logger: logger)
        try await admin.withConnection { connection in
            try connection.executeScript(
                """
                CREATE ROLE \(role) LOGIN;
                ALTER DATABASE \(name) OWNER TO \(role);
                CREATE EXTENSION IF NOT EXISTS btree_gist;
                REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC;
                """)
        }
        try await admin.shutdown()
        var restricted = database
        restricted.parameters.removeAll { $0.key == "user" }
        restricted.parameters.append((key: "user", value: role))
        try await withTestServer(database: restricted, replica: restricted) { server in
            let registrar = try await server.connect(role: .state, state: "NY")
            #expect(try await registrar.send("VOLUNTEER.REGISTER " + CrashSafetyTests.registration("unchecked")).isOK)
            #expect(Self.count(try await registrar.send(#"VOLUNTEER.LIST {"limit": 100}"#)) == 1)
            let admin = try await server.connect(role: .admin)
            let replica = try await Self.replicaStats(admin)
            #expect(replica?["state"] as? String == "refused", "\(String(describing: replica))")
            #expect(
                (replica?["reason"] as? String)?.hasPrefix("cannot check it is a copy of the primary: permission denied") == true,
                "\(String(describing: replica))")
            #expect(replica?["readsFromReplica"] as? Int == 0)
            await registrar.close()
            await admin.close()
        }
    }
}
