import Foundation
import Testing
@testable import MusterMatching

@Suite struct DecoderTests {
    static let goodVolunteer = """
        {"id":"v-1","profession":"physician","skills":["critical_care"],"credentialLevel":2,"lat":40.7128,"lon":-74.006,\
        "maxTravelKm":80,"availableFrom":"2020-04-01","availableTo":"2020-06-30","eligibleStates":{"NY":["supervision"],"NJ":[]}}
        """
    static let goodRequest = """
        {"id":"r-1","state":"NY","profession":"physician","skills":["critical_care"],"maxCredentialLevel":3,\
        "lat":40.8448,"lon":-73.8648,"count":5,"priority":5,"start":"2020-04-05","end":"2020-04-19","provides":["supervision"]}
        """

    static func document(volunteers: [String] = [goodVolunteer], requests: [String] = [goodRequest],
                         format: String = "\"muster-match-instance/1\"") -> String {
        "{\"format\":\(format),\n\"volunteers\":[\n\(volunteers.joined(separator: ",\n"))\n],\n\"requests\":[\n\(requests.joined(separator: ",\n"))\n]}\n"
    }

    static func decodeError(_ text: String) -> MatchInstanceError? {
        do {
            _ = try MatchInstance.decode(json: text)
            return nil
        } catch {
            return error
        }
    }

    static func volunteerWith(_ key: String, _ value: String) -> String {
        // Replace one field's value in the good volunteer.
        var fields = goodVolunteerFields
        fields[key] = value
        return "{" + volunteerKeys.compactMap { k in fields[k].map { "\"\(k)\":\($0)" } }.joined(separator: ",") + "}"
    }
    static let volunteerKeys = ["id", "profession", "skills", "credentialLevel", "lat", "lon", "maxTravelKm",
                                "availableFrom", "availableTo", "eligibleStates"]
    static let goodVolunteerFields: [String: String] = [
        "id": "\"v-1\"", "profession": "\"physician\"", "skills": "[\"critical_care\"]", "credentialLevel": "2",
        "lat": "40.7128", "lon": "-74.006", "maxTravelKm": "80", "availableFrom": "\"2020-04-01\"",
        "availableTo": "\"2020-06-30\"", "eligibleStates": "{\"NY\":[\"supervision\"],\"NJ\":[]}",
    ]

    @Test func decodesTheSpecExample() throws {
        let instance = try MatchInstance.decode(json: DecoderTests.document())
        #expect(instance.volunteers.count == 1 && instance.requests.count == 1)
        let v = instance.volunteers[0], r = instance.requests[0]
        #expect(v.id == "v-1" && v.profession == "physician" && v.skills == ["critical_care"])
        #expect(v.credentialLevel == 2 && v.lat == 40.7128 && v.lon == -74.006 && v.maxTravelKm == 80)
        #expect(v.availableFrom == MatchDate(year: 2020, month: 4, day: 1))
        #expect(v.availableTo.description == "2020-06-30")
        #expect(v.eligibleStates == ["NY": ["supervision"], "NJ": []])
        #expect(r.state == "NY" && r.count == 5 && r.priority == 5 && r.provides == ["supervision"])
        #expect(MatchFeasibility.isFeasible(volunteer: v, request: r))
    }

    @Test func malformedJSON() throws {
        let e = try #require(DecoderTests.decodeError("{\"format\": \"muster-match-instance/1\", \"volunteers\": [}"))
        #expect(e.kind == .syntax)
        #expect(e.path == "volunteers[0]")
        #expect(e.line == 1 && e.column == 54)
        #expect(e.description == "volunteers[0]: expected a JSON value, found '}' (line 1, column 54)")

        #expect(DecoderTests.decodeError("")?.kind == .syntax)
        #expect(DecoderTests.decodeError(DecoderTests.document() + "x")?.kind == .syntax)
        #expect(DecoderTests.decodeError(DecoderTests.document(volunteers: [DecoderTests.goodVolunteer + ","]))?.kind == .syntax)
        #expect(DecoderTests.decodeError("{\"format\":\"muster-match-instance/1\" \"volunteers\":[]}")?.kind == .syntax)
        #expect(DecoderTests.decodeError("{\"format\":\"muster-match-instance/1\",\"volunteers\":[],\"requests\":[]")?.kind == .syntax)
        // Strict numbers and strings.
        for bad in ["01", "1.", ".5", "+1", "1e", "NaN", "Infinity", "0x10"] {
            let e = DecoderTests.decodeError(DecoderTests.document(volunteers: [DecoderTests.volunteerWith("lat", bad)]))
            #expect(e != nil, "\(bad) must be rejected")
        }
        let control = DecoderTests.document(volunteers: [DecoderTests.volunteerWith("id", "\"v\u{1}1\"")])
        #expect(DecoderTests.decodeError(control)?.kind == .syntax)
        let badEscape = DecoderTests.document(volunteers: [DecoderTests.volunteerWith("id", "\"v\\x\"")])
        #expect(DecoderTests.decodeError(badEscape)?.kind == .syntax)
        var invalidUTF8 = Array(DecoderTests.document(volunteers: [DecoderTests.volunteerWith("id", "\"v-\u{e9}\"")]).utf8)
        let k = invalidUTF8.firstIndex(of: 0xC3)!
        invalidUTF8[k] = 0xFF
        #expect(throws: MatchInstanceError.self) { try MatchInstance.decode(invalidUTF8) }
    }

