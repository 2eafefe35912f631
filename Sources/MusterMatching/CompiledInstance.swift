/// The instance in the solver's own form: strings replaced by small integers and bit sets,
/// dates by sortable integers, so that the feasible-pair rule costs a handful of integer
/// operations before the (exact) distance test.
///
/// Rule by rule, for volunteer v and request r:
/// 1. profession: both interned to the same id (volunteers of professions no request asks
///    for get -1 and are never considered);
/// 2. skills: `r.skills ⊆ v.skills` ⟺ `skillMask(r) & ~skillMask(v) == 0`, with one bit per
///    skill that some request requires (skills no request requires cannot matter);
/// 3 and 5. credential and dates: three "v <= r" comparisons packed into one 64-bit word
///    each (see `attributeWord`), decided by one subtraction;
/// 4. state: every distinct (state, provides) of the requests is a "site class"; each
///    volunteer gets a bit set over site classes (bit set ⟺ the state is a key of
///    eligibleStates and its conditions ⊆ the class's provides). When there are too many
///    classes for that, v's list of (state id, condition mask) is searched instead;
///    conditions ⊆ provides ⟺ `mask(v, state) & ~providesMask(r) == 0`, with one bit per
///    condition some request provides plus one "provided by no request" bit that no
///    request's mask has;
/// 6. distance: the exact spec formula (see `Haversine`).
struct CompiledInstance {
    let volunteerCount: Int
    let requestCount: Int
    /// Words per skill mask and per condition mask.
    let skillWords: Int
    let conditionWords: Int
    let professionCount: Int

    /// Words per volunteer in `vSiteClasses`; 0 when there are too many site classes (then
    /// rule 4 uses the per-volunteer state lists).
    let siteClassWords: Int

    // Requests.
    var rProfession: [Int32] = []
    var rAttributes: [UInt64] = []
    var rSiteClass: [Int32] = []
    var rState: [Int32] = []
    var rLat: [Double] = []
    var rLon: [Double] = []
    var rCos: [Double] = []
    var rSkills: [UInt64] = []
    var rProvides: [UInt64] = []

    // Volunteers.
    var vProfession: [Int32] = []
    var vAttributes: [UInt64] = []
    /// `siteClassWords` words per volunteer: bit c set ⟺ rule 4 holds for site class c.
    var vSiteClasses: [UInt64] = []
    var vLat: [Double] = []
    var vLon: [Double] = []
    var vMaxTravel: [Double] = []
    var vSkills: [UInt64] = []
    /// Eligible states of volunteer i: entries `vStateStart[i] ..< vStateStart[i + 1]` of
    /// `vStateID` (only states some request is in) with condition masks in `vStateConditions`.
    var vStateStart: [Int32] = []
    var vStateID: [Int32] = []
    var vStateConditions: [UInt64] = []

