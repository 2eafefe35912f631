/// A calendar date `YYYY-MM-DD` (proleptic Gregorian, years 0001...9999), as used for
/// availability windows and request periods. Dates compare chronologically.
public struct MatchDate: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// `year * 10000 + month * 100 + day`: orders exactly like the calendar.
    @usableFromInline let key: Int32

    /// The year, 1...9999.
    public var year: Int { Int(key / 10000) }
    /// The month, 1...12.
    public var month: Int { Int(key / 100 % 100) }
    /// The day of the month, 1...31.
    public var day: Int { Int(key % 100) }

    /// A real date, or nil (for example for February 30th or year 0).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1,
              day <= MatchDate.daysIn(month: month, year: year) else { return nil }
        key = Int32(year * 10000 + month * 100 + day)
    }

    /// Parses exactly `YYYY-MM-DD` (ten characters, a real date); nil otherwise.
    public init?(_ iso: String) {
        var s = iso
        guard let d = s.withUTF8({ MatchDate(isoBytes: $0) }) else { return nil }
        self = d
    }

    init?(isoBytes b: UnsafeBufferPointer<UInt8>) {
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
        func number(_ from: Int, _ to: Int) -> Int? {
            var n = 0
            for i in from..<to {
                let c = b[i] &- 48
                guard c < 10 else { return nil }
                n = n * 10 + Int(c)
            }
            return n
        }
        guard let y = number(0, 4), let m = number(5, 7), let d = number(8, 10) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        func pad(_ n: Int, _ w: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// Chronological order.
    public static func < (a: MatchDate, b: MatchDate) -> Bool { a.key < b.key }
}

/// A volunteer as the matcher sees it: profession, skills, credential level, home location,
/// how far they will travel, when they are available and where they may practise.
///
/// Fields mirror the `volunteers` entries of a match instance document one to one.
public struct MatchVolunteer: Hashable, Sendable {
    /// Unique among the instance's volunteers; non-empty.
    public var id: String
    /// A lower-case token (`[a-z0-9_]+`), compared with `MatchRequest.profession`.
    public var profession: String
    /// Lower-case tokens the volunteer holds.
    public var skills: [String]
    /// ESAR-VHP credential level: 1 (highest) ... 4 (lowest).
    public var credentialLevel: Int
    /// Latitude in decimal degrees, -90...90.
    public var lat: Double
    /// Longitude in decimal degrees, -180...180.
    public var lon: Double
    /// The farthest the volunteer will travel, in km (> 0).
    public var maxTravelKm: Double
    /// First day available (inclusive).
    public var availableFrom: MatchDate
    /// Last day available (inclusive).
    public var availableTo: MatchDate
    /// For each state where the volunteer may practise on the request dates, the conditions
    /// (lower-case tokens) the site must provide. An absent state means not eligible there.
    public var eligibleStates: [String: [String]]

    /// Memberwise initialiser; the values are checked when a `MatchInstance` is built.
    public init(id: String, profession: String, skills: [String], credentialLevel: Int,
                lat: Double, lon: Double, maxTravelKm: Double,
                availableFrom: MatchDate, availableTo: MatchDate,
                eligibleStates: [String: [String]]) {
        self.id = id
        self.profession = profession
        self.skills = skills
        self.credentialLevel = credentialLevel
        self.lat = lat
        self.lon = lon
        self.maxTravelKm = maxTravelKm
        self.availableFrom = availableFrom
        self.availableTo = availableTo
        self.eligibleStates = eligibleStates
    }
}

/// A staffing request from a site: how many volunteers of which profession, skills and
/// credential level it wants, where, when, how urgently, and which conditions it provides.
///
/// Fields mirror the `requests` entries of a match instance document one to one.
public struct MatchRequest: Hashable, Sendable {
    /// Unique among the instance's requests; non-empty.
    public var id: String
    /// The state the site is in (a key looked up in `MatchVolunteer.eligibleStates`); non-empty.
    public var state: String
    /// A lower-case token, compared with `MatchVolunteer.profession`.
    public var profession: String
    /// Skills every assigned volunteer must hold (lower-case tokens).
    public var skills: [String]
    /// The request accepts credential levels 1...maxCredentialLevel (1...4).
    public var maxCredentialLevel: Int
    /// Latitude of the site in decimal degrees, -90...90.
    public var lat: Double
    /// Longitude of the site in decimal degrees, -180...180.
    public var lon: Double
    /// Volunteers wanted (>= 1).
    public var count: Int
    /// 1 (routine) ... 5 (critical).
    public var priority: Int
    /// First day of the deployment (inclusive).
    public var start: MatchDate
    /// Last day of the deployment (inclusive).
    public var end: MatchDate
    /// Conditions the site provides (lower-case tokens), e.g. `supervision`.
    public var provides: [String]

    /// Memberwise initialiser; the values are checked when a `MatchInstance` is built.
    public init(id: String, state: String, profession: String, skills: [String],
                maxCredentialLevel: Int, lat: Double, lon: Double, count: Int, priority: Int,
                start: MatchDate, end: MatchDate, provides: [String]) {
        self.id = id
        self.state = state
        self.profession = profession
        self.skills = skills
        self.maxCredentialLevel = maxCredentialLevel
        self.lat = lat
        self.lon = lon
        self.count = count
        self.priority = priority
        self.start = start
        self.end = end
        self.provides = provides
    }
}

/// A validated matching instance (`muster-match-instance/1`): the volunteers and the requests.
///
/// Every value is checked when the instance is made, whether decoded from JSON with
/// ``decode(_:)`` or built in memory with ``init(volunteers:requests:)``, so a
/// `MatchInstance` always satisfies the spec and ``MatchSolver/solve(_:threads:)`` cannot fail.
public struct MatchInstance: Sendable {
    /// The `format` string of the instance document.
    public static let format = "muster-match-instance/1"

    /// The volunteers, in document order (solutions refer to them by `id`).
    public let volunteers: [MatchVolunteer]
    /// The requests, in document order.
    public let requests: [MatchRequest]

    /// Builds an instance from values (for example read from a database), checking them
    /// against the spec: unique non-empty ids, lower-case tokens, credential levels 1...4,
    /// coordinates in range, `maxTravelKm > 0`, `count >= 1`, priorities 1...5.
    ///
    /// - Throws: ``MatchInstanceError`` naming the first offending value, e.g.
    ///   `volunteers[3].credentialLevel: expected integer 1...4, got 0`.
    public init(volunteers: [MatchVolunteer], requests: [MatchRequest]) throws(MatchInstanceError) {
        try InstanceValidator.validate(volunteers: volunteers, requests: requests)
        self.volunteers = volunteers
        self.requests = requests
    }

    /// For the decoder, which has validated every value while parsing.
    init(validatedVolunteers volunteers: [MatchVolunteer], requests: [MatchRequest]) {
        self.volunteers = volunteers
        self.requests = requests
    }
}

/// The value rules of the spec, shared by the in-memory initialiser and the decoder.
enum InstanceValidator {
    static func isToken(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { isToken($0) }
    }

    static func isToken(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        if b.isEmpty { return false }
        for c in b where !((c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F) {
            return false
        }
        return true
    }

    static func validate(volunteers: [MatchVolunteer], requests: [MatchRequest]) throws(MatchInstanceError) {
        func fail(_ path: String, _ msg: String, kind: MatchInstanceError.Kind = .invalidValue) -> MatchInstanceError {
            MatchInstanceError(kind: kind, path: path, message: msg)
        }
        func tokens(_ list: [String], _ path: String) throws(MatchInstanceError) {
            for (k, t) in list.enumerated() where !isToken(t) {
                throw fail("\(path)[\(k)]", "expected lower-case token [a-z0-9_]+, got \(quoted(t))")
            }
        }
        var seen: [String: Int] = [:]
        seen.reserveCapacity(volunteers.count)
        for (i, v) in volunteers.enumerated() {
            let p = "volunteers[\(i)]"
            if v.id.isEmpty { throw fail("\(p).id", "expected non-empty string") }
            if let first = seen.updateValue(i, forKey: v.id) {
                throw fail("\(p).id", "duplicate id \(quoted(v.id)) (first at volunteers[\(first)])", kind: .duplicateID)
            }
            if !isToken(v.profession) {
                throw fail("\(p).profession", "expected lower-case token [a-z0-9_]+, got \(quoted(v.profession))")
            }
            try tokens(v.skills, "\(p).skills")
            if !(1...4).contains(v.credentialLevel) {
                throw fail("\(p).credentialLevel", "expected integer 1...4, got \(v.credentialLevel)")
            }
            if !(v.lat >= -90 && v.lat <= 90) { throw fail("\(p).lat", "expected number -90...90, got \(v.lat)") }
            if !(v.lon >= -180 && v.lon <= 180) { throw fail("\(p).lon", "expected number -180...180, got \(v.lon)") }
            if !(v.maxTravelKm > 0 && v.maxTravelKm.isFinite) {
                throw fail("\(p).maxTravelKm", "expected finite number > 0, got \(v.maxTravelKm)")
            }
            for (state, conds) in v.eligibleStates {
                try tokens(conds, "\(p).eligibleStates.\(state)")
            }
        }
        seen.removeAll(keepingCapacity: true)
        for (j, r) in requests.enumerated() {
            let p = "requests[\(j)]"
            if r.id.isEmpty { throw fail("\(p).id", "expected non-empty string") }
            if let first = seen.updateValue(j, forKey: r.id) {
                throw fail("\(p).id", "duplicate id \(quoted(r.id)) (first at requests[\(first)])", kind: .duplicateID)
            }
            if r.state.isEmpty { throw fail("\(p).state", "expected non-empty string") }
            if !isToken(r.profession) {
                throw fail("\(p).profession", "expected lower-case token [a-z0-9_]+, got \(quoted(r.profession))")
            }
            try tokens(r.skills, "\(p).skills")
            if !(1...4).contains(r.maxCredentialLevel) {
                throw fail("\(p).maxCredentialLevel", "expected integer 1...4, got \(r.maxCredentialLevel)")
            }
            if !(r.lat >= -90 && r.lat <= 90) { throw fail("\(p).lat", "expected number -90...90, got \(r.lat)") }
            if !(r.lon >= -180 && r.lon <= 180) { throw fail("\(p).lon", "expected number -180...180, got \(r.lon)") }
            if r.count < 1 { throw fail("\(p).count", "expected integer >= 1, got \(r.count)") }
            if !(1...5).contains(r.priority) {
                throw fail("\(p).priority", "expected integer 1...5, got \(r.priority)")
            }
            try tokens(r.provides, "\(p).provides")
        }
    }

    /// A string in JSON quotes, shortened for messages.
    static func quoted(_ s: String) -> String {
        var out = "\""
        var n = 0
        for ch in s.unicodeScalars {
            n += 1
            if n > 40 { out += "..."; break }
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where ch.value < 0x20: out += "\\u" + String(ch.value, radix: 16)
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }
}
