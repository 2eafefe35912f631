/// One independent piece of the problem (a connected component of the candidate graph), in
/// local indices, ready for `TransportationSolver`.
struct FlowComponent: Sendable {
    var requestCount = 0
    var volunteerCount = 0
    /// Slots of each local request: min(count, number of candidates) >= 1.
    var capacity: [Int32] = []
    var priority: [Int32] = []
    /// Candidates of local request r: `candidateStart[r] ..< candidateStart[r + 1]`, sorted by
    /// km ascending (then by volunteer), volunteers as local indices.
    var candidateStart: [Int] = []
    var candidateVolunteer: [Int32] = []
    var candidateKm: [Int32] = []
}

/// Exact min-cost flow for one component, by successive shortest paths with Dijkstra on
/// reduced costs, where Dijkstra runs over the (few) requests rather than the (many)
/// volunteers.
///
/// ## The network
/// source S → request r (capacity `capacity[r]`, cost 0) → volunteer v (capacity 1,
/// cost `-w(v, r)`) → sink T (capacity 1, cost 0), where w folds the lexicographic objective
/// into one integer:
///
///     w(v, r) = priority(r) · M − km(v, r),   M = 1 + maxKm · U
///
/// with maxKm the largest rounded km of the component and U = min(#volunteers, Σ capacity),
/// an upper bound on the number of assigned pairs. Any assignment's total travel lies in
/// [0, maxKm · U] = [0, M − 1], so between two assignments a difference of at least 1 in
/// Σ priority outweighs any difference in Σ km: maximising Σ w maximises weightedFilled
/// and, among those, minimises travelKm. Every w is >= M − maxKm >= 1 > 0.
///
/// ## The algorithm (successive shortest paths, SSP)
/// Flow is augmented one unit at a time along a shortest S→T path in the residual network,
/// for as long as that path has negative cost (it gains weight); SSP keeps the flow of
/// minimum cost for its value at every step, and the cost of the k-th path is
/// non-decreasing in k (convexity), so stopping at the first non-negative path gives the
/// minimum-cost flow of any value, i.e. the maximum-weight assignment. Node potentials π
/// keep all residual reduced costs `c(x,y) + π(x) − π(y)` >= 0 so Dijkstra applies; after
/// each search, nodes settled at distance d < d(T) get π += d − d(T) (the usual update,
/// shifted by the constant d(T) so that only settled nodes change; T never changes).
///
/// Structure exploited:
/// * Volunteers never become free again once assigned (an augmenting path only moves them),
///   and all free volunteers keep potential 0 = π(T). So from a request only its *nearest
///   free candidate* can start the last leg to T: a pointer into the km-sorted list, moving
///   forward only, finds it in amortised O(1).
/// * An assigned volunteer v has one residual out-arc, back to its request, so Dijkstra's
///   queue holds requests only. The reduced cost of r→v is (π(r) − base(r)) + km(v, r) + y(v)
///   with y(v) = −π(v) >= 0, so it is at least that of r's nearest free candidate for every
///   candidate at or beyond it in km order: such arcs can never yield a label below the T-label
///   that the free candidate already gives. A search therefore scans only the candidates
///   *before* the free pointer (all assigned), in km order, and stops as soon as
///   d(r) + (π(r) − base(r)) + km reaches the current T-label.
/// * A request with flow and spare capacity has both residual arcs S→r and r→S, so
///   π(r) = π(S): it is a source at distance 0, and its potential follows π(S) implicitly.
///   Its out-arcs r→v have reduced cost π(S) − (w(v, r) − y(v)), so nothing reachable from
///   such an "active" request has a label below π(S) − m(r), m(r) = max over its out-arcs of
///   w(v, r) − y(v). m(r) never increases: y only grows, an active request is never an
///   intermediate node of a shortest path (it is a source at 0 itself), so it never gets a
///   new out-arc, it only loses some. Active requests therefore wait in a max-heap keyed by
///   an upper bound of m(r) (refreshed whenever the request is scanned), and a search takes
///   one out only when π(S) − key is the smallest pending label: under contention, most
///   active requests are never looked at. Requests without flow ("empty") wait in a heap
///   keyed by π(r) (the reduced cost of S→r is π(S) − π(r)).
/// * Zero-length paths need no search: if a request with spare capacity has π(r) = π(S)
///   and its nearest free candidate is tight (π(r) = w), the path S→r→v→T has reduced length
///   0, which is the shortest possible, so augmenting along it is an SSP step (with real cost
///   −π(S) < 0) that changes no potential. Requests whose potential or free pointer just
///   changed are kept on a stack and tried this way before the next full search.
/// * A search processes labels up to the best T-label d(T) found so far, ties included, and
///   collects every free candidate reached at exactly d(T): after the potential update each
///   of those tree paths has reduced length 0, so every one that is still intact when its
///   turn comes (an earlier path may have moved one of its volunteers or filled its source)
///   is a shortest augmenting path and is augmented without a new search. When no label
///   below π(S) remains, no augmenting path has negative cost and the flow is optimal.
///
/// ## No overflow (Int64)
/// Let Wmax = 5·M (priorities are 1...5). With π(T) = 0 the invariants below hold at the
/// start of every search (checked by induction over the residual reduced-cost conditions):
/// * 0 < π(S) <= Wmax: it starts at max_r π(r) <= Wmax and decreases by d(T) < π(S) per
///   search (a search with d(T) >= π(S) ends the algorithm without an update);
/// * free volunteers: π = 0; assigned volunteers: −Wmax <= π(v) <= 0 (arc T→v gives
///   π(v) <= 0; arc v→r_v gives π(v) >= π(r_v) − w >= −w, since π(r_v) >= π(S) > 0 for a
///   request with flow, by the residual arc r_v→S);
/// * requests: −Wmax <= π(r) <= Wmax (one with flow: π(S) <= π(r) <= w + π(v) <= Wmax via its
///   arcs r→S and v→r; one without flow: π(r) <= π(S), and π(r) >= w(v, r) + π(v) >= −Wmax
///   via any arc r→v).
/// So every reduced cost is in [0, 3·Wmax], every label kept by a search is < π(S) <= Wmax,
/// and every intermediate value is below 4·Wmax + Wmax = 25·M in absolute value. Keys of the
/// active heap lie in [−2^62, Wmax], so π(S) − key < 2^62 + Wmax as well. Since
/// M <= 1 + 20015 · 2^31 < 2^45.3 (a rounded haversine distance is at most
/// round(π · 6371) = 20015 km, and local indices are Int32), 25·M < 2^50 ≪ 2^63.
/// Swift's checked arithmetic would trap rather than wrap if this reasoning were wrong.
struct TransportationSolver {
    private let nR: Int
    private let nV: Int
    private let component: FlowComponent
    /// priority · M per request: w(v, r) = base[r] − km(v, r).
    private var base: [Int64]
    /// The folding constant M (exposed for tests).
    let scale: Int64