    init(_ instance: MatchInstance) {
        let requests = instance.requests
        let volunteers = instance.volunteers
        volunteerCount = volunteers.count
        requestCount = requests.count

        var professions = TokenIndex()
        var states = TokenIndex()
        var skills = TokenIndex()
        var conditions = TokenIndex()
        for r in requests {
            professions.insert(r.profession)
            states.insert(r.state)
            for s in r.skills { skills.insert(s) }
            for c in r.provides { conditions.insert(c) }
        }
        professionCount = professions.count
        let sw = max(1, (skills.count + 63) / 64)
        let unprovided = conditions.count  // the "provided by no request" bit
        let cw = (conditions.count + 1 + 63) / 64
        skillWords = sw
        conditionWords = cw

        rProfession.reserveCapacity(requestCount)
        rSkills = Array(repeating: 0, count: requestCount * sw)
        rProvides = Array(repeating: 0, count: requestCount * cw)
        for (j, r) in requests.enumerated() {
            rProfession.append(professions.index(of: r.profession)!)
            rState.append(states.index(of: r.state)!)
            rLat.append(r.lat)
            rLon.append(r.lon)
            rCos.append(Haversine.cosLat(r.lat))
            for s in r.skills { let b = Int(skills.index(of: s)!); rSkills[j * sw + b >> 6] |= 1 << UInt64(b & 63) }
            for c in r.provides { let b = Int(conditions.index(of: c)!); rProvides[j * cw + b >> 6] |= 1 << UInt64(b & 63) }
            rAttributes.append(CompiledInstance.attributeWord(credential: r.maxCredentialLevel, from: r.start,
                                                              to: r.end) | CompiledInstance.attributeGuards)
        }

        // Site classes: distinct (state, provides) among the requests.
        struct SiteKey: Hashable { var state: Int32; var provides: ArraySlice<UInt64> }
        var classOf: [SiteKey: Int32] = [:]
        var classesOfState = [[Int32]](repeating: [], count: states.count)
        var classProvides: [ArraySlice<UInt64>] = []
        for j in 0..<requestCount {
            let key = SiteKey(state: rState[j], provides: rProvides[(j * cw)..<(j * cw + cw)])
            if let c = classOf[key] {
                rSiteClass.append(c)
            } else {
                let c = Int32(classOf.count)
                classOf[key] = c
                classesOfState[Int(key.state)].append(c)
                classProvides.append(key.provides)
                rSiteClass.append(c)
            }
        }
        let words = (classOf.count + 63) / 64
        siteClassWords = words <= CompiledInstance.maxSiteClassWords ? words : 0

        vProfession.reserveCapacity(volunteerCount)
        vLat.reserveCapacity(volunteerCount)
        vLon.reserveCapacity(volunteerCount)
        vMaxTravel.reserveCapacity(volunteerCount)
        vSkills = Array(repeating: 0, count: volunteerCount * sw)
        vAttributes.reserveCapacity(volunteerCount)
        vSiteClasses = Array(repeating: 0, count: volunteerCount * siteClassWords)
        vStateStart.reserveCapacity(volunteerCount + 1)
        vStateStart.append(0)
        var mask = [UInt64](repeating: 0, count: cw)
        for (i, v) in volunteers.enumerated() {
            vProfession.append(professions.index(of: v.profession) ?? -1)
            vAttributes.append(CompiledInstance.attributeWord(credential: v.credentialLevel, from: v.availableFrom,
                                                              to: v.availableTo))
            vLat.append(v.lat)
            vLon.append(v.lon)
            vMaxTravel.append(v.maxTravelKm)
            for s in v.skills { if let b32 = skills.index(of: s) { let b = Int(b32); vSkills[i * sw + b >> 6] |= 1 << UInt64(b & 63) } }
            for (state, conds) in v.eligibleStates {
                guard let sid = states.index(of: state) else { continue }
                for k in 0..<cw { mask[k] = 0 }
                for c in conds {
                    let b = conditions.index(of: c).map { Int($0) } ?? unprovided
                    mask[b >> 6] |= 1 << UInt64(b & 63)
                }
                vStateID.append(sid)
                vStateConditions.append(contentsOf: mask)
                if siteClassWords > 0 {
                    for c in classesOfState[Int(sid)] {
                        let provides = classProvides[Int(c)]
                        var subset = true
                        for k in 0..<cw where mask[k] & ~provides[provides.startIndex + k] != 0 { subset = false }
                        if subset { vSiteClasses[i * siteClassWords + Int(c) >> 6] |= 1 << UInt64(c & 63) }
                    }
                }
            }
            vStateStart.append(Int32(vStateID.count))
        }
    }

    /// Site classes beyond 64 · this many use the state lists instead of bit sets.
    static let maxSiteClassWords = 4

    /// Bits 3, 26 and 49: the guard bit above each field of an attribute word.
    static let attributeGuards: UInt64 = 1 << 3 | 1 << 26 | 1 << 49

    /// Credential level and the two dates in one word, so that rules 3 and 5 — three
    /// comparisons "volunteer field <= request field" — take one subtraction:
    ///
    ///     bits 0-2 credential level   (rule 3: v.credentialLevel <= r.maxCredentialLevel)
    ///     bits 4-25 first day          (rule 5: v.availableFrom <= r.start)
    ///     bits 27-48 2^22-1 - last day (rule 5: r.end <= v.availableTo, negated)
    ///
    /// A request's word also has the guard bits 3, 26 and 49 set. For each field of width w,
    /// (r + 2^w) − v lies in [1, 2^(w+1) − 1] because 0 <= r, v < 2^w, so no borrow crosses
    /// into the next field, and the guard bit survives exactly when r − v >= 0. Hence
    /// `(rWord &- vWord) & attributeGuards == attributeGuards` ⟺ all three comparisons hold.
    /// Days are `(year − 1) · 372 + (month − 1) · 31 + day − 1` (< 3,720,000 < 2^22), which
    /// orders like the calendar.
    static func attributeWord(credential: Int, from: MatchDate, to: MatchDate) -> UInt64 {
        func day(_ d: MatchDate) -> UInt64 { UInt64((d.year - 1) * 372 + (d.month - 1) * 31 + d.day - 1) }
        let dayMax: UInt64 = (1 << 22) - 1
        return UInt64(credential) | day(from) << 4 | (dayMax - day(to)) << 27
    }
}
