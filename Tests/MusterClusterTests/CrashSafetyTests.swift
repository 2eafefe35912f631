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

/// What the load has sent and what musterd acknowledged, shared by the loading tasks.
final class Progress: Sendable {
    let acknowledged = Mutex<[String: Int]>([:])
    let attempted = Mutex<Set<String>>([])
}

/// The real musterd killed with SIGKILL in the middle of a registration load: nothing it acknowledged is lost or
/// duplicated, and re-sending what was not acknowledged (same `ref`) creates nothing twice.
@Suite(.serialized) struct CrashSafetyTests {
    /// Starts musterd on `database`; returns the process and its port.
    func startDaemon(database: String, log: String) async throws -> (ChildProcess, Int) {
        try? FileManager.default.removeItem(atPath: log)
        let daemon = try ChildProcess.spawn(
            [
                try RepositoryPaths.executable("musterd"), "--database-url", database, "--listen", "127.0.0.1:0",
                "--migrations-dir", RepositoryPaths.migrations, "--metrics-listen", "off",
            ], outputPath: log)
        for _ in 0..<600 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            // Listening comes first; commands that need the database work once it is ready.
            if text.contains("database ready; serving every command"),
                let range = text.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression)
            {
                return (daemon, Int(text[range].split(separator: ":").last!)!)
            }
            var status: Int32 = 0
            if waitpid(daemon.pid, &status, WNOHANG) == daemon.pid { throw TestSupportError("musterd exited:\n\(text)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        daemon.signal(SIGKILL)
        throw TestSupportError("musterd did not start listening")
    }

    static func registration(_ ref: String) -> String {
        #"{"registeringState": "NY", "ref": "\#(ref)", "category": "licensed", "profession": "registered_nurse", "firstName": "Kim", "lastName": "Crash-\#(ref)", "dateOfBirth": "1979-03-01", "email": "\#(ref)@example.org", "homeState": "NJ", "location": {"lat": 40.7, "lon": -74.1}, "licenses": [{"jurisdiction": "NJ", "type": "RN", "number": "RN-\#(ref)", "status": "active", "expires": "2031-05-31"}], "skills": ["critical_care"]}"#
    }

    @Test func sigkillMidLoadLosesAndDuplicatesNothingAcknowledged() async throws {
        let configuration = try await TestCluster.makeDatabase()
        let url = configuration.parameters.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let log = NSTemporaryDirectory() + "muster-crash-\(getpid()).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        var (daemon, port) = try await startDaemon(database: url, log: log)
        let pool = PGPool(configuration: PGPoolConfiguration(connection: configuration, maxConnections: 2), logger: Logger(label: "test"))
        let token = try await pool.withConnection { connection in
            try TokenStore().create(connection, name: "load", role: .admin, state: nil, facilityID: nil).secret
        }

        // Eight connections register as fast as they can; the daemon is killed once a few hundred are acknowledged.
        let progress = Progress()
        let livePort = port
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    // A worker that only gets going once musterd is already dead simply ends.
                    guard let client = try? await MusterClient.connect(host: "127.0.0.1", port: livePort),
                        (try? await client.send("AUTH \(token)"))?.isOK == true
                    else { return }
                    for index in 0..<100_000 {
                        let ref = "k-\(worker)-\(index)"
                        progress.attempted.withLock { _ = $0.insert(ref) }
                        guard let reply = try? await client.send("VOLUNTEER.REGISTER " + Self.registration(ref)) else { return }
                        guard reply.isOK else { return }
                        let id = reply.object?["id"] as? Int
                        progress.acknowledged.withLock { $0[ref] = id ?? -1 }
                    }
                }
            }
            while progress.acknowledged.withLock({ $0.count }) < 300 { try await Task.sleep(for: .milliseconds(5)) }
            daemon.signal(SIGKILL)
            _ = try await blocking { [daemon] in try daemon.wait() }
            try await group.waitForAll()
        }
        let acked = progress.acknowledged.withLock { $0 }
        let sent = progress.attempted.withLock { $0 }
        #expect(acked.count >= 300)
        #expect(sent.count > acked.count, "some registrations were in flight when the daemon died")

        // Every acknowledged registration is there, exactly once, with the id that was returned.
        let stored = try await pool.query("SELECT ref, id FROM volunteers WHERE registering_state = 'NY'")
        var byRef: [String: [Int64]] = [:]
        for row in stored { byRef[try row.decode("ref", as: String.self), default: []].append(try row.decode("id", as: Int64.self)) }
        #expect(byRef.values.allSatisfy { $0.count == 1 })
        let lost = acked.filter { byRef[$0.key] != [Int64($0.value)] }
        #expect(lost.isEmpty, "acknowledged but missing or changed: \(lost.keys.sorted().prefix(10))")

        // Restart, and re-send everything that was sent: no duplicates, and the acknowledged keep their ids.
        (daemon, port) = try await startDaemon(database: url, log: log)
        let client = try await MusterClient.connect(host: "127.0.0.1", port: port)
        #expect(try await client.send("AUTH \(token)").isOK)
        var created = 0
        for ref in sent.sorted() {
            let reply = try await client.send("VOLUNTEER.REGISTER " + Self.registration(ref))
            #expect(reply.isOK, "\(ref): \(reply)")
            let object = reply.object
            if object?["created"] as? Bool == true { created += 1 }
            if let id = acked[ref] { #expect(object?["id"] as? Int == id, "\(ref)") }
        }
        #expect(created == sent.count - stored.count)
        let total = try await pool.query("SELECT count(*) AS n, count(DISTINCT ref) AS refs FROM volunteers")[0]
        #expect(try total.decode("n", as: Int.self) == sent.count)
        #expect(try total.decode("refs", as: Int.self) == sent.count)
        await client.close()
        daemon.signal(SIGTERM)
        let survivor = daemon
        let exitStatus = try await blocking { try survivor.wait() }
        #expect(exitStatus == 0)
        try await pool.shutdown()
    }
}
