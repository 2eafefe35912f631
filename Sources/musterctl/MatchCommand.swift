import ArgumentParser
import Foundation
import MusterClient

extension MusterCtl {
    struct Match: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a matching round for a state's open staffing requests (through musterd).",
            discussion: "Solved exactly; writes offers unless --dry-run. Prints each offer, then the round's totals and unfilled requests.")

        @OptionGroup var daemon: DaemonOptions
        @Option(help: "Two-letter state code, or ALL for every state with open requests (admin token).") var state: String
        @Flag(help: "Propose only; write nothing.") var dryRun = false
        @Option(help: "Hours a volunteer's state has to accept an offer (default 12).") var offerHours: Int?
        @Flag(help: "Print the rows and the summary as JSON lines.") var json = false

        func run() async throws {
            let body = requestBody(["dryRun": dryRun ? true : nil, "offerHours": offerHours])
            let response = try await request(daemon, "MATCH.RUN \(state) \(body)")
            if json {
                response.rows.forEach { print($0) }
                print(response.payload ?? "{}")
                return
            }
            let rows = response.rows.map(jsonObject).map { row in
                [cell(row["assignmentId"]), cell(row["requestId"]), cell(row["volunteerId"]), cell(row["distanceKm"]), cell(row["basis"])]
            }
            if !rows.isEmpty {
                print(Table.render(header: ["OFFER", "REQUEST", "VOLUNTEER", "KM", "BASIS"], rows: rows), terminator: "")
            }
            let summary = jsonObject(response.payload ?? "{}")
            for round in summary["rounds"] as? [[String: Any]] ?? [summary] {
                let name = cell(round["state"])
                print(
                    "\(dryRun ? "dry run: " : "")\(cell(round["offers"])) offer(s) for \(cell(round["requests"])) open request(s) in \(name); "
                        + "\(cell(round["volunteersEligible"])) of \(cell(round["volunteersConsidered"])) available volunteers eligible; "
                        + "weighted filled \(cell(round["weightedFilled"])), travel \(cell(round["travelKm"])) km")
                for unfilled in round["unfilled"] as? [[String: Any]] ?? [] {
                    print("  request \(cell(unfilled["requestId"])) short: wanted \(cell(unfilled["wanted"])), offered \(cell(unfilled["offered"]))")
                }
            }
            if !(summary["unfilled"] as? [Any] ?? []).isEmpty || summary["rounds"] != nil {
                print("musterctl shortage --state <code> explains each short request")
            }
        }
    }

    struct Shortage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explain why a state's open requests would be left short (through musterd; writes nothing).",
            discussion: """
                Runs an exact dry-run round and, for each request it cannot fill, counts every volunteer in the \
                registry (but the withdrawn) under the first filter that rules them out: profession, skills, awaiting \
                verification, not marked available, credential level, not eligible in the state, conditions the site \
                does not provide, too far, not available on the dates, already assigned, declined, offered elsewhere.
                """)

        @OptionGroup var daemon: DaemonOptions
        @Option(help: "Two-letter state code.") var state: String
        @Flag(help: "Print the rows and the summary as JSON lines.") var json = false

        static let filters: [(key: String, label: String)] = [
            ("profession", "profession"), ("skills", "skills"), ("awaitingVerification", "awaiting verification"),
            ("notMarkedAvailable", "not marked available"), ("credentialLevel", "credential level"),
            ("notEligible", "not eligible in state"), ("conditions", "site lacks conditions"), ("tooFar", "too far"),
            ("notAvailableOnDates", "not available on dates"), ("alreadyAssigned", "already assigned"),
            ("declined", "declined"), ("offeredElsewhere", "offered elsewhere"),
        ]

        func run() async throws {
            let response = try await request(daemon, "SHORTAGE \(state)")
            if json {
                response.rows.forEach { print($0) }
                print(response.payload ?? "{}")
                return
            }
            let summary = jsonObject(response.payload ?? "{}")
            let rows = response.rows.map(jsonObject)
            if rows.isEmpty {
                print("no shortage in \(state): an optimal round fills all \(cell(summary["requestsOpen"])) open request(s)")
                return
            }
            for row in rows {
                print(
                    "request \(cell(row["requestId"])) (facility \(cell(row["facilityId"])), \(cell(row["profession"])), priority \(cell(row["priority"]))): "
                        + "wanted \(cell(row["wanted"])), filled \(cell(row["filled"])), short \(cell(row["short"]))")
                let removed = row["removedBy"] as? [String: Any] ?? [:]
                let parts = Self.filters.compactMap { filter -> String? in
                    let count = removed[filter.key] as? Int ?? 0
                    return count == 0 ? nil : "\(filter.label) \(count)"
                }
                print("  of \(cell(row["considered"])) volunteers: " + (parts.isEmpty ? "none ruled out" : parts.joined(separator: ", ")))
            }
            let total = summary["removedBy"] as? [String: Any] ?? [:]
            print(
                "\n\(cell(summary["requestsShort"])) of \(cell(summary["requestsOpen"])) open request(s) short by \(cell(summary["slotsShort"])) slot(s) in \(state); summed over them:")
            print(
                Table.render(
                    header: ["FILTER", "VOLUNTEERS"],
                    rows: Self.filters.map { [$0.label, cell(total[$0.key])] }), terminator: "")
        }
    }
}