    // State of the flow.
    private var piR: [Int64]
    /// Everything a search reads or writes about a volunteer, in one 32-byte record so that
    /// relaxing an arc costs one cache miss, not four.
    private struct VolunteerState {
        /// Local request the volunteer is assigned to, or -1.
        var owner: Int32 = -1
        /// Search number for which `dist` is valid.
        var stamp: Int32 = 0
        /// π(v): 0 while free, <= 0 once assigned.
        var pi: Int64 = 0
        /// w(v, owner).
        var weight: Int64 = 0
        /// Label in the current search (valid when `stamp` is current).
        var dist: Int64 = 0
    }
    private var vs: [VolunteerState]
    private var piS: Int64 = 0
    private var flow: [Int32]
    /// Position in r's km-sorted candidates of the first free one; all before it are assigned.
    private var freePointer: [Int]

    // Dijkstra scratch, valid where the stamp equals the current search number.
    private var search: Int32 = 0
    private var distR: [Int64]
    private var stampR: [Int32]
    private var settledR: [Int32]
    private var predR: [Int32]
    private var predV: [Int32]
    private var predKm: [Int32]
    private var settled: [Int32] = []
    private var touched: [Int32] = []
    private var queue = LabelHeap()
    /// Requests without flow, keyed by π(r).
    private var empty: IndexedMaxHeap
    /// Requests with flow and spare capacity (π(r) = π(S), implicitly), keyed by an upper
    /// bound of m(r); `isActive` marks them (also while a search has taken one out).
    private var active: IndexedMaxHeap
    private var isActive: [Bool]
    /// Active requests a search took out of `active`, with their refreshed keys.
    private var scannedActive: [(request: Int32, key: Int64)] = []
    /// Free candidates reached at the best T-label of the current search: (request, volunteer, km).
    private var endings: [(Int32, Int32, Int32)] = []
    /// Requests to try for a zero-length augmentation; `stacked` marks membership.
    private var tight: [Int32] = []
    private var stacked: [Bool]

