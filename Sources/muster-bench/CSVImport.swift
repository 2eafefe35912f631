import Foundation
import MusterClient
import MusterRegistry
import NIOConcurrencyHelpers

/// The import scenario: the file is read, converted and sent exactly as `musterctl volunteers import FILE --state S`
/// does it (Sources/musterctl/ImportCommand.swift): every row through `VolunteerCSV.registration`, encoded with
/// sorted keys, batches of up to 1,000 rows within the server's line limit, `VOLUNTEER.IMPORT` over a few
/// connections taking batches from a shared queue.
enum CSVImport {
    struct Outcome {
        var rows = 0
        var created = 0
        var existing = 0
        var failed = 0
        var batchCount = 0
        var prepareSeconds = 0.0
        /// Latency of each batch.
        var batches = LoadResult()
    }

    static func run(path: String, session: Session, maxLineLength: Int, connections: Int) async throws -> Outcome {
        let prepareStarted = ContinuousClock.now
        guard let data = FileManager.default.contents(atPath: path) else { throw LoadError("cannot read \(path)") }
        var reader = CSVReader(Array(data))
        guard let first = try reader.next() else { throw LoadError("\(path) is empty") }
        let header = first.map { $0.trimmingCharacters(in: .whitespaces) }
        let problems = VolunteerCSV.validateHeader(header)
        guard problems.isEmpty else { throw LoadError("\(path) header: " + problems.joined(separator: "; ")) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var pending: [String] = []
        var unreadable = 0
        while let cells = try reader.next() {
            if cells.count == 1, cells[0].trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let (registration, errors) = VolunteerCSV.registration(header: header, cells: cells)
            guard let registration, errors.isEmpty else {
                unreadable += 1
                continue
            }
            let text = String(decoding: try encoder.encode(registration), as: UTF8.self)
            pending.append("{\"line\":\(reader.line),\"registration\":\(text)}")
        }
        let limit = maxLineLength - 256
        let stateField = ",\"registeringState\":\"\(session.state)\""
        var batches: [[String]] = [[]]
        var size = 0
        for row in pending {
            if size + row.utf8.count + 1 > limit || batches[batches.count - 1].count == 1000 {
                batches.append([])
                size = 0
            }
            batches[batches.count - 1].append(row)
            size += row.utf8.count + 1
        }
        batches.removeAll { $0.isEmpty }
        let prepareSeconds = ProtocolBenchClock.seconds(ContinuousClock.now - prepareStarted)

        let queue = NIOLockedValueBox(batches.reversed() as [[String]])
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for _ in 0..<min(connections, max(1, batches.count)) {
                group.addTask {
                    let client = try await session.connect()
                    var outcome = Outcome()
                    while let batch = queue.withLockedValue({ $0.popLast() }) {
                        let line = "VOLUNTEER.IMPORT {\"rows\":[" + batch.joined(separator: ",") + "]" + stateField + "}"
                        let sent = ContinuousClock.now
                        let reply = try await client.send(line)
                        let elapsed = ProtocolBenchClock.seconds(ContinuousClock.now - sent)
                        _ = outcome.batches.histogram.record(UInt64(max(1, elapsed * 1e6)))
                        outcome.batchCount += 1
                        outcome.rows += batch.count
                        guard reply.isOK else {
                            outcome.failed += batch.count
                            if outcome.batches.sampleErrors.count < 3 { outcome.batches.sampleErrors.append("\(reply)") }
                            continue
                        }
                        for row in reply.rows {
                            if !row.contains("\"errors\":[]") {
                                outcome.failed += 1
                                if outcome.batches.sampleErrors.count < 3 { outcome.batches.sampleErrors.append(row) }
                            } else if row.contains("\"created\":true") {
                                outcome.created += 1
                            } else {
                                outcome.existing += 1
                            }
                        }
                    }
                    await client.close()
                    return outcome
                }
            }
            return try await group.reduce(into: [Outcome]()) { $0.append($1) }
        }
        var total = Outcome()
        total.prepareSeconds = prepareSeconds
        total.rows = unreadable
        total.failed = unreadable
        for outcome in outcomes {
            total.rows += outcome.rows
            total.created += outcome.created
            total.existing += outcome.existing
            total.failed += outcome.failed
            total.batchCount += outcome.batchCount
            total.batches.merge(outcome.batches)
        }
        return total
    }
}

enum ProtocolBenchClock {
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
