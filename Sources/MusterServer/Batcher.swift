import NIOConcurrencyHelpers

/// Runs work submitted concurrently from many connections in batches: one database round trip (and, for writes,
/// one commit) for everything that arrived together.
///
/// Batches form by themselves, without a timer. Work that finds fewer than `maxInFlight` batches of its lane
/// running starts one at once; otherwise it waits, and the next batch of that lane to finish takes every waiting
/// item (up to `maxBatchSize`). A lone request therefore never waits, and under load the batches grow with the
/// number of clients. Lanes (a state, say) batch separately and do not wait for each other.
///
/// `run` is given a batch and returns one result per item, in order; it may also throw, which fails every item of
/// that batch with the error.
public final class Batcher<Input: Sendable, Output: Sendable>: Sendable {
    /// Runs one batch: one result per input, in order.
    public typealias Run = @Sendable (_ lane: String, _ batch: [Input]) async throws -> [Result<Output, any Error>]

    private struct Waiting {
        let input: Input
        let continuation: CheckedContinuation<Output, any Error>
    }

    private struct Lane {
        var waiting: [Waiting] = []
        var running = 0
    }

    private let maxInFlight: Int
    private let maxBatchSize: Int
    private let lanes = NIOLockedValueBox([String: Lane]())
    private let runBatch: Run

    /// - Parameters:
    ///   - maxInFlight: batches of one lane that run at once.
    ///   - maxBatchSize: the most items one batch takes.
    ///   - run: runs one batch.
    public init(maxInFlight: Int, maxBatchSize: Int, run: @escaping Run) {
        precondition(maxInFlight >= 1 && maxBatchSize >= 1, "a batcher runs at least one batch of at least one item")
        self.maxInFlight = maxInFlight
        self.maxBatchSize = maxBatchSize
        self.runBatch = run
    }

    /// Items submitted and not yet taken into a batch, over every lane.
    public var waiting: Int {
        lanes.withLockedValue { lanes in lanes.values.reduce(0) { $0 + $1.waiting.count } }
    }

    /// Batches running now, over every lane.
    public var running: Int {
        lanes.withLockedValue { lanes in lanes.values.reduce(0) { $0 + $1.running } }
    }

    /// Submits one item to `lane` and returns its result once its batch has run.
    public func submit(_ input: Input, lane: String = "") async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let batch = lanes.withLockedValue { lanes -> [Waiting]? in
                var state = lanes[lane, default: Lane()]
                defer { lanes[lane] = state }
                state.waiting.append(Waiting(input: input, continuation: continuation))
                guard state.running < maxInFlight else { return nil }
                state.running += 1
                return Self.take(&state, limit: maxBatchSize)
            }
            if let batch {
                Task { await self.drain(lane: lane, first: batch) }
            }
        }
    }

    /// Runs `first`, then whatever arrived meanwhile, until nothing of the lane is waiting.
    private func drain(lane: String, first: [Waiting]) async {
        var batch = first
        while !batch.isEmpty {
            await execute(batch, lane: lane)
            batch = lanes.withLockedValue { lanes -> [Waiting] in
                var state = lanes[lane, default: Lane()]
                let next = Self.take(&state, limit: maxBatchSize)
                if next.isEmpty { state.running -= 1 }
                lanes[lane] = state.waiting.isEmpty && state.running == 0 ? nil : state
                return next
            }
        }
    }

    private func execute(_ batch: [Waiting], lane: String) async {
        do {
            let results = try await runBatch(lane, batch.map(\.input))
            guard results.count == batch.count else {
                let error = BatchError(expected: batch.count, got: results.count)
                for waiting in batch { waiting.continuation.resume(throwing: error) }
                return
            }
            for (waiting, result) in zip(batch, results) { waiting.continuation.resume(with: result) }
        } catch {
            for waiting in batch { waiting.continuation.resume(throwing: error) }
        }
    }

    private static func take(_ lane: inout Lane, limit: Int) -> [Waiting] {
        let count = min(limit, lane.waiting.count)
        let taken = Array(lane.waiting.prefix(count))
        lane.waiting.removeFirst(count)
        return taken
    }
}

/// A batch's `run` returned a different number of results than it was given items (a programming error).
public struct BatchError: Error, CustomStringConvertible {
    public let expected: Int
    public let got: Int
    public var description: String { "a batch of \(expected) returned \(got) results" }
}