    /// Number of augmentations performed (for statistics).
    private(set) var augmentations = 0
    /// Number of request scans performed by all searches (for statistics).
    private(set) var scans = 0
    /// Number of Dijkstra searches (for statistics).
    private(set) var searches = 0

    init(_ c: FlowComponent) {
        component = c
        nR = c.requestCount
        nV = c.volunteerCount
        var maxKm: Int64 = 0
        for k in c.candidateKm { maxKm = max(maxKm, Int64(k)) }
        var slots: Int64 = 0
        for k in c.capacity { slots += Int64(k) }
        let units = min(Int64(nV), slots)
        scale = 1 + maxKm * units
        base = c.priority.map { Int64($0) * (1 + maxKm * units) }
        piR = [Int64](repeating: 0, count: nR)
        vs = [VolunteerState](repeating: VolunteerState(), count: nV)
        flow = [Int32](repeating: 0, count: nR)
        freePointer = Array(c.candidateStart.dropLast())
        distR = [Int64](repeating: 0, count: nR)
        stampR = [Int32](repeating: 0, count: nR)
        settledR = [Int32](repeating: 0, count: nR)
        predR = [Int32](repeating: -1, count: nR)
        predV = [Int32](repeating: -1, count: nV)
        predKm = [Int32](repeating: 0, count: nV)
        empty = IndexedMaxHeap(count: nR)
        isActive = [Bool](repeating: false, count: nR)
        active = IndexedMaxHeap(count: nR)
        stacked = [Bool](repeating: false, count: nR)
    }

    /// Solves the component; returns the local request of each local volunteer, or -1.
    mutating func solve() -> [Int32] {
        let c = component
        // Initial potentials: free volunteers and T at 0; each request at its best weight, so
        // every arc r→v has reduced cost π(r) − w(v, r) >= 0 (tight for the nearest); S at the
        // maximum, so every S→r has reduced cost π(S) − π(r) >= 0.
        for r in 0..<nR {
            piR[r] = base[r] - Int64(c.candidateKm[c.candidateStart[r]])
            piS = max(piS, piR[r])
        }
        for r in 0..<nR {
            empty.insert(r, key: piR[r])
            pushTight(r)
        }
        while true {
            if let r = tight.popLast() {
                stacked[Int(r)] = false
                augmentDirectly(Int(r))
            } else if !searchAndAugment() {
                break
            }
        }
        return vs.map(\.owner)
    }

    private mutating func pushTight(_ r: Int) {
        if !stacked[r] { stacked[r] = true; tight.append(Int32(r)) }
    }

