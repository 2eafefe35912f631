import Foundation
import MusterClient
import MusterCore

/// The match scenario's state: facilities, staffing requests, and volunteers who are verified (identity and an
/// active licence: credential level 3) and marked available, so that a round has real candidates.
///
/// Volunteers are licensed clinicians, 60% with a New York licence (eligible in New York on any date under
/// ordinary licensure while it is unexpired) and the rest licensed in a neighbouring state (eligible only under
/// the 2020 orders, on their dates). Everyone is available from 2020-03-01 to a year from today, so both kinds of
/// request dates find them available.
enum MatchSetup {
    struct Prepared: CustomStringConvertible {
        let facilities: Int
        let requests: Int
        let slots: Int
        let volunteers: Int
        let dates: String
        let seconds: Double
        var description: String {
            "\(facilities) facilities, \(requests) requests (\(slots) slots), \(volunteers) available volunteers, dates \(dates), in \(String(format: "%.0f", seconds)) s"
        }
    }

    static let professions: [(profession: String, type: String, share: Int)] = [
        ("registered_nurse", "RN", 50), ("physician", "MD", 15), ("licensed_practical_nurse", "LPN", 10),
        ("respiratory_therapist", "RRT", 10), ("nurse_practitioner", "NP", 5), ("paramedic", "EMT-P", 10),
    ]
    static let skills = ["critical_care", "ventilator", "emergency", "med_surg", "telemetry", "triage", "airway_management"]

    static func prepare(_ session: Session, volunteers: Int, facilities: Int, requests: Int, dates: String) async throws -> Prepared {
        let started = ContinuousClock.now
        let today = CalendarDate.today()
        let (start, end): (CalendarDate, CalendarDate)
        if dates == "future" {
            (start, end) = (today.adding(days: 7), today.adding(days: 21))
        } else {
            let parts = dates.split(separator: ":")
            guard parts.count == 2, let from = CalendarDate(parts[0]), let to = CalendarDate(parts[1]), from <= to else {
                throw LoadError("--match-dates: expected FROM:TO or future")
            }
            (start, end) = (from, to)
        }
        var random = SplitMix64(state: 7)
        func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }
        func profession() -> (String, String) {
            var roll = int(0...99)
            for entry in professions {
                if roll < entry.share { return (entry.profession, entry.type) }
                roll -= entry.share
            }
            return (professions[0].profession, professions[0].type)
        }
        func near() -> (Double, Double) {
            // New York City and its surroundings mostly, the rest of the state otherwise.
            int(0...99) < 65
                ? (40.55 + Double(int(0...400)) / 1000, -74.15 + Double(int(0...450)) / 1000)
                : (40.6 + Double(int(0...2_400)) / 1000, -79.5 + Double(int(0...5_600)) / 1000)
        }
        let tag = session.tag + "M"

        // Facilities.
        let facilityLines = (0..<facilities).map { index -> String in
            let (lat, lon) = near()
            let kind = index % 10 == 9 ? "alternate_care_site" : "hospital"
            return "FACILITY.CREATE {\"state\":\"\(session.state)\",\"name\":\"\(tag) site \(index)\",\"kind\":\"\(kind)\","
                + "\"lat\":\(String(format: "%.4f", lat)),\"lon\":\(String(format: "%.4f", lon)),\"provides\":[\"supervision\",\"acute_care\"]}"
        }
        let facilityIDs = try await session.sendAll(facilityLines, connections: 4).map { reply -> Int in
            guard reply.isOK, let id = MusterBench.ProtocolBench.integer("id", in: reply.payload ?? "") else {
                throw LoadError("setup: FACILITY.CREATE failed: \(reply)")
            }
            return id
        }

