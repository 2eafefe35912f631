import MusterRegistry
import Synchronization

/// Decoded registrations of recently read volunteers, so reading the same volunteer again does not decode its
/// stored JSON again (decoding is most of the CPU an eligibility check spends on the record).
///
/// An entry is used only when the stored text is byte for byte the text it was decoded from, so a changed record
/// is always decoded afresh; the cache can make a read cheaper, never staler. It holds at most `capacity`
/// entries; when full, an arbitrary one makes room.
public final class ProfileCache: Sendable {
    private struct Entry {
        let text: String
        let profile: VolunteerProfile
    }

    private let entries = Mutex<[Int64: Entry]>([:])
    public let capacity: Int

    public init(capacity: Int = 10_000) {
        precondition(capacity >= 1)
        self.capacity = capacity
    }

    /// The profile stored as `text` for volunteer `id`, decoded now or earlier.
    public func profile(id: Int64, text: String, decode: (String) throws -> VolunteerProfile) rethrows -> VolunteerProfile {
        if let cached = entries.withLock({ $0[id] }), cached.text == text { return cached.profile }
        let profile = try decode(text)
        entries.withLock { entries in
            if entries.count >= capacity, entries[id] == nil { entries.remove(at: entries.startIndex) }
            entries[id] = Entry(text: text, profile: profile)
        }
        return profile
    }

    /// Entries held now.
    public var count: Int { entries.withLock { $0.count } }
}
