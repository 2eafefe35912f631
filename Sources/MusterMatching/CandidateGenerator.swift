import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Every feasible (volunteer, request) pair with its rounded travel km, grouped by request.
///
/// Candidates of request r are entries `start[r] ..< start[r + 1]`, sorted by km and then by
/// volunteer index (a deterministic order the solver relies on for tie-breaking).
struct CandidateSet {
    var start: [Int]
    var volunteer: [Int32]
    var km: [Int32]

    var pairCount: Int { volunteer.count }
}

/// Finds the feasible pairs without testing all V x R combinations.
///
/// Per profession, volunteers are bucketed into latitude rows of `rowDegrees` and sorted by
/// longitude within a row. For a request, only rows and longitude windows that could hold a
/// volunteer within `maxTravel` (the largest `maxTravelKm` of that profession) are visited;
/// both windows are provably conservative (see `latitudeBand` and `longitudeHalfWidth`).
/// Each volunteer found there goes through a chord-length prefilter against its own
/// `maxTravelKm` (again conservative, `Haversine.chordBound`), then rules 2-5, then the exact
/// spec distance, which alone decides rule 6.
enum CandidateGenerator {
    /// Upper limits (km) of the travel classes: volunteers are indexed separately by class so
    /// that short-range volunteers are searched in small windows.
    static let travelClasses: [Double] = [10, 14, 20, 28, 40, 56, 80, 113, 160, 226, 320, 452, 640, 905,
                                          1280, 1810, 2560, 3620, 5120, 7240, 10240, 14480, .infinity]

    /// Volunteers of one profession and travel class in (latitude row, longitude) order, with
    /// everything the inner loop reads laid out contiguously in that order, so that a scan over
    /// a longitude window streams through memory instead of jumping around.
    struct ProfessionIndex: Sendable {
        /// The largest `maxTravelKm` of the volunteers in this index.
        var maxTravel = 0.0
        /// Height of a latitude row, chosen from `maxTravel` so that a search visits a few rows.
        var rowDegrees = 0.5
        var rowCount = 360
        var rowStart: [Int32] = []
        var volunteer: [Int32] = []
        var lon: [Double] = []
        var lat: [Double] = []
        var cosLat: [Double] = []
        var x: [Double] = []
        var y: [Double] = []
        var z: [Double] = []
        var chordBound: [Double] = []
        var maxTravelKm: [Double] = []
        /// `CompiledInstance.attributeWord` of each volunteer (rules 3 and 5).
        var attributes: [UInt64] = []
        /// `skillWords` words per volunteer.
        var skills: [UInt64] = []
        /// `siteClassWords` words per volunteer (rule 4), when site classes are used.
        var siteClasses: [UInt64] = []
        /// Otherwise, eligible states of the k-th volunteer: `stateStart[k] ..< stateStart[k + 1]`,
        /// with `conditionWords` words of conditions per entry.
        var stateStart: [Int32] = []
        var stateID: [Int32] = []
        var stateConditions: [UInt64] = []
    }

    @inline(__always)
    static func row(_ lat: Double, _ rowDegrees: Double, _ rowCount: Int) -> Int {
        min(rowCount - 1, max(0, Int((lat + 90) / rowDegrees)))
    }

    /// One index per (profession, travel class) that has volunteers.
    static func buildIndexes(_ c: CompiledInstance) -> [[ProfessionIndex]] {
        var members = [[[Int32]]](repeating: [[Int32]](repeating: [], count: travelClasses.count),
                                  count: c.professionCount)
        for v in 0..<c.volunteerCount where c.vProfession[v] >= 0 {
            let t = c.vMaxTravel[v]
            let k = travelClasses.firstIndex { t <= $0 }!
            members[Int(c.vProfession[v])][k].append(Int32(v))
        }
        return members.map { classes in classes.filter { !$0.isEmpty }.map { index(of: $0, c) } }
    }

