import MusterServer
import MusterTestSupport
import Synchronization
import Testing

/// The batching rule on its own: a lone item runs at once; items arriving while `maxInFlight` batches run wait and
/// go together in the next batch; lanes do not wait for each other; a failed batch fails each of its items.
@Suite struct BatcherTests {
    /// Holds every batch until released, and records what each batch held.
    final class Gate: Sendable {
        private let state = Mutex<(batches: [[Int]], open: Bool, waiters: [CheckedContinuation<Void, Never>])>(([], false, []))

        func enter(_ batch: [Int]) async {
            await withCheckedContinuation { continuation in
                let proceed = state.withLock { state -> Bool in
                    state.batches.append(batch)
                    if state.open { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if proceed { continuation.resume() }
            }
        }

        func open() {
            let waiters = state.withLock { state in
                state.open = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }

        var batches: [[Int]] { state.withLock { $0.batches } }
    }

    @Test func itemsArrivingWhileBatchesRunGoTogetherInTheNext() async throws {
        let gate = Gate()
        let batcher = Batcher<Int, Int>(maxInFlight: 2, maxBatchSize: 100) { _, items in
            await gate.enter(items)
            return items.map { .success($0 * 10) }
        }
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            // The first two run at once, each alone, and are held.
            for item in 0..<2 { group.addTask { (item, try await batcher.submit(item)) } }
            #expect(try await eventually(every: .milliseconds(10)) { gate.batches.count == 2 })
            // The next eight wait for them.
            for item in 2..<10 { group.addTask { (item, try await batcher.submit(item)) } }
            #expect(try await eventually(every: .milliseconds(10)) { batcher.waiting == 8 })
            #expect(gate.batches.count == 2)
            gate.open()
            var results: [Int: Int] = [:]
            for try await (item, result) in group { results[item] = result }
            #expect(results == Dictionary(uniqueKeysWithValues: (0..<10).map { ($0, $0 * 10) }))
        }
        let batches = gate.batches
        #expect(batches.count == 3, "\(batches)")
        #expect(batches.prefix(2).allSatisfy { $0.count == 1 })
        #expect(batches.last?.sorted() == Array(2..<10))
        #expect(batcher.waiting == 0)
    }

    @Test func batchesAreCappedAndLanesAreIndependent() async throws {
        let gate = Gate()
        let batcher = Batcher<Int, Int>(maxInFlight: 1, maxBatchSize: 3) { lane, items in
            if lane == "held" { await gate.enter(items) }
            return items.map { .success($0) }
        }
        try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask { try await batcher.submit(0, lane: "held") }
            #expect(try await eventually(every: .milliseconds(10)) { gate.batches.count == 1 })
            for item in 1...7 { group.addTask { try await batcher.submit(item, lane: "held") } }
            #expect(try await eventually(every: .milliseconds(10)) { batcher.waiting == 7 })
            // Another lane runs while "held" is held.
            #expect(try await batcher.submit(42, lane: "other") == 42)
            gate.open()
            var seen: [Int] = []
            for try await value in group { seen.append(value) }
            #expect(seen.sorted() == Array(0...7))
        }
        #expect(gate.batches.map(\.count) == [1, 3, 3, 1])
    }

    /// A batch started without a task: each item's completion gets its own result on the thread that finished the
    /// batch; the next batch starts before those completions run; a short result list fails the whole batch.
    @Test func aCallbackBatchDeliversOnItsThreadAndStartsTheNextFirst() async throws {
        struct Log: Sendable {
            var started: [[Int]] = []
            var events: [String] = []
        }
        let log = Mutex(Log())
        let finishers = Mutex<[@Sendable () -> Void]>([])
        let batcher = Batcher<Int, Int>(maxInFlight: 1, maxBatchSize: 10) { _, items, done in
            log.withLock { $0.started.append(items) }
            // Finished later, from a thread the test picks.
            finishers.withLock {
                $0.append {
                    done(.success(items.contains(-1) ? [] : items.map { .success($0 * 2) }))
                }
            }
        }
        let results = Mutex<[Int: Result<Int, any Error>]>([:])
        func submit(_ item: Int) {
            batcher.submit(item) { result in
                results.withLock { $0[item] = result }
                log.withLock { $0.events.append("delivered \(item) after \($0.started.count) batches started") }
            }
        }
        submit(1)
        for item in [2, 3, -1] { submit(item) }
        #expect(log.withLock { $0.started } == [[1]])
        #expect(batcher.waiting == 3 && batcher.running == 1)
        // Finishing the first batch starts the next one before item 1 hears back.
        let first = finishers.withLock { $0.removeFirst() }
        first()
        #expect(log.withLock { $0.started } == [[1], [2, 3, -1]])
        #expect(log.withLock { $0.events } == ["delivered 1 after 2 batches started"])
        #expect(try results.withLock { try $0[1]?.get() } == 2)
        // The second returns no results for three items: each of them fails with a BatchError.
        let second = finishers.withLock { $0.removeFirst() }
        second()
        for item in [2, 3, -1] {
            #expect(throws: BatchError.self) { try results.withLock { try $0[item]?.get() } }
        }
        #expect(batcher.waiting == 0 && batcher.running == 0)
        #expect(finishers.withLock { $0.isEmpty })
    }

    @Test func aFailedBatchFailsEachOfItsItemsAndOnlyThose() async throws {
        struct Refused: Error, Equatable { let item: Int }
        struct Broken: Error {}
        let batcher = Batcher<Int, Int>(maxInFlight: 1, maxBatchSize: 10) { _, items in
            if items.contains(-1) { throw Broken() }
            return items.map { $0 % 2 == 0 ? .success($0) : .failure(Refused(item: $0)) }
        }
        #expect(try await batcher.submit(4) == 4)
        await #expect(throws: Refused(item: 3)) { try await batcher.submit(3) }
        await #expect(throws: Broken.self) { try await batcher.submit(-1) }
        #expect(try await batcher.submit(6) == 6)
    }
}
