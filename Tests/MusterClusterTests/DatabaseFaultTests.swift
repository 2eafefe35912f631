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
        var template = Array("/tmp/muster-fault-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw TestSupportError("mkdtemp failed")
        }
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        _ = chmod(path, 0o755)  // the postgres user must reach the cluster inside it
        return path
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
            let token = try await server.makeToken(role: .state, state: "NY")
            let progress = OutageLog()
            let port = server.port
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
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
                        while !progress.stop.withLock({ $0 }) {
                            index += 1
                            let ref = "r-\(worker)-\(index)"
                            let reply = try await client.send("VOLUNTEER.REGISTER " + CrashSafetyTests.registration(ref))
                            if reply.isOK {
                                let id = (try? JSONSerialization.jsonObject(with: Data((reply.payload ?? "").utf8)) as? [String: Any])?["id"] as? Int
                                progress.acknowledged.withLock { $0[ref] = id ?? -1 }
                            } else if reply.errorCode == "UNAVAILABLE" {
                                progress.unavailable.withLock { $0 += 1 }
                                try await Task.sleep(for: .milliseconds(20))
                            } else {
                                progress.unexpected.withLock { $0.append("\(ref): \(reply)") }
                            }
                        }
                        await client.close()
                    }
                }
                while progress.acknowledged.withLock({ $0.count }) < 100 { try await Task.sleep(for: .milliseconds(10)) }
                // Restart PostgreSQL under the load: in-flight commands fail, none is acknowledged falsely.
                try await blocking { try cluster.stop(logger: logger) }
                try await Task.sleep(for: .seconds(1))
                #expect(progress.unavailable.withLock { $0 } > 0, "commands during the outage are UNAVAILABLE")
                _ = try await blocking { try cluster.start(logger: logger) }
                let restarted = ContinuousClock.now
                let before = progress.acknowledged.withLock { $0.count }
                while progress.acknowledged.withLock({ $0.count }) < before + 100, ContinuousClock.now - restarted < .seconds(30) {
                    try await Task.sleep(for: .milliseconds(10))
                }
                let recovery = ContinuousClock.now - restarted
                progress.stop.withLock { $0 = true }
                try await group.waitForAll()
                #expect(progress.acknowledged.withLock { $0.count } >= before + 100, "registrations resume after the restart")
                #expect(recovery < .seconds(15), "recovered in \(recovery)")
            }
            #expect(progress.unexpected.withLock { $0 }.isEmpty, "\(progress.unexpected.withLock { $0 }.prefix(5))")
            // Everything acknowledged is stored once, with its id.
            let acked = progress.acknowledged.withLock { $0 }
            let rows = try await server.pool.query("SELECT ref, id FROM volunteers")
            var stored: [String: Int] = [:]
            for row in rows { stored[try row.decode("ref", as: String.self)] = Int(try row.decode("id", as: Int64.self)) }
            #expect(rows.count == stored.count)
            #expect(acked.allSatisfy { stored[$0.key] == $0.value })
        }
    }
}