    @Test func missingField() throws {
        let noLat = DecoderTests.volunteerWith("lat", "").replacingOccurrences(of: "\"lat\":,", with: "")
        let e = try #require(DecoderTests.decodeError(DecoderTests.document(volunteers: [DecoderTests.goodVolunteer, noLat])))
        #expect(e.kind == .missingField)
        #expect(e.path == "volunteers[1]")
        #expect(e.message == "missing field 'lat'")
        #expect(e.line == 4)

        let noRequests = "{\"format\":\"muster-match-instance/1\",\"volunteers\":[]}"
        let e2 = try #require(DecoderTests.decodeError(noRequests))
        #expect(e2.kind == .missingField && e2.message == "missing field 'requests'")
        let e3 = try #require(DecoderTests.decodeError("{\"volunteers\":[],\"requests\":[]}"))
        #expect(e3.message == "missing field 'format'")
    }

    @Test func wrongTypes() throws {
        let e = try #require(DecoderTests.decodeError(DecoderTests.document(
            volunteers: [DecoderTests.goodVolunteer, DecoderTests.goodVolunteer.replacingOccurrences(of: "v-1", with: "v-2"),
                         DecoderTests.volunteerWith("credentialLevel", "\"2\"")])))
        #expect(e.kind == .wrongType)
        #expect(e.path == "volunteers[2].credentialLevel")
        #expect(e.message == "expected integer 1...4, got string \"2\"")

        let cases: [(String, String, String)] = [
            ("credentialLevel", "2.0", "volunteers[0].credentialLevel: expected integer 1...4, got number 2.0"),
            ("lat", "\"40\"", "volunteers[0].lat: expected number -90...90, got string \"40\""),
            ("skills", "\"critical_care\"", "volunteers[0].skills: expected array of lower-case tokens, got string \"critical_care\""),
            ("skills", "[\"ok\", 3]", "volunteers[0].skills[1]: expected lower-case token [a-z0-9_]+, got number 3"),
            ("eligibleStates", "[]", "volunteers[0].eligibleStates: expected object mapping states to lists of conditions, got array"),
            ("eligibleStates", "{\"NY\":null}", "volunteers[0].eligibleStates.NY: expected array of lower-case tokens, got null"),
            ("id", "17", "volunteers[0].id: expected non-empty string, got number 17"),
            ("availableFrom", "20200401", "volunteers[0].availableFrom: expected date string YYYY-MM-DD, got number 20200401"),
        ]
        for (key, value, expected) in cases {
            let e = try #require(DecoderTests.decodeError(DecoderTests.document(volunteers: [DecoderTests.volunteerWith(key, value)])))
            #expect(e.description.hasPrefix(expected), "\(e.description)")
        }
        let notObject = try #require(DecoderTests.decodeError(DecoderTests.document(volunteers: ["[]"])))
        #expect(notObject.description.hasPrefix("volunteers[0]: expected object, got array"))
        let top = try #require(DecoderTests.decodeError("[1,2]"))
        #expect(top.kind == .wrongType)
    }

    @Test func invalidValues() throws {
        let cases: [(String, String, String)] = [
            ("credentialLevel", "7", "volunteers[0].credentialLevel: expected integer 1...4, got 7"),
            ("credentialLevel", "0", "volunteers[0].credentialLevel: expected integer 1...4, got 0"),
            ("lat", "90.5", "volunteers[0].lat: expected number -90...90, got 90.5"),
            ("lon", "-180.01", "volunteers[0].lon: expected number -180...180, got -180.01"),
            ("maxTravelKm", "0", "volunteers[0].maxTravelKm: expected finite number > 0, got 0"),
            ("maxTravelKm", "1e999", "volunteers[0].maxTravelKm: expected finite number > 0, got 1e999"),
            ("availableTo", "\"2020-02-30\"", "volunteers[0].availableTo: expected a real date YYYY-MM-DD, got \"2020-02-30\""),
            ("availableTo", "\"2020-6-30\"", "volunteers[0].availableTo: expected a real date YYYY-MM-DD, got \"2020-6-30\""),
            ("profession", "\"Physician\"", "volunteers[0].profession: expected lower-case token [a-z0-9_]+, got \"Physician\""),
            ("skills", "[\"a b\"]", "volunteers[0].skills[0]: expected lower-case token [a-z0-9_]+, got \"a b\""),
            ("eligibleStates", "{\"NY\":[\"Supervision\"]}", "volunteers[0].eligibleStates.NY[0]: expected lower-case token"),
            ("id", "\"\"", "volunteers[0].id: expected non-empty string, got \"\""),
        ]
        for (key, value, expected) in cases {
            let e = try #require(DecoderTests.decodeError(DecoderTests.document(volunteers: [DecoderTests.volunteerWith(key, value)])))
            #expect(e.kind == .invalidValue, "\(e)")
            #expect(e.description.hasPrefix(expected), "\(e.description)")
        }
        let leap = DecoderTests.document(volunteers: [DecoderTests.volunteerWith("availableTo", "\"2020-02-29\"")])
        #expect(DecoderTests.decodeError(leap) == nil)
        let notLeap = DecoderTests.document(volunteers: [DecoderTests.volunteerWith("availableTo", "\"1900-02-29\"")])
        #expect(DecoderTests.decodeError(notLeap)?.kind == .invalidValue)

        let requestCases: [(String, String)] = [
            ("\"count\":5", "\"count\":0"), ("\"priority\":5", "\"priority\":6"), ("\"state\":\"NY\"", "\"state\":\"\""),
            ("\"maxCredentialLevel\":3", "\"maxCredentialLevel\":5"),
        ]
        for (good, bad) in requestCases {
            let doc = DecoderTests.document(requests: [DecoderTests.goodRequest.replacingOccurrences(of: good, with: bad)])
            let e = try #require(DecoderTests.decodeError(doc), "\(bad)")
            #expect(e.kind == .invalidValue)
            #expect(e.path.hasPrefix("requests[0]."))
        }
    }

    @Test func unknownFormat() throws {
        let e = try #require(DecoderTests.decodeError(DecoderTests.document(format: "\"muster-match-instance/2\"")))
        #expect(e.kind == .unsupportedFormat)
        #expect(e.description.hasPrefix("format: expected \"muster-match-instance/1\", got \"muster-match-instance/2\""))
        #expect(DecoderTests.decodeError(DecoderTests.document(format: "1"))?.kind == .wrongType)
    }

    @Test func duplicateIDs() throws {
        let e = try #require(DecoderTests.decodeError(DecoderTests.document(
            volunteers: [DecoderTests.goodVolunteer, DecoderTests.goodVolunteer.replacingOccurrences(of: "v-1", with: "v-2"),
                         DecoderTests.goodVolunteer])))
        #expect(e.kind == .duplicateID)
        #expect(e.description.hasPrefix("volunteers[2].id: duplicate id \"v-1\" (first at volunteers[0])"))
        let e2 = try #require(DecoderTests.decodeError(DecoderTests.document(requests: [DecoderTests.goodRequest, DecoderTests.goodRequest])))
        #expect(e2.kind == .duplicateID && e2.path == "requests[1].id")
        // A volunteer and a request may share an id: the lists are separate.
        let shared = DecoderTests.goodRequest.replacingOccurrences(of: "r-1", with: "v-1")
        #expect(DecoderTests.decodeError(DecoderTests.document(requests: [shared])) == nil)
    }

    @Test func duplicateKeys() throws {
        let twice = DecoderTests.goodVolunteer.replacingOccurrences(of: "\"lat\":40.7128", with: "\"lat\":40.7128,\"lat\":41")
        let e = try #require(DecoderTests.decodeError(DecoderTests.document(volunteers: [twice])))
        #expect(e.kind == .duplicateKey && e.path == "volunteers[0]")
        let states = DecoderTests.volunteerWith("eligibleStates", "{\"NY\":[],\"NY\":[]}")
        let e2 = try #require(DecoderTests.decodeError(DecoderTests.document(volunteers: [states])))
        #expect(e2.kind == .duplicateKey && e2.path == "volunteers[0].eligibleStates")
        let top = "{\"format\":\"muster-match-instance/1\",\"volunteers\":[],\"requests\":[],\"volunteers\":[]}"
        #expect(DecoderTests.decodeError(top)?.kind == .duplicateKey)
    }

    @Test func unknownFieldsAreSkippedButChecked() throws {
        let extra = DecoderTests.goodVolunteer.replacingOccurrences(of: "{\"id\"", with: "{\"note\":{\"a\":[1,true,null,\"x\"]},\"id\"")
        #expect(DecoderTests.decodeError(DecoderTests.document(volunteers: [extra])) == nil)
        let broken = DecoderTests.goodVolunteer.replacingOccurrences(of: "{\"id\"", with: "{\"note\":[1,},\"id\"")
        #expect(DecoderTests.decodeError(DecoderTests.document(volunteers: [broken]))?.kind == .syntax)
    }

    @Test func escapesAndUnicode() throws {
        let doc = DecoderTests.document(volunteers: [DecoderTests.volunteerWith("id", "\"v-\\u00e9\\ud83d\\ude91\\\"q\\\\\"")])
        let instance = try MatchInstance.decode(json: doc)
        #expect(instance.volunteers[0].id == "v-é🚑\"q\\")
        // Escaped token characters are fine once decoded.
        let token = DecoderTests.document(volunteers: [DecoderTests.volunteerWith("profession", "\"phys\\u0069cian\"")])
        #expect(try MatchInstance.decode(json: token).volunteers[0].profession == "physician")
        // And the solution encodes ids back as valid JSON.
        let s = MatchSolution(weightedFilled: 1, travelKm: 2, assignments: [
            MatchAssignment(volunteer: "v-é🚑\"q\\\n", request: "r\u{1}", volunteerIndex: 0, requestIndex: 0, travelKm: 2),
        ])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(s.json().utf8)) as? [String: Any])
        let pairs = try #require(parsed["assignments"] as? [[String: String]])
        #expect(pairs == [["volunteer": "v-é🚑\"q\\\n", "request": "r\u{1}"]])
        let lone = DecoderTests.document(volunteers: [DecoderTests.volunteerWith("id", "\"\\ud83d\"")])
        #expect(DecoderTests.decodeError(lone)?.kind == .syntax)
    }

    /// The decoder's doubles are bit-identical to the standard library's correctly rounded
    /// parse (which is what Python's float() gives), fast path or not.
    @Test func numbersParseExactly() throws {
        var g = SeededGenerator(seed: 3)
        var texts: [String] = ["0", "-0", "0.0", "1e2", "1E-2", "4.5e+1", "12.34567890123456789", "-89.99999999999999",
                               "0.1", "0.30000000000000004", "179.99999", "1.7976931348623157e-300", "5e-324", "45"]
        for _ in 0..<3000 {
            let intDigits = String(Int.random(in: 0...180, using: &g))
            let fracLen = Int.random(in: 0...19, using: &g)
            let frac = String((0..<fracLen).map { _ in Character(String(Int.random(in: 0...9, using: &g))) })
            var t = (Bool.random(using: &g) ? "-" : "") + intDigits + (fracLen > 0 ? "." + frac : "")
            if Int.random(in: 0..<8, using: &g) == 0 { t += "e-\(Int.random(in: 0...30, using: &g))" }
            texts.append(t)
        }
        for t in texts {
            let bytes = Array(t.utf8)
            let value = bytes.withUnsafeBufferPointer { b -> Double in
                var r = JSONReader(b)
                let token = try! r.scanNumber()
                return r.doubleValue(token)
            }
            #expect(value.bitPattern == Double(t)!.bitPattern, "\(t)")
        }
    }

    @Test func inMemoryInstancesAreValidated() throws {
        #expect(throws: MatchInstanceError.self) {
            try MatchInstance(volunteers: [volunteer("a"), volunteer("a")], requests: [])
        }
        do {
            _ = try MatchInstance(volunteers: [volunteer("a", skills: ["ICU"])], requests: [])
            Issue.record("expected an error")
        } catch {
            #expect(error.path == "volunteers[0].skills[0]")
            #expect(error.kind == .invalidValue)
        }
        do {
            _ = try MatchInstance(volunteers: [], requests: [request("r", priority: 9)])
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "requests[0].priority: expected integer 1...5, got 9")
        }
    }

    @Test func datesParseStrictly() {
        #expect(MatchDate("2020-02-29") != nil)
        #expect(MatchDate("2021-02-29") == nil)
        #expect(MatchDate("2020-13-01") == nil)
        #expect(MatchDate("2020-00-10") == nil)
        #expect(MatchDate("0000-01-01") == nil)
        #expect(MatchDate("2020-01-01T") == nil)
        #expect(MatchDate(" 020-01-01") == nil)
        #expect(MatchDate("2020-04-01")! < MatchDate("2020-04-02")!)
        #expect(MatchDate("2020-04-30")! < MatchDate("2020-05-01")!)
    }
}
