/// Hands out one shared `String` per distinct byte sequence, so that the hundreds of thousands
/// of `"registered_nurse"`, `"critical_care"` or `"NY"` values in an instance share storage
/// (and equal tokens compare fast). Lookups hash the raw bytes: no temporary `String`.
struct StringInterner {
    private var slots: [Int32]
    private var mask: Int
    private var hashes: [UInt64] = []
    private var starts: [Int] = []
    private var lengths: [Int] = []
    private var pool: [UInt8] = []
    private var strings: [String] = []

    init() {
        slots = Array(repeating: -1, count: 256)
        mask = 255
    }

    mutating func intern(_ b: UnsafeBufferPointer<UInt8>) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for c in b { h = (h ^ UInt64(c)) &* 0x0000_0100_0000_01B3 }
        var i = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { break }
            if hashes[e] == h && lengths[e] == b.count {
                let s = starts[e]
                let same = pool.withUnsafeBufferPointer { p in
                    for k in 0..<b.count where p[s + k] != b[k] { return false }
                    return true
                }
                if same { return strings[e] }
            }
            i = (i + 1) & mask
        }
        let string = String(decoding: b, as: UTF8.self)
        slots[i] = Int32(strings.count)
        hashes.append(h)
        starts.append(pool.count)
        lengths.append(b.count)
        pool.append(contentsOf: b)
        strings.append(string)
        if strings.count * 2 > mask { grow() }
        return string
    }

    private mutating func grow() {
        let size = (mask + 1) * 2
        slots = Array(repeating: -1, count: size)
        mask = size - 1
        for (e, h) in hashes.enumerated() {
            var i = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(e)
        }
    }
}

/// Numbers distinct strings 0, 1, 2, ... in order of first insertion, hashing their UTF-8
/// bytes with FNV-1a (far cheaper than `Dictionary<String, _>`'s SipHash for the short
/// tokens of an instance, looked up about a million times per solve).
struct TokenIndex {
    private var slots: [Int32] = Array(repeating: -1, count: 64)
    private var hashes: [UInt64] = []
    private(set) var strings: [String] = []

    var count: Int { strings.count }

    @inline(__always)
    private static func hash(_ s: String) -> UInt64 {
        var s = s
        return s.withUTF8 { b in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for c in b { h = (h ^ UInt64(c)) &* 0x0000_0100_0000_01B3 }
            return h ^ (h >> 29)
        }
    }

    /// The number of `s`, or nil when it was never inserted.
    @inline(__always)
    func index(of s: String) -> Int32? {
        let h = TokenIndex.hash(s)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { return nil }
            if hashes[e] == h && strings[e] == s { return Int32(e) }
            i = (i + 1) & mask
        }
    }

    /// The number of `s`, inserting it when new.
    @discardableResult
    mutating func insert(_ s: String) -> Int32 {
        let h = TokenIndex.hash(s)
        var mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { break }
            if hashes[e] == h && strings[e] == s { return Int32(e) }
            i = (i + 1) & mask
        }
        let e = Int32(strings.count)
        slots[i] = e
        hashes.append(h)
        strings.append(s)
        if strings.count * 2 > slots.count {
            slots = Array(repeating: -1, count: slots.count * 2)
            mask = slots.count - 1
            for (k, hk) in hashes.enumerated() {
                var j = Int(truncatingIfNeeded: hk) & mask
                while slots[j] >= 0 { j = (j + 1) & mask }
                slots[j] = Int32(k)
            }
        }
        return e
    }
}
