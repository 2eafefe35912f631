import ArgumentParser
import Foundation
import MusterClient
import MusterRegistry

#if canImport(Glibc)
    import Glibc
#endif

extension MusterCtl.Volunteers {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bulk-register volunteers from a CSV file (see the README for the columns).",
            discussion: """
                Every row is validated; rows with errors are reported with line, column and reason, and every good \
                row is stored. Re-running the same file creates nothing new (rows are keyed by the ref column). \
                Exit status 0 when every row was stored or already present, 1 when some rows failed.
                """)

        @OptionGroup var daemon: DaemonOptions

        @Argument(help: "The CSV file (UTF-8, header row first).")
        var file: String

        @Option(help: "The registering state (a state token may only give its own).")
        var state: String?

        @Option(help: "Parallel connections to musterd.")
        var connections = 4

        @Flag(help: "Print each row's outcome as a JSON line instead of a summary.")
        var json = false

        func validate() throws {
            guard (1...32).contains(connections) else { throw ValidationError("--connections must be from 1 to 32") }
        }

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            var reader = CSVReader(Array(data))
            let first: [String]?
            switch Result(catching: { () throws(FieldError) in try reader.next() }) {
            case .success(let record): first = record
            case .failure(let error): throw ValidationError("\(file): \(error)")
            }
            guard let first else { throw ValidationError("\(file) is empty") }
            let header = first.map { $0.trimmingCharacters(in: .whitespaces) }
            let headerProblems = VolunteerCSV.validateHeader(header)
            guard headerProblems.isEmpty else {
                throw ValidationError("\(file) header: " + headerProblems.joined(separator: "; "))
            }

            // Read every row; rows that cannot even be turned into a registration are reported here.
            var failures: [(line: Int, column: String, rule: String)] = []
            var pending: [(line: Int, json: String)] = []
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            while true {
                var cells: [String] = []
                switch Result(catching: { () throws(FieldError) in try reader.next() }) {
                case .success(let next):
                    cells = next ?? []
                case .failure(let error):
                    // Framing is lost after a malformed record: report it and stop reading.
                    failures.append((reader.line, "row", error.rule))
                }
                if cells.isEmpty { break }
                if cells.count == 1, cells[0].trimmingCharacters(in: .whitespaces).isEmpty { continue }
                let (registration, errors) = VolunteerCSV.registration(header: header, cells: cells)
                for error in errors { failures.append((reader.line, error.field, error.rule)) }
                guard let registration else { continue }
                let text = String(decoding: try encoder.encode(registration), as: UTF8.self)
                pending.append((reader.line, "{\"line\":\(reader.line),\"registration\":\(text)}"))
            }
            let total = pending.count + Set(failures.map(\.line)).count

            // Batches that fit the server's line limit, at most 1000 rows each.
            let probe = try await daemon.connect()
            let hello = try await probe.send("HELLO")
            await probe.close()
            let limit = ((hello.payload.map(jsonObject)?["maxLineLength"] as? Int) ?? 65536) - 256
            let stateField = state.map { ",\"registeringState\":\"\($0.uppercased())\"" } ?? ""
            var batches: [[(line: Int, json: String)]] = [[]]
            var size = 0
            for row in pending {
                if size + row.json.utf8.count + 1 > limit || batches[batches.count - 1].count == 1000 {
                    batches.append([])
                    size = 0
                }
                batches[batches.count - 1].append(row)
                size += row.json.utf8.count + 1
            }
            batches.removeAll { $0.isEmpty }

            let progress = Progress(total: total, show: isatty(2) == 1 && !json)
            progress.add(failed: Set(failures.map(\.line)).count)
            let queue = BatchQueue(batches)
            let daemon = daemon
            let results = try await withThrowingTaskGroup(of: [BatchResult].self) { group in
                for _ in 0..<min(connections, max(1, batches.count)) {
                    group.addTask {
                        let client = try await daemon.connectAuthenticated()
                        var done: [BatchResult] = []
                        while let batch = queue.next() {
                            let line = "VOLUNTEER.IMPORT {\"rows\":[" + batch.map(\.json).joined(separator: ",") + "]" + stateField + "}"
                            let result = BatchResult.from(try await client.send(line), batch: batch)
                            progress.add(result)
                            done.append(result)
                        }
                        await client.close()
                        return done
                    }
                }
                return try await group.reduce(into: [BatchResult]()) { $0 += $1 }
            }
            progress.finish()

            var created = 0
            var existing = 0
            var outcomes: [String] = []
            for result in results {
                created += result.created
                existing += result.existing
                failures += result.failures
                outcomes += result.rows
            }
            if json {
                outcomes.forEach { print($0) }
                for failure in failures where failure.column != "server" {
                    print("{\"line\":\(failure.line),\"errors\":[{\"field\":\"\(failure.column)\",\"rule\":\(String(decoding: try encoder.encode(failure.rule), as: UTF8.self))}]}")
                }
            } else {
                for failure in failures.sorted(by: { ($0.line, $0.column) < ($1.line, $1.column) }) {
                    print("line \(failure.line), column \(failure.column): \(failure.rule)")
                }
                let failedRows = Set(failures.map(\.line)).count
                print("\(total) rows: \(created) created, \(existing) already present, \(failedRows) failed")
            }
            if !failures.isEmpty { throw ExitCode(1) }
        }
    }
}

