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
