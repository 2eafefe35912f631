extension MatchInstance {
    /// Decodes and validates a `muster-match-instance/1` JSON document.
    ///
    /// The decoder is strict: well-formed UTF-8 JSON, the right `format`, every required field
    /// present exactly once with the right type and an allowed value, unique ids. Unknown
    /// fields are skipped (after checking their syntax), as the reference checker does.
    ///
    /// - Throws: ``MatchInstanceError`` with the path of the first offending value and a
    ///   precise message, e.g. `volunteers[12].credentialLevel: expected integer 1...4, got 7`.
    public static func decode(_ bytes: [UInt8]) throws(MatchInstanceError) -> MatchInstance {
        try bytes.withUnsafeBufferPointer { (buffer) throws(MatchInstanceError) -> MatchInstance in
            try decode(buffer: buffer)
        }
    }

    /// Decodes a JSON document held in a string; see ``decode(_:)-([UInt8])``.
    public static func decode(json: String) throws(MatchInstanceError) -> MatchInstance {
        try decode(Array(json.utf8))
    }

    /// Decodes from raw memory without copying; see ``decode(_:)-([UInt8])``.
    public static func decode(buffer: UnsafeBufferPointer<UInt8>) throws(MatchInstanceError) -> MatchInstance {
        var decoder = InstanceDecoder(buffer)
        return try decoder.document()
    }
}

extension MatchInstanceError {
    /// The same error one level further out: `prefixed("volunteers[3]")` turns path `lat`
    /// into `volunteers[3].lat` and `[2]` into `volunteers[3][2]`.
    func prefixed(_ outer: String) -> MatchInstanceError {
        let joined = path.isEmpty ? outer : (path.hasPrefix("[") ? outer + path : outer + "." + path)
        return MatchInstanceError(kind: kind, path: joined, message: message, line: line, column: column)
    }
}

/// Schema-aware decoding on top of `JSONReader`: checks every value while it scans.
struct InstanceDecoder {
    private var r: JSONReader
    private var interner = StringInterner()

    init(_ buffer: UnsafeBufferPointer<UInt8>) {
        r = JSONReader(buffer)
    }

    private static func keys(_ names: [String]) -> [[UInt8]] { names.map { Array($0.utf8) } }
    private static let topKeys = keys(["format", "volunteers", "requests"])
    private static let volunteerKeys = keys([
        "id", "profession", "skills", "credentialLevel", "lat", "lon", "maxTravelKm",
        "availableFrom", "availableTo", "eligibleStates",
    ])
    private static let requestKeys = keys([
        "id", "state", "profession", "skills", "maxCredentialLevel", "lat", "lon", "count",
        "priority", "start", "end", "provides",
    ])

    /// Index of `b` in `keys` (trying `guess` first), or -1 for an unknown key.
    @inline(__always)
    private static func match(_ b: UnsafeBufferPointer<UInt8>, _ keys: [[UInt8]], guess: Int) -> Int {
        @inline(__always) func equal(_ k: Int) -> Bool {
            let key = keys[k]
            if key.count != b.count { return false }
            for j in 0..<key.count where key[j] != b[j] { return false }
            return true
        }
        if guess < keys.count && equal(guess) { return guess }
        for k in 0..<keys.count where k != guess && equal(k) { return k }
        return -1
    }

    private func fail(_ kind: MatchInstanceError.Kind, _ path: String, _ message: String, at offset: Int) -> MatchInstanceError {
        r.error(kind, message, at: offset).prefixed(path)
    }

    // MARK: document