/// What one batch came back with.
struct BatchResult: Sendable {
    var created = 0
    var existing = 0
    var failures: [(line: Int, column: String, rule: String)] = []
    var rows: [String] = []

    static func from(_ response: Response, batch: [(line: Int, json: String)]) -> BatchResult {
        var result = BatchResult()
        guard response.isOK else {
            // The whole batch was refused (for example the database was unavailable): nothing of it was stored.
            let reason = "not stored: musterd answered \(response.errorCode ?? "?") \(response.errorMessage ?? "")"
            result.failures = batch.map { ($0.line, "row", reason) }
            return result
        }
        result.rows = response.rows
        for row in response.rows {
            let object = jsonObject(row)
            let line = object["line"] as? Int ?? 0
            let errors = object["errors"] as? [[String: Any]] ?? []
            if errors.isEmpty {
                if object["created"] as? Bool == true { result.created += 1 } else { result.existing += 1 }
            }
            for error in errors {
                let field = error["field"] as? String ?? "row"
                result.failures.append((line, VolunteerCSV.column(forField: field), error["rule"] as? String ?? ""))
            }
        }
        return result
    }
}

/// Hands batches to the connections, one at a time.
final class BatchQueue: @unchecked Sendable {
    // Guarded by `lock`.
    private var batches: [[(line: Int, json: String)]]
    private let lock = NSLock()

    init(_ batches: [[(line: Int, json: String)]]) { self.batches = batches.reversed() }

    func next() -> [(line: Int, json: String)]? {
        lock.lock()
        defer { lock.unlock() }
        return batches.popLast()
    }
}

/// A one-line progress display on a terminal's standard error.
final class Progress: @unchecked Sendable {
    // Guarded by `lock`.
    private var done = 0
    private var created = 0
    private var failed = 0
    private let total: Int
    private let show: Bool
    private let lock = NSLock()
    private let started = Date()

    init(total: Int, show: Bool) {
        self.total = total
        self.show = show
    }

    func add(failed count: Int) {
        lock.lock()
        done += count
        failed += count
        lock.unlock()
    }

    func add(_ result: BatchResult) {
        lock.lock()
        defer { lock.unlock() }
        done += result.created + result.existing + Set(result.failures.map(\.line)).count
        created += result.created
        failed += Set(result.failures.map(\.line)).count
        guard show else { return }
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let rate = Double(done) / max(0.001, Date().timeIntervalSince(started))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(
            Data("\r[\(bar)] \(done)/\(total) rows, \(created) created, \(failed) failed, \(Int(rate)) rows/s".utf8))
    }

    func finish() {
        if show { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
