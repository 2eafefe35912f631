import MusterCore
import MusterPQ
import MusterRegistry
import MusterStore

/// Group commit for `VOLUNTEER.REGISTER`: registrations of one state arriving at once, on any connection, share one
/// transaction (a `Batcher` lane per state).
///
/// Each registration still gets its own answer, sent only after the transaction that stored it has committed, and
/// the same rules decide it as when it is alone: `VolunteerStore.registerBatch` decides each registration in order,
/// counting earlier ones of the batch as registered, and audits each under its own token. What is shared is the
/// cost of a commit (a WAL flush) and of each statement's round trip, which is what limits registrations per second
/// when each is a transaction of its own.
///
/// A batch the database refuses for its content (a constraint that validation did not foresee) is decided again one
/// registration at a time, so only the offending one fails. A batch that fails because the database is unreachable
/// fails every registration in it with that error; none of them was stored, and re-sending with the same `ref` is
/// safe.
public struct RegistrationBatcher: Sendable {
    /// One registration's answer: its id, and whether it was created now (false when the same `ref` was stored before).
    public typealias Outcome = (id: Int64, created: Bool)

    private struct Item: Sendable {
        let profile: VolunteerProfile
        let actor: Identity
    }

    private let batcher: Batcher<Item, Outcome>

    /// - Parameters:
    ///   - maxInFlightPerState: batches of one state that run at once (each on its own pooled connection).
    ///   - maxBatchSize: the most registrations one transaction takes.
    ///   - batchSizes: told the size of every batch that runs (for metrics).
    ///   - announcer: told the ids created by each committed batch, for event subscribers.
    public init(
        pool: PGPool, store: VolunteerStore = VolunteerStore(), announcer: RegistrationAnnouncer,
        maxInFlightPerState: Int = 2, maxBatchSize: Int = 256, batchSizes: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        batcher = Batcher(maxInFlight: maxInFlightPerState, maxBatchSize: maxBatchSize) { lane, items in
            batchSizes(items.count)
            guard let state = Jurisdiction(lane) else { preconditionFailure("a registration lane is a state code") }
            let outcomes = try await togetherOrEachAlone(items) { items in
                try await Self.register(items, state: state, pool: pool, store: store)
            } failed: { _, error in
                .failure(error)
            }
            announcer.announce(outcomes.compactMap { outcome in
                guard case .success(let stored) = outcome, stored.created else { return nil }
                return RegisteredVolunteer(id: stored.id, state: state.code)
            })
            return outcomes
        }
    }

    private static func register(
        _ items: [Item], state: Jurisdiction, pool: PGPool, store: VolunteerStore
    ) async throws -> [Result<Outcome, any Error>] {
        let profiles = items.map(\.profile)
        let actors = items.map(\.actor)
        let outcomes = try await pool.withTransaction { connection in
            try store.registerBatch(connection, profiles: profiles, state: state, actors: actors)
        }
        return outcomes.map { outcome in outcome.mapError { $0 as any Error } }
    }


    /// Registrations waiting for a batch of their state to finish.
    public var waiting: Int { batcher.waiting }

    /// Batches running now.
    public var running: Int { batcher.running }

    /// Registers one volunteer in `state` on behalf of `actor`, in one transaction with whatever else of that state
    /// is registering now; returns once it has committed. Throws `VolunteerStoreError` for this registration's own
    /// refusal (duplicate, ref conflict) and the transaction's error (`PGError`) when the whole batch failed.
    public func register(_ profile: VolunteerProfile, state: Jurisdiction, actor: Identity) async throws -> Outcome {
        try await batcher.submit(Item(profile: profile, actor: actor), lane: state.code)
    }
}

/// Registers `items` in one transaction (`together`). Should the database refuse that transaction for its content (a
/// constraint validation did not foresee) rather than for being unreachable, each item is decided again in a
/// transaction of its own, in order, so that only the item at fault fails; `failed` turns its error into its
/// outcome. Group commit and `VOLUNTEER.IMPORT` both decide their registrations this way.
func togetherOrEachAlone<Item, Outcome>(
    _ items: [Item], _ together: ([Item]) async throws -> [Outcome], failed: (Item, any Error) -> Outcome
) async throws -> [Outcome] {
    do {
        return try await together(items)
    } catch let error as PGError where items.count > 1 && !error.isUnavailable && error.kind != .queryCanceled {
        var outcomes: [Outcome] = []
        for item in items {
            do {
                outcomes += try await together([item])
            } catch {
                outcomes.append(failed(item, error))
            }
        }
        return outcomes
    }
}
