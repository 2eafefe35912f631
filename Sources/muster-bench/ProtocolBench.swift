import ArgumentParser
import Foundation
import Histogram
import MusterClient
import MusterCore
import MusterRegistry
import NIOCore

/// `muster-bench protocol`: drives a running musterd over TCP and prints one line per scenario.
extension MusterBench {
    struct ProtocolBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "protocol",
            abstract: "Throughput and latency of a running musterd over its line protocol (issue 7).",
            discussion: """
                Scenarios (comma-separated with --scenario):
                  ping         PING round trips.
                  register     VOLUNTEER.REGISTER of new volunteers (unique refs; each a durable commit).
                  eligibility  ELIGIBILITY.CHECK <id> <state> <date> of stored volunteers (registers --volunteers first).
                  match        MATCH.RUN <state> {"dryRun":true} at state scale (sets up facilities, requests and
                               available, verified volunteers first), repeated on one connection.
                  import       VOLUNTEER.IMPORT of a CSV file (generated with --rows when --csv does not exist), sent
                               the way `musterctl volunteers import` sends it.
                ping, register and eligibility keep --depth requests in flight on each of --connections connections
                for --warmup + --duration seconds and count the replies in the last --duration seconds. Latency runs
                from writing a request to reading its final line, so with pipelining it includes waiting behind the
                requests before it. Percentiles come from an HdrHistogram (microsecond resolution, 3 digits).
                Needs a state or admin token (--token or MUSTER_TOKEN) except for ping; eligibility and match need
                the orders loaded (musterd --load-orders Deploy/orders).
                """)

        @Option(help: "musterd's address, HOST:PORT.") var address = "127.0.0.1:7878"
        @Option(help: "A state or admin token (default: MUSTER_TOKEN).") var token: String?
        @Option(help: "Scenarios, comma-separated: ping, register, eligibility, match, import.") var scenario = "ping"
        @Option(help: "Connections.") var connections = 50
        @Option(help: "Requests in flight per connection (pipeline depth).") var depth = 1
        @Option(help: "Measured seconds per scenario.") var duration = 10.0
        @Option(help: "Unmeasured seconds before the measured ones.") var warmup = 1.0
        @Option(help: "Client event-loop threads.") var threads = 1
        @Option(help: "The registering state, and the state checked and matched.") var state = "NY"
        @Option(help: "Tag making this run's refs, licence numbers and NPIs unique (default: from the clock).") var tag: String?
        @Option(help: "eligibility: volunteers registered first and checked at random.") var volunteers = 500
        @Option(help: "eligibility: the evaluation date.") var date = "2020-04-03"
        @Option(help: "import: the CSV file (generated there with --rows when missing).") var csv: String?
        @Option(help: "import: rows to generate when the file is missing.") var rows = 100_000
        @Option(help: "import: connections, as musterctl's --connections (default 4).") var importConnections = 4
        @Option(help: "match: available, verified volunteers to set up.") var matchVolunteers = 20_000
        @Option(help: "match: facilities to set up.") var matchFacilities = 200
        @Option(help: "match: staffing requests to set up.") var matchRequests = 1_000
        @Option(help: "match: request dates, FROM:TO (YYYY-MM-DD), or \"future\" for 7 to 21 days from today.")
        var matchDates = "2020-04-05:2020-04-19"
        @Option(help: "match: at least this many rounds, even past --duration.") var matchMinRounds = 3
        @Option(help: "Also append each result as a tab-separated line to this file.") var tsv: String?
        @Option(help: "A label printed before the scenario name.") var label: String?

        func validate() throws {
            guard connections >= 1, depth >= 1, threads >= 1 else { throw ValidationError("--connections, --depth and --threads must be at least 1") }
            guard duration > 0, warmup >= 0 else { throw ValidationError("--duration must be positive") }
            guard Jurisdiction(state) != nil else { throw ValidationError("--state: not a US state or territory code") }
            guard CalendarDate(date) != nil else { throw ValidationError("--date: not a calendar date") }
            guard (1...32).contains(importConnections) else { throw ValidationError("--import-connections must be from 1 to 32") }
            for name in scenarios where !["ping", "register", "eligibility", "match", "import"].contains(name) {
                throw ValidationError("unknown scenario \"\(name)\"")
            }
        }

        var scenarios: [String] { scenario.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }

        func run() async throws {
            let parts = address.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--address: expected HOST:PORT") }
            let host = String(parts[0])
            let token = token ?? ProcessInfo.processInfo.environment["MUSTER_TOKEN"]
            let tag = tag ?? "B\(String(UInt64(Date().timeIntervalSince1970 * 10), radix: 36).uppercased())"
            let session = Session(host: host, port: port, token: token, state: state.uppercased(), tag: tag)
            let plan = LoadEngine.Plan(
                host: host, port: port, token: token, connections: connections, depth: depth, warmup: warmup,
                duration: duration, threads: threads)
            for name in scenarios {
                if name != "ping", token == nil { throw ValidationError("\(name) needs a token (--token or MUSTER_TOKEN)") }
                let line: Report
                switch name {
                case "ping": line = try await ping(plan)
                case "register": line = try await register(plan, session)
                case "eligibility": line = try await eligibility(plan, session)
                case "match": line = try await match(session)
                default: line = try await importCSV(session)
                }
                // Written at once (not buffered), so a script sees each result as it comes.
                FileHandle.standardOutput.write(Data(((label.map { "\($0) " } ?? "") + line.text + "\n").utf8))
                if let tsv { line.append(to: tsv) }
            }
        }

        // MARK: Scenarios

        func ping(_ plan: LoadEngine.Plan) async throws -> Report {
            let result = try await LoadEngine.run(plan) { _, _, buffer in buffer.writeStaticString("PING\n") }
            return Report(name: "ping", shape: "\(plan.connections)x\(plan.depth)", unit: "ops", result: result)
        }

        func register(_ plan: LoadEngine.Plan, _ session: Session) async throws -> Report {
            let synthetic = Synthetic(tag: session.tag + "R", today: .today())
            let (connections, state) = (plan.connections, session.state)
            let result = try await LoadEngine.run(plan) { connection, sequence, buffer in
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                buffer.writeStaticString("VOLUNTEER.REGISTER ")
                buffer.writeString(synthetic.registrationJSON(sequence * connections + connection, registeringState: state, encoder: encoder))
                buffer.writeStaticString("\n")
            }
            return Report(name: "register", shape: "\(plan.connections)x\(plan.depth)", unit: "ops", result: result)
        }

        func eligibility(_ plan: LoadEngine.Plan, _ session: Session) async throws -> Report {
            // Volunteers of every category to check, registered first (not timed).
            let synthetic = Synthetic(tag: session.tag + "E", today: .today())
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let lines = (0..<volunteers).map {
                "VOLUNTEER.REGISTER " + synthetic.registrationJSON($0, registeringState: session.state, encoder: encoder)
            }
            let replies = try await session.sendAll(lines, connections: 8)
            let ids = try replies.map { reply -> Int in
                guard reply.isOK, let id = Self.integer("id", in: reply.payload ?? "") else {
                    throw LoadError("setup: VOLUNTEER.REGISTER failed: \(reply)")
                }
                return id
            }
            let (state, date) = (session.state, date)
            let result = try await LoadEngine.run(plan) { connection, sequence, buffer in
                // A scrambled walk over the ids, different on each connection.
                let n = Int((UInt(sequence) &* 2_654_435_761 &+ UInt(connection) &* 40_503) % UInt(ids.count))
                buffer.writeString("ELIGIBILITY.CHECK \(ids[n]) \(state) \(date)\n")
            }
            return Report(name: "eligibility", shape: "\(plan.connections)x\(plan.depth)", unit: "ops", result: result)
        }

        func match(_ session: Session) async throws -> Report {
            let setup = try await MatchSetup.prepare(
                session, volunteers: matchVolunteers, facilities: matchFacilities, requests: matchRequests, dates: matchDates)
            FileHandle.standardError.write(Data("match: set up \(setup.description)\n".utf8))
            let client = try await session.connect()
            var result = LoadResult()
            var last = ""
            var rounds = 0
            let started = ContinuousClock.now
            let line = "MATCH.RUN \(session.state) {\"dryRun\":true}"
            while rounds < matchMinRounds || ContinuousClock.now - started < .seconds(duration) {
                let sent = ContinuousClock.now
                let reply = try await client.send(line)
                let elapsed = ContinuousClock.now - sent
                _ = result.histogram.record(UInt64(max(1, Self.seconds(elapsed) * 1e6)))
                guard reply.isOK else {
                    result.errors += 1
                    if result.sampleErrors.count < 3 { result.sampleErrors.append("\(reply)") }
                    break
                }
                result.ok += 1
                rounds += 1
                last = reply.payload ?? ""
            }
            result.seconds = Self.seconds(ContinuousClock.now - started)
            await client.close()
            var report = Report(name: "match", shape: "1x1", unit: "rounds", result: result)
            let summary = Self.object(last)
            report.note = ["requests", "volunteersConsidered", "volunteersEligible", "offers", "weightedFilled", "travelKm"]
                .map { "\($0)=\(summary[$0].map { "\($0)" } ?? "?")" }.joined(separator: " ")
                + " unfilled=\((summary["unfilled"] as? [Any])?.count ?? 0); dates \(setup.dates)"
            return report
        }

        func importCSV(_ session: Session) async throws -> Report {
            let path = csv ?? "/tmp/muster-bench-\(session.tag).csv"
            if !FileManager.default.fileExists(atPath: path) {
                let text = Synthetic(tag: session.tag + "I", today: .today()).csv(rows: rows)
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                FileHandle.standardError.write(Data("import: wrote \(rows) rows to \(path)\n".utf8))
            }
            let probe = try await session.connect()
            let hello = try await probe.send("HELLO")
            await probe.close()
            let maxLine = Self.integer("maxLineLength", in: hello.payload ?? "") ?? 65536
            // Timed from here: what `musterctl volunteers import FILE --state S` does, end to end.
            let started = ContinuousClock.now
            let outcome = try await CSVImport.run(path: path, session: session, maxLineLength: maxLine, connections: importConnections)
            var result = outcome.batches
            result.seconds = Self.seconds(ContinuousClock.now - started)
            result.ok = outcome.created + outcome.existing
            var report = Report(name: "import", shape: "\(importConnections)x1", unit: "rows", result: result)
            report.note = "\(outcome.rows) rows: \(outcome.created) created, \(outcome.existing) already present, \(outcome.failed) failed; "
                + "\(outcome.batchCount) batches; reading the file took \(String(format: "%.2f", outcome.readSeconds)) s (rows are converted while batches are in flight)"
            if outcome.failed > 0 { report.result.errors = outcome.failed }
            report.latencyOf = "batch"
            return report
        }

        // MARK: Helpers

        static func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }

        static func object(_ json: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
        }

        /// A top-level integer field of a JSON object, without parsing the whole object.
        static func integer(_ key: String, in json: String) -> Int? {
            guard let range = json.range(of: "\"\(key)\":") else { return nil }
            return Int(json[range.upperBound...].prefix { $0.isNumber || $0 == "-" })
        }
    }
}

