/// Why a volunteer cannot be assigned to a request: the first of the spec's six rules that
/// fails, in the spec's order. Meant for explaining unfilled slots to people.
public enum MatchInfeasibility: Equatable, Sendable, CustomStringConvertible {
    /// Rule 1: the professions differ.
    case profession(volunteer: String, request: String)
    /// Rule 2: the volunteer lacks these required skills.
    case missingSkills([String])
    /// Rule 3: the volunteer's credential level is above the request's maximum.
    case credentialLevel(volunteer: Int, maximum: Int)
    /// Rule 4: the volunteer may not practise in the request's state.
    case notEligibleInState(String)
    /// Rule 4: the volunteer may practise there only under conditions the site does not provide.
    case conditionsNotProvided([String])
    /// Rule 5: the request's period is not inside the volunteer's availability.
    case dates
    /// Rule 6: the site is farther than the volunteer will travel.
    case distance(km: Double, maxTravelKm: Double)

    /// A short human-readable explanation, e.g. `not eligible in NY`.
    public var description: String {
        switch self {
        case let .profession(v, r): return "profession \(v) != \(r)"
        case let .missingSkills(s): return "missing skills \(s.joined(separator: ", "))"
        case let .credentialLevel(v, m): return "credential level \(v) > maximum \(m)"
        case let .notEligibleInState(s): return "not eligible in \(s)"
        case let .conditionsNotProvided(c): return "site does not provide \(c.joined(separator: ", "))"
        case .dates: return "request dates outside availability"
        case let .distance(km, max): return "distance \(km) km > maxTravelKm \(max)"
        }
    }
}

/// The spec's feasible-pair rule, literally (the solver uses an equivalent compiled form).
public enum MatchFeasibility {
    /// Whether `volunteer` may be assigned to `request` (all six rules of the spec hold).
    public static func isFeasible(volunteer: MatchVolunteer, request: MatchRequest) -> Bool {
        reason(volunteer: volunteer, request: request) == nil
    }

    /// The first rule that forbids the pair, or nil when the pair is feasible.
    public static func reason(volunteer v: MatchVolunteer, request r: MatchRequest) -> MatchInfeasibility? {
        if v.profession != r.profession { return .profession(volunteer: v.profession, request: r.profession) }
        let missing = r.skills.filter { !v.skills.contains($0) }
        if !missing.isEmpty { return .missingSkills(missing) }
        if v.credentialLevel > r.maxCredentialLevel {
            return .credentialLevel(volunteer: v.credentialLevel, maximum: r.maxCredentialLevel)
        }
        guard let conditions = v.eligibleStates[r.state] else { return .notEligibleInState(r.state) }
        let lacking = conditions.filter { !r.provides.contains($0) }
        if !lacking.isEmpty { return .conditionsNotProvided(lacking) }
        if !(v.availableFrom <= r.start && r.end <= v.availableTo) { return .dates }
        let d = v.distanceKm(to: r)
        if !(d <= v.maxTravelKm) { return .distance(km: d, maxTravelKm: v.maxTravelKm) }
        return nil
    }
}

extension MatchVolunteer {
    /// The spec's `distanceKm` from this volunteer to a request's site (see ``haversineKm(lat1:lon1:lat2:lon2:)``).
    public func distanceKm(to request: MatchRequest) -> Double {
        haversineKm(lat1: lat, lon1: lon, lat2: request.lat, lon2: request.lon)
    }
}
