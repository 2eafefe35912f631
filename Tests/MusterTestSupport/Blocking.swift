import NIOPosix

/// Runs blocking work (starting or stopping a cluster, waiting for a child process, a query that waits on a lock) on
/// a blocking-I/O thread instead of the calling task's thread.
///
/// Swift's cooperative pool has one thread per core, two in CI. A test that blocks one of them stalls every other
/// test's tasks and the in-process servers' command tasks too, which turns a slow `initdb` into an unrelated test's
/// timeout. Awaiting this leaves the cooperative threads free.
public func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(work)
}

/// Polls `condition` every `interval` until it holds or `timeout` has passed; returns whether it held.
///
/// A deadline, not a count of polls: with the whole suite in parallel on two cores, one poll can take far longer
/// than it does alone, and only a condition that never comes true is a failure.
public func eventually(
    within timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try await Task.sleep(for: interval)
    }
}

extension Result {
    /// The error, if this is a failure.
    public var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