/// How to reach musterd, and who we are.
struct Session: Sendable {
    let host: String
    let port: Int
    let token: String?
    let state: String
    let tag: String

    func connect() async throws -> MusterClient {
        let client = try await MusterClient.connect(host: host, port: port)
        if let token {
            let reply = try await client.send("AUTH \(token)")
            guard reply.isOK else { throw LoadError("AUTH refused: \(reply)") }
        }
        return client
    }

    /// Sends every line over `connections` connections, pipelined in windows of 64, and returns the replies in the
    /// order of `lines`. For setting up, not for measuring.
    func sendAll(_ lines: [String], connections: Int, window: Int = 64) async throws -> [Response] {
        guard !lines.isEmpty else { return [] }
        let count = min(connections, lines.count)
        let slices: [[(Int, String)]] = (0..<count).map { k in
            stride(from: k, to: lines.count, by: count).map { ($0, lines[$0]) }
        }
        let replies = try await withThrowingTaskGroup(of: [(Int, Response)].self) { group in
            for slice in slices {
                group.addTask {
                    let client = try await connect()
                    var out: [(Int, Response)] = []
                    var start = 0
                    while start < slice.count {
                        let chunk = slice[start..<min(start + window, slice.count)]
                        for (_, line) in chunk { try await client.write(line) }
                        for (index, _) in chunk { out.append((index, try await client.readResponse())) }
                        start += window
                    }
                    await client.close()
                    return out
                }
            }
            return try await group.reduce(into: [(Int, Response)]()) { $0 += $1 }
        }
        var ordered = [Response?](repeating: nil, count: lines.count)
        for (index, reply) in replies { ordered[index] = reply }
        return ordered.map { $0! }
    }
}

