import Foundation
import Logging
import MusterClient
import MusterCluster
import MusterTestSupport
import NIOCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real `musterd` and `musterctl` programs on the embedded default: a private cluster under --data-dir,
/// created on first run, stopped on shutdown, reused on the next run. As root, the cluster runs as `postgres`.
@Suite(.serialized) struct DaemonProcessTests {
    let logger = Logger(label: "test")

    func scratchDirectory() throws -> String {
        try makeScratchDirectory("e2e")
    }

    func musterctl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let argv = [try RepositoryPaths.executable("musterctl")] + arguments
        return try await blocking { try ChildProcess.run(argv) }
    }

    /// Starts musterd and waits for its "listening on HOST:PORT" line; returns the process and the port.
    func startDaemon(dataDir: String, log: String, extra: [String] = []) async throws -> (ChildProcess, Int) {
        let daemon = try ChildProcess.spawn(
            [
                try RepositoryPaths.executable("musterd"), "--data-dir", dataDir, "--listen", "127.0.0.1:0",
                "--migrations-dir", RepositoryPaths.migrations, "--metrics-listen", "off",
            ] + extra, outputPath: log)
        for _ in 0..<600 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            // Listening comes first; commands that need the database work once it is ready.
            if text.contains("database ready; serving every command"),
                let range = text.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression)
            {
                let port = Int(text[range].split(separator: ":").last!)!
                return (daemon, port)
            }
            var status: Int32 = 0
            if waitpid(daemon.pid, &status, WNOHANG) == daemon.pid {
                throw TestSupportError("musterd exited during start-up:\n\(text)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        daemon.signal(SIGKILL)
        throw TestSupportError("musterd did not start listening within 60 s")
    }

    @Test func embeddedDefaultLifecycle() async throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dataDir = root + "/data"
        let cluster = try EmbeddedCluster(directory: dataDir)

        // musterctl on the embedded default: starts the cluster for the command and stops it after.
        let migrate = try await musterctl(["migrate", "--data-dir", dataDir, "--migrations-dir", RepositoryPaths.migrations])
        #expect(migrate.status == 0, "\(migrate.output)")
        #expect(migrate.output.contains("applied 0001_api_tokens.sql"))
        #expect(!cluster.isRunning())
        let status = try await musterctl(["migrate", "--status", "--json", "--data-dir", dataDir, "--migrations-dir", RepositoryPaths.migrations])
        #expect(status.status == 0, "\(status.output)")
        let statuses = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [[String: Any]]
        #expect(statuses?.first?["state"] as? String == "applied")

        let create = try await musterctl(["token", "create", "--role", "admin", "--name", "e2e", "--json", "--data-dir", dataDir])
        #expect(create.status == 0, "\(create.output)")
        let created = try JSONSerialization.jsonObject(with: Data(create.output.utf8)) as? [String: Any]
        let token = try #require(created?["token"] as? String)

        // First daemon run: serves, and on SIGTERM stops itself and the cluster. Its "replica" for reports and
        // searches is the cluster itself (as a deployment may start before its replica exists): a copy of itself,
        // so it serves, read-only.
        let log = root + "/musterd.log"
        let itself = cluster.connection.parameters.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let (daemon, port) = try await startDaemon(dataDir: dataDir, log: log, extra: ["--replica-url", itself])
        #expect(cluster.isRunning())
        let client = try await MusterClient.connect(host: "127.0.0.1", port: port)
        #expect(try await client.send("PING").payload == "PONG")
        #expect(try await client.send("AUTH \(token)").isOK)
        #expect(try await client.send("WHOAMI").payload?.contains("\"role\":\"admin\"") == true)

        let ping = try await musterctl(["ping", "--address", "127.0.0.1:\(port)"])
        #expect(ping.status == 0)
        #expect(ping.output.hasPrefix("PONG in "))

        // The registry through musterctl, as an operator would use it.
        let registration = #"{"registeringState":"NY","ref":"e2e-1","category":"licensed","profession":"pharmacist","firstName":"Rosa","lastName":"Quispe","email":"rosa@example.org","homeState":"NY","licenses":[{"jurisdiction":"NY","type":"RPH","number":"55501","status":"active"}]}"#
        #expect(try await client.send("VOLUNTEER.REGISTER \(registration)").isOK)
        let address = ["--address", "127.0.0.1:\(port)", "--token", token]
        let list = try await musterctl(["volunteers", "list", "--state", "NY"] + address)
        #expect(list.status == 0, "\(list.output)")
        #expect(list.output.contains("Rosa Quispe"))
        #expect(list.output.hasSuffix("1 volunteer(s)"))
        let funnel = try await musterctl(["funnel", "--state", "NY"] + address)
        #expect(funnel.output.contains("licensed  pharmacist"), "\(funnel.output)")
        let show = try await musterctl(["volunteers", "show", "1"] + address)
        #expect(show.output.contains("awaiting verification of identity"), "\(show.output)")
        let audit = try await musterctl(["audit", "--volunteer", "1"] + address)
        #expect(audit.output.contains("volunteer.register"))
        // The operator's view: who musterd is, who you are, and its figures, with the database it is on.
        let daemonStatus = try await musterctl(["status"] + address)
        #expect(daemonStatus.status == 0, "\(daemonStatus.output)")
        #expect(daemonStatus.output.contains("you are   e2e (admin, token "), "\(daemonStatus.output)")
        #expect(daemonStatus.output.contains("database  ready on \(cluster.directory):\(cluster.port); pool "), "\(daemonStatus.output)")
        #expect(daemonStatus.output.contains("volunteers registered 1"), "\(daemonStatus.output)")
        #expect(
            daemonStatus.output.contains("replica   serving on \(cluster.directory):\(cluster.port); reports read there "),
            "\(daemonStatus.output)")
        // Bulk intake: good rows stored, bad rows reported by line and column, a re-run creates nothing.
        let csv = root + "/intake.csv"
        try """
            ref,category,profession,first_name,last_name,email,home_state,npi,license_jurisdiction,license_type,license_number,license_status,skills
            c1,licensed,registered_nurse,Ana,Uno,a1@example.org,NY,,NY,RN,1001,active,critical_care
            c2,licensed,registered_nurse,Bo,Dos,b2@example.org,NY,1234567890,NY,RN,1002,active,
            c3,licensed,registered_nurse,"Cy, Jr",Tres,c3@example.org,NY,,NY,RN,1003,actve,
            c4,retired,physician,Di,Cuatro,d4@example.org,NY,,NY,MD,1004,lapsed,
            c5,licensed,registered_nurse,Ed,Cinco,e5@example.org,NY,,NY,RN,1001,active,

            """.write(toFile: csv, atomically: true, encoding: .utf8)
        let imported = try await musterctl(["volunteers", "import", csv, "--state", "NY"] + address)
        #expect(imported.status == 1, "\(imported.output)")
        #expect(imported.output.contains("line 3, column npi: check digit mismatch"), "\(imported.output)")
        #expect(imported.output.contains("line 4, column license_status: unknown value \"actve\""))
        #expect(imported.output.contains("line 5, column license_lapsed: required when status is lapsed"))
        #expect(imported.output.contains("line 6, column row: duplicate of volunteer"))
        #expect(imported.output.contains("5 rows: 1 created, 0 already present, 4 failed"), "\(imported.output)")
        let reimported = try await musterctl(["volunteers", "import", csv, "--state", "NY"] + address)
        #expect(reimported.output.contains("5 rows: 0 created, 1 already present, 4 failed"), "\(reimported.output)")

        // Export round-trips through import: the exported CSV re-imports as "already present".
        let exported = root + "/export.csv"
        let export = try await musterctl(["volunteers", "export", "--state", "NY", "--output", exported] + address)
        #expect(export.status == 0, "\(export.output)")
        #expect(export.output.contains("exported 2 volunteer(s)"))
        let roundTrip = try await musterctl(["volunteers", "import", exported, "--state", "NY"] + address)
        #expect(roundTrip.output.contains("2 rows: 0 created, 2 already present, 0 failed"), "\(roundTrip.output)")
        let jsonl = try await musterctl(["volunteers", "export", "--state", "NY", "--format", "jsonl"] + address)
        #expect(jsonl.output.split(separator: "\n").count == 2)
        #expect(jsonl.output.contains("\"email\":\"rosa@example.org\""))

        let refused = try await musterctl(["volunteers", "show", "999"] + address)
        #expect(refused.status != 0)
        #expect(refused.output.contains("ERR NOT_FOUND no volunteer 999"))

        daemon.signal(SIGTERM)
        #expect(await client.readLine() == nil)
        #expect(try await blocking { try daemon.wait() } == 0)
        let firstLog = try String(contentsOfFile: log, encoding: .utf8)
        #expect(firstLog.contains("stopping embedded PostgreSQL"))
        #expect(firstLog.contains("musterd stopped"))
        // By default, a loop per core.
        #expect(firstLog.contains("event-loops=\(System.coreCount) "), "\(firstLog)")
        #expect(!cluster.isRunning())

        // Second run reuses the cluster (no initdb) and the data in it.
        let secondLogPath = root + "/musterd2.log"
        // This time it stores the shipped orders at start, and serves its clients on one event loop.
        let orders = RepositoryPaths.root + "/Deploy/orders"
        let (again, secondPort) = try await startDaemon(
            dataDir: dataDir, log: secondLogPath, extra: ["--load-orders", orders, "--event-loops", "1"])
        let secondClient = try await MusterClient.connect(host: "127.0.0.1", port: secondPort)
        #expect(try await secondClient.send("AUTH \(token)").isOK)
        await secondClient.close()
        let second = ["--address", "127.0.0.1:\(secondPort)", "--token", token]
        let packCount = try FileManager.default.contentsOfDirectory(atPath: orders).filter { $0.hasSuffix(".yaml") }.count
        let listed = try await musterctl(["orders", "list", "--state", "NY"] + second)
        #expect(listed.status == 0, "\(listed.output)")
        #expect(listed.output.contains("NY-EO-202.10"), "\(listed.output)")
        let shown = try await musterctl(["orders", "show", "NY-EO-202.10"] + second)
        #expect(shown.output.contains("§2"), "\(shown.output)")
        #expect(shown.output.contains("requires    US GME ≥ 12 months"))
        // Loading the same files again adds nothing.
        let reload = try await musterctl(["orders", "load", orders + "/NY-EO-202.10.yaml", orders + "/MECH-NLC.yaml"] + second)
        #expect(reload.status == 0, "\(reload.output)")
        #expect(reload.output.components(separatedBy: "unchanged").count == 3, "\(reload.output)")
        let stored = try await musterctl(["orders", "list", "--json"] + second)
        #expect(stored.output.split(separator: "\n").count == packCount)
        // validate names every error by file and line; load refuses to send anything when a file is bad.
        let bad = root + "/bad.yaml"
        try "id: X\nstate: NY\ntitle: t\ninstrument: {type: eo, number: \"1\"}\neffective: {from: 2020-13-01}\nversion: 1\nsources: []\nprovisions: []\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let validated = try await musterctl(["orders", "validate", orders + "/NY-EO-202.5.yaml", bad])
        #expect(validated.status == 1)
        #expect(validated.output.contains("ok  \(orders)/NY-EO-202.5.yaml"), "\(validated.output)")
        #expect(validated.output.contains("bad.yaml:5:"), "\(validated.output)")
        let refusedLoad = try await musterctl(["orders", "load", bad] + second)
        #expect(refusedLoad.status == 1)
        #expect(refusedLoad.output.contains("nothing loaded"))
        // The blockers report and a check, on a date the 2020 orders were in force.
        let blockers = try await musterctl(["eligibility", "blockers", "--state", "NY", "--date", "2020-04-03"] + second)
        #expect(blockers.status == 0, "\(blockers.output)")
        #expect(blockers.output.hasPrefix("NY on 2020-04-03: 2 registered volunteers, 2 eligible"), "\(blockers.output)")
        let check = try await musterctl(["eligibility", "check", "1", "--state", "NY", "--date", "2020-04-03"] + second)
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.hasPrefix("volunteer 1 in NY on 2020-04-03: "), "\(check.output)")
        // A request nobody can fill yet, explained by `musterctl shortage`.
        let admin = try await MusterClient.connect(host: "127.0.0.1", port: secondPort)
        #expect(try await admin.send("AUTH \(token)").isOK)
        let facility = try await admin.send(#"FACILITY.CREATE {"state": "NY", "name": "Bellevue", "kind": "hospital", "lat": 40.74, "lon": -73.97}"#)
        #expect(facility.isOK, "\(facility)")
        let submitted = try await admin.send(
            #"REQUEST.SUBMIT {"facilityId": 1, "profession": "registered_nurse", "maxCredentialLevel": 4, "count": 3, "start": "2099-01-01", "end": "2099-01-31", "priority": 4}"#)
        #expect(submitted.isOK, "\(submitted)")
        await admin.close()
        let shortage = try await musterctl(["shortage", "--state", "NY"] + second)
        #expect(shortage.status == 0, "\(shortage.output)")
        #expect(shortage.output.hasPrefix("request 1 (facility 1, registered_nurse, priority 4): wanted 3, filled 0, short 3\n  of 2 volunteers: "), "\(shortage.output)")
        #expect(shortage.output.contains("1 of 1 open request(s) short by 3 slot(s) in NY"), "\(shortage.output)")
        let rescinded = try await musterctl(["orders", "rescind", "NY-EO-202.5", "--on", "2020-05-01"] + second)
        #expect(rescinded.output.contains("rescinded NY-EO-202.5 from 2020-05-01: version 2"), "\(rescinded.output)")
        again.signal(SIGINT)
        #expect(try await blocking { try again.wait() } == 0)
        let secondLog = try String(contentsOfFile: secondLogPath, encoding: .utf8)
        #expect(!secondLog.contains("initialising"))
        #expect(secondLog.contains("event-loops=1 "), "\(secondLog)")
        #expect(secondLog.contains("rule packs loaded at start"), "\(secondLog)")
        #expect(!cluster.isRunning())
    }

    @Test func badFlagsAreClearErrors() async throws {
        let musterd = try RepositoryPaths.executable("musterd")
        // Each refused before anything starts, with the reason.
        let refused: [(arguments: [String], reason: String)] = [
            (["--listen", "localhost"], "expected HOST:PORT"),
            (["--event-loops", "0"], "--event-loops must be a positive whole number, got 0"),
            (["--replica-max-lag", "0"], "--replica-max-lag must be a positive whole number, got 0"),
            (["--replica-max-lag", "5"], "--replica-max-lag (MUSTER_REPLICA_MAX_LAG) needs --replica-url (MUSTER_REPLICA_URL)"),
            // A malformed database URL stops musterd at once, with libpq's reason, instead of retrying forever.
            (
                ["--database-url", "postgresql://db.internal/muster?sslmode", "--listen", "127.0.0.1:0"],
                "--database-url (MUSTER_DATABASE_URL): invalid database URL: missing key/value separator"
            ),
            (
                ["--replica-url", "host=replica.internal colour=blue", "--listen", "127.0.0.1:0"],
                "--replica-url (MUSTER_REPLICA_URL): invalid database URL:"
            ),
            (["--log-level", "loud"], "log level must be one of"),
            (["--tls-key", "/nonexistent/key.pem"], "--tls-certificate and --tls-key go together"),
            (
                ["--tls-certificate", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"],
                "cannot read the TLS certificate chain /nonexistent/cert.pem"
            ),
        ]
        for (arguments, reason) in refused {
            let run = try ChildProcess.run([musterd] + arguments)
            #expect(run.status != 0, "\(arguments)")
            #expect(run.output.contains(reason), "\(arguments): \(run.output)")
        }
        let badToken = try await musterctl(["token", "create", "--role", "state", "--state", "ZZ", "--name", "x"])
        #expect(badToken.status != 0)
        #expect(badToken.output.contains("\"ZZ\" is not a US state or territory code"))
    }

    @Test func solveMatchesTheKnownOptimumOfEachSample() async throws {
        for name in ["tiny", "small", "mid"] {
            let result = try await musterctl(["solve", "\(RepositoryPaths.matchSamples)/\(name).json"])
            #expect(result.status == 0, "\(result.output.prefix(300))")
            let solution = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
            let reference = try JSONSerialization.jsonObject(
                with: try Data(contentsOf: URL(fileURLWithPath: "\(RepositoryPaths.matchSamples)/\(name).solution.json"))) as? [String: Any]
            #expect(solution?["format"] as? String == "muster-match-solution/1")
            #expect(solution?["weightedFilled"] as? Int == reference?["weightedFilled"] as? Int, "\(name)")
            #expect(solution?["travelKm"] as? Int == reference?["travelKm"] as? Int, "\(name)")
        }
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try #"{"format":"muster-match-instance/1","volunteers":[{"id":"v"}],"requests":[]}"#.write(
            toFile: root + "/bad.json", atomically: true, encoding: .utf8)
        let invalid = try await musterctl(["solve", root + "/bad.json"])
        #expect(invalid.status == 1)
        #expect(invalid.output.contains("volunteers[0]"), "\(invalid.output)")
        let missing = try await musterctl(["solve", root + "/absent.json"])
        #expect(missing.status == 2)
        #expect(missing.output.contains("cannot open"))
    }
}