        // Volunteers, imported in batches of 1,000 as musterctl would.
        let until = today.adding(days: 365)
        var licences: [String] = []
        var rows: [String] = []
        for index in 0..<volunteers {
            let (profession, type) = profession()
            let (lat, lon) = near()
            let jurisdiction = int(0...99) < 60 ? "NY" : ["NJ", "CT", "PA", "MA", "VT"][int(0...4)]
            let number = "\(tag)-\(index)"
            licences.append("\(jurisdiction):\(number)")
            let chosen = skills.filter { _ in int(0...99) < 30 }.map { "\"\($0)\"" }.joined(separator: ",")
            let registration =
                "{\"availability\":{\"from\":\"2020-03-01\",\"to\":\"\(until)\"},\"category\":\"licensed\",\"email\":\"m\(index).\(tag.lowercased())@example.org\","
                + "\"firstName\":\"Pat\",\"homeState\":\"\(jurisdiction)\",\"lastName\":\"\(tag)-\(index)\",\"licenses\":[{\"expires\":\"\(until)\","
                + "\"jurisdiction\":\"\(jurisdiction)\",\"number\":\"\(number)\",\"status\":\"active\",\"type\":\"\(type)\"}],"
                + "\"location\":{\"lat\":\(String(format: "%.4f", lat)),\"lon\":\(String(format: "%.4f", lon))},"
                + "\"maxTravelKm\":\([25, 50, 80, 150][int(0...3)]),\"profession\":\"\(profession)\",\"ref\":\"\(tag)-\(index)\",\"skills\":[\(chosen)]}"
            rows.append("{\"line\":\(index + 2),\"registration\":\(registration)}")
        }
        var importLines: [String] = []
        var batch: [String] = []
        var size = 0
        for row in rows {
            if batch.count == 1000 || size + row.utf8.count > 60_000 {
                importLines.append("VOLUNTEER.IMPORT {\"registeringState\":\"\(session.state)\",\"rows\":[" + batch.joined(separator: ",") + "]}")
                batch = []
                size = 0
            }
            batch.append(row)
            size += row.utf8.count + 1
        }
        if !batch.isEmpty {
            importLines.append("VOLUNTEER.IMPORT {\"registeringState\":\"\(session.state)\",\"rows\":[" + batch.joined(separator: ",") + "]}")
        }
        var volunteerIDs = [Int](repeating: 0, count: volunteers)
        for reply in try await session.sendAll(importLines, connections: 4, window: 1) {
            guard reply.isOK else { throw LoadError("setup: VOLUNTEER.IMPORT failed: \(reply)") }
            for row in reply.rows {
                guard let line = MusterBench.ProtocolBench.integer("line", in: row),
                    let id = MusterBench.ProtocolBench.integer("id", in: row)
                else { throw LoadError("setup: a volunteer was not stored: \(row)") }
                volunteerIDs[line - 2] = id
            }
        }

        // Verified (identity and licence: level 3) and available.
        var steps: [String] = []
        for (index, id) in volunteerIDs.enumerated() {
            steps.append("VOLUNTEER.VERIFY \(id) {\"item\":\"identity\",\"outcome\":\"verified\",\"source\":\"DMV\",\"reference\":\"bench\"}")
            steps.append(
                "VOLUNTEER.VERIFY \(id) {\"item\":\"license\",\"subject\":\"\(licences[index])\",\"outcome\":\"verified\","
                    + "\"source\":\"board lookup\",\"reference\":\"bench\",\"expires\":\"\(until)\"}")
        }
        try check(try await session.sendAll(steps, connections: 16), "VOLUNTEER.VERIFY")
        let available = volunteerIDs.map { "VOLUNTEER.UPDATE \($0) {\"status\":\"available\"}" }
        try check(try await session.sendAll(available, connections: 16), "VOLUNTEER.UPDATE")

        // Staffing requests.
        var slots = 0
        let requestLines = (0..<requests).map { index -> String in
            let (profession, _) = profession()
            let count = [1, 1, 2, 2, 3, 5, 8, 10][int(0...7)]
            slots += count
            let skill = int(0...99) < 40 ? "\"\(skills[int(0...(skills.count - 1))])\"" : ""
            let first = start.adding(days: int(0...3))
            return "REQUEST.SUBMIT {\"facilityId\":\(facilityIDs[int(0...(facilityIDs.count - 1))]),\"profession\":\"\(profession)\","
                + "\"skills\":[\(skill)],\"maxCredentialLevel\":\(int(0...3) == 0 ? 3 : 4),\"count\":\(count),"
                + "\"start\":\"\(first)\",\"end\":\"\(end)\",\"priority\":\(int(1...5)),\"notes\":\"\(tag) \(index)\"}"
        }
        try check(try await session.sendAll(requestLines, connections: 4), "REQUEST.SUBMIT")
        return Prepared(
            facilities: facilities, requests: requests, slots: slots, volunteers: volunteers, dates: "\(start)..\(end)",
            seconds: ProtocolBenchClock.seconds(ContinuousClock.now - started))
    }

    static func check(_ replies: [Response], _ verb: String) throws {
        if let bad = replies.first(where: { !$0.isOK }) { throw LoadError("setup: \(verb) failed: \(bad)") }
    }
}
