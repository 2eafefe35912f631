import Foundation
import MusterCore
import MusterRegistry
import Testing

/// Valid registrations of each category, and every validation rule naming its field.
@Suite struct VolunteerValidationTests {
    static let today = CalendarDate("2020-04-03")!

    static func base(_ category: String = "licensed", _ extra: [String: Any] = [:]) -> [String: Any] {
        var body: [String: Any] = [
            "ref": "NY-1", "category": category, "profession": "registered_nurse", "firstName": "Ana",
            "lastName": "Pérez", "dateOfBirth": "1980-02-29", "email": "Ana@Example.org", "phone": "+12125550100",
            "homeState": "ny", "location": ["lat": 40.7, "lon": -74.0], "npi": "1234567893",
            "licenses": [["jurisdiction": "NJ", "type": "rn", "number": "26NR1234", "status": "active", "expires": "2021-05-31"]],
            "skills": ["critical_care", "ventilator"], "languages": ["en", "es"],
            "availability": ["from": "2020-04-01", "to": "2020-06-30"], "maxTravelKm": 80,
        ]
        for (key, value) in extra { body[key] = value }
        return body
    }

    static func parse(_ body: [String: Any]) throws(FieldErrors) -> VolunteerProfile {
        let data = try! JSONSerialization.data(withJSONObject: body)
        return try VolunteerProfile.parse(try JSONValue.parse(String(decoding: data, as: UTF8.self)), today: today)
    }

