import MusterCore
import MusterRegistry
import Testing

/// The command bodies read by MusterRegistry's input types: what each accepts, and every refusal naming its field.
@Suite struct CommandInputTests {
    func value(_ json: String) throws -> JSONValue { try JSONValue.parse(json) }

    /// The field errors a parser gives for `json`, as `field: rule`; empty when it accepts.
    func refusals<Input>(_ json: String, _ parse: (JSONValue) throws(FieldErrors) -> Input) throws -> [String] {
        let body = try value(json)
        do throws(FieldErrors) {
            _ = try parse(body)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    // MARK: FACILITY.CREATE

    @Test func aFacilityIsReadWithItsCapabilities() throws {
        let facility = try FacilityInput.parse(
            try value(#"{"state":"ny","name":" Bellevue ","kind":"hospital","lat":40.74,"lon":-73.97,"provides":["icu","ventilators"]}"#))
        #expect(facility == FacilityInput(
            state: Jurisdiction("NY"), name: "Bellevue", kind: "hospital", lat: 40.74, lon: -73.97, provides: ["icu", "ventilators"]))
        let minimal = try FacilityInput.parse(try value(#"{"name":"Javits","kind":"alternate_care_site","lat":40.7,"lon":-74}"#))
        #expect(minimal.state == nil)
        #expect(minimal.provides.isEmpty)
    }

    @Test func everyBadFacilityFieldIsNamed() throws {
        let refused = try refusals(#"{"state":"XX","kind":"castle","lat":91,"lon":"w","provides":["ICU",""],"beds":10}"#, FacilityInput.parse)
        #expect(refused == [
            #"state: unknown US state or territory "XX""#,
            "name: required",
            #"kind: unknown value "castle" (expected one of hospital, alternate_care_site, nursing_home, clinic)"#,
            "lat: must be from -90.0 to 90.0, got 91.0",
            "lon: expected a number, got a string",
            "provides[0]: expected a lower-case token",
            "provides[1]: expected a lower-case token",
            "beds: unknown field",
        ])
        let notAnObject = try refusals("[1]", FacilityInput.parse)
        #expect(notAnObject == [
            "body: expected an object, got an array", "name: required", "kind: required", "lat: required", "lon: required",
        ])
    }

    // MARK: REQUEST.SUBMIT

    @Test func aStaffingRequestIsRead() throws {
        let request = try StaffingRequestInput.parse(
            try value(
                #"{"facilityId":7,"profession":"registered_nurse","skills":["critical_care"],"maxCredentialLevel":2,"count":5,"start":"2020-04-06","end":"2020-04-20","priority":1,"notes":"ICU nights"}"#
            ))
        #expect(request == StaffingRequestInput(
            facilityID: 7, profession: .registeredNurse, skills: [.criticalCare], maxCredentialLevel: 2, count: 5,
            start: CalendarDate("2020-04-06")!, end: CalendarDate("2020-04-20")!, priority: 1, notes: "ICU nights"))
    }

    @Test func everyBadStaffingRequestFieldIsNamed() throws {
        let refused = try refusals(
            #"{"facilityId":0,"profession":"wizard","maxCredentialLevel":5,"count":0,"start":"2020-04-20","end":"2020-04-06"}"#,
            StaffingRequestInput.parse)
        #expect(refused == [
                "facilityId: must be from 1 to 9223372036854775807, got 0",
                #"profession: unknown value "wizard" (expected one of physician, registered_nurse, licensed_practical_nurse, nurse_practitioner, physician_assistant, respiratory_therapist, pharmacist, paramedic, emt, medical_student, nursing_student)"#,
                "maxCredentialLevel: must be from 1 to 4, got 5",
                "count: must be from 1 to 10000, got 0",
                "end: before start",
                "priority: required",
            ])
    }

    // MARK: VOLUNTEER.IMPORT

    @Test func anImportEnvelopeKeepsRowsInTheOrderSent() throws {
        let envelope = try ImportEnvelope.parse(
            try value(#"{"registeringState":"nj","rows":[{"line":9,"registration":{"ref":"a"}},{"line":2,"registration":{}}]}"#))
        #expect(envelope.registeringState == Jurisdiction("NJ"))
        #expect(envelope.rows.map(\.line) == [9, 2])
        #expect(envelope.rows[0].registration == (try value(#"{"ref":"a"}"#)))
    }

    @Test func everyBadImportEnvelopeFieldIsNamed() throws {
        let noRows = try refusals(#"{"registeringState":"ZZ"}"#, ImportEnvelope.parse)
        #expect(noRows == [
            #"registeringState: unknown US state or territory "ZZ""#, "rows: required",
        ])
        let badRows = try refusals(#"{"rows":[{"line":0},{"registration":{}},7],"extra":1}"#, ImportEnvelope.parse)
        #expect(badRows == [
            "rows[0].line: must be from 1 to 2147483647, got 0",
            "rows[0].registration: required",
            "rows[1].line: required",
            "rows[2]: expected an object, got a number",
            "rows[2].line: required",
            "rows[2].registration: required",
            "extra: unknown field",
        ])
        let tooMany = "{\"rows\":[" + Array(repeating: #"{"line":1,"registration":{}}"#, count: ImportEnvelope.maxRows + 1)
            .joined(separator: ",") + "]}"
        let tooManyRows = try refusals(tooMany, ImportEnvelope.parse)
        #expect(tooManyRows.first?.hasPrefix("rows: ") == true)
    }

    // MARK: VOLUNTEER.LIST

    @Test func aListQueryReadsItsFilterAndPage() throws {
        let first = try VolunteerQuery.parse(try value("{}"))
        #expect(first == VolunteerQuery())
        #expect(first.limit == VolunteerQuery.defaultLimit)
        let cursor = VolunteerQuery.cursor(after: 41)
        let query = try VolunteerQuery.parse(
            try value(
                #"{"state":"ny","profession":"physician","skill":"ventilator","status":"available","maxCredentialLevel":2,"availableOn":"2020-04-10","near":{"lat":40.7,"lon":-74,"km":25},"limit":10,"full":true,"after":"\#(cursor)"}"#
            ))
        #expect(query.filter.state == "NY")
        #expect(query.filter.profession == .physician)
        #expect(query.filter.near?.km == 25)
        #expect(query.after == 41)
        #expect(query.limit == 10)
        #expect(query.full)
    }

    @Test func everyBadListQueryFieldIsNamed() throws {
        let refused = try refusals(
            #"{"state":"QQ","near":{"lat":0,"lon":0,"km":0},"limit":1001,"after":"not-a-cursor","sort":"name"}"#,
            VolunteerQuery.parse)
        #expect(refused == [
                #"state: unknown US state or territory "QQ""#,
                "near.km: must be from 0.001 to 5000.0, got 0.0",
                "limit: must be from 1 to 1000, got 1001",
                "after: not a cursor from a previous page",
                "sort: unknown field",
            ])
        #expect(VolunteerQuery.decodeCursor(VolunteerQuery.cursor(after: 0)) == 0)
        #expect(VolunteerQuery.decodeCursor("djE6LTE=") == nil)  // "v1:-1"
    }
}
