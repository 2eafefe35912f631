import Foundation
import Logging
import MusterClient
import MusterCluster
import MusterCore
import MusterPQ
import MusterStore
import MusterTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What registrations saw while PostgreSQL went away and came back.
final class OutageLog: Sendable {
    let acknowledged = Mutex<[String: Int]>([:])
    let unavailable = Mutex(0)
    let unexpected = Mutex<[String]>([])
    let stop = Mutex(false)
}

/// PostgreSQL unreachable at start, and restarted under load, each against a real cluster the test stops and starts.
@Suite(.serialized) struct DatabaseFaultTests {
    let logger = Logger(label: "test")

    func scratchDirectory() throws -> String {
        try makeScratchDirectory("fault")
    }

    @Test func musterdServesAtOnceAndAnswersUnavailableUntilTheDatabaseComesUp() async throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cluster = try EmbeddedCluster(directory: root + "/pg")
        defer { try? cluster.kill(logger: logger) }
        let url = cluster.connection.parameters.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let log = root + "/musterd.log"
        let daemon = try ChildProcess.spawn(
            [
                try RepositoryPaths.executable("musterd"), "--database-url", url, "--listen", "127.0.0.1:0",
                "--migrations-dir", RepositoryPaths.migrations, "--metrics-listen", "off", "--load-orders", RepositoryPaths.root + "/Deploy/orders",
            ], outputPath: log)
        defer { daemon.signal(SIGKILL) }
        var port = 0
        _ = try await eventually(every: .milliseconds(100)) {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            guard let range = text.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression) else { return false }
            port = Int(text[range].split(separator: ":").last!)!
            return true
        }
        try #require(port > 0, "musterd should listen while the database is down")
        let client = try await MusterClient.connect(host: "127.0.0.1", port: port)
        #expect(try await client.send("PING").payload == "PONG")
        #expect(try await client.send("HELLO").payload?.contains(#""ready":false"#) == true)
        let waiting = try await client.send("AUTH mst_anything")
        #expect(waiting.errorCode == "UNAVAILABLE")
        #expect(waiting.errorMessage == "database not ready: the database is not reachable; musterd keeps retrying", "\(waiting)")
        #expect((try String(contentsOfFile: log, encoding: .utf8)).contains("database not reachable; retrying"))

        // The database appears; musterd migrates, stores the rule packs, and serves, without a restart.
        _ = try await blocking { try cluster.start(logger: logger) }
        var reply = try await client.send("AUTH mst_anything")
        let deadline = ContinuousClock.now + .seconds(60)
        while reply.errorCode == "UNAVAILABLE", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            reply = try await client.send("AUTH mst_anything")
        }
        #expect(reply.errorCode == "UNAUTHENTICATED", "\(reply)")
        #expect(try await client.send("HELLO").payload?.contains(#""ready":true"#) == true)
        let pool = PGPool(configuration: PGPoolConfiguration(connection: cluster.connection, maxConnections: 1), logger: logger)
        let token = try await pool.withConnection { connection in
            try TokenStore().create(connection, name: "late", role: .admin, state: nil, facilityID: nil).secret
        }
        #expect(try await client.send("AUTH \(token)").isOK)
        #expect(try await client.send("ORDERS.LIST NY").isOK)
        #expect(try await client.send("VOLUNTEER.FUNNEL").isOK)
        await client.close()
        try await pool.shutdown()
        daemon.signal(SIGTERM)
        #expect(try await blocking { try daemon.wait() } == 0)
        // Token material never reaches the log: neither the good token nor the guesses.
        let written = try String(contentsOfFile: log, encoding: .utf8)
        #expect(written.contains("authentication failed"))
        #expect(!written.contains(token) && !written.contains(String(token.dropFirst(4).prefix(20))))
        #expect(!written.contains("mst_anything"))
    }

    @Test func aDatabaseRestartUnderLoadFailsInFlightCommandsAndThePoolRecovers() async throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cluster = try EmbeddedCluster(directory: root + "/pg")
        _ = try await blocking { try cluster.start(logger: logger) }
        defer { try? cluster.kill(logger: logger) }
        try await withTestServer(database: cluster.connection) { server in
            // Restart PostgreSQL under the load: in-flight commands fail, none is acknowledged falsely.
            let progress = try await registerThroughAnOutage(
                on: server, breakDatabase: { [logger] in try await blocking { try cluster.stop(logger: logger) } },
                mendDatabase: { [logger] in _ = try await blocking { try cluster.start(logger: logger) } })
            try await progress.expectEverythingAcknowledgedStored(in: server.pool)
        }
    }

    /// A database that answers but will not write (a standby given as the only host, or a primary set read-only for
    /// maintenance): writes are answered `UNAVAILABLE`, as an outage is, not as an internal error; reads that write
    /// nothing go on.
    @Test func aReadOnlyDatabaseRefusesWritesAsUnavailableAndStillServesReads() async throws {
        try await withTestServer { server in
            let client = try await server.connect(role: .state, state: "NY")
            let registered = try await client.send("VOLUNTEER.REGISTER " + CrashSafetyTests.registration("before"))
            let id = try #require(registered.object?["id"] as? Int, "\(registered)")
            // Read-only for this session and every new one; the other sessions are ended, so the pool opens new ones.
            try await server.pool.withConnection { connection in
                try connection.executeScript("""
                    SET default_transaction_read_only = on;
                    DO $$ BEGIN
                        EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', current_database());
                    END $$;
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid();
                    """)
            }
            let refused = try await client.send("VOLUNTEER.REGISTER " + CrashSafetyTests.registration("during"))
            #expect(refused.errorCode == "UNAVAILABLE", "\(refused)")
            #expect(refused.errorMessage?.hasPrefix("the database is unavailable; nothing was changed") == true)
            // Opening a record is audited, which is a write: refused the same way, never shown unaudited.
            #expect(try await client.send("VOLUNTEER.GET \(id)").errorCode == "UNAVAILABLE")
            let check = try await client.send("ELIGIBILITY.CHECK \(id) NY")
            #expect(check.isOK, "\(check)")
            let funnel = try await client.send("VOLUNTEER.FUNNEL")
            #expect(funnel.isOK, "\(funnel)")
            await client.close()
        }
    }

    /// Four clients register while `breakDatabase` takes the database away and, a second later, `mendDatabase` gives
    /// it back. Checks that commands in between are answered `UNAVAILABLE`, that registrations resume within 15 s,
    /// and that nothing else was answered; returns what each registration was answered.
    func registerThroughAnOutage(
        on server: TestServer, breakDatabase: @Sendable () async throws -> Void,
        mendDatabase: @Sendable () async throws -> Void
    ) async throws -> OutageLog {
        let token = try await server.makeToken(role: .state, state: "NY")
        let progress = OutageLog()
        let port = server.port
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask { try await progress.register(port: port, token: token, worker: worker) }
            }
            _ = try await progress.waitForAcknowledged(100)
            try await breakDatabase()
            try await Task.sleep(for: .seconds(1))
            #expect(progress.unavailable.withLock { $0 } > 0, "commands during the outage are UNAVAILABLE")
            let before = progress.acknowledged.withLock { $0.count }
            try await mendDatabase()
            let recovery = try await progress.waitForAcknowledged(before + 100, within: .seconds(30))
            progress.stop.withLock { $0 = true }
            try await group.waitForAll()
            #expect(progress.acknowledged.withLock { $0.count } >= before + 100, "registrations resume")
            #expect(recovery < .seconds(15), "recovered in \(recovery)")
        }
        #expect(progress.unexpected.withLock { $0 }.isEmpty, "\(progress.unexpected.withLock { $0 }.prefix(5))")
        return progress
    }

    /// The failover `Deploy/BACKUP.md` describes, rehearsed: musterd is given both servers and
    /// `target_session_attrs=read-write`; the primary crashes under load and the synchronous standby is promoted.
    @Test func aPrimaryCrashesAndMusterdCarriesOnWithThePromotedStandbyLosingNothingAcknowledged() async throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (primary, standby) = try await startPrimaryAndStandby(in: root, logger: logger)
        defer {
            try? standby.kill(logger: logger)
            try? primary.kill(logger: logger)
        }
        // Synchronous replication: a commit is acknowledged only once the standby has it, so the failover loses
        // nothing musterd answered OK.
        let primaryPool = PGPool(configuration: PGPoolConfiguration(connection: primary.connection, maxConnections: 1), logger: logger)
        try await primaryPool.withConnection { connection in
            try connection.executeScript("ALTER SYSTEM SET synchronous_standby_names = '*'")
            _ = try connection.query("SELECT pg_reload_conf()")
        }
        let synchronous = try await eventually {
            try await primaryPool.query("SELECT sync_state FROM pg_stat_replication").first?.decode("sync_state", as: String.self) == "sync"
        }
        try #require(synchronous, "the standby should replicate synchronously")
        try await primaryPool.shutdown()

        let eitherServer = PGConnectionConfiguration(parameters: [
            ("host", "\(primary.directory),\(standby.directory)"), ("port", "\(primary.port),\(standby.port)"),
            ("user", primary.user), ("dbname", primary.database), ("target_session_attrs", "read-write"),
        ])
        try await withTestServer(database: eitherServer) { server in
            // A crash: no shutdown checkpoint, connections cut mid-statement and mid-commit. Until the promotion the
            // standby is up but read-only, and musterd must not settle on it.
            let progress = try await registerThroughAnOutage(
                on: server, breakDatabase: { [logger] in try await blocking { try primary.kill(logger: logger) } },
                mendDatabase: { [logger] in try await blocking { try standby.promote(logger: logger) } })
            // Read from the promoted standby itself: every acknowledged registration survived the crash.
            let promotedPool = PGPool(
                configuration: PGPoolConfiguration(connection: standby.connection, maxConnections: 1), logger: logger)
            #expect(try await promotedPool.query("SELECT pg_is_in_recovery() AS standby").first?.decode("standby", as: Bool.self) == false)
            try await progress.expectEverythingAcknowledgedStored(in: promotedPool)
            try await promotedPool.shutdown()

            // An operator sees where musterd now is.
            let admin = try await server.connect(role: .admin)
            let stats = try await admin.send("STATS").object
            #expect((stats?["database"] as? [String: Any])?["server"] as? String == "\(standby.directory):\(standby.port)")
            await admin.close()

            // Events flow again: the LISTEN watch found the new primary by itself. (What was announced while it was
            // reconnecting is not replayed, as documented, so a registration is repeated until one is seen.)
            let watcher = try await server.connect(role: .state, state: "NY")
            #expect(try await watcher.send("EVENTS.SUBSCRIBE volunteers").isOK)
            let registrar = try await server.connect(role: .state, state: "NY")
            var attempt = 0
            let announced = try await eventually(within: .seconds(40), every: .zero) {
                attempt += 1
                let reply = try await registrar.send("VOLUNTEER.REGISTER " + CrashSafetyTests.registration("after-\(attempt)"))
                guard let id = reply.object?["id"] as? Int else { return false }
                return (try? await watcher.waitForEvent(timeout: .seconds(2)) { $0.contains(#""id":\#(id),"#) }) != nil
            }
            #expect(announced, "a registration on the new primary is announced to subscribers")
            await watcher.close()
            await registrar.close()
        }
    }
}

extension OutageLog {
    /// Registers volunteers on one connection until `stop`, checking each one's eligibility once it is registered,
    /// and records the answers: the id of every acknowledged registration, the number answered `UNAVAILABLE`
    /// (retried after a pause), and anything else.
    func register(port: Int, token: String, worker: Int) async throws {
        let client = try await MusterClient.connect(host: "127.0.0.1", port: port)
        // On a loaded machine the first checkout may time out (UNAVAILABLE); that is retried.
        var auth = try await client.send("AUTH \(token)")
        _ = try await eventually(every: .milliseconds(100)) {
            guard auth.errorCode == "UNAVAILABLE" else { return true }
            auth = try await client.send("AUTH \(token)")
            return false
        }
        #expect(auth.isOK, "\(auth)")
        var index = 0
        while !stop.withLock({ $0 }) {
            index += 1
            let ref = "r-\(worker)-\(index)"
            let reply = try await client.send("VOLUNTEER.REGISTER " + CrashSafetyTests.registration(ref))
            if reply.isOK {
                let id = reply.object?["id"] as? Int
                acknowledged.withLock { $0[ref] = id ?? -1 }
                // A read as well, through the batched eligibility path: decided, or UNAVAILABLE, nothing else.
                let check = try await client.send("ELIGIBILITY.CHECK \(id ?? -1) NY")
                if !check.isOK && check.errorCode != "UNAVAILABLE" {
                    unexpected.withLock { $0.append("check of \(ref): \(check)") }
                }
            } else if reply.errorCode == "UNAVAILABLE" {
                unavailable.withLock { $0 += 1 }
                try await Task.sleep(for: .milliseconds(20))
            } else {
                unexpected.withLock { $0.append("\(ref): \(reply)") }
            }
        }
        await client.close()
    }

    /// Waits until `count` registrations are acknowledged in all, or `timeout` passes; returns how long it took.
    func waitForAcknowledged(_ count: Int, within timeout: Duration = .seconds(60)) async throws -> Duration {
        let started = ContinuousClock.now
        while acknowledged.withLock({ $0.count }) < count, ContinuousClock.now - started < timeout {
            try await Task.sleep(for: .milliseconds(10))
        }
        return ContinuousClock.now - started
    }

    /// Checks that every acknowledged registration is stored, once, with the id it was answered with.
    func expectEverythingAcknowledgedStored(in pool: PGPool) async throws {
        let acked = acknowledged.withLock { $0 }
        let rows = try await pool.query("SELECT ref, id FROM volunteers")
        var stored: [String: Int] = [:]
        for row in rows { stored[try row.decode("ref", as: String.self)] = Int(try row.decode("id", as: Int64.self)) }
        #expect(rows.count == stored.count)
        let missing = acked.filter { stored[$0.key] != $0.value }
        #expect(missing.isEmpty, "acknowledged but not stored as answered: \(missing.prefix(5))")
    }
}
