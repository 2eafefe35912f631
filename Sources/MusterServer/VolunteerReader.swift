import MusterPQ
import MusterStore

/// Reads of one stored volunteer by id (`ELIGIBILITY.CHECK`, `ELIGIBILITY.STATES`), batched: readers that ask at
/// the same moment, on any connection, share one `id = ANY($1)` statement and one trip to a pool thread.
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
        batcher = Batcher(maxInFlight: maxInFlight, maxBatchSize: maxBatchSize) { _, ids in
            let records = try await pool.withConnection { connection in
                try store.get(connection, ids: Array(Set(ids)), profiles: profiles)
            }
            return ids.map { .success(records[$0]) }
        }
    }

    /// The volunteer with this id if it is within `scope` (a state code, or nil for every state).
    public func get(id: Int64, scope: String?) async throws -> VolunteerRecord? {
        guard let record = try await batcher.submit(id) else { return nil }
        if let scope, record.registeringState != scope { return nil }
        return record
    }
}
