// Fuzzes the JSON side of MusterRegistry: the strict parser (`JSONValue.parse`), merge patches, the volunteer
// registration validator (`VolunteerProfile.parse`), verification input (`VerificationInput.parse`), and the
// command bodies the server's commands read through MusterRegistry's input types (`FacilityInput`,
// `StaffingRequestInput`, `ImportEnvelope`, `VolunteerQuery`).
//
// The input is text (invalid UTF-8 repaired, as the server only ever hands over a Swift String). Invariants:
// - the parser never crashes, and a parsed value written back (`jsonText`) parses to the same value;
// - compacting the input (`JSONValue.compacting`, applied to events from PostgreSQL) keeps its value, and compact
//   text comes back unchanged;
// - merge patches are idempotent (RFC 7386);
// - a registration that validates is stored as the text JSONEncoder would write (`VolunteerProfile.jsonText`), and
//   stored (`JSONValue.from`) and validated again, gives the same profile (what
//   `VOLUNTEER.UPDATE` and re-imports do); the same for registrations made from a valid base plus the input as a
//   patch, which gets far past the required fields;
// - a command body is accepted only with values inside its limits, refused only with named field errors, and an
//   accepted body with an unknown field added is refused for exactly that field.
import Foundation
import FuzzSupport
import MusterCore
import MusterRegistry

let today = CalendarDate(year: 2020, month: 4, day: 3)!

// MARK: registrations

/// Valid registrations, one per category, for patching.
let bases: [JSONValue] = [
    #"{"ref":"NY-1","category":"licensed","profession":"registered_nurse","firstName":"Ana","lastName":"Pérez","dateOfBirth":"1980-02-29","email":"Ana@Example.org","phone":"+12125550100","homeState":"ny","location":{"lat":40.7,"lon":-74},"npi":"1234567893","licenses":[{"jurisdiction":"NJ","type":"rn","number":"26NR1234","status":"active","expires":"2021-05-31","multistate":true}],"disciplinaryActions":[{"jurisdiction":"NJ","date":"2015-01-02","action":"fine","resolved":true}],"skills":["critical_care","ventilator"],"languages":["en","es"],"availability":{"from":"2020-04-01","to":"2020-06-30"},"maxTravelKm":80,"telehealthOnly":false,"consentToShare":true}"#,
    #"{"ref":"img-7","category":"img","profession":"physician","firstName":"Luis","lastName":"Rojas","email":"l@x.org","homeState":"NY","img":{"medicalSchool":"Universidad Central de Venezuela","country":"VE","graduationDate":"2012-07-15","ecfmgCertified":true,"ecfmgNumber":"0-123-456-7","ecfmgDate":"2013-01-01","usmleStepsPassed":["1","2CK"],"usGmeMonths":12,"homeCountryLicense":{"country":"VE","standing":"good"},"yearsOfPractice":6}}"#,
    #"{"ref":"r-1","category":"retired","profession":"registered_nurse","firstName":"Jo","lastName":"Lee","phone":"+12125550100","homeState":"NY","licenses":[{"jurisdiction":"NY","type":"RN","number":"123","status":"lapsed","lapsed":"2017-06-30"}],"retired":{"lastClinicalPractice":"2017-06-30"}}"#,
    #"{"ref":"s-1","category":"student","profession":"medical_student","firstName":"Sam","lastName":"Ng","email":"s@u.edu","homeState":"MA","student":{"school":"Tufts","program":"medicine","year":4,"graduationDate":"2020-05-17","graduated":false}}"#,
].map { try! JSONValue.parse($0) }

/// The encoder whose output `VolunteerProfile.jsonText` reproduces.
let profileEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
}()

func checkRegistration(_ value: JSONValue) {
    let profile: VolunteerProfile
    do throws(FieldErrors) {
        profile = try VolunteerProfile.parse(value, today: today)
    } catch {
        precondition(!error.errors.isEmpty, "a registration failed with no errors")
        _ = error.description
        return
    }
    let encoded = String(decoding: try! profileEncoder.encode(profile), as: UTF8.self)
    precondition(profile.jsonText == encoded, "the stored text differs from JSONEncoder's:\n\(profile.jsonText)\n\(encoded)")
    let stored: JSONValue
    do { stored = try JSONValue.from(profile) } catch { preconditionFailure("a valid profile cannot be encoded: \(error)") }
    do throws(FieldErrors) {
        let again = try VolunteerProfile.parse(stored, today: today)
        precondition(again == profile, "a stored registration validated to a different profile:\n\(profile)\n\(again)")
    } catch {
        preconditionFailure("a valid registration, stored, no longer validates: \(error)\nstored: \(stored.jsonText)")
    }
}

// MARK: command bodies (MusterRegistry's input types, which the server's commands call)

/// A string the readers hand out: trimmed, not empty, within its length.
func checkText(_ text: String, _ field: String, maxLength: Int) {
    precondition(!text.isEmpty && text.count <= maxLength, "\(field): \"\(text)\" is outside 1...\(maxLength) characters")
    precondition(text.trimmingCharacters(in: .whitespaces) == text, "\(field): \"\(text)\" is not trimmed")
}

func checkDate(_ date: CalendarDate, _ field: String) {
    precondition(CalendarDate(date.description) == date, "\(field): \(date) does not read back")
}

