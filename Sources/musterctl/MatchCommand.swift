import ArgumentParser
import Foundation
import MusterClient

extension MusterCtl {
    struct Match: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a matching round for a state's open staffing requests (through musterd).",
            discussion: "Solved exactly; writes offers unless --dry-run. Prints each offer, then the round's totals and unfilled requests.")

        @OptionGroup var daemon: DaemonOptions
        @Option(help: "Two-letter state code.") var state: String
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
            print(
                "\(dryRun ? "dry run: " : "")\(cell(summary["offers"])) offer(s) for \(cell(summary["requests"])) open request(s) in \(state); "
                    + "\(cell(summary["volunteersEligible"])) of \(cell(summary["volunteersConsidered"])) available volunteers eligible; "
                    + "weighted filled \(cell(summary["weightedFilled"])), travel \(cell(summary["travelKm"])) km")
            for unfilled in summary["unfilled"] as? [[String: Any]] ?? [] {
                print("  request \(cell(unfilled["requestId"])) short: wanted \(cell(unfilled["wanted"])), offered \(cell(unfilled["offered"]))")
            }
        }
    }
}
