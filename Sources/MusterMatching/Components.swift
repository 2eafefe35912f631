/// Splits the candidate graph into connected components: two requests are in the same
/// component when some volunteer is a candidate of both. Components share no volunteer and
/// no request, so their optimal assignments are independent and add up to the optimum.
/// (Pairs exist only within one profession, so every component has one profession.)
struct ComponentSplit {
    /// Requests of each component (global indices, ascending).
    var requests: [[Int32]] = []
    /// Volunteers of each component (global indices, ascending).
    var volunteers: [[Int32]] = []
    /// Position of a request / volunteer inside its component (-1: no candidate at all).
    var localRequest: [Int32] = []
    var localVolunteer: [Int32] = []
    /// Number of candidate pairs per component.
    var pairs: [Int] = []

    init(_ c: CandidateSet, requestCount: Int, volunteerCount: Int) {
        var parent = [Int32](0..<Int32(requestCount))
        func find(_ x: Int32) -> Int32 {
            var x = x
            while parent[Int(x)] != x {
                parent[Int(x)] = parent[Int(parent[Int(x)])]
                x = parent[Int(x)]
            }
            return x
        }
        var owner = [Int32](repeating: -1, count: volunteerCount)
        for r in 0..<requestCount {
            for k in c.start[r]..<c.start[r + 1] {
                let v = Int(c.volunteer[k])
                if owner[v] < 0 {
                    owner[v] = Int32(r)
                } else {
                    let a = find(owner[v]), b = find(Int32(r))
                    if a != b { parent[Int(max(a, b))] = min(a, b) }
                }
            }
        }
        var componentOfRoot = [Int32](repeating: -1, count: requestCount)
        localRequest = [Int32](repeating: -1, count: requestCount)
        for r in 0..<requestCount where c.start[r + 1] > c.start[r] {
            let root = Int(find(Int32(r)))
            if componentOfRoot[root] < 0 {
                componentOfRoot[root] = Int32(requests.count)
                requests.append([])
                volunteers.append([])
                pairs.append(0)
            }
            let k = Int(componentOfRoot[root])
            localRequest[r] = Int32(requests[k].count)
            requests[k].append(Int32(r))
            pairs[k] += c.start[r + 1] - c.start[r]
        }
        localVolunteer = [Int32](repeating: -1, count: volunteerCount)
        for v in 0..<volunteerCount where owner[v] >= 0 {
            let k = Int(componentOfRoot[Int(find(owner[v]))])
            localVolunteer[v] = Int32(volunteers[k].count)
            volunteers[k].append(Int32(v))
        }
    }

    /// The flow network of component k in local indices.
    func flowComponent(_ k: Int, candidates c: CandidateSet, count: [Int], priority: [Int]) -> FlowComponent {
        var f = FlowComponent()
        let reqs = requests[k]
        f.requestCount = reqs.count
        f.volunteerCount = volunteers[k].count
        f.candidateStart.reserveCapacity(reqs.count + 1)
        f.candidateStart.append(0)
        f.candidateVolunteer.reserveCapacity(pairs[k])
        f.candidateKm.reserveCapacity(pairs[k])
        for r32 in reqs {
            let r = Int(r32)
            let n = c.start[r + 1] - c.start[r]
            f.capacity.append(Int32(min(count[r], n)))
            f.priority.append(Int32(priority[r]))
            for e in c.start[r]..<c.start[r + 1] {
                f.candidateVolunteer.append(localVolunteer[Int(c.volunteer[e])])
                f.candidateKm.append(c.km[e])
            }
            f.candidateStart.append(f.candidateVolunteer.count)
        }
        return f
    }
}
