import ArgumentParser
import Foundation
import MusterClient
import MusterCore
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
            if let state, Jurisdiction(state) == nil {
                throw ValidationError("--state: \"\(state)\" is not a US state or territory code (e.g. NY, PR)")
            }
        }

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            // Batches that fit the server's line limit, at most 1000 rows each, made as the connections ask for them.
            let probe = try await daemon.connect()
            let hello = try await probe.send("HELLO")
            await probe.close()
            let limit = ((hello.payload.map(jsonObject)?["maxLineLength"] as? Int) ?? 65536) - 256
            let source: ImportBatches
            do throws(ImportBatches.FileError) {
                source = try ImportBatches(csv: Array(data), maxBatchBytes: limit)
            } catch {
                throw ValidationError("\(file): \(error)")
            }
            let registeringState = state.flatMap(Jurisdiction.init)

            let progress = Progress(show: isatty(2) == 1 && !json)
            let queue = ImportBatchQueue(source)
            let daemon = daemon
            let connections = connections
            let results = try await withThrowingTaskGroup(of: [BatchResult].self) { group in
                for _ in 0..<connections {
                    group.addTask {
                        var client: MusterClient?
                        var done: [BatchResult] = []
                        while let (next, fractionRead) = await queue.next() {
                            progress.read(fraction: fractionRead, failed: Set(next.problems.map(\.line)).count)
                            let batch = next.rows
                            guard !batch.isEmpty else { continue }
                            if client == nil { client = try await daemon.connectAuthenticated() }
                            let line = ImportBatches.requestLine(batch, registeringState: registeringState)
                            let result = BatchResult.from(try await client!.send(line), batch: batch)
                            progress.add(result)
                            done.append(result)
                        }
                        await client?.close()
                        return done
                    }
                }
                return try await group.reduce(into: [BatchResult]()) { $0 += $1 }
            }
            progress.finish()

            var failures: [(line: Int, column: String, rule: String)] = await queue.problems.map { ($0.line, $0.column, $0.rule) }
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
                    print("{\"line\":\(failure.line),\"errors\":[{\"field\":\"\(failure.column)\",\"rule\":\(JSONValue.string(failure.rule).jsonText)}]}")
                }
            } else {
                for failure in failures.sorted(by: { ($0.line, $0.column) < ($1.line, $1.column) }) {
                    print("line \(failure.line), column \(failure.column): \(failure.rule)")
                }
                let failedRows = Set(failures.map(\.line)).count
                print("\(created + existing + failedRows) rows: \(created) created, \(existing) already present, \(failedRows) failed")
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

    static func from(_ response: Response, batch: [ImportBatches.Row]) -> BatchResult {
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

/// A one-line progress display on a terminal's standard error: how much of the file is read, and the outcomes so far.
final class Progress: @unchecked Sendable {
    // Guarded by `lock`.
    private var done = 0
    private var created = 0
    private var failed = 0
    private var fraction = 0.0
    private let show: Bool
    private let lock = NSLock()
    private let started = Date()

    init(show: Bool) {
        self.show = show
    }

    /// Rows read so far are `fraction` of the file; `failed` more rows could not be read as registrations.
    func read(fraction: Double, failed count: Int) {
        lock.lock()
        defer { lock.unlock() }
        self.fraction = fraction
        done += count
        failed += count
        draw()
    }

    func add(_ result: BatchResult) {
        lock.lock()
        defer { lock.unlock() }
        done += result.created + result.existing + Set(result.failures.map(\.line)).count
        created += result.created
        failed += Set(result.failures.map(\.line)).count
        draw()
    }

    /// Called with `lock` held.
    private func draw() {
        guard show else { return }
        let width = 30
        let filled = min(width, Int(Double(width) * fraction))
        let rate = Double(done) / max(0.001, Date().timeIntervalSince(started))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(
            Data("\r[\(bar)] \(Int(fraction * 100))% read, \(done) rows done, \(created) created, \(failed) failed, \(Int(rate)) rows/s".utf8))
    }

    func finish() {
        if show { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
