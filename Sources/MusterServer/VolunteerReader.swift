import MusterPQ
import MusterStore

/// Reads of one stored volunteer by id (`ELIGIBILITY.CHECK`, `ELIGIBILITY.STATES`), batched: readers that ask at
/// the same moment, on any connection, share one `id = ANY($1)` statement and one trip to a pool thread.
///
/// A batch runs on a pool thread without a task, and its readers' completions run there too, so a reader on an
/// event loop reaches the database and gets its record back without a task of its own.
///
/// A record outside the reader's scope is reported as absent, exactly as the single-row read did.
public struct VolunteerReader: Sendable {
    private let batcher: Batcher<Int64, VolunteerRecord?>

    /// - Parameters:
    ///   - maxInFlight: statements that run at once (each on its own pooled connection).
    ///   - maxBatchSize: the most ids one statement reads.
    ///   - profiles: decoded profiles kept between reads (each used only while the stored text is unchanged).
    public init(
        pool: PGPool, store: VolunteerStore = VolunteerStore(), profiles: ProfileCache = ProfileCache(), maxInFlight: Int = 2,
        maxBatchSize: Int = 256
    ) {
        batcher = Batcher(maxInFlight: maxInFlight, maxBatchSize: maxBatchSize) { _, ids, done in
            pool.withConnection { connection in
                try store.get(connection, ids: Array(Set(ids)), profiles: profiles)
            } completion: { result in
                done(result.map { records in ids.map { .success(records[$0]) } })
            }
        }
    }

    /// The volunteer with this id if it is within `scope` (a state code, or nil for every state).
    public func get(id: Int64, scope: String?) async throws -> VolunteerRecord? {
        try await withCheckedThrowingContinuation { continuation in
            get(id: id, scope: scope) { continuation.resume(with: $0) }
        }
    }

    /// Reads the volunteer with this id if it is within `scope` (a state code, or nil for every state); `completion`
    /// gets it, or nil, on the pool thread that read it.
    public func get(
        id: Int64, scope: String?, completion: @escaping @Sendable (Result<VolunteerRecord?, any Error>) -> Void
    ) {
        batcher.submit(id) { result in
            completion(result.map { record in
                guard let record, scope == nil || record.registeringState == scope else { return nil }
                return record
            })
        }
    }
}