    func errors(_ body: [String: Any]) -> [String] {
        do {
            _ = try Self.parse(body)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func aLicensedNurseIsNormalised() throws {
        let profile = try Self.parse(Self.base())
        #expect(profile.homeState == "NY")
        #expect(profile.email == "ana@example.org")
        #expect(profile.licenses[0].type == "RN")
        #expect(profile.skills == [.criticalCare, .ventilator])
        #expect(profile.availability?.to == CalendarDate("2020-06-30"))
        #expect(profile.dateOfBirth == CalendarDate("1980-02-29"))
    }

    /// Text fields lose the whitespace Foundation's `.whitespaces` names at either end, ASCII or not, and keep the rest.
    @Test(arguments: [
        ("Ana", "Ana"), (" Ana ", "Ana"), ("\tAna\t", "Ana"), ("\u{00A0}Ana\u{2003}", "Ana"), ("Ana\u{3000}", "Ana"),
        ("\u{202F} Ana", "Ana"), ("Ana María", "Ana María"), ("Zoë", "Zoë"), ("Ñ", "Ñ"), ("é\u{301}", "é\u{301}"),
    ])
    func textIsTrimmedOfWhitespaceAtBothEnds(_ given: String, _ expected: String) throws {
        let profile = try Self.parse(Self.base("licensed", ["firstName": given]))
        #expect(profile.firstName == expected)
        #expect(profile.firstName == given.trimmingCharacters(in: .whitespaces))
    }

    @Test func eachCategoryWithItsDetails() throws {
        let img = Self.base("img", [
            "profession": "physician", "licenses": [],
            "img": [
                "medicalSchool": "Universidad Central de Venezuela", "country": "VE", "graduationDate": "2012-07-15",
                "ecfmgCertified": true, "ecfmgNumber": "0-123-456-7", "usmleStepsPassed": ["1", "2CK"],
                "usGmeMonths": 12, "homeCountryLicense": ["country": "VE", "standing": "good"], "yearsOfPractice": 6,
            ],
        ])
        #expect(try Self.parse(img).img?.usGmeMonths == 12)
        let retired = Self.base("retired", [
            "licenses": [["jurisdiction": "NY", "type": "RN", "number": "123", "status": "lapsed", "lapsed": "2017-06-30"]],
            "retired": ["lastClinicalPractice": "2017-06-30"],
        ])
        #expect(try Self.parse(retired).retired?.lastClinicalPractice == CalendarDate("2017-06-30"))
        let student = Self.base("student", [
            "profession": "medical_student", "licenses": [],
            "student": ["school": "NYU Grossman", "program": "medicine", "year": 4, "graduationDate": "2020-05-15"],
        ])
        #expect(try Self.parse(student).student?.program == .medicine)
    }

    nonisolated(unsafe) static let invalidCases: [([String: Any], String)] = [
        (["npi": "1234567890"], "npi: check digit mismatch"),
        (["npi": "12345"], "npi: must be 10 digits"),
        (["phone": "212-555-0100"], "phone: not E.164"),
        (["email": "ana at example"], "email: not an email address"),
        (["availability": ["from": "2020-06-01", "to": "2020-04-01"]], "availability: from after to"),
        (["homeState": "XX"], "homeState: unknown US state or territory \"XX\""),
        (["category": "tourist"], "category: unknown value \"tourist\""),
        (["profession": "surgeon"], "profession: unknown value \"surgeon\""),
        (["skills": ["critical_care", "juggling"]], "skills[1]: unknown skill \"juggling\""),
        (["skills": ["ventilator", "ventilator"]], "skills: duplicate entries"),
        (["languages": ["english"]], "languages[0]: expected a two-letter ISO 639-1 code"),
        (["maxTravelKm": 0], "maxTravelKm: must be from 1 to 5000, got 0"),
        (["maxTravelKm": "far"], "maxTravelKm: expected a whole number, got a string"),
        (["location": ["lat": 91, "lon": 0]], "location.lat: must be from -90.0 to 90.0"),
        (["dateOfBirth": "1980-02-30"], "dateOfBirth: expected a date YYYY-MM-DD, got \"1980-02-30\""),
        (["favouriteColour": "blue"], "favouriteColour: unknown field"),
        (["licenses": [["jurisdiction": "NY", "type": "RN", "number": "1", "status": "actve"]]], "licenses[0].status: unknown value \"actve\""),
        (["licenses": [["jurisdiction": "NY", "type": "RN", "number": "1", "status": "lapsed"]]], "licenses[0].lapsed: required when status is lapsed"),
        (["licenses": [["jurisdiction": "NY", "type": "RN", "number": "1", "status": "active", "issued": "2020-01-02", "expires": "2019-01-01"]]], "licenses[0].expires: before issued"),
        (["licenses": [["jurisdiction": "NY", "type": "RN", "number": "1", "status": "active", "color": "x"]]], "licenses[0].color: unknown field"),
        (["licenses": [["jurisdiction": "NY", "type": "RN", "number": "1", "status": "revoked"]]], "licenses: category licensed needs at least one active licence"),
        (["telehealthOnly": "yes"], "telehealthOnly: expected true or false, got a string"),
        (["student": ["school": "x", "program": "medicine", "graduationDate": "2020-05-01"]], "student: not allowed for category licensed"),
    ]

    @Test func invalidFieldsAreNamed() {
        for (change, expected) in Self.invalidCases {
            let found = errors(Self.base("licensed", change))
            #expect(found.contains { $0.hasPrefix(expected) }, "expected \(expected) in \(found)")
        }
    }

    @Test func missingRequiredFieldsAreAllReported() {
        let found = errors(["category": "img"])
        for field in ["ref: required", "profession: required", "firstName: required", "lastName: required", "homeState: required", "img: required for category img"] {
            #expect(found.contains(field), "\(field) in \(found)")
        }
    }

    @Test func categoryRules() {
        #expect(errors(Self.base("img", ["licenses": []])).contains("img: required for category img"))
        let imgNurse = Self.base("img", [
            "img": ["medicalSchool": "x", "country": "IN", "graduationDate": "2010-01-01", "ecfmgCertified": true, "usGmeMonths": 0],
        ])
        let found = errors(imgNurse)
        #expect(found.contains("profession: must be physician for category img"))
        #expect(found.contains("img.ecfmgNumber: required when ecfmgCertified is true"))
        #expect(errors(Self.base("retired")).contains("retired: required for category retired"))
    }

    @Test func malformedJSONIsReportedAsSuch() {
        #expect(throws: FieldErrors.self) { try JSONValue.parse("{\"a\": }") }
        #expect(throws: FieldErrors.self) { try VolunteerProfile.parse(.array([]), today: Self.today) }
    }

    @Test(arguments: ["1234567893", "1245319599", "1003000126"])
    func validNPIs(npi: String) {
        #expect(Identifiers.npiProblem(npi) == nil)
    }

    @Test func phonesAndEmails() {
        #expect(Identifiers.phoneProblem("+442071838750") == nil)
        #expect(Identifiers.phoneProblem("+0123456789") != nil)
        #expect(Identifiers.phoneProblem("+1234567890123456") != nil)
        #expect(Identifiers.emailProblem("a@b.co") == nil)
        #expect(Identifiers.emailProblem("a@b") != nil)
    }

    @Test func statusTransitions() {
        #expect(VolunteerStatus.verified.allowsManualTransition(to: .available))
        #expect(VolunteerStatus.available.allowsManualTransition(to: .deployed))
        #expect(VolunteerStatus.registered.allowsManualTransition(to: .withdrawn))
        #expect(!VolunteerStatus.registered.allowsManualTransition(to: .verified))
        #expect(!VolunteerStatus.registered.allowsManualTransition(to: .available))
        #expect(!VolunteerStatus.withdrawn.allowsManualTransition(to: .registered))
        #expect(!VolunteerStatus.withdrawn.allowsManualTransition(to: .withdrawn))
    }
}