/// One printed line.
struct Report {
    let name: String
    let shape: String
    let unit: String
    var result: LoadResult
    var note = ""
    var latencyOf = "request"

    var rate: Double { result.seconds > 0 ? Double(result.ok) / result.seconds : 0 }

    static func ms(_ microseconds: UInt64) -> String {
        let value = Double(microseconds) / 1000
        return value < 10 ? String(format: "%.2f", value) : value < 100 ? String(format: "%.1f", value) : String(format: "%.0f", value)
    }

    static func grouped(_ value: Double) -> String {
        let whole = Int(value.rounded())
        let digits = String(whole)
        var out = ""
        for (offset, character) in digits.reversed().enumerated() {
            if offset > 0, offset % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return String(out.reversed()) + (value < 100 ? String(format: "%.2f", value - Double(Int(value))).dropFirst(1) : "")
    }

    var percentiles: [(String, UInt64)] {
        let h = result.histogram
        return [("p50", h.valueAtPercentile(50)), ("p90", h.valueAtPercentile(90)), ("p99", h.valueAtPercentile(99)),
                ("p99.9", h.valueAtPercentile(99.9)), ("max", h.max)]
    }

    var text: String {
        var line = "\(name) \(shape): \(Self.grouped(rate)) \(unit)/s | "
        line += percentiles.map { "\($0.0) \(Self.ms($0.1)) ms" }.joined(separator: " | ")
        line += " | \(result.ok) ok, \(result.errors) err in \(String(format: "%.1f", result.seconds)) s"
        if latencyOf != "request" { line += " (latency per \(latencyOf))" }
        if !note.isEmpty { line += " | " + note }
        if !result.sampleErrors.isEmpty { line += " | errors: " + result.sampleErrors.joined(separator: " / ") }
        return line
    }

    /// scenario, shape, rate, unit, p50…max in ms, ok, errors, seconds.
    func append(to path: String) {
        let fields = [name, shape, String(format: "%.1f", rate), unit] + percentiles.map { String(format: "%.3f", Double($0.1) / 1000) }
            + [String(result.ok), String(result.errors), String(format: "%.2f", result.seconds)]
        let line = fields.joined(separator: "\t") + "\n"
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            handle.closeFile()
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: Data(line.utf8))
        }
    }
}