    /// Augments S→r→v→T while that path has reduced length 0 (a shortest path) and real
    /// cost −π(S) < 0: r has spare capacity, π(r) = π(S), and its nearest free candidate v
    /// has π(r) = w(v, r). No potential changes.
    private mutating func augmentDirectly(_ r: Int) {
        let c = component
        let end = c.candidateStart[r + 1]
        if isActive[r] { piR[r] = piS }  // an active request's potential follows π(S)
        while piS > 0 && piR[r] == piS && flow[r] < c.capacity[r] {
            var p = freePointer[r]
            while p < end && vs[Int(c.candidateVolunteer[p])].owner >= 0 { p += 1 }
            freePointer[r] = p
            guard p < end, piR[r] - base[r] + Int64(c.candidateKm[p]) == 0 else { return }
            augmentations += 1
            assign(volunteer: Int(c.candidateVolunteer[p]), to: r, km: c.candidateKm[p])
            gainFlow(r)
        }
    }

    /// Bookkeeping when request r (the first request of an augmenting path) gains a unit:
    /// it leaves the empty heap, joins or leaves the active list. Its potential equals π(S)
    /// at this point (it starts a tight path).
    private mutating func gainFlow(_ r: Int) {
        if flow[r] == 0 && empty.contains(r) { empty.remove(r) }
        flow[r] += 1
        let full = flow[r] >= component.capacity[r]
        if full && isActive[r] {
            piR[r] = piS  // from now on stored explicitly
            isActive[r] = false
            if active.contains(r) { active.remove(r) }
        } else if !full && !isActive[r] {
            // m(r) <= π(r) = π(S) since every out-arc has reduced cost >= 0.
            isActive[r] = true
            active.insert(r, key: piS)
        }
    }

