// Fuzzes the JSON side of MusterRegistry: the strict parser (`JSONValue.parse`), merge patches, the volunteer
// registration validator (`VolunteerProfile.parse`), verification input (`VerificationInput.parse`), and the
// command bodies the server reads with the shared `ObjectReader` (facility, staffing request, import envelope,
// list filter; their command code lives in MusterServer behind NIO and libpq, so the harness replays their field
// reads on `ObjectReader` here).
//
// The input is text (invalid UTF-8 repaired, as the server only ever hands over a Swift String). Invariants:
// - the parser never crashes, and a parsed value written back canonically parses to the same value;
// - merge patches are idempotent (RFC 7386);
// - a registration that validates, stored (`JSONValue.from`) and validated again, gives the same profile (what
//   `VOLUNTEER.UPDATE` and re-imports do); the same for registrations made from a valid base plus the input as a
//   patch, which gets far past the required fields;
// - `ObjectReader` returns only values inside the limits it was given, and reports exactly the unread fields.
import Foundation
import FuzzSupport
import MusterCore
import MusterRegistry

let today = CalendarDate(year: 2020, month: 4, day: 3)!

// MARK: canonical JSON

func write(_ value: JSONValue, into out: inout String) {
    switch value {
    case .null: out += "null"
    case .bool(let flag): out += flag ? "true" : "false"
    case .integer(let number): out += String(number)
    case .number(let number):
        precondition(number.isFinite, "a non-finite number was parsed")
        // Swift prints the shortest text that reads back exactly; keep it a non-integer literal.
        let text = String(number)
        out += text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? text : text + ".0"
    case .string(let text): out += FuzzJSON.quoted(text)
    case .array(let items):
        out += "["
        for (index, item) in items.enumerated() {
            if index > 0 { out += "," }
            write(item, into: &out)
        }
        out += "]"
    case .object(let members):
        out += "{"
        for (index, key) in members.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            out += FuzzJSON.quoted(key)
            out += ":"
            write(members[key]!, into: &out)
        }
        out += "}"
    }
}

func canonical(_ value: JSONValue) -> String {
    var out = ""
    write(value, into: &out)
    return out
}

// MARK: registrations

/// Valid registrations, one per category, for patching.
let bases: [JSONValue] = [
    #"{"ref":"NY-1","category":"licensed","profession":"registered_nurse","firstName":"Ana","lastName":"Pérez","dateOfBirth":"1980-02-29","email":"Ana@Example.org","phone":"+12125550100","homeState":"ny","location":{"lat":40.7,"lon":-74},"npi":"1234567893","licenses":[{"jurisdiction":"NJ","type":"rn","number":"26NR1234","status":"active","expires":"2021-05-31","multistate":true}],"disciplinaryActions":[{"jurisdiction":"NJ","date":"2015-01-02","action":"fine","resolved":true}],"skills":["critical_care","ventilator"],"languages":["en","es"],"availability":{"from":"2020-04-01","to":"2020-06-30"},"maxTravelKm":80,"telehealthOnly":false,"consentToShare":true}"#,
    #"{"ref":"img-7","category":"img","profession":"physician","firstName":"Luis","lastName":"Rojas","email":"l@x.org","homeState":"NY","img":{"medicalSchool":"Universidad Central de Venezuela","country":"VE","graduationDate":"2012-07-15","ecfmgCertified":true,"ecfmgNumber":"0-123-456-7","ecfmgDate":"2013-01-01","usmleStepsPassed":["1","2CK"],"usGmeMonths":12,"homeCountryLicense":{"country":"VE","standing":"good"},"yearsOfPractice":6}}"#,
    #"{"ref":"r-1","category":"retired","profession":"registered_nurse","firstName":"Jo","lastName":"Lee","phone":"+12125550100","homeState":"NY","licenses":[{"jurisdiction":"NY","type":"RN","number":"123","status":"lapsed","lapsed":"2017-06-30"}],"retired":{"lastClinicalPractice":"2017-06-30"}}"#,
    #"{"ref":"s-1","category":"student","profession":"medical_student","firstName":"Sam","lastName":"Ng","email":"s@u.edu","homeState":"MA","student":{"school":"Tufts","program":"medicine","year":4,"graduationDate":"2020-05-17","graduated":false}}"#,
].map { try! JSONValue.parse($0) }

func checkRegistration(_ value: JSONValue) {
    let profile: VolunteerProfile
    do throws(FieldErrors) {
        profile = try VolunteerProfile.parse(value, today: today)
    } catch {
        precondition(!error.errors.isEmpty, "a registration failed with no errors")
        _ = error.description
        return
    }
    let stored: JSONValue
    do { stored = try JSONValue.from(profile) } catch { preconditionFailure("a valid profile cannot be encoded: \(error)") }
    do throws(FieldErrors) {
        let again = try VolunteerProfile.parse(stored, today: today)
        precondition(again == profile, "a stored registration validated to a different profile:\n\(profile)\n\(again)")
    } catch {
        preconditionFailure("a valid registration, stored, no longer validates: \(error)\nstored: \(canonical(stored))")
    }
}

