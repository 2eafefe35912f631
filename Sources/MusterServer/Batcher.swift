import MusterCore
import NIOConcurrencyHelpers

/// Runs work submitted concurrently from many connections in batches: one database round trip (and, for writes,
/// one commit) for everything that arrived together.
///
/// Batches form by themselves, without a timer. Work that finds fewer than `maxInFlight` batches of its lane
/// running starts one at once; otherwise it waits, and the next batch of that lane to finish takes every waiting
/// item (up to `maxBatchSize`). A lone request therefore never waits, and under load the batches grow with the
/// number of clients. Lanes (a state, say) batch separately and do not wait for each other.
///
/// A batch is run by an async closure (in a task) or by a callback-style one (`start`), which lets a read that
/// needs no task of its own go from the event loop to a database thread and back without one. Either way it
/// gives one result per item, in order, or an error that fails every item of the batch.
public final class Batcher<Input: Sendable, Output: Sendable>: Sendable {
    /// Runs one batch: one result per input, in order.
    public typealias Run = @Sendable (_ lane: String, _ batch: [Input]) async throws -> [Result<Output, any Error>]
    /// A batch's outcome: one result per input, in order, or an error for all of them.
    public typealias Outcome = Result<[Result<Output, any Error>], any Error>
    /// Starts one batch and calls `done` exactly once, from any thread, with its outcome.
    public typealias Start = @Sendable (_ lane: String, _ batch: [Input], _ done: @escaping @Sendable (Outcome) -> Void) -> Void
    /// Receives one item's result.
    public typealias Completion = @Sendable (Result<Output, any Error>) -> Void

    private struct Waiting {
        let input: Input
        let completion: Completion
    }

    private struct Lane {
        var waiting: [Waiting] = []
        var running = 0
    }

    private let maxInFlight: Int
    private let maxBatchSize: Int
    private let lanes = NIOLockedValueBox([String: Lane]())
    private let start: Start

    /// - Parameters:
    ///   - maxInFlight: batches of one lane that run at once.
    ///   - maxBatchSize: the most items one batch takes.
    ///   - start: starts one batch and reports its outcome when it ends.
    public init(maxInFlight: Int, maxBatchSize: Int, start: @escaping Start) {
        precondition(maxInFlight >= 1 && maxBatchSize >= 1, "a batcher runs at least one batch of at least one item")
        self.maxInFlight = maxInFlight
        self.maxBatchSize = maxBatchSize
        self.start = start
    }

    /// - Parameters:
    ///   - maxInFlight: batches of one lane that run at once.
    ///   - maxBatchSize: the most items one batch takes.
    ///   - run: runs one batch, each in a task of its own.
    public convenience init(maxInFlight: Int, maxBatchSize: Int, run: @escaping Run) {
        self.init(maxInFlight: maxInFlight, maxBatchSize: maxBatchSize) { lane, batch, done in
            Task { done(await Result { try await run(lane, batch) }) }
        }
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
            submit(input, lane: lane) { continuation.resume(with: $0) }
        }
    }

    /// Submits one item to `lane`; `completion` gets its result once its batch has run, on the thread that ran the
    /// batch (or on this one, if the batch could not start).
    public func submit(_ input: Input, lane: String = "", completion: @escaping Completion) {
        let batch = lanes.withLockedValue { lanes -> [Waiting]? in
            var state = lanes[lane, default: Lane()]
            defer { lanes[lane] = state }
            state.waiting.append(Waiting(input: input, completion: completion))
            guard state.running < maxInFlight else { return nil }
            state.running += 1
            return Self.take(&state, limit: maxBatchSize)
        }
        if let batch { execute(batch, lane: lane) }
    }

    /// Runs `batch`. When it ends, the lane's next batch (whatever arrived meanwhile) starts before this one's
    /// results are handed out, so the next round trip overlaps whatever the completions do.
    private func execute(_ batch: [Waiting], lane: String) {
        start(lane, batch.map(\.input)) { outcome in
            let next = self.lanes.withLockedValue { lanes -> [Waiting] in
                var state = lanes[lane, default: Lane()]
                let next = Self.take(&state, limit: self.maxBatchSize)
                if next.isEmpty { state.running -= 1 }
                lanes[lane] = state.waiting.isEmpty && state.running == 0 ? nil : state
                return next
            }
            if !next.isEmpty { self.execute(next, lane: lane) }
            Self.deliver(outcome, to: batch)
        }
    }

    private static func deliver(_ outcome: Outcome, to batch: [Waiting]) {
        switch outcome {
        case .success(let results) where results.count == batch.count:
            for (waiting, result) in zip(batch, results) { waiting.completion(result) }
        case .success(let results):
            let error = BatchError(expected: batch.count, got: results.count)
            for waiting in batch { waiting.completion(.failure(error)) }
        case .failure(let error):
            for waiting in batch { waiting.completion(.failure(error)) }
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
