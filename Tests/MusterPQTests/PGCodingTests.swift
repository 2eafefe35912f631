import Foundation
import MusterCore
import MusterPQ
import MusterTestSupport
import Testing

/// Typed parameters and typed decoding, against a real server.
@Suite struct PGCodingTests {
    @Test func scalarsRoundTrip() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let rows = try await pool.query(
            """
            SELECT \("Ana María 🚑")::text AS t, \(Int64.max)::bigint AS big, \(Int32(-7))::int AS small,
                   \(true)::boolean AS yes, \(2.5)::float8 AS real, \(CalendarDate("2020-03-23")!)::date AS day,
                   \(UUID(uuidString: "7c9e6679-7425-40de-944b-e07fc1f90ae7")!)::uuid AS id
            """)
        let row = rows[0]
        #expect(try row.decode("t", as: String.self) == "Ana María 🚑")
        #expect(try row.decode("big", as: Int64.self) == Int64.max)
        #expect(try row.decode("small", as: Int32.self) == -7)
        #expect(try row.decode("yes", as: Bool.self))
        #expect(try row.decode("real", as: Double.self) == 2.5)
        #expect(try row.decode("day", as: CalendarDate.self) == CalendarDate(year: 2020, month: 3, day: 23))
        #expect(try row.decode("id", as: UUID.self) == UUID(uuidString: "7c9e6679-7425-40de-944b-e07fc1f90ae7"))
    }

    @Test func timestampsRoundTripToTheMicrosecond() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let instant = Date(timeIntervalSince1970: 1_585_699_200.123456)
        let rows = try await pool.query(
            "SELECT \(instant)::timestamptz AS at, '2020-04-03 12:00:00+05:30'::timestamptz AS offset")
        let decoded = try rows[0].decode("at", as: Date.self)
        #expect(abs(decoded.timeIntervalSince1970 - instant.timeIntervalSince1970) < 0.000_001)
        #expect(try rows[0].decode("offset", as: Date.self) == Date(timeIntervalSince1970: 1_585_895_400))
    }

    @Test func arraysJSONAndBytes() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let skills = ["critical_care", "a \"quoted\" one", "back\\slash", "NULL", ""]
        let rows = try await pool.query(
            """
            SELECT \(skills)::text[] AS skills, ARRAY[1, NULL, 3]::int[] AS numbers,
                   \(PGJSON(text: #"{"steps": [1, 2]}"#))::jsonb AS doc, \(PGBytes([0, 255, 16]))::bytea AS raw,
                   '{}'::text[] AS empty
            """)
        #expect(try rows[0].decode("skills", as: [String].self) == skills)
        #expect(try rows[0].decode("numbers", as: [Int?].self) == [1, nil, 3])
        #expect(try rows[0].decode("empty", as: [String].self) == [])
        struct Doc: Decodable, Equatable { let steps: [Int] }
        #expect(try rows[0].decode("doc", as: PGJSON.self).decode(Doc.self) == Doc(steps: [1, 2]))
        #expect(try rows[0].decode("raw", as: PGBytes.self) == PGBytes([0, 255, 16]))
    }

    @Test func nullDecodesOnlyIntoOptionals() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let nothing: String? = nil
        let rows = try await pool.query("SELECT \(nothing)::text AS missing")
        #expect(try rows[0].decode("missing", as: String?.self) == nil)
        let error = #expect(throws: PGError.self) { try rows[0].decode("missing", as: String.self) }
        #expect(error?.kind == .decoding)
        #expect(error?.message.contains("missing") == true)
        #expect(throws: PGError.self) { try rows[0].decode("absent", as: String?.self) }
    }

    @Test func interpolatedValuesAreParametersNeverSQL() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        try await pool.query("CREATE TABLE victims (name text)")
        let hostile = "x'); DROP TABLE victims; --"
        try await pool.query("INSERT INTO victims (name) VALUES (\(hostile))")
        let rows = try await pool.query("SELECT name FROM victims")
        #expect(rows.count == 1)
        #expect(try rows[0].decode("name", as: String.self) == hostile)
    }

    @Test func aNULByteInAParameterIsRefusedBeforeSending() async throws {
        let pool = try await TestCluster.makePool()
        defer { Task { try await pool.shutdown() } }
        let error = await #expect(throws: PGError.self) { try await pool.query("SELECT \("a\u{0}b")::text") }
        #expect(error?.kind == .client)
        #expect(error?.message.contains("$1") == true)
    }
}
