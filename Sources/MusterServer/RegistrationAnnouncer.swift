import Logging
import MusterPQ
import MusterStore

/// Tells every daemon's event subscribers about newly registered volunteers, after their registrations have
/// committed (`VolunteerStore.announceRegistrations`), without holding up the replies.
///
/// Announcements waiting while one is being sent go together in the next (a `Batcher` with one in flight), so a
/// registration load costs a few notifying transactions a second, not one per registration. An announcement that
/// fails (the database went away) is logged and dropped: the registrations themselves are stored, and subscribers
/// that missed events can list what changed.
public struct RegistrationAnnouncer: Sendable {
    private let batcher: Batcher<[RegisteredVolunteer], Void>
    private let logger: Logger

    public init(pool: PGPool, store: VolunteerStore = VolunteerStore(), logger: Logger) {
        self.logger = logger
        batcher = Batcher(maxInFlight: 1, maxBatchSize: 256) { _, lists in
            let registered = lists.flatMap { $0 }
            try await pool.withConnection { connection in try store.announceRegistrations(connection, registered) }
            return lists.map { _ in .success(()) }
        }
    }

    /// Announces these volunteers (registered and committed) in the background.
    public func announce(_ registered: [RegisteredVolunteer]) {
        guard !registered.isEmpty else { return }
        let batcher = batcher
        let logger = logger
        Task {
            do {
                try await batcher.submit(registered)
            } catch {
                logger.warning("registration events not sent", metadata: ["volunteers": "\(registered.count)", "error": "\(error)"])
            }
        }
    }

    /// Announces these volunteers and returns once the announcement is sent.
    public func announceNow(_ registered: [RegisteredVolunteer]) async throws {
        guard !registered.isEmpty else { return }
        try await batcher.submit(registered)
    }
}
