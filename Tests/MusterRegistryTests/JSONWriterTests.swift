import Foundation
import MusterCore
import MusterRegistry
import Testing

/// The hand-written JSON (hot replies, stored registrations) is byte for byte what JSONEncoder writes with sorted keys
/// and unescaped slashes, the settings of every reply (`JSONText`) and of everything stored.
@Suite struct JSONWriterTests {
    static func encoded(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test(arguments: [
        "", "plain", "quote \" and backslash \\", "slash / stays", "tab\tnewline\nreturn\r", "\u{8}\u{c}",
        "nul \u{0} and \u{1}\u{1f}", "del \u{7f}", "accents: Pérez, Ñandú", "US GME ≥ 12 months", "emoji 🩺🚑",
        "line separator \u{2028} paragraph \u{2029}", "combining e\u{301}", "\"", "\\", "ends with a quote\"",
    ])
    func stringsAreEscapedAsJSONEncoderEscapesThem(_ value: String) throws {
        var writer = JSONWriter()
        writer.string(value)
        #expect(writer.output == (try Self.encoded(value)))
        // The same through a bridged (non-contiguous) string, which takes the slow path.
        var bridged = JSONWriter()
        bridged.string(NSString(string: value) as String)
        #expect(bridged.output == writer.output)
    }

    @Test func everyControlCharacter() throws {
        let all = String(decoding: (0..<0x20).map { UInt8($0) } + Array("\"\\/".utf8), as: UTF8.self)
        var writer = JSONWriter()
        writer.string(all)
        #expect(writer.output == (try Self.encoded(all)))
    }

    @Test(arguments: [
        0.0, -0.0, 1.0, -1.0, 40.0, 40.73, -74.17, 0.1, 1.0 / 3.0, 1e-7, 2.5e-300, 1e21, 123456789.125, 9007199254740993.0,
        Double.greatestFiniteMagnitude, Double.leastNonzeroMagnitude,
    ])
    func doublesAreWrittenAsJSONEncoderWritesThem(_ value: Double) throws {
        var writer = JSONWriter()
        writer.double(value)
        #expect(writer.output == (try Self.encoded(value)))
    }

    @Test func objectsAndArraysGetTheirCommas() throws {
        struct Inner: Encodable {
            let x: Int
            let y: String?
        }
        struct Sample: Encodable {
            let a: [String]
            let b: Bool
            let c: Int
            let d: [Inner]
            let e: Inner
            let f: [Int]
        }
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("a")
        writer.strings(["x", "y\"z"])
        writer.key("b")
        writer.bool(true)
        writer.key("c")
        writer.int(-42)
        writer.key("d")
        writer.array([Inner(x: 1, y: nil), Inner(x: 2, y: "two")]) { json, inner in
            json.beginObject()
            json.key("x")
            json.int(inner.x)
            if let y = inner.y {
                json.key("y")
                json.string(y)
            }
            json.endObject()
        }
        writer.key("e")
        writer.beginObject()
        writer.key("x")
        writer.int(3)
        writer.endObject()
        writer.key("f")
        writer.array([Int]()) { json, value in json.int(value) }
        writer.endObject()
        let sample = Sample(
            a: ["x", "y\"z"], b: true, c: -42, d: [Inner(x: 1, y: nil), Inner(x: 2, y: "two")], e: Inner(x: 3, y: nil), f: [])
        #expect(writer.output == (try Self.encoded(sample)))
    }

    /// What a registration stores: every optional part present and absent, every category's details, text that needs
    /// escaping, whole and fractional coordinates.
    @Test func aProfileIsWrittenAsJSONEncoderWritesIt() throws {
        typealias V = VolunteerValidationTests
        let bodies: [[String: Any]] = [
            V.base(),
            V.base("licensed", ["location": ["lat": 40, "lon": -74], "firstName": "Zoë \"Z\" O'Brien / Ñ"]),
            V.base("licensed", ["email": NSNull(), "npi": NSNull(), "availability": NSNull(),
                                "maxTravelKm": NSNull(), "skills": [], "languages": [], "dateOfBirth": NSNull(), "location": NSNull()]),
            V.base("licensed", [
                "telehealthOnly": true, "consentToShare": true,
                "licenses": [
                    ["jurisdiction": "NJ", "type": "RN", "number": "A\\1", "status": "active", "issued": "2015-01-01",
                     "expires": "2021-05-31", "multistate": true],
                    ["jurisdiction": "PA", "type": "RN", "number": "B2", "status": "lapsed", "lapsed": "2019-01-01"],
                ],
                "disciplinaryActions": [["jurisdiction": "NJ", "date": "2018-03-01", "action": "reprimand", "resolved": true]],
            ]),
            V.base("img", [
                "profession": "physician", "licenses": [],
                "img": [
                    "medicalSchool": "Universidad Central de Venezuela", "country": "VE", "graduationDate": "2012-07-15",
                    "ecfmgCertified": true, "ecfmgNumber": "0-123-456-7", "ecfmgDate": "2013-01-10",
                    "usmleStepsPassed": ["1", "2CK"], "usGmeMonths": 12,
                    "homeCountryLicense": ["country": "VE", "standing": "good"], "yearsOfPractice": 6,
                ],
            ]),
            V.base("img", [
                "profession": "physician", "licenses": [],
                "img": [
                    "medicalSchool": "Cairo University", "country": "EG", "graduationDate": "2015-06-30",
                    "ecfmgCertified": false, "usmleStepsPassed": [], "usGmeMonths": 0, "yearsOfPractice": 0,
                ],
            ]),
            V.base("retired", [
                "licenses": [["jurisdiction": "NY", "type": "RN", "number": "123", "status": "lapsed", "lapsed": "2017-06-30"]],
                "retired": ["lastClinicalPractice": "2017-06-30"],
            ]),
            V.base("student", [
                "profession": "physician", "licenses": [],
                "student": ["school": "NYU Grossman", "program": "medicine", "year": 4, "graduationDate": "2020-05-20", "graduated": false],
            ]),
            V.base("student", [
                "licenses": [],
                "student": ["school": "Hunter-Bellevue", "program": "nursing", "graduationDate": "2019-12-15", "graduated": true],
            ]),
        ]
        for (index, body) in bodies.enumerated() {
            let profile = try V.parse(body)
            let written = profile.jsonText
            #expect(written == (try Self.encoded(profile)), "profile \(index)")
            // And it reads back as the same profile.
            #expect(try JSONDecoder().decode(VolunteerProfile.self, from: Data(written.utf8)) == profile, "profile \(index)")
        }
    }
}
