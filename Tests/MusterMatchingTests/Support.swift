import Foundation
@testable import MusterMatching

/// The shared samples directory: walk up from this file until a `shared/match-samples`
/// directory exists (works both in the standalone package and inside the main repo).
func sharedSamplesDirectory(file: String = #filePath) -> URL? {
    var dir = URL(fileURLWithPath: file).deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent("shared/match-samples")
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return candidate
        }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

/// SplitMix64: a tiny seeded generator so property tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func date(_ s: String) -> MatchDate { MatchDate(s)! }

func volunteer(_ id: String, profession: String = "physician", skills: [String] = [], credential: Int = 1,
               lat: Double = 40, lon: Double = -74, maxTravelKm: Double = 100,
               from: String = "2020-01-01", to: String = "2020-12-31",
               eligible: [String: [String]] = ["NY": []]) -> MatchVolunteer {
    MatchVolunteer(id: id, profession: profession, skills: skills, credentialLevel: credential, lat: lat, lon: lon,
                   maxTravelKm: maxTravelKm, availableFrom: date(from), availableTo: date(to), eligibleStates: eligible)
}

func request(_ id: String, state: String = "NY", profession: String = "physician", skills: [String] = [],
             maxCredential: Int = 4, lat: Double = 40, lon: Double = -74, count: Int = 1, priority: Int = 3,
             start: String = "2020-05-01", end: String = "2020-05-10", provides: [String] = []) -> MatchRequest {
    MatchRequest(id: id, state: state, profession: profession, skills: skills, maxCredentialLevel: maxCredential,
                 lat: lat, lon: lon, count: count, priority: priority, start: date(start), end: date(end),
                 provides: provides)
}

/// A small random instance with many ties and near-misses: few distinct coordinates,
/// professions, skills, states, conditions and dates.
func randomInstance(_ g: inout SeededGenerator, volunteers nv: Int, requests nr: Int,
                    counts: ClosedRange<Int> = 1...3) -> MatchInstance {
    let professions = ["nurse", "physician"]
    let skills = ["a", "b", "c"]
    let states = ["NY", "NJ"]
    let conditions = ["supervision", "orientation"]
    let dates = ["2020-03-01", "2020-04-01", "2020-05-01", "2020-06-01", "2020-07-01"]
    func point(_ g: inout SeededGenerator) -> (Double, Double) {
        // A 5 x 5 grid of 0.1° (about 8-11 km) plus a little jitter now and then.
        var lat = 40 + Double(Int.random(in: 0..<5, using: &g)) * 0.1
        var lon = -74 + Double(Int.random(in: 0..<5, using: &g)) * 0.1
        if Bool.random(using: &g) { lat += Double(Int.random(in: -3...3, using: &g)) * 0.01 }
        if Bool.random(using: &g) { lon += Double(Int.random(in: -3...3, using: &g)) * 0.01 }
        return (lat, lon)
    }
    func subset(_ pool: [String], _ g: inout SeededGenerator, max: Int) -> [String] {
        let n = Int.random(in: 0...max, using: &g)
        return Array(pool.shuffled(using: &g).prefix(n)).sorted()
    }
    var vs: [MatchVolunteer] = []
    for i in 0..<nv {
        let (lat, lon) = point(&g)
        var eligible: [String: [String]] = [:]
        for s in states where Int.random(in: 0..<10, using: &g) < 8 {
            eligible[s] = Int.random(in: 0..<3, using: &g) == 0 ? subset(conditions, &g, max: 1) : []
        }
        let a = Int.random(in: 0..<3, using: &g), b = Int.random(in: 2..<5, using: &g)
        vs.append(MatchVolunteer(
            id: "v-\(i)", profession: professions[Int.random(in: 0..<(nv > 4 ? 2 : 1), using: &g)],
            skills: subset(skills, &g, max: 3), credentialLevel: Int.random(in: 1...3, using: &g),
            lat: lat, lon: lon, maxTravelKm: Double([15, 25, 40, 60, 80][Int.random(in: 0..<5, using: &g)]),
            availableFrom: date(dates[a]), availableTo: date(dates[max(a, b)]), eligibleStates: eligible))
    }
    var rs: [MatchRequest] = []
    for j in 0..<nr {
        let (lat, lon) = point(&g)
        let a = Int.random(in: 1..<4, using: &g)
        rs.append(MatchRequest(
            id: "r-\(j)", state: states[Int.random(in: 0..<2, using: &g)],
            profession: professions[Int.random(in: 0..<(nv > 4 ? 2 : 1), using: &g)],
            skills: Bool.random(using: &g) ? [] : subset(skills, &g, max: 1),
            maxCredentialLevel: Int.random(in: 2...4, using: &g),
            lat: lat, lon: lon, count: Int.random(in: counts, using: &g), priority: Int.random(in: 1...5, using: &g),
            start: date(dates[a]), end: date(dates[a]), provides: subset(conditions, &g, max: 2)))
    }
    return try! MatchInstance(volunteers: vs, requests: rs)
}