    mutating func document() throws(MatchInstanceError) -> MatchInstance {
        let start = r.pos
        guard r.peek() == UInt8(ascii: "{") else {
            if r.peek() == 0 { throw r.syntax("empty document: expected the instance object") }
            let got = try r.describeValue()
            throw fail(.wrongType, "", "expected the instance object, got \(got)", at: start)
        }
        r.pos += 1
        var format: String?
        var volunteers: [MatchVolunteer]?
        var requests: [MatchRequest]?
        var first = true
        while try r.more(&first, close: UInt8(ascii: "}")) {
            let keyAt = r.pos
            let field = try r.withString { b in InstanceDecoder.match(b, InstanceDecoder.topKeys, guess: 0) }
            try r.expect(UInt8(ascii: ":"), "':' after object key")
            let valueAt = r.pos
            switch field {
            case 0:
                if format != nil { throw fail(.duplicateKey, "", "duplicate key \"format\"", at: keyAt) }
                guard r.peek() == UInt8(ascii: "\"") else {
                    let got = try r.describeValue()
                    throw fail(.wrongType, "format", "expected string \"\(MatchInstance.format)\", got \(got)", at: valueAt)
                }
                let f = try r.readString()
                if f != MatchInstance.format {
                    throw fail(.unsupportedFormat, "format",
                               "expected \"\(MatchInstance.format)\", got \(InstanceValidator.quoted(f))", at: valueAt)
                }
                format = f
            case 1:
                if volunteers != nil { throw fail(.duplicateKey, "", "duplicate key \"volunteers\"", at: keyAt) }
                volunteers = try list("volunteers") { (d, i) throws(MatchInstanceError) in try d.volunteer(i) }
            case 2:
                if requests != nil { throw fail(.duplicateKey, "", "duplicate key \"requests\"", at: keyAt) }
                requests = try list("requests") { (d, i) throws(MatchInstanceError) in try d.request(i) }
            default:
                try r.skipValue()
            }
        }
        try r.expectEnd()
        let end = r.count
        guard format != nil else { throw fail(.missingField, "", "missing field 'format'", at: end) }
        guard let volunteers else { throw fail(.missingField, "", "missing field 'volunteers'", at: end) }
        guard let requests else { throw fail(.missingField, "", "missing field 'requests'", at: end) }
        return MatchInstance(validatedVolunteers: volunteers, requests: requests)
    }

    /// A JSON array of objects, each decoded by `element`; duplicate ids are rejected.
    private mutating func list<T: Identifiable>(
        _ name: String, _ element: (inout InstanceDecoder, Int) throws(MatchInstanceError) -> T
    ) throws(MatchInstanceError) -> [T] where T.ID == String {
        let start = r.pos
        guard r.peek() == UInt8(ascii: "[") else {
            let got = try r.describeValue()
            throw fail(.wrongType, name, "expected array, got \(got)", at: start)
        }
        r.pos += 1
        var out: [T] = []
        var firstAt: [String: Int] = [:]
        var first = true
        while try r.more(&first, close: UInt8(ascii: "]")) {
            let i = out.count
            let at = r.pos
            let item: T
            do { item = try element(&self, i) } catch { throw error.prefixed("\(name)[\(i)]") }
            if let earlier = firstAt.updateValue(i, forKey: item.id) {
                throw fail(.duplicateID, "\(name)[\(i)].id",
                           "duplicate id \(InstanceValidator.quoted(item.id)) (first at \(name)[\(earlier)])", at: at)
            }
            out.append(item)
        }
        return out
    }

    // MARK: objects

    mutating func volunteer(_ index: Int) throws(MatchInstanceError) -> MatchVolunteer {
        let objectAt = r.pos
        guard r.peek() == UInt8(ascii: "{") else {
            let got = try r.describeValue()
            throw fail(.wrongType, "", "expected object, got \(got)", at: objectAt)
        }
        r.pos += 1
        var id = "", profession = "", skills: [String] = []
        var credential = 0
        var lat = 0.0, lon = 0.0, maxTravel = 0.0
        var from = MatchDate(year: 1, month: 1, day: 1)!, to = from
        var eligible: [String: [String]] = [:]
        var seen: UInt32 = 0
        var guess = 0
        var first = true
        while try r.more(&first, close: UInt8(ascii: "}")) {
            let keyAt = r.pos
            let field = try r.withString { b in InstanceDecoder.match(b, InstanceDecoder.volunteerKeys, guess: guess) }
            try r.expect(UInt8(ascii: ":"), "':' after object key")
            if field < 0 { try r.skipValue(); continue }
            if seen & (1 << field) != 0 {
                throw fail(.duplicateKey, "", "duplicate key \"\(InstanceDecoder.volunteerName(field))\"", at: keyAt)
            }
            seen |= 1 << field
            guess = field + 1
            do {
                switch field {
                case 0: id = try nonEmptyString()
                case 1: profession = try token()
                case 2: skills = try tokens()
                case 3: credential = try integer(1...4)
                case 4: lat = try number(-90...90)
                case 5: lon = try number(-180...180)
                case 6: maxTravel = try positiveNumber()
                case 7: from = try date()
                case 8: to = try date()
                default: eligible = try eligibleStates()
                }
            } catch { throw error.prefixed(InstanceDecoder.volunteerName(field)) }
        }
        if seen != (1 << 10) - 1 {
            let missing = (0..<10).first { seen & (1 << $0) == 0 }!
            throw fail(.missingField, "", "missing field '\(InstanceDecoder.volunteerName(missing))'", at: objectAt)
        }
        return MatchVolunteer(id: id, profession: profession, skills: skills, credentialLevel: credential,
                              lat: lat, lon: lon, maxTravelKm: maxTravel, availableFrom: from, availableTo: to,
                              eligibleStates: eligible)
    }

