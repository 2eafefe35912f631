import ArgumentParser
import Foundation
import MusterClient

extension MusterCtl {
    struct Eligibility: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Eligibility under the emergency orders in force (through musterd).",
            subcommands: [Blockers.self, Check.self, States.self])
    }
}

extension MusterCtl.Eligibility {
    struct Blockers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "For a state's registered volunteers: how many are eligible, and which requirements keep the rest out.")

        @OptionGroup var daemon: DaemonOptions
        @Option(help: "Two-letter state code.") var state: String
        @Option(help: "Evaluation date, YYYY-MM-DD (default: today).") var date: String?
        @Flag(help: "Print the rows and the summary as JSON lines.") var json = false

        func run() async throws {
            let response = try await request(daemon, "ELIGIBILITY.BLOCKERS \(state)" + (date.map { " \($0)" } ?? ""))
            if json {
                response.rows.forEach { print($0) }
                print(response.payload ?? "{}")
                return
            }
            let summary = jsonObject(response.payload ?? "{}")
            print(
                "\(cell(summary["state"])) on \(cell(summary["date"])): \(cell(summary["volunteers"])) registered volunteers, "
                    + "\(cell(summary["eligible"])) eligible, \(cell(summary["notEligible"])) not eligible")
            let rows = response.rows.map(jsonObject).map { row in
                [cell(row["volunteers"]), cell(row["category"]), cell(row["requirement"]), cell(row["basis"])]
            }
            if rows.isEmpty { return }
            print(Table.render(header: ["VOLUNTEERS", "CATEGORY", "UNMET REQUIREMENT", "BASIS"], rows: rows), terminator: "")
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "May a stored volunteer practise in a state on a date? With the basis, conditions and reasons.")

        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "The volunteer id.") var id: Int
        @Option(help: "Two-letter state code.") var state: String
        @Option(help: "Evaluation date, YYYY-MM-DD (default: today).") var date: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let response = try await request(daemon, "ELIGIBILITY.CHECK \(id) \(state)" + (date.map { " \($0)" } ?? ""))
            if json { print(response.payload ?? "{}"); return }
            let decision = jsonObject(response.payload ?? "{}")
            let eligible = (decision["eligible"] as? Bool) == true
            print("volunteer \(id) in \(cell(decision["state"])) on \(cell(decision["date"])): \(eligible ? "ELIGIBLE" : "not eligible")")
            for grant in decision["grants"] as? [[String: Any]] ?? [] {
                let uncertain = (grant["uncertain"] as? Bool) == true ? " (rests on an uncertain fact)" : ""
                print("  basis  \(cell(grant["instrument"])) v\(cell(grant["version"])) \(cell(grant["provision"])): "
                    + "\(cell(grant["settings"])); conditions \(cell(grant["conditions"]))\(uncertain)")
            }
            for reason in decision["reasons"] as? [String] ?? [] { print("  why not  \(reason)") }
        }
    }

    struct States: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every state where a stored volunteer may practise on a date.")

        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "The volunteer id.") var id: Int
        @Option(help: "Evaluation date, YYYY-MM-DD (default: today).") var date: String?
        @Flag(help: "Print the rows as JSON lines.") var json = false

        func run() async throws {
            let response = try await request(daemon, "ELIGIBILITY.STATES \(id)" + (date.map { " \($0)" } ?? ""))
            if json { response.rows.forEach { print($0) }; return }
            let rows = response.rows.map(jsonObject).map { row -> [String] in
                let primary = row["primary"] as? [String: Any] ?? [:]
                return [
                    cell(row["state"]), "\(cell(primary["instrument"])) \(cell(primary["provision"]))", cell(row["conditions"]),
                    (row["uncertain"] as? Bool) == true ? "yes" : "no",
                ]
            }
            if rows.isEmpty { print("volunteer \(id) is eligible in no state on that date"); return }
            print(Table.render(header: ["STATE", "PRIMARY BASIS", "CONDITIONS", "UNCERTAIN"], rows: rows), terminator: "")
        }
    }
}