// MARK: command bodies (the field reads of MusterServer's commands, on ObjectReader)

/// An `ObjectReader` that checks what it hands out, and remembers which fields were asked for.
struct CheckedReader {
    var reader: ObjectReader
    let object: [String: JSONValue]?
    var asked: Set<String> = []

    init(_ value: JSONValue, errors: inout [FieldError]) {
        reader = ObjectReader(value, path: "", errors: &errors)
        if case .object(let members) = value { object = members } else { object = nil }
    }

    mutating func string(_ key: String, required: Bool = false, maxLength: Int = 200) -> String? {
        asked.insert(key)
        let text = reader.string(key, required: required, maxLength: maxLength)
        if let text {
            precondition(!text.isEmpty && text.count <= maxLength, "\(key): \"\(text)\" is outside 1...\(maxLength) characters")
            precondition(text.trimmingCharacters(in: .whitespaces) == text, "\(key): \"\(text)\" is not trimmed")
        }
        return text
    }

    mutating func integer(_ key: String, required: Bool = false, range: ClosedRange<Int>) -> Int? {
        asked.insert(key)
        let value = reader.integer(key, required: required, range: range)
        if let value { precondition(range.contains(value), "\(key): \(value) outside \(range)") }
        return value
    }

    mutating func number(_ key: String, required: Bool = false, range: ClosedRange<Double>) -> Double? {
        asked.insert(key)
        let value = reader.number(key, required: required, range: range)
        if let value { precondition(value.isFinite && range.contains(value), "\(key): \(value) outside \(range)") }
        return value
    }

    mutating func date(_ key: String, required: Bool = false) -> CalendarDate? {
        asked.insert(key)
        let value = reader.date(key, required: required)
        if let value { precondition(CalendarDate(value.description) == value, "\(key): \(value) does not read back") }
        return value
    }

    mutating func bool(_ key: String) -> Bool? {
        asked.insert(key)
        return reader.bool(key)
    }

    mutating func token<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type, required: Bool = false) -> T?
    where T.RawValue == String {
        asked.insert(key)
        return reader.token(key, type, required: required)
    }

    mutating func skills(_ key: String) -> [Skill] {
        asked.insert(key)
        let skills = reader.skills(key)
        precondition(skills.count <= Skill.allCases.count, "\(key): \(skills.count) skills")
        return skills
    }

    mutating func array<T>(_ key: String, maxCount: Int, _ element: (JSONValue, String, inout [FieldError]) -> T?) -> [T]? {
        asked.insert(key)
        let items = reader.array(key, maxCount: maxCount, element)
        if let items { precondition(items.count <= maxCount, "\(key): \(items.count) entries, at most \(maxCount)") }
        return items
    }

    mutating func value(_ key: String) -> JSONValue? {
        asked.insert(key)
        return reader.value(key)
    }

    mutating func object<T>(_ key: String, required: Bool = false, _ body: (inout ObjectReader) -> T?) -> T? {
        asked.insert(key)
        return reader.object(key, required: required, body)
    }

    /// The errors, checking that exactly the fields never asked for are reported as unknown.
    func finish() -> [FieldError] {
        let errors = reader.finish()
        let unknown = Set(errors.filter { $0.rule == "unknown field" }.map(\.field))
        let expected = Set((object ?? [:]).keys).subtracting(asked)
        // (Nested readers add their own unknown fields, `near.x`; those never equal a top-level name read here.)
        precondition(unknown.isSuperset(of: expected), "unread fields \(expected.subtracting(unknown)) were not reported")
        precondition(unknown.isDisjoint(with: asked), "fields \(unknown.intersection(asked)) were read but reported unknown")
        return errors
    }
}

func lowerToken(_ value: JSONValue, _ path: String, _ errors: inout [FieldError]) -> String? {
    guard case .string(let token) = value, !token.isEmpty, token.utf8.count <= 64,
        token.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 95 })
    else {
        errors.append(FieldError(path, "expected a lower-case token"))
        return nil
    }
    return token
}

/// `FACILITY.CREATE`'s body.
func readFacility(_ value: JSONValue) {
    var errors: [FieldError] = []
    var r = CheckedReader(value, errors: &errors)
    if let text = r.string("state", maxLength: 2), Jurisdiction(text) == nil { r.reader.fail("state", "unknown") }
    _ = r.string("name", required: true, maxLength: 200)
    _ = r.string("kind", required: true, maxLength: 40)
    _ = r.number("lat", required: true, range: -90...90)
    _ = r.number("lon", required: true, range: -180...180)
    _ = r.array("provides", maxCount: 30, lowerToken)
    errors += r.finish()
    _ = FieldErrors(errors).description
}

