import ArgumentParser
import Foundation
import MusterClient
import MusterRuntime

/// Where the daemon is, and the token to speak with.
struct DaemonOptions: ParsableArguments {
    @Option(help: "musterd address, HOST:PORT (env MUSTER_ADDRESS; default 127.0.0.1:7878).")
    var address: String?

    @Option(help: "API token (env MUSTER_TOKEN). Prefer the environment variable: arguments are visible to other users.")
    var token: String?

    @Flag(help: "Speak TLS to musterd (env MUSTER_TLS=1; implied by --tls-ca).")
    var tls = false

    @Option(help: "TLS: CA bundle (PEM) to trust for musterd's certificate (env MUSTER_TLS_CA; default: the system's).")
    var tlsCa: String?

    @Option(help: "TLS: the name musterd's certificate must carry (env MUSTER_TLS_SERVER_NAME; default: the host).")
    var tlsServerName: String?

    @Option(help: "TLS: a client certificate (PEM) for a musterd that requires one (env MUSTER_TLS_CLIENT_CERTIFICATE).")
    var tlsCertificate: String?

    @Option(help: "TLS: the client certificate's key (PEM) (env MUSTER_TLS_CLIENT_KEY).")
    var tlsKey: String?

    var tlsSettings: ClientTLS? {
        let environment = ProcessInfo.processInfo.environment
        let ca = tlsCa ?? environment["MUSTER_TLS_CA"]
        guard tls || ca != nil || environment["MUSTER_TLS"] == "1" else { return nil }
        return ClientTLS(
            trustRootsPath: ca, serverName: tlsServerName ?? environment["MUSTER_TLS_SERVER_NAME"],
            certificatePath: tlsCertificate ?? environment["MUSTER_TLS_CLIENT_CERTIFICATE"],
            privateKeyPath: tlsKey ?? environment["MUSTER_TLS_CLIENT_KEY"])
    }

    func connect() async throws -> MusterClient {
        let text = address ?? ProcessInfo.processInfo.environment["MUSTER_ADDRESS"] ?? "127.0.0.1:7878"
        let (host, port) = try Environment.parseHostPort(text, what: "address")
        return try await MusterClient.connect(host: host, port: port, tls: tlsSettings)
    }

    var resolvedToken: String? {
        let value = token ?? ProcessInfo.processInfo.environment["MUSTER_TOKEN"]
        return value?.isEmpty == false ? value : nil
    }

    /// Connects and authenticates; a refused token is an error.
    func connectAuthenticated() async throws -> MusterClient {
        let client = try await connect()
        guard let token = resolvedToken else {
            throw ValidationError("this command needs a token: set MUSTER_TOKEN or pass --token")
        }
        let response = try await client.send("AUTH \(token)")
        guard response.isOK else {
            await client.close()
            throw DaemonError(response)
        }
        return client
    }
}

/// An `ERR` reply, shown to the user as it came.
struct DaemonError: Error, CustomStringConvertible {
    let response: Response
    init(_ response: Response) { self.response = response }
    var description: String { "musterd answered: \(response.description)" }
}

extension MusterCtl {
    struct Ping: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check that musterd answers, and how fast.")

        @OptionGroup var daemon: DaemonOptions

        @Option(name: .shortAndLong, help: "How many PINGs to send.")
        var count = 1

        @Flag(help: "Also fail (exit 1) unless musterd's database is ready (HELLO's \"ready\"): for health checks.")
        var ready = false