/// Runs one body parser: a refusal names at least one field; an acceptance is refused again, naming exactly the
/// added field, once an unknown field is added (no field is ever silently ignored).
func checkBody<Input>(_ value: JSONValue, _ parse: (JSONValue) throws(FieldErrors) -> Input) -> Input? {
    do throws(FieldErrors) {
        let input = try parse(value)
        guard case .object(var members) = value else { preconditionFailure("a non-object body was accepted") }
        members["zz_not_a_field"] = .integer(1)
        do throws(FieldErrors) {
            _ = try parse(.object(members))
            preconditionFailure("an unknown field was accepted")
        } catch {
            precondition(
                error.errors.map(\.field) == ["zz_not_a_field"] && error.errors[0].rule == "unknown field",
                "an added unknown field was reported as \(error.errors)")
        }
        return input
    } catch {
        precondition(!error.errors.isEmpty, "a body was refused with no errors")
        _ = error.description
        return nil
    }
}

/// `FACILITY.CREATE`'s body.
func checkFacility(_ value: JSONValue) {
    guard let facility = checkBody(value, FacilityInput.parse) else { return }
    checkText(facility.name, "name", maxLength: 200)
    precondition(FacilityInput.kinds.contains(facility.kind), "kind \(facility.kind) accepted")
    precondition(abs(facility.lat) <= 90 && abs(facility.lon) <= 180, "position out of range")
    precondition(facility.provides.count <= 30, "\(facility.provides.count) capabilities")
    for token in facility.provides {
        precondition(!token.isEmpty && token.utf8.count <= 64 && token == token.lowercased(), "capability \(token) accepted")
    }
}

/// `REQUEST.SUBMIT`'s body.
func checkStaffingRequest(_ value: JSONValue) {
    guard let request = checkBody(value, StaffingRequestInput.parse) else { return }
    if let id = request.facilityID { precondition(id >= 1, "facilityId \(id) accepted") }
    precondition((1...4).contains(request.maxCredentialLevel), "maxCredentialLevel out of range")
    precondition((1...10_000).contains(request.count), "count out of range")
    precondition((1...5).contains(request.priority), "priority out of range")
    precondition(request.start <= request.end, "end before start accepted")
    checkDate(request.start, "start")
    checkDate(request.end, "end")
    precondition(request.notes.count <= 2000, "notes too long")
    precondition(Set(request.skills).count <= Skill.allCases.count, "skills out of range")
}

/// `VOLUNTEER.IMPORT`'s envelope; the first rows' registrations go through the validator.
func checkImport(_ value: JSONValue) {
    guard let envelope = checkBody(value, ImportEnvelope.parse) else { return }
    precondition(envelope.rows.count <= ImportEnvelope.maxRows, "\(envelope.rows.count) rows accepted")
    for row in envelope.rows { precondition(row.line >= 1 && row.line <= Int(Int32.max), "line \(row.line) accepted") }
    for row in envelope.rows.prefix(4) { checkRegistration(row.registration) }
}

/// `VOLUNTEER.LIST`'s filter and page.
func checkListQuery(_ value: JSONValue) {
    guard let query = checkBody(value, VolunteerQuery.parse) else { return }
    precondition((1...VolunteerQuery.maxLimit).contains(query.limit), "limit \(query.limit) accepted")
    precondition(query.after >= 0, "cursor \(query.after) accepted")
    precondition(VolunteerQuery.decodeCursor(VolunteerQuery.cursor(after: query.after)) == query.after, "cursor does not round-trip")
    if let state = query.filter.state { precondition(Jurisdiction(state)?.code == state, "state \(state) accepted") }
    if let level = query.filter.maxCredentialLevel { precondition((1...4).contains(level), "maxCredentialLevel out of range") }
    if let date = query.filter.availableOn { checkDate(date, "availableOn") }
    if let near = query.filter.near {
        precondition(abs(near.lat) <= 90 && abs(near.lon) <= 180 && near.km > 0 && near.km <= 5000, "near out of range")
    }
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

    // Round trip through the writer that imports send rows with.
    let written = value.jsonText
    do throws(FieldErrors) {
        let again = try JSONValue.parse(written)
        precondition(again == value, "\(written) parsed to a different value")
    } catch {
        preconditionFailure("the canonical form \(written) does not parse: \(error)")
    }

    // Compacting (events from PostgreSQL) keeps the value, leaves compact text alone, and is idempotent.
    let compact = JSONValue.compacting(text)
    do throws(FieldErrors) {
        let again = try JSONValue.parse(compact)
        precondition(again == value, "\(compact) parsed to a different value")
    } catch {
        preconditionFailure("the compacted text \(compact) does not parse: \(error)")
    }
    precondition(JSONValue.compacting(compact) == compact, "compacting \(compact) again changed it")
    precondition(JSONValue.compacting(written) == written, "the compact form \(written) was changed")

    // Merge patches are idempotent, and an empty patch changes nothing in an object.
    for base in [JSONValue.object([:]), bases[0], value] {
        let once = base.merging(patch: value)
        precondition(once.merging(patch: value) == once, "a merge patch is not idempotent")
    }
    if case .object = value { precondition(value.merging(patch: .object([:])) == value, "an empty patch changed the value") }

    checkRegistration(value)
    for base in bases { checkRegistration(base.merging(patch: value)) }
    checkVerification(value)
    checkFacility(value)
    checkStaffingRequest(value)
    checkImport(value)
    checkListQuery(value)
}
