import Foundation
import MusterCore
import MusterRegistry
import Testing

/// A CSV file made into `VOLUNTEER.IMPORT` batches, and the JSON text each row is sent as.
@Suite struct ImportBatchesTests {
    static let header = "ref,category,profession,first_name,last_name,email,home_state,lat,lon"

    static func row(_ ref: String, lat: String = "40.7") -> String {
        "\(ref),licensed,pharmacist,Rosa,Quispe,r@x.org,NY,\(lat),-74"
    }

    func batches(_ text: String, maxBytes: Int = 60_000, maxRows: Int = 1000) throws -> [ImportBatches.Batch] {
        var source = try ImportBatches(csv: Array(text.utf8), maxBatchBytes: maxBytes, maxRows: maxRows)
        var out: [ImportBatches.Batch] = []
        while let batch = source.next() { out.append(batch) }
        #expect(source.fractionRead == 1)
        return out
    }

    @Test func rowsBecomeRegistrationsWithTheirLines() throws {
        let found = try batches([Self.header, Self.row("a"), "", Self.row("b")].joined(separator: "\n") + "\n")
        #expect(found.count == 1)
        #expect(found[0].rows.map(\.line) == [2, 4])
        #expect(found[0].problems.isEmpty)
        let sent = try JSONValue.parse(found[0].rows[0].json)
        guard case .object(let row) = sent, case .object(let registration)? = row["registration"] else {
            Issue.record("not a row object: \(found[0].rows[0].json)")
            return
        }
        #expect(row["line"] == .integer(2))
        #expect(registration["ref"] == .string("a"))
        #expect(registration["location"] == .object(["lat": .number(40.7), "lon": .number(-74)]))
    }

    @Test func batchesKeepToTheirRowAndByteLimits() throws {
        let rows = (1...7).map { Self.row("r\($0)") }
        let text = ([Self.header] + rows).joined(separator: "\n")
        #expect(try batches(text, maxRows: 3).map(\.rows.count) == [3, 3, 1])
        let oneRow = try batches(text, maxRows: 1000)[0].rows[0].json.utf8.count
        // Room for two rows and their comma, not three: the third is carried to the next batch, none is lost.
        let byBytes = try batches(text, maxBytes: oneRow * 2 + 1 + oneRow / 2)
        #expect(byBytes.map(\.rows.count) == [2, 2, 2, 1])
        #expect(byBytes.flatMap(\.rows).map(\.line) == Array(2...8))
        // A row longer than the limit still goes, alone; the server names it.
        #expect(try batches(text, maxBytes: 10).map(\.rows.count) == [1, 1, 1, 1, 1, 1, 1])
    }

    @Test func unreadableRowsAreProblemsAndTheRestStillGo() throws {
        let text = [Self.header, Self.row("a"), Self.row("b", lat: "north"), Self.row("c", lat: "inf"), "x,y", Self.row("d")]
            .joined(separator: "\n")
        let found = try batches(text)
        #expect(found.flatMap(\.rows).map(\.line) == [2, 6])
        #expect(found.flatMap(\.problems) == [
            .init(line: 3, column: "lat", rule: "expected a number, got \"north\""),
            .init(line: 4, column: "lat", rule: "expected a number, got \"inf\""),
            .init(line: 5, column: "row", rule: "has 2 cells, the header has 9"),
        ])
    }

    @Test func aMalformedRecordStopsTheReadingAndIsReported() throws {
        let found = try batches([Self.header, Self.row("a"), "b,\"open"].joined(separator: "\n"))
        #expect(found.flatMap(\.rows).map(\.line) == [2])
        #expect(found.flatMap(\.problems).map(\.column) == ["row"])
        #expect(found.flatMap(\.problems).first?.line == 3)
    }

    @Test func batchesAreSentAsImportEnvelopesTheServerReads() async throws {
        let text = [Self.header, Self.row("a"), Self.row("b", lat: "north"), Self.row("c")].joined(separator: "\n")
        let queue = ImportBatchQueue(try ImportBatches(csv: Array(text.utf8), maxBatchBytes: 60_000))
        let first = try #require(await queue.next())
        #expect(first.fractionRead == 1)
        #expect(await queue.next() == nil)
        #expect(await queue.problems.map(\.line) == [3])
        let line = ImportBatches.requestLine(first.batch.rows, registeringState: Jurisdiction("ny"))
        #expect(line.hasPrefix("VOLUNTEER.IMPORT {"))
        let envelope = try ImportEnvelope.parse(try JSONValue.parse(String(line.dropFirst("VOLUNTEER.IMPORT ".count))))
        #expect(envelope.registeringState == Jurisdiction("NY"))
        #expect(envelope.rows.map(\.line) == [2, 4])
        let unscoped = ImportBatches.requestLine(first.batch.rows, registeringState: nil)
        #expect(try ImportEnvelope.parse(try JSONValue.parse(String(unscoped.dropFirst("VOLUNTEER.IMPORT ".count)))).registeringState == nil)
    }

    @Test func aFileThatCannotBeImportedSaysWhy() {
        #expect(throws: ImportBatches.FileError.self) { _ = try ImportBatches(csv: [], maxBatchBytes: 100) }
        do {
            _ = try ImportBatches(csv: Array("ref,colour\n".utf8), maxBatchBytes: 100)
            Issue.record("a bad header was accepted")
        } catch {
            #expect(error.description.hasPrefix("header: "), "\(error)")
        }
    }

    @Test func jsonTextIsCompactSortedAndReadsBack() throws {
        let value = JSONValue.object([
            "z": .array([.integer(-3), .number(2.5), .number(74), .number(1e-7), .null, .bool(true)]),
            "a": .string("quote \" backslash \\ slash / newline \n tab \t bell \u{07} é 😷"),
        ])
        #expect(value.jsonText
            == #"{"a":"quote \" backslash \\ slash / newline \n tab \t bell \u0007 é 😷","z":[-3,2.5,74.0,1e-07,null,true]}"#)
        #expect(try JSONValue.parse(value.jsonText) == value)
        // The same text JSONEncoder writes with sorted keys, for what a registration holds.
        let registration = JSONValue.object(["ref": .string("NY/1 \"x\""), "maxTravelKm": .integer(80), "skills": .array([.string("icu")])])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(registration.jsonText == String(decoding: try encoder.encode(registration), as: UTF8.self))
    }
}