    /// One Dijkstra search from S, then augmentation along every shortest path it found.
    /// Returns false when no augmenting path of negative cost exists (the flow is optimal).
    ///
    /// Labels are integers and a path gains weight only if its reduced length is below π(S),
    /// so the search processes labels up to `bound` = min(d(T), π(S) − 1), ties with d(T)
    /// included: every free candidate reached at exactly d(T) ends another shortest path.
    /// After the potential update all those tree paths have reduced length 0; each one whose
    /// arcs still exist when its turn comes (an earlier one may have moved a volunteer on it or
    /// filled its source) is a shortest augmenting path and is augmented in turn.
    private mutating func searchAndAugment() -> Bool {
        search += 1
        searches += 1
        let it = search
        var dT = piS  // best T-label so far; piS means none (not worth augmenting)
        var bound = piS - 1
        endings.removeAll(keepingCapacity: true)
        settled.removeAll(keepingCapacity: true)
        touched.removeAll(keepingCapacity: true)
        queue.removeAll()
        scannedActive.removeAll(keepingCapacity: true)

        let cStart = component.candidateStart
        let cVolunteer = component.candidateVolunteer
        let cKm = component.candidateKm

        // Pending events, cheapest first: an active request at π(S) − key (its label is 0,
        // but nothing it reaches is cheaper than that), an empty request straight from S at
        // π(S) − π(r), or a label in the queue.
        while true {
            var r = -1
            var event = bound + 1
            var fromSource = false
            var isActiveSource = false
            if let a = active.top {
                let key = max(0, piS - active.key(of: a))
                if key < event { event = key; r = a; fromSource = true; isActiveSource = true }
            }
            if let s = empty.top {
                let key = piS - piR[s]
                if key < event { event = key; r = s; fromSource = true; isActiveSource = false }
            }
            while let top = queue.top {
                let q = Int(top.node)
                if settledR[q] == it || top.label > distR[q] { queue.pop(); continue }
                if top.label < event { event = top.label; r = q; fromSource = false; isActiveSource = false }
                break
            }
            if r < 0 { break }
            var d = event  // the request's own label (0 for an active one)
            if isActiveSource {
                active.remove(r)
                piR[r] = piS
                d = 0
            }
            if fromSource {
                if !isActiveSource { empty.remove(r) }
                distR[r] = d
                stampR[r] = it
                predR[r] = -1
            } else {
                queue.pop()
            }
            settledR[r] = it
            settled.append(Int32(r))
            scans += 1

            // Last leg: the nearest free candidate (free volunteers all have π = 0 = π(T)).
            // Reduced cost of r→v: constR + km(v, r) + y(v), y(v) = −π(v) (0 when free).
            let constR = piR[r] - base[r]
            var p = freePointer[r]
            let end = cStart[r + 1]
            while p < end && vs[Int(cVolunteer[p])].owner >= 0 { p += 1 }
            freePointer[r] = p
            // m(r) bound for an active request: max of w − y over out-arcs seen, the free
            // candidate's w, and base − km where the scan below stops (all further are worse).
            var best = Int64.min
            if p < end {
                let label = d + constR + Int64(cKm[p])
                if label <= bound {
                    if label < dT { dT = label; bound = label; endings.removeAll(keepingCapacity: true) }
                    endings.append((Int32(r), cVolunteer[p], cKm[p]))
                }
                best = base[r] - Int64(cKm[p])
            }
            if bound < event {  // nothing left can reach d(T)
                // Its near candidates were not looked at: keep the old key (still an upper bound).
                if isActiveSource { scannedActive.append((Int32(r), active.key(of: r))) }
                break
            }

            // Relax through assigned candidates nearer than the free one: r → v → (v's request).
            // Only km <= limit can give a label dv <= bound; candidates are sorted by km.
            let limit = bound - d - constR
            var k = cStart[r]
            while k < p {
                let km = cKm[k]
                if Int64(km) > limit {
                    best = max(best, base[r] - Int64(km))
                    break
                }
                let v = Int(cVolunteer[k])
                let state = vs[v]
                let owner = Int(state.owner)
                if owner != r {
                    best = max(best, base[r] - Int64(km) + state.pi)
                    let dv = d + constR + Int64(km) - state.pi
                    if dv <= bound && (state.stamp != it || dv < state.dist) {
                        if state.stamp != it { touched.append(Int32(v)) }
                        vs[v].stamp = it
                        vs[v].dist = dv
                        predV[v] = Int32(r)
                        predKm[v] = km
                        // Active owners are sources at label 0 already (settled or skipped).
                        if settledR[owner] != it && !isActive[owner] {
                            let d2 = dv + state.weight + state.pi - piR[owner]
                            if d2 <= bound && (stampR[owner] != it || d2 < distR[owner]) {
                                stampR[owner] = it
                                distR[owner] = d2
                                predR[owner] = Int32(v)
                                queue.push(label: d2, node: Int32(owner))
                            }
                        }
                    }
                }
                k += 1
            }
            // (No out-arc at all: a key so low that the request is never taken out again;
            // π(S) − key stays far below 2^63.)
            if isActiveSource { scannedActive.append((Int32(r), best == Int64.min ? -(1 << 62) : min(best, piS))) }
        }
        // Active requests taken out return with refreshed keys (those that became full
        // meanwhile are no longer active).
        defer {
            for (q, key) in scannedActive where isActive[Int(q)] && !active.contains(Int(q)) {
                active.insert(Int(q), key: key)
            }
        }
        if dT >= piS { return false }

        // Potentials: settled nodes with label d < d(T) move by d − d(T); S by −d(T).
        for q32 in settled {
            let q = Int(q32)
            if distR[q] < dT { piR[q] += distR[q] - dT }
        }
        for v32 in touched {
            let v = Int(v32)
            if vs[v].dist < dT { vs[v].pi += vs[v].dist - dT }
        }
        piS -= dT

        // Augment along every tree path to a free candidate at label d(T) that is still intact.
        for (tRequest, tVolunteer, tKm) in endings {
            guard vs[Int(tVolunteer)].owner < 0 else { continue }
            var r = Int(tRequest)
            var intact = true
            while predR[r] >= 0 {
                let v = Int(predR[r])
                if Int(vs[v].owner) != r { intact = false; break }
                r = Int(predV[v])
            }
            guard intact, flow[r] < component.capacity[r] else { continue }
            augmentations += 1
            r = Int(tRequest)
            assign(volunteer: Int(tVolunteer), to: r, km: tKm)
            while predR[r] >= 0 {
                let v = Int(predR[r])
                let previous = Int(predV[v])
                assign(volunteer: v, to: previous, km: predKm[v])
                r = previous
            }
            gainFlow(r)
        }
        for q32 in settled {
            let q = Int(q32)
            if flow[q] == 0 { empty.insert(q, key: piR[q]) }
            if flow[q] < component.capacity[q] { pushTight(q) }
        }
        return true
    }