/// `REQUEST.SUBMIT`'s body.
func readStaffingRequest(_ value: JSONValue) {
    var errors: [FieldError] = []
    var r = CheckedReader(value, errors: &errors)
    if let id = r.integer("facilityId", range: 1...Int.max) { _ = Int64(id) }
    _ = r.token("profession", Profession.self, required: true)
    _ = r.skills("skills")
    _ = r.integer("maxCredentialLevel", required: true, range: 1...4)
    _ = r.integer("count", required: true, range: 1...10_000)
    let start = r.date("start", required: true)
    let end = r.date("end", required: true)
    if let start, let end, end < start { r.reader.fail("end", "before start") }
    _ = r.integer("priority", required: true, range: 1...5)
    _ = r.string("notes", maxLength: 2000)
    // REQUEST.LIST and MATCH.RUN read these from their own bodies; reading them here adds no harm.
    _ = r.bool("open")
    _ = r.integer("offerHours", range: 1...(24 * 14))
    errors += r.finish()
    _ = FieldErrors(errors).description
}

/// `VOLUNTEER.IMPORT`'s envelope; each row's registration goes through the validator.
func readImport(_ value: JSONValue) {
    var errors: [FieldError] = []
    var r = CheckedReader(value, errors: &errors)
    if let code = r.string("registeringState", maxLength: 2), Jurisdiction(code) == nil { r.reader.fail("registeringState", "unknown") }
    let rows = r.array("rows", maxCount: 1000) { value, path, errors -> (Int, JSONValue)? in
        var row = ObjectReader(value, path: path, errors: &errors)
        let line = row.integer("line", required: true, range: 1...Int(Int32.max))
        let registration = row.value("registration")
        if registration == nil { row.fail("registration", "required") }
        errors += row.finish()
        guard let line, let registration else { return nil }
        return (line, registration)
    }
    errors += r.finish()
    _ = FieldErrors(errors).description
    for (_, registration) in (rows ?? []).prefix(4) { checkRegistration(registration) }
}

/// `VOLUNTEER.LIST`'s filter.
func readListFilter(_ value: JSONValue) {
    var errors: [FieldError] = []
    var r = CheckedReader(value, errors: &errors)
    if let state = r.string("state", maxLength: 2), Jurisdiction(state) == nil { r.reader.fail("state", "unknown") }
    _ = r.token("category", VolunteerCategory.self)
    _ = r.token("profession", Profession.self)
    _ = r.token("skill", Skill.self)
    _ = r.token("status", VolunteerStatus.self)
    _ = r.integer("maxCredentialLevel", range: 1...4)
    _ = r.date("availableOn")
    let near = r.object("near") { n -> (Double, Double, Double)? in
        guard let lat = n.number("lat", required: true, range: -90...90),
            let lon = n.number("lon", required: true, range: -180...180),
            let km = n.number("km", required: true, range: 0.001...5000)
        else { return nil }
        return (lat, lon, km)
    }
    if let near { precondition(abs(near.0) <= 90 && abs(near.1) <= 180 && near.2 > 0 && near.2 <= 5000, "near out of range") }
    _ = r.integer("limit", range: 1...1000)
    _ = r.bool("full")
    _ = r.string("after", maxLength: 100)
    errors += r.finish()
    _ = FieldErrors(errors).description
}

func checkVerification(_ value: JSONValue) {
    do throws(FieldErrors) {
        let input = try VerificationInput.parse(value)
        precondition(!input.source.isEmpty && input.source.count <= 200, "source out of bounds")
        precondition(!input.reference.isEmpty && input.reference.count <= 200, "reference out of bounds")
        if input.item == .license {
            let parts = input.subject.split(separator: ":", maxSplits: 1)
            precondition(parts.count == 2 && Jurisdiction(parts[0]) != nil, "licence subject \"\(input.subject)\" accepted")
        }
    } catch {
        precondition(!error.errors.isEmpty, "verification failed with no errors")
        _ = error.description
    }
}

Fuzz.main { raw in
    let text = String(decoding: raw, as: UTF8.self)
    let value: JSONValue
    do throws(FieldErrors) {
        value = try JSONValue.parse(text)
    } catch {
        precondition(error.errors.count == 1 && error.errors[0].field == "body", "a parse error is not one body error")
        return
    }

    // Round trip through a canonical writer.
    let written = canonical(value)
    do throws(FieldErrors) {
        let again = try JSONValue.parse(written)
        precondition(again == value, "\(written) parsed to a different value")
    } catch {
        preconditionFailure("the canonical form \(written) does not parse: \(error)")
    }

    // Merge patches are idempotent, and an empty patch changes nothing in an object.
    for base in [JSONValue.object([:]), bases[0], value] {
        let once = base.merging(patch: value)
        precondition(once.merging(patch: value) == once, "a merge patch is not idempotent")
    }
    if case .object = value { precondition(value.merging(patch: .object([:])) == value, "an empty patch changed the value") }

    checkRegistration(value)
    for base in bases { checkRegistration(base.merging(patch: value)) }
    checkVerification(value)
    readFacility(value)
    readStaffingRequest(value)
    readImport(value)
    readListFilter(value)
}
