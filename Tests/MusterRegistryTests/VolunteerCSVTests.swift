import Foundation
import MusterRegistry
import Testing

@Suite struct VolunteerCSVTests {
    func records(_ text: String) throws -> [[String]] {
        var reader = CSVReader(Array(text.utf8))
        var out: [[String]] = []
        while let record = try reader.next() { out.append(record) }
        return out
    }

    @Test func readsQuotedFieldsCommasNewlinesAndCRLF() throws {
        #expect(try records("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"multi\nline\",z") == [["a", "b"], ["x, y", "say \"hi\""], ["multi\nline", "z"]])
        #expect(try records("\u{FEFF}ref\n1\n") == [["ref"], ["1"]])
    }

    @Test func malformedRecordsNameTheirLine() {
        var reader = CSVReader(Array("a\n\"open\n".utf8))
        #expect(throws: FieldError.self) {
            while try reader.next() != nil {}
        }
        var stray = CSVReader(Array("ab\"c\n".utf8))
        #expect(throws: FieldError("line 1", "a quote inside an unquoted field")) { _ = try stray.next() }
    }

    @Test func headerIsChecked() {
        #expect(VolunteerCSV.validateHeader(VolunteerCSV.header).isEmpty)
        let problems = VolunteerCSV.validateHeader(["ref", "ref", "colour"])
        #expect(problems.contains("column \"ref\" appears twice"))
        #expect(problems.contains("unknown column \"colour\""))
        #expect(problems.contains("required column \"home_state\" is missing"))
    }

    @Test func rowsBecomeRegistrationsAndErrorsNameColumns() throws {
        let header = ["ref", "category", "profession", "first_name", "last_name", "email", "home_state", "lat", "lon",
                      "license_jurisdiction", "license_type", "license_number", "license_status", "skills", "max_travel_km"]
        let (value, errors) = VolunteerCSV.registration(
            header: header,
            cells: ["r1", "licensed", "pharmacist", "Rosa", "Quispe", "r@x.org", "NY", "40.7", "-74", "NY", "RPH", "5", "active", "vaccination; triage", "50"])
        #expect(errors.isEmpty)
        let profile = try VolunteerProfile.parse(try #require(value), today: .init("2020-04-03")!)
        #expect(profile.licenses.first?.number == "5")
        #expect(profile.skills == [.vaccination, .triage])
        #expect(profile.location?.lon == -74)
        let (_, bad) = VolunteerCSV.registration(header: ["ref", "lat"], cells: ["r", "north"])
        #expect(bad == [FieldError("lat", "expected a number, got \"north\"")])
        #expect(VolunteerCSV.column(forField: "licenses[0].status") == "license_status")
        #expect(VolunteerCSV.column(forField: "img.usGmeMonths") == "img_us_gme_months")
        #expect(VolunteerCSV.column(forField: "npi") == "npi")
    }
}

extension VolunteerCSVTests {
    /// The example file in the README is a valid import.
    @Test func theReadmeExampleImports() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = try #require(text.range(of: "```csv\n"))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        let rows = try records(String(text[start.upperBound..<end.lowerBound]))
        #expect(VolunteerCSV.validateHeader(rows[0]).isEmpty)
        for row in rows.dropFirst() {
            let (value, errors) = VolunteerCSV.registration(header: rows[0], cells: row)
            #expect(errors.isEmpty)
            _ = try VolunteerProfile.parse(try #require(value), today: .init("2020-04-03")!)
        }
        #expect(rows.count == 3)
    }
}
