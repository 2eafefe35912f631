import ArgumentParser
import Foundation
import MusterCore

extension MusterBench {
    /// `muster-bench csv`: writes the synthetic roster the import scenario sends, so other tools can load the same
    /// file (Deploy/bench/compare.sh gives it to psql's `\copy`).
    struct CSVFile: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "csv",
            abstract: "Write a synthetic volunteer roster in the import layout (musterctl volunteers import).")

        @Option(help: "Rows.") var rows = 100_000
        @Option(help: "Tag making refs, licence numbers and NPIs unique to this file.") var tag = "CSV"
        @Option(name: .shortAndLong, help: "Output file.") var output: String

        func run() throws {
            let text = Synthetic(tag: tag, today: .today()).csv(rows: rows)
            try text.write(toFile: output, atomically: true, encoding: .utf8)
            print("wrote \(rows) rows (\(text.utf8.count) bytes) to \(output)")
        }
    }
}