    static func index(of list: [Int32], _ c: CompiledInstance) -> ProfessionIndex {
        let sw = c.skillWords, cw = c.conditionWords, scw = c.siteClassWords
        let n = list.count
        var ix = ProfessionIndex()
        for v in list { ix.maxTravel = max(ix.maxTravel, c.vMaxTravel[Int(v)]) }
        // Rows about half the search radius high (at least 0.05°, at most 5°).
        let rowDegrees = min(5, max(0.05, ix.maxTravel / 111.2 / 2))
        let rowCount = Int((180 / rowDegrees).rounded(.up))
        ix.rowDegrees = rowDegrees
        ix.rowCount = rowCount
        let rows = list.map { row(c.vLat[Int($0)], rowDegrees, rowCount) }
        let order = (0..<n).sorted { a, b in
            if rows[a] != rows[b] { return rows[a] < rows[b] }
            let la = c.vLon[Int(list[a])], lb = c.vLon[Int(list[b])]
            return la != lb ? la < lb : list[a] < list[b]
        }
        ix.rowStart = [Int32](repeating: 0, count: rowCount + 1)
        for r in rows { ix.rowStart[r + 1] += 1 }
        for k in 0..<rowCount { ix.rowStart[k + 1] += ix.rowStart[k] }
        ix.volunteer.reserveCapacity(n)
        ix.lon.reserveCapacity(n)
        ix.lat.reserveCapacity(n)
        ix.cosLat.reserveCapacity(n)
        ix.x.reserveCapacity(n)
        ix.y.reserveCapacity(n)
        ix.z.reserveCapacity(n)
        ix.chordBound.reserveCapacity(n)
        ix.maxTravelKm.reserveCapacity(n)
        ix.attributes.reserveCapacity(n)
        ix.skills.reserveCapacity(n * sw)
        ix.siteClasses.reserveCapacity(n * scw)
        if scw == 0 { ix.stateStart.append(0) }
        for o in order {
            let v = Int(list[o])
            let lat = c.vLat[v], lon = c.vLon[v]
            let (x, y, z) = Haversine.unitVector(lat: lat, lon: lon)
            ix.volunteer.append(Int32(v))
            ix.lon.append(lon)
            ix.lat.append(lat)
            ix.cosLat.append(Haversine.cosLat(lat))
            ix.x.append(x)
            ix.y.append(y)
            ix.z.append(z)
            ix.chordBound.append(Haversine.chordBound(km: c.vMaxTravel[v]))
            ix.maxTravelKm.append(c.vMaxTravel[v])
            ix.attributes.append(c.vAttributes[v])
            for w in 0..<sw { ix.skills.append(c.vSkills[v * sw + w]) }
            if scw > 0 {
                for w in 0..<scw { ix.siteClasses.append(c.vSiteClasses[v * scw + w]) }
            } else {
                for e in Int(c.vStateStart[v])..<Int(c.vStateStart[v + 1]) {
                    ix.stateID.append(c.vStateID[e])
                    for w in 0..<cw { ix.stateConditions.append(c.vStateConditions[e * cw + w]) }
                }
                ix.stateStart.append(Int32(ix.stateID.count))
            }
        }
        return ix
    }

    /// Half-width in degrees of the latitude band that can hold points within `km` of a point.
    ///
    /// The true great-circle distance is at least R·|Δφ|, and the computed haversine is within
    /// ~1e-15 relative of the true distance, so widening by 1e-9 relative (plus 1e-9 degrees)
    /// keeps every pair whose computed distance is <= km.
    static func latitudeBand(km: Double) -> Double {
        km / 6371.0 * 180.0 / Double.pi * (1 + 1e-9) + 1e-9
    }

    /// Half-width in degrees of the longitude window, or nil when no window can be used.
    ///
    /// sin²(d/2R) = sin²(Δφ/2) + cosφ1·cosφ2·sin²(Δλ/2) ≥ cosφ1·cosφ2·sin²(Δλ/2), so d <= km
    /// implies sin(|Δλ|/2) <= sin(km/2R) / sqrt(cosφ1·cosφ2) with Δλ wrapped to [-π, π].
    /// `cosMin` must be a lower bound of cosφ over the row; margins are applied on top.
    static func longitudeHalfWidth(km: Double, cosMin: Double, cosRequest: Double) -> Double? {
        let half = km / (2 * 6371.0)
        if !(half < Double.pi / 2) { return nil }
        let denominator = cosMin * cosRequest
        if !(denominator > 1e-9) { return nil }
        let q = sin(half) / denominator.squareRoot() * (1 + 1e-9) + 1e-12
        if !(q < 1) { return nil }
        let h = 2 * asin(q) * 180.0 / Double.pi * (1 + 1e-9) + 1e-9
        return h < 180 ? h : nil
    }

    /// The feasible pairs of one request, as `km << 32 | volunteer`, sorted.
    static func candidates(of r: Int, _ c: CompiledInstance, _ indexes: [[ProfessionIndex]]) -> [UInt64] {
        var out: [UInt64] = []
        for ix in indexes[Int(c.rProfession[r])] { collect(r, c, ix, &out) }
        out.sort()
        return out
    }

