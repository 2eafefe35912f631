import MusterMatching
import MusterRegistry

/// Why a staffing request is short: every volunteer in the registry (but the withdrawn) counted once, under the
/// first filter that rules them out for that request, in this order.
enum ShortageFilter: String, CaseIterable, Sendable {
    /// A different profession.
    case profession
    /// Lacks one of the required skills.
    case skills
    /// Registered, not yet verified (no credential level).
    case awaitingVerification
    /// Verified, but not yet made available for deployment by their state.
    case notMarkedAvailable
    /// Credential level above the request's `maxCredentialLevel`.
    case credentialLevel
    /// No emergency order or licence lets them practise in the request's state on the round's dates.
    case notEligible
    /// Eligible only under conditions (setting, supervision, …) the site does not provide.
    case conditions
    /// The site is beyond their travel distance (or they gave no location).
    case tooFar
    /// The request's dates are outside their availability.
    case notAvailableOnDates
    /// Deployed already, or offered or booked elsewhere during the round's dates.
    case alreadyAssigned
    /// Declined, or let expire, an offer on one of the round's requests.
    case declined
    /// Could have gone here, but the optimal round gives them to another request.
    case offeredElsewhere
}

/// Counts per filter, in filter order when encoded.
struct ShortageCounts: Encodable, Sendable {
    private(set) var counts = [Int](repeating: 0, count: ShortageFilter.allCases.count)

    subscript(filter: ShortageFilter) -> Int {
        get { counts[ShortageFilter.allCases.firstIndex(of: filter)!] }
        set { counts[ShortageFilter.allCases.firstIndex(of: filter)!] = newValue }
    }

    mutating func add(_ other: ShortageCounts) {
        for index in counts.indices { counts[index] += other.counts[index] }
    }

    var total: Int { counts.reduce(0, +) }

    func encode(to encoder: any Encoder) throws {
        struct Key: CodingKey {
            let stringValue: String
            init(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }
        var container = encoder.container(keyedBy: Key.self)
        for (index, filter) in ShortageFilter.allCases.enumerated() {
            try container.encode(counts[index], forKey: Key(stringValue: filter.rawValue))
        }
    }
}

/// A volunteer as the shortage report sees them: everything a filter needs, whether or not they entered the round.
struct ShortageCandidate: Sendable {
    let id: Int64
    let status: VolunteerStatus
    let profession: String
    let skills: Set<String>
    let credentialLevel: Int?
    /// Whether the rules engine lets them practise in the state on every date of the round.
    let eligible: Bool
    /// As the matcher sees them (site requirements included); nil without a credential level or a location.
    let volunteer: MatchVolunteer?
    /// Requests they are actively offered or booked on during the round's dates.
    let bookedOn: [Int64]
    let declined: Bool

    /// The filter that rules this volunteer out for `request`, or nil when they count towards it (offered or booked
    /// on it already, or offered it in this round).
    func filter(for request: MatchRequest, requestID: Int64, offeredThisRound: Int64?) -> ShortageFilter? {
        if bookedOn.contains(requestID) || offeredThisRound == requestID { return nil }
        if profession != request.profession { return .profession }
        if !request.skills.allSatisfy(skills.contains) { return .skills }
        guard let credentialLevel, status != .registered else { return .awaitingVerification }
        if status == .verified { return .notMarkedAvailable }
        if credentialLevel > request.maxCredentialLevel { return .credentialLevel }
        if !eligible { return .notEligible }
        guard let volunteer else { return .tooFar }
        if !(volunteer.eligibleStates[request.state] ?? []).allSatisfy(request.provides.contains) { return .conditions }
        if !(volunteer.distanceKm(to: request) <= volunteer.maxTravelKm) { return .tooFar }
        if !(volunteer.availableFrom <= request.start && request.end <= volunteer.availableTo) { return .notAvailableOnDates }
        if status == .deployed || !bookedOn.isEmpty { return .alreadyAssigned }
        if declined { return .declined }
        return .offeredElsewhere
    }
}

/// One short request, explained.
struct ShortRequest: Encodable, Sendable {
    let requestId: Int64
    let facilityId: Int64
    let profession: String
    let priority: Int
    let wanted: Int
    /// Filled before the round plus offered by it (in a dry run: would be offered).
    let filled: Int
    let short: Int
    /// Volunteers considered: everyone in the registry but the withdrawn.
    let considered: Int
    let removedBy: ShortageCounts
}