    mutating func request(_ index: Int) throws(MatchInstanceError) -> MatchRequest {
        let objectAt = r.pos
        guard r.peek() == UInt8(ascii: "{") else {
            let got = try r.describeValue()
            throw fail(.wrongType, "", "expected object, got \(got)", at: objectAt)
        }
        r.pos += 1
        var id = "", state = "", profession = "", skills: [String] = [], provides: [String] = []
        var maxCredential = 0, count = 0, priority = 0
        var lat = 0.0, lon = 0.0
        var start = MatchDate(year: 1, month: 1, day: 1)!, end = start
        var seen: UInt32 = 0
        var guess = 0
        var first = true
        while try r.more(&first, close: UInt8(ascii: "}")) {
            let keyAt = r.pos
            let field = try r.withString { b in InstanceDecoder.match(b, InstanceDecoder.requestKeys, guess: guess) }
            try r.expect(UInt8(ascii: ":"), "':' after object key")
            if field < 0 { try r.skipValue(); continue }
            if seen & (1 << field) != 0 {
                throw fail(.duplicateKey, "", "duplicate key \"\(InstanceDecoder.requestName(field))\"", at: keyAt)
            }
            seen |= 1 << field
            guess = field + 1
            do {
                switch field {
                case 0: id = try nonEmptyString()
                case 1: state = try nonEmptyString(intern: true)
                case 2: profession = try token()
                case 3: skills = try tokens()
                case 4: maxCredential = try integer(1...4)
                case 5: lat = try number(-90...90)
                case 6: lon = try number(-180...180)
                case 7: count = try integer(1...Int.max)
                case 8: priority = try integer(1...5)
                case 9: start = try date()
                case 10: end = try date()
                default: provides = try tokens()
                }
            } catch { throw error.prefixed(InstanceDecoder.requestName(field)) }
        }
        if seen != (1 << 12) - 1 {
            let missing = (0..<12).first { seen & (1 << $0) == 0 }!
            throw fail(.missingField, "", "missing field '\(InstanceDecoder.requestName(missing))'", at: objectAt)
        }
        return MatchRequest(id: id, state: state, profession: profession, skills: skills,
                            maxCredentialLevel: maxCredential, lat: lat, lon: lon, count: count,
                            priority: priority, start: start, end: end, provides: provides)
    }

    private static func volunteerName(_ k: Int) -> String { String(decoding: volunteerKeys[k], as: UTF8.self) }
    private static func requestName(_ k: Int) -> String { String(decoding: requestKeys[k], as: UTF8.self) }

    // MARK: values (errors carry a path relative to the field; the caller prefixes it)

    private mutating func typeError(_ expected: String, at start: Int) throws(MatchInstanceError) -> MatchInstanceError {
        r.pos = start
        let got = try r.describeValue()
        return fail(.wrongType, "", "expected \(expected), got \(got)", at: start)
    }

    private mutating func nonEmptyString(intern: Bool = false) throws(MatchInstanceError) -> String {
        let start = r.pos
        if let b = r.plainASCIIString(), !b.isEmpty {
            return intern ? interner.intern(b) : String(decoding: b, as: UTF8.self)
        }
        r.pos = start
        guard r.peek() == UInt8(ascii: "\"") else { throw try typeError("non-empty string", at: start) }
        let s = try r.withString { b in b.isEmpty ? nil : (intern ? interner.intern(b) : String(decoding: b, as: UTF8.self)) }
        guard let s else { throw fail(.invalidValue, "", "expected non-empty string, got \"\"", at: start) }
        return s
    }

    private mutating func token() throws(MatchInstanceError) -> String {
        let start = r.pos
        if let b = r.plainASCIIString(), InstanceValidator.isToken(b) { return interner.intern(b) }
        r.pos = start
        guard r.peek() == UInt8(ascii: "\"") else { throw try typeError("lower-case token [a-z0-9_]+", at: start) }
        let valueAt = r.pos
        let s = try r.withString { b in InstanceValidator.isToken(b) ? interner.intern(b) : nil }
        guard let s else {
            let raw = String(decoding: UnsafeBufferPointer(start: r.base + valueAt, count: min(r.pos - valueAt, 42)), as: UTF8.self)
            throw fail(.invalidValue, "", "expected lower-case token [a-z0-9_]+, got \(raw)", at: valueAt)
        }
        return s
    }

