import Foundation
import MusterClient
import MusterCore
import MusterRegistry

/// The import scenario: the file is read, converted and sent as `musterctl volunteers import FILE --state S` does
/// it, through the same `ImportBatches`: batches of up to 1,000 rows within the server's line limit, converted as
/// `VOLUNTEER.IMPORT` requests over a few connections ask for them.
enum CSVImport {
    struct Outcome {
        var rows = 0
        var created = 0
        var existing = 0
        var failed = 0
        var batchCount = 0
        var readSeconds = 0.0
        /// Latency of each batch.
        var batches = LoadResult()
    }

    static func run(path: String, session: Session, maxLineLength: Int, connections: Int) async throws -> Outcome {
        let readStarted = ContinuousClock.now
        guard let data = FileManager.default.contents(atPath: path) else { throw LoadError("cannot read \(path)") }
        let source: ImportBatches
        do throws(ImportBatches.FileError) {
            source = try ImportBatches(csv: Array(data), maxBatchBytes: maxLineLength - 256)
        } catch {
            throw LoadError("\(path): \(error)")
        }
        let readSeconds = ProtocolBenchClock.seconds(ContinuousClock.now - readStarted)
        let registeringState = Jurisdiction(session.state)
        // Batches are converted as the connections ask for them, as musterctl does.
        let queue = ImportBatchQueue(source)
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for _ in 0..<connections {
                group.addTask {
                    let client = try await session.connect()
                    var outcome = Outcome()
                    while let batch = await queue.next()?.batch.rows {
                        guard !batch.isEmpty else { continue }
                        let line = ImportBatches.requestLine(batch, registeringState: registeringState)
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
        let unreadable = Set(await queue.problems.map(\.line)).count
        var total = Outcome()
        total.readSeconds = readSeconds
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
