/// One assigned pair of a solution.
public struct MatchAssignment: Hashable, Sendable {
    /// The volunteer's `id`.
    public let volunteer: String
    /// The request's `id`.
    public let request: String
    /// Position of the volunteer in `MatchInstance.volunteers`.
    public let volunteerIndex: Int
    /// Position of the request in `MatchInstance.requests`.
    public let requestIndex: Int
    /// The pair's travel, `round(distanceKm)` with halves away from zero.
    public let travelKm: Int

    /// Memberwise initialiser.
    public init(volunteer: String, request: String, volunteerIndex: Int, requestIndex: Int, travelKm: Int) {
        self.volunteer = volunteer
        self.request = request
        self.volunteerIndex = volunteerIndex
        self.requestIndex = requestIndex
        self.travelKm = travelKm
    }
}

/// An optimal assignment (`muster-match-solution/1`): it maximises `weightedFilled` and, among
/// those, minimises `travelKm`. Only the two sums are unique; the pairs are one optimal choice,
/// computed deterministically (the same instance always gives the same pairs).
public struct MatchSolution: Sendable {
    /// The `format` string of the solution document.
    public static let format = "muster-match-solution/1"

    /// Σ priority of the request over all assigned pairs.
    public let weightedFilled: Int
    /// Σ rounded km over all assigned pairs.
    public let travelKm: Int
    /// The assigned pairs, ordered by volunteer position in the instance.
    public let assignments: [MatchAssignment]

    /// Number of assigned pairs.
    public var assigned: Int { assignments.count }

    /// Memberwise initialiser.
    public init(weightedFilled: Int, travelKm: Int, assignments: [MatchAssignment]) {
        self.weightedFilled = weightedFilled
        self.travelKm = travelKm
        self.assignments = assignments
    }

    /// The solution document as the spec prints it:
    ///
    /// ```json
    /// {
    ///   "format": "muster-match-solution/1",
    ///   "weightedFilled": 6,
    ///   "travelKm": 81,
    ///   "assigned": 3,
    ///   "assignments": [
    ///     {"volunteer": "v-7", "request": "r-5"}
    ///   ]
    /// }
    /// ```
    /// followed by a newline.
    public func json() -> String {
        String(decoding: jsonBytes(), as: UTF8.self)
    }

    /// ``json()`` as UTF-8 bytes, without building an intermediate `String`.
    public func jsonBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + assignments.count * 48)
        func put(_ s: String) { out.append(contentsOf: s.utf8) }
        put("{\n  \"format\": \"\(MatchSolution.format)\",\n")
        put("  \"weightedFilled\": \(weightedFilled),\n")
        put("  \"travelKm\": \(travelKm),\n")
        put("  \"assigned\": \(assigned),\n")
        if assignments.isEmpty {
            put("  \"assignments\": []\n}\n")
            return out
        }
        put("  \"assignments\": [\n")
        for (k, a) in assignments.enumerated() {
            put("    {\"volunteer\": ")
            JSONString.append(a.volunteer, to: &out)
            put(", \"request\": ")
            JSONString.append(a.request, to: &out)
            put(k + 1 < assignments.count ? "},\n" : "}\n")
        }
        put("  ]\n}\n")
        return out
    }
}

/// JSON string literal encoding (RFC 8259): quotes, backslashes and control characters
/// escaped, everything else copied as UTF-8.
enum JSONString {
    static func append(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        for c in s.utf8 {
            switch c {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(c >> 4)])
                out.append(hex[Int(c & 15)])
            default: out.append(c)
            }
        }
        out.append(0x22)
    }
}