    /// Appends the feasible pairs of request r with the volunteers of one index.
    static func collect(_ r: Int, _ c: CompiledInstance, _ ix: ProfessionIndex, _ out: inout [UInt64]) {
        let rLat = c.rLat[r], rLon = c.rLon[r], rCos = c.rCos[r]
        let (rx, ry, rz) = Haversine.unitVector(lat: rLat, lon: rLon)
        let band = latitudeBand(km: ix.maxTravel)
        let rowDegrees = ix.rowDegrees, rowCount = ix.rowCount
        let firstRow = row(max(-90, rLat - band), rowDegrees, rowCount)
        let lastRow = row(min(90, rLat + band), rowDegrees, rowCount)

        let rAttributes = c.rAttributes[r], guards = CompiledInstance.attributeGuards
        let sw = c.skillWords, cw = c.conditionWords, scw = c.siteClassWords
        let rSkill0 = c.rSkills[r * sw]
        let siteClass = Int(c.rSiteClass[r])
        let siteWord = siteClass >> 6, siteBit: UInt64 = 1 << UInt64(siteClass & 63)
        let rState = c.rState[r]

        /// Rules 2 and 4 for the k-th volunteer of the index.
        @inline(__always) func skillsAndStateMatch(_ k: Int) -> Bool {
            if sw == 1 {
                if rSkill0 & ~ix.skills[k] != 0 { return false }
            } else {
                for w in 0..<sw where c.rSkills[r * sw + w] & ~ix.skills[k * sw + w] != 0 { return false }
            }
            if scw > 0 { return ix.siteClasses[k * scw + siteWord] & siteBit != 0 }
            var e = Int(ix.stateStart[k])
            let end = Int(ix.stateStart[k + 1])
            while e < end {
                if ix.stateID[e] == rState {
                    for w in 0..<cw where ix.stateConditions[e * cw + w] & ~c.rProvides[r * cw + w] != 0 { return false }
                    return true
                }
                e += 1
            }
            return false
        }

        func scan(_ a: Int, _ b: Int) {
            var k = a
            while k < b {
                defer { k += 1 }
                // Rules 3 and 5 in one subtraction (see `CompiledInstance.attributeWord`).
                if (rAttributes &- ix.attributes[k]) & guards != guards { continue }
                // Conservative distance prefilter against the volunteer's own limit.
                let dx = ix.x[k] - rx, dy = ix.y[k] - ry, dz = ix.z[k] - rz
                if dx * dx + dy * dy + dz * dz > ix.chordBound[k] { continue }
                if !skillsAndStateMatch(k) { continue }
                // Rule 6, exactly as the spec computes it.
                let d = Haversine.distance(lat1: ix.lat[k], lon1: ix.lon[k], cosPhi1: ix.cosLat[k],
                                           lat2: rLat, lon2: rLon, cosPhi2: rCos)
                if d <= ix.maxTravelKm[k] {
                    out.append(UInt64(roundedKm(d)) << 32 | UInt64(UInt32(bitPattern: ix.volunteer[k])))
                }
            }
        }
        /// First index in a..<b whose longitude is >= x.
        func lowerBound(_ a: Int, _ b: Int, _ x: Double) -> Int {
            var lo = a, hi = b
            while lo < hi {
                let mid = (lo + hi) >> 1
                if ix.lon[mid] < x { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        /// First index in a..<b whose longitude is > x.
        func upperBound(_ a: Int, _ b: Int, _ x: Double) -> Int {
            var lo = a, hi = b
            while lo < hi {
                let mid = (lo + hi) >> 1
                if ix.lon[mid] <= x { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }

        if firstRow <= lastRow {
            for rowIndex in firstRow...lastRow {
                let a = Int(ix.rowStart[rowIndex]), b = Int(ix.rowStart[rowIndex + 1])
                if a == b { continue }
                let south = Double(rowIndex) * rowDegrees - 90, north = south + rowDegrees
                let maxAbs = min(90, max(abs(south), abs(north)))
                let cosMin = Haversine.cosLat(maxAbs) * (1 - 1e-9) - 1e-12
                guard let h = longitudeHalfWidth(km: ix.maxTravel, cosMin: cosMin, cosRequest: rCos) else {
                    scan(a, b)
                    continue
                }
                let lo = rLon - h, hi = rLon + h
                scan(lowerBound(a, b, max(lo, -180)), upperBound(a, b, min(hi, 180)))
                if lo < -180 { scan(lowerBound(a, b, lo + 360), b) }
                if hi > 180 { scan(a, upperBound(a, b, hi - 360)) }
            }
        }
    }

    /// All feasible pairs, computed on up to `threads` threads.
    static func generate(_ c: CompiledInstance, threads: Int) -> CandidateSet {
        let indexes = buildIndexes(c)
        let n = c.requestCount
        let lists = UnsafeMutableBufferPointer<[UInt64]>.allocate(capacity: n)
        lists.initialize(repeating: [])
        defer { lists.deinitialize(); lists.deallocate() }
        let shared = SendableBuffer(lists)
        let chunk = 8
        let chunks = (n + chunk - 1) / chunk
        let work: @Sendable (Int) -> Void = { k in
            for r in (k * chunk)..<min(n, (k + 1) * chunk) {
                shared.buffer[r] = candidates(of: r, c, indexes)
            }
        }
        if threads > 1 && chunks > 1 {
            DispatchQueue.concurrentPerform(iterations: chunks, execute: work)
        } else {
            for k in 0..<chunks { work(k) }
        }
        var set = CandidateSet(start: [0], volunteer: [], km: [])
        let total = lists.reduce(0) { $0 + $1.count }
        set.start.reserveCapacity(n + 1)
        set.volunteer.reserveCapacity(total)
        set.km.reserveCapacity(total)
        for r in 0..<n {
            for p in lists[r] {
                set.volunteer.append(Int32(truncatingIfNeeded: p & 0xFFFF_FFFF))
                set.km.append(Int32(truncatingIfNeeded: p >> 32))
            }
            lists[r] = []
            set.start.append(set.volunteer.count)
        }
        return set
    }
}

/// A buffer shared by worker threads that write disjoint elements.
struct SendableBuffer<T>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<T>
    init(_ buffer: UnsafeMutableBufferPointer<T>) { self.buffer = buffer }
}