        func run() async throws {
            let client = try await daemon.connect()
            let clock = ContinuousClock()
            for _ in 0..<max(1, count) {
                let started = clock.now
                let response: Response
                do {
                    response = try await client.send("PING")
                } catch {
                    await client.close()
                    throw error
                }
                let elapsed = clock.now - started
                guard response.payload == "PONG" else {
                    await client.close()
                    throw DaemonError(response)
                }
                let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
                print("PONG in \(String(format: "%.3f", Double(micros) / 1000)) ms")
            }
            if ready {
                let hello = try await client.send("HELLO")
                await client.close()
                guard hello.payload?.contains(#""ready":true"#) == true else {
                    print("musterd answers, but its database is not ready yet")
                    throw ExitCode(1)
                }
                print("database ready")
                return
            }
            await client.close()
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the daemon's identity and, with a token, who you are to it; with an admin token, its figures (STATS).")

        @OptionGroup var daemon: DaemonOptions
        @Flag(help: "Print JSON for scripts.")
        var json = false

        func run() async throws {
            let client = try await daemon.connect()
            let hello = try await client.send("HELLO")
            guard hello.isOK, let helloPayload = hello.payload else { throw DaemonError(hello) }
            var whoami: String?
            var stats: String?
            if let token = daemon.resolvedToken {
                let auth = try await client.send("AUTH \(token)")
                guard auth.isOK else { throw DaemonError(auth) }
                whoami = auth.payload
                // An admin token also sees the operator's figures.
                let answer = try await client.send("STATS")
                if answer.isOK { stats = answer.payload }
            }
            await client.close()
            if json {
                print("{\"server\":\(helloPayload),\"identity\":\(whoami ?? "null"),\"stats\":\(stats ?? "null")}")
                return
            }
            let server = try JSONSerialization.jsonObject(with: Data(helloPayload.utf8)) as? [String: Any] ?? [:]
            print("server    \(server["server"] ?? "?") \(server["version"] ?? "?") (protocol \(server["protocol"] ?? "?"))")
            print("max line  \(server["maxLineLength"] ?? "?") bytes")
            if let whoami, let identity = try JSONSerialization.jsonObject(with: Data(whoami.utf8)) as? [String: Any] {
                let scope = (identity["state"] as? String) ?? ((identity["facilityId"] as? Int).map { "facility \($0)" } ?? "")
                print("you are   \(identity["name"] ?? "?") (\(identity["role"] ?? "?")\(scope.isEmpty ? "" : " " + scope), token \(identity["tokenId"] ?? "?"))")
            } else {
                print("you are   not authenticated (set MUSTER_TOKEN to see your role)")
            }
            guard let stats, let figures = try JSONSerialization.jsonObject(with: Data(stats.utf8)) as? [String: Any] else { return }
            let database = figures["database"] as? [String: Any] ?? [:]
            let connections = figures["connections"] as? [String: Any] ?? [:]
            let uptime = figures["uptimeSeconds"] as? Int ?? 0
            print("uptime    \(uptime / 86400)d \(uptime % 86400 / 3600)h \(uptime % 3600 / 60)m")
            let ready = database["ready"] as? Bool == true
            let databaseServer = (database["server"] as? String).map { " on \($0)" } ?? ""
            print("database  \(ready ? "ready\(databaseServer)" : "NOT READY: \(database["reason"] ?? "?")"); pool \(database["poolInUse"] ?? "?") in use of \(database["poolOpen"] ?? "?") open (max \(database["poolMax"] ?? "?")), \(database["poolWaiting"] ?? "?") waiting")
            if let replica = database["replica"] as? [String: Any] {
                var line = "replica   \(replica["state"] ?? "?")"
                if let server = replica["server"] as? String { line += " on \(server)" }
                if let lag = replica["lagBytes"] as? Int { line += ", \(lag) bytes behind" }
                if let reason = replica["reason"] as? String { line += " (\(reason))" }
                line += "; reports read there \(replica["readsFromReplica"] ?? "?"), on the primary \(replica["readsFromPrimary"] ?? "?")"
                print(line)
            }
            print("clients   \(connections["open"] ?? "?") open, \(connections["opened"] ?? "?") since start, \(connections["refused"] ?? "?") refused")
            print("events    \(figures["eventSubscribers"] ?? "?") subscriber(s), \(figures["eventsPublished"] ?? "?") published; rounds \(figures["matchRounds"] ?? "?"), backfill waiting \((figures["backfillWaiting"] as? [String])?.joined(separator: " ") ?? "-")")
            if let volunteers = figures["volunteersByStatus"] as? [String: Int] {
                print("volunteers " + volunteers.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            }
            let commands = (figures["commands"] as? [String: [String: Any]] ?? [:]).sorted { $0.key < $1.key }
            if !commands.isEmpty {
                print(
                    Table.render(
                        header: ["COMMAND", "COUNT", "ERRORS", "MEAN MS"],
                        rows: commands.map { [$0.key, cell($0.value["count"]), cell($0.value["errors"]), cell($0.value["meanMs"])] }),
                    terminator: "")
            }
        }
    }
}