    private mutating func assign(volunteer v: Int, to r: Int, km: Int32) {
        vs[v].owner = Int32(r)
        vs[v].weight = base[r] - Int64(km)
    }
}

/// A binary min-heap of (label, node) with lazy deletion, for Dijkstra's queue.
struct LabelHeap {
    struct Entry {
        var label: Int64
        var node: Int32
    }
    private var items: [Entry] = []

    var top: Entry? { items.first }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(label: Int64, node: Int32) {
        var i = items.count
        items.append(Entry(label: label, node: node))
        let e = items[i]
        while i > 0 {
            let parent = (i - 1) >> 1
            if items[parent].label <= e.label { break }
            items[i] = items[parent]
            i = parent
        }
        items[i] = e
    }

    mutating func pop() {
        let last = items.removeLast()
        if items.isEmpty { return }
        var i = 0
        let n = items.count
        while true {
            var child = 2 * i + 1
            if child >= n { break }
            if child + 1 < n && items[child + 1].label < items[child].label { child += 1 }
            if items[child].label >= last.label { break }
            items[i] = items[child]
            i = child
        }
        items[i] = last
    }
}

/// An indexed binary max-heap over 0..<count with Int64 keys (ties: smaller index first),
/// supporting removal of any member.
struct IndexedMaxHeap {
    private var heap: [Int32] = []
    private var key: [Int64]
    private var position: [Int32]

    init(count: Int) {
        key = [Int64](repeating: 0, count: count)
        position = [Int32](repeating: -1, count: count)
        heap.reserveCapacity(count)
    }

    var top: Int? { heap.isEmpty ? nil : Int(heap[0]) }

    func contains(_ x: Int) -> Bool { position[x] >= 0 }

    /// The key `x` was last inserted with (kept after removal).
    func key(of x: Int) -> Int64 { key[x] }

    @inline(__always)
    private func above(_ a: Int32, _ b: Int32) -> Bool {
        let ka = key[Int(a)], kb = key[Int(b)]
        return ka > kb || (ka == kb && a < b)
    }

    mutating func insert(_ x: Int, key k: Int64) {
        key[x] = k
        heap.append(Int32(x))
        position[x] = Int32(heap.count - 1)
        siftUp(heap.count - 1)
    }

    mutating func remove(_ x: Int) {
        let i = Int(position[x])
        position[x] = -1
        let last = heap.removeLast()
        if i == heap.count { return }
        heap[i] = last
        position[Int(last)] = Int32(i)
        siftUp(i)
        siftDown(Int(position[Int(last)]))
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        let x = heap[i]
        while i > 0 {
            let parent = (i - 1) >> 1
            if !above(x, heap[parent]) { break }
            heap[i] = heap[parent]
            position[Int(heap[i])] = Int32(i)
            i = parent
        }
        heap[i] = x
        position[Int(x)] = Int32(i)
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let x = heap[i]
        let n = heap.count
        while true {
            var child = 2 * i + 1
            if child >= n { break }
            if child + 1 < n && above(heap[child + 1], heap[child]) { child += 1 }
            if !above(heap[child], x) { break }
            heap[i] = heap[child]
            position[Int(heap[i])] = Int32(i)
            i = child
        }
        heap[i] = x
        position[Int(x)] = Int32(i)
    }
}