    private mutating func tokens() throws(MatchInstanceError) -> [String] {
        let start = r.pos
        guard r.peek() == UInt8(ascii: "[") else { throw try typeError("array of lower-case tokens", at: start) }
        r.pos += 1
        var out: [String] = []
        if r.peek() != UInt8(ascii: "]") { out.reserveCapacity(4) }
        var first = true
        while try r.more(&first, close: UInt8(ascii: "]")) {
            do { out.append(try token()) } catch { throw error.prefixed("[\(out.count)]") }
        }
        return out
    }

    private mutating func integer(_ range: ClosedRange<Int>) throws(MatchInstanceError) -> Int {
        let start = r.pos
        let c = r.peek()
        func expected() -> String {
            range.upperBound == Int.max ? "integer >= \(range.lowerBound)" : "integer \(range.lowerBound)...\(range.upperBound)"
        }
        guard c == UInt8(ascii: "-") || c &- 0x30 < 10 else { throw try typeError(expected(), at: start) }
        let t = try r.scanNumber()
        guard t.isInteger else { throw fail(.wrongType, "", "expected \(expected()), got number \(r.text(t))", at: start) }
        let v = r.integerValue(t)
        guard range.contains(v) else { throw fail(.invalidValue, "", "expected \(expected()), got \(r.text(t))", at: start) }
        return v
    }

    private mutating func number(_ range: ClosedRange<Double>) throws(MatchInstanceError) -> Double {
        let start = r.pos
        let c = r.peek()
        func expected() -> String { "number \(Int(range.lowerBound))...\(Int(range.upperBound))" }
        guard c == UInt8(ascii: "-") || c &- 0x30 < 10 else { throw try typeError(expected(), at: start) }
        let t = try r.scanNumber()
        let v = r.doubleValue(t)
        guard range.contains(v) else { throw fail(.invalidValue, "", "expected \(expected()), got \(r.text(t))", at: start) }
        return v
    }

    private mutating func positiveNumber() throws(MatchInstanceError) -> Double {
        let start = r.pos
        let c = r.peek()
        guard c == UInt8(ascii: "-") || c &- 0x30 < 10 else { throw try typeError("number > 0", at: start) }
        let t = try r.scanNumber()
        let v = r.doubleValue(t)
        guard v > 0 && v.isFinite else { throw fail(.invalidValue, "", "expected finite number > 0, got \(r.text(t))", at: start) }
        return v
    }

    private mutating func date() throws(MatchInstanceError) -> MatchDate {
        let start = r.pos
        guard r.peek() == UInt8(ascii: "\"") else { throw try typeError("date string YYYY-MM-DD", at: start) }
        let d = try r.withString { b in MatchDate(isoBytes: b) }
        guard let d else {
            let raw = String(decoding: UnsafeBufferPointer(start: r.base + start, count: min(r.pos - start, 42)), as: UTF8.self)
            throw fail(.invalidValue, "", "expected a real date YYYY-MM-DD, got \(raw)", at: start)
        }
        return d
    }

    private mutating func eligibleStates() throws(MatchInstanceError) -> [String: [String]] {
        let start = r.pos
        guard r.peek() == UInt8(ascii: "{") else {
            throw try typeError("object mapping states to lists of conditions", at: start)
        }
        r.pos += 1
        // Collected in a small array first (duplicates found by comparing the interned keys),
        // then turned into a dictionary of exactly the right size: one hash per key.
        var entries: [(String, [String])] = []
        var first = true
        while try r.more(&first, close: UInt8(ascii: "}")) {
            let keyAt = r.pos
            let state: String
            if let b = r.plainASCIIString() {
                state = interner.intern(b)
            } else {
                r.pos = keyAt
                state = try r.withString { b in interner.intern(b) }
            }
            try r.expect(UInt8(ascii: ":"), "':' after object key")
            if entries.contains(where: { $0.0 == state }) {
                throw fail(.duplicateKey, "", "duplicate key \(InstanceValidator.quoted(state))", at: keyAt)
            }
            do { entries.append((state, try tokens())) } catch { throw error.prefixed(state) }
        }
        return Dictionary(uniqueKeysWithValues: entries)
    }
}

extension MatchVolunteer: Identifiable {}
extension MatchRequest: Identifiable {}
