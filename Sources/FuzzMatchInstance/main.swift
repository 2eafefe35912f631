// Fuzzes the match-instance decoder of MusterMatching (`MatchInstance.decode`, a hand-written JSON scanner over raw
// memory, so the sanitizers matter here), and solves the small instances it accepts.
//
// Invariants:
// - any bytes decode or fail with a `MatchInstanceError`, never a crash or an out-of-bounds read;
// - what decodes is accepted by the in-memory validator too (`MatchInstance(volunteers:requests:)`), and written
//   back as JSON (numbers in Swift's shortest form) decodes to the same values;
// - for instances small enough to enumerate, the solver's assignment is feasible, within every request's count,
//   adds up to the totals it reports, and is optimal (most weighted fills, then least travel) by brute force.
import FuzzSupport
import MusterMatching

func json(_ text: String) -> String { FuzzJSON.quoted(text) }
func json(_ list: [String]) -> String { "[" + list.map(json).joined(separator: ",") + "]" }

func document(_ instance: MatchInstance) -> String {
    let volunteers = instance.volunteers.map { v in
        let states = v.eligibleStates.keys.sorted().map { json($0) + ":" + json(v.eligibleStates[$0]!) }.joined(separator: ",")
        return """
            {"id":\(json(v.id)),"profession":\(json(v.profession)),"skills":\(json(v.skills)),\
            "credentialLevel":\(v.credentialLevel),"lat":\(v.lat),"lon":\(v.lon),"maxTravelKm":\(v.maxTravelKm),\
            "availableFrom":"\(v.availableFrom)","availableTo":"\(v.availableTo)","eligibleStates":{\(states)}}
            """
    }
    let requests = instance.requests.map { r in
        """
        {"id":\(json(r.id)),"state":\(json(r.state)),"profession":\(json(r.profession)),"skills":\(json(r.skills)),\
        "maxCredentialLevel":\(r.maxCredentialLevel),"lat":\(r.lat),"lon":\(r.lon),"count":\(r.count),\
        "priority":\(r.priority),"start":"\(r.start)","end":"\(r.end)","provides":\(json(r.provides))}
        """
    }
    return """
        {"format":"\(MatchInstance.format)","volunteers":[\(volunteers.joined(separator: ","))],\
        "requests":[\(requests.joined(separator: ","))]}
        """
}

/// The best (weighted fills, −travel) over every assignment, by enumeration.
func bruteForce(_ instance: MatchInstance) -> (weighted: Int, travel: Int) {
    let volunteers = instance.volunteers, requests = instance.requests
    let options: [[(request: Int, km: Int)]] = volunteers.map { v in
        requests.indices.filter { MatchFeasibility.isFeasible(volunteer: v, request: requests[$0]) }
            .map { ($0, roundedKm(v.distanceKm(to: requests[$0]))) }
    }
    var left = requests.map(\.count)
    var best = (weighted: 0, travel: 0)
    func visit(_ index: Int, _ weighted: Int, _ travel: Int) {
        if index == volunteers.count {
            if weighted > best.weighted || (weighted == best.weighted && travel < best.travel) { best = (weighted, travel) }
            return
        }
        visit(index + 1, weighted, travel)
        for option in options[index] where left[option.request] > 0 {
            left[option.request] -= 1
            visit(index + 1, weighted + requests[option.request].priority, travel + option.km)
            left[option.request] += 1
        }
    }
    visit(0, 0, 0)
    return best
}

func checkSolution(_ instance: MatchInstance) {
    let solution = MatchSolver.solve(instance, threads: 1)
    var used = Set<Int>()
    var filled = [Int](repeating: 0, count: instance.requests.count)
    var weighted = 0, travel = 0
    var previous = -1
    for a in solution.assignments {
        precondition(instance.volunteers.indices.contains(a.volunteerIndex) && instance.requests.indices.contains(a.requestIndex),
                     "assignment indices out of range")
        let v = instance.volunteers[a.volunteerIndex], r = instance.requests[a.requestIndex]
        precondition(a.volunteer == v.id && a.request == r.id, "assignment ids do not match their indices")
        precondition(a.volunteerIndex > previous, "assignments not ordered by volunteer, or a volunteer used twice")
        previous = a.volunteerIndex
        precondition(used.insert(a.volunteerIndex).inserted, "volunteer \(v.id) assigned twice")
        precondition(MatchFeasibility.isFeasible(volunteer: v, request: r),
                     "infeasible pair \(v.id) → \(r.id): \(String(describing: MatchFeasibility.reason(volunteer: v, request: r)))")
        precondition(a.travelKm == roundedKm(v.distanceKm(to: r)), "travelKm of \(v.id) → \(r.id) is not the rounded distance")
        filled[a.requestIndex] += 1
        precondition(filled[a.requestIndex] <= r.count, "request \(r.id) filled past its count")
        weighted += r.priority
        travel += a.travelKm
    }
    precondition(solution.weightedFilled == weighted && solution.travelKm == travel,
                 "totals \(solution.weightedFilled)/\(solution.travelKm) do not add up to \(weighted)/\(travel)")
    _ = solution.json()

    // Brute force when every volunteer has few choices.
    var leaves = 1.0
    for v in instance.volunteers {
        leaves *= Double(1 + instance.requests.filter { MatchFeasibility.isFeasible(volunteer: v, request: $0) }.count)
    }
    if leaves <= 4096 {
        let best = bruteForce(instance)
        precondition(solution.weightedFilled == best.weighted && solution.travelKm == best.travel,
                     "not optimal: solver \(solution.weightedFilled)/\(solution.travelKm), brute force \(best.weighted)/\(best.travel)")
    }
}

Fuzz.main { raw in
    let instance: MatchInstance
    do throws(MatchInstanceError) {
        instance = try MatchInstance.decode(Array(raw))
    } catch {
        _ = error.description
        return
    }
    do throws(MatchInstanceError) {
        _ = try MatchInstance(volunteers: instance.volunteers, requests: instance.requests)
    } catch {
        preconditionFailure("the decoder accepted what the validator rejects: \(error)")
    }
    let text = document(instance)
    do throws(MatchInstanceError) {
        let again = try MatchInstance.decode(json: text)
        precondition(again.volunteers == instance.volunteers && again.requests == instance.requests,
                     "the instance written back decodes differently:\n\(text)")
    } catch {
        preconditionFailure("the instance written back does not decode: \(error)\n\(text)")
    }
    if instance.volunteers.count <= 12 && instance.requests.count <= 6 { checkSolution(instance) }
}
