import Foundation
import MusterCore
import MusterRegistry
import MusterStore
import Testing

/// The decoded-profile cache: used only for the exact text it decoded, and bounded.
@Suite struct ProfileCacheTests {
    static func text(_ ref: String, travel: Int = 80) -> String {
        """
        {"availability":{"from":"2020-04-01","to":"2020-06-30"},"category":"licensed","consentToShare":false,\
        "disciplinaryActions":[],"email":"a@example.org","firstName":"Ana","homeState":"NJ","languages":[],\
        "lastName":"Pérez","licenses":[],"maxTravelKm":\(travel),"profession":"registered_nurse","ref":"\(ref)",\
        "skills":[],"telehealthOnly":false}
        """
    }

    final class Counter: @unchecked Sendable {
        var decodes = 0
        func decode(_ text: String) throws -> VolunteerProfile {
            decodes += 1
            return try JSONDecoder().decode(VolunteerProfile.self, from: Data(text.utf8))
        }
    }

    @Test func theSameTextIsDecodedOnceAndAChangedTextAgain() throws {
        let cache = ProfileCache(capacity: 10)
        let counter = Counter()
        let first = try cache.profile(id: 1, text: Self.text("a"), decode: counter.decode)
        let again = try cache.profile(id: 1, text: Self.text("a"), decode: counter.decode)
        #expect(first == again)
        #expect(counter.decodes == 1)
        // The record changed: its new text is decoded, and the old profile is never returned for it.
        let changed = try cache.profile(id: 1, text: Self.text("a", travel: 20), decode: counter.decode)
        #expect(changed.maxTravelKm == 20)
        #expect(counter.decodes == 2)
        // Another volunteer with the same text is its own entry.
        _ = try cache.profile(id: 2, text: Self.text("a", travel: 20), decode: counter.decode)
        #expect(counter.decodes == 3)
    }

    @Test func itHoldsAtMostItsCapacity() throws {
        let cache = ProfileCache(capacity: 3)
        let counter = Counter()
        for id in 1...10 { _ = try cache.profile(id: Int64(id), text: Self.text("r\(id)"), decode: counter.decode) }
        #expect(cache.count == 3)
        #expect(counter.decodes == 10)
    }

    @Test func aTextThatDoesNotDecodeIsAnErrorAndNotKept() throws {
        let cache = ProfileCache(capacity: 3)
        let counter = Counter()
        #expect(throws: (any Error).self) { try cache.profile(id: 1, text: "{", decode: counter.decode) }
        #expect(cache.count == 0)
    }
}