/// The optimum (weightedFilled, travelKm) by exhaustive enumeration: every volunteer either
/// stays free or takes one feasible request with room left. Uses only the public, literal
/// feasibility rule and distance, independent of the solver's compiled form.
func bruteForceOptimum(_ instance: MatchInstance) -> (weightedFilled: Int, travelKm: Int) {
    let vs = instance.volunteers, rs = instance.requests
    var options: [[(request: Int, priority: Int, km: Int)]] = []
    for v in vs {
        var list: [(Int, Int, Int)] = []
        for (j, r) in rs.enumerated() where MatchFeasibility.isFeasible(volunteer: v, request: r) {
            list.append((j, r.priority, roundedKm(v.distanceKm(to: r))))
        }
        options.append(list)
    }
    var room = rs.map(\.count)
    var best = (weightedFilled: 0, travelKm: 0)
    func better(_ w: Int, _ k: Int) -> Bool { w > best.weightedFilled || (w == best.weightedFilled && k < best.travelKm) }
    func go(_ i: Int, _ w: Int, _ k: Int) {
        if i == vs.count {
            if better(w, k) { best = (w, k) }
            return
        }
        go(i + 1, w, k)
        for o in options[i] where room[o.request] > 0 {
            room[o.request] -= 1
            go(i + 1, w + o.priority, k + o.km)
            room[o.request] += 1
        }
    }
    go(0, 0, 0)
    return best
}

/// An independent exact optimum for medium instances: min-cost flow by successive shortest
/// paths with Bellman-Ford on an explicit graph, costs as lexicographic (−priority, km) pairs
/// (no folding into one integer, no potentials, no shortcuts).
func bellmanFordOptimum(_ instance: MatchInstance) -> (weightedFilled: Int, travelKm: Int) {
    typealias Cost = LexicographicCost
    struct Arc { var to: Int, cap: Int, cost: Cost }
    let nv = instance.volunteers.count, nr = instance.requests.count
    let s = nv + nr, t = s + 1, n = t + 1
    var arcs: [Arc] = []
    var out = [[Int]](repeating: [], count: n)
    func add(_ a: Int, _ b: Int, _ cap: Int, _ cost: Cost) {
        out[a].append(arcs.count); arcs.append(Arc(to: b, cap: cap, cost: cost))
        out[b].append(arcs.count); arcs.append(Arc(to: a, cap: 0, cost: -cost))
    }
    for (j, r) in instance.requests.enumerated() { add(s, nv + j, r.count, .zero) }
    for (i, v) in instance.volunteers.enumerated() {
        add(i, t, 1, .zero)
        for (j, r) in instance.requests.enumerated() where MatchFeasibility.isFeasible(volunteer: v, request: r) {
            add(nv + j, i, 1, Cost(p: -r.priority, k: roundedKm(v.distanceKm(to: r))))
        }
    }
    var total = Cost.zero
    while true {
        var dist = [Cost?](repeating: nil, count: n)
        var via = [Int](repeating: -1, count: n)
        dist[s] = .zero
        var changed = true
        while changed {
            changed = false
            for a in 0..<n {
                guard let da = dist[a] else { continue }
                for e in out[a] where arcs[e].cap > 0 {
                    let nd = da + arcs[e].cost
                    if dist[arcs[e].to] == nil || nd < dist[arcs[e].to]! {
                        dist[arcs[e].to] = nd
                        via[arcs[e].to] = e
                        changed = true
                    }
                }
            }
        }
        guard let dt = dist[t], dt < .zero else { break }
        var x = t
        while x != s {
            let e = via[x]
            arcs[e].cap -= 1
            arcs[e ^ 1].cap += 1
            x = arcs[e ^ 1].to
        }
        total = total + dt
    }
    return (-total.p, total.k)
}

/// Checks a solution against the instance with the public rules: feasibility of every pair,
/// each volunteer once, counts respected, and the stated sums. Returns problems found.
func problems(_ s: MatchSolution, _ instance: MatchInstance) -> [String] {
    var found: [String] = []
    var used = Set<Int>()
    var perRequest = [Int](repeating: 0, count: instance.requests.count)
    var w = 0, k = 0
    for a in s.assignments {
        let v = instance.volunteers[a.volunteerIndex], r = instance.requests[a.requestIndex]
        if v.id != a.volunteer || r.id != a.request { found.append("ids do not match indices: \(a)") }
        if let why = MatchFeasibility.reason(volunteer: v, request: r) { found.append("\(v.id)->\(r.id): \(why)") }
        if !used.insert(a.volunteerIndex).inserted { found.append("\(v.id) assigned twice") }
        perRequest[a.requestIndex] += 1
        w += r.priority
        let km = roundedKm(v.distanceKm(to: r))
        if km != a.travelKm { found.append("\(v.id)->\(r.id): travelKm \(a.travelKm) != \(km)") }
        k += km
    }
    for (j, r) in instance.requests.enumerated() where perRequest[j] > r.count {
        found.append("\(r.id) gets \(perRequest[j]) > \(r.count)")
    }
    if w != s.weightedFilled { found.append("weightedFilled \(s.weightedFilled) != recomputed \(w)") }
    if k != s.travelKm { found.append("travelKm \(s.travelKm) != recomputed \(k)") }
    return found
}

/// (−priority, km) compared lexicographically, for the Bellman-Ford reference.
struct LexicographicCost: Comparable {
    var p: Int, k: Int
    static func < (a: Self, b: Self) -> Bool { a.p != b.p ? a.p < b.p : a.k < b.k }
    static func + (a: Self, b: Self) -> Self { Self(p: a.p + b.p, k: a.k + b.k) }
    static prefix func - (a: Self) -> Self { Self(p: -a.p, k: -a.k) }
    static let zero = Self(p: 0, k: 0)
}
