import ArgumentParser
import Foundation
import MusterClient
import MusterRegistry

extension MusterCtl.Volunteers {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export volunteers as CSV (the import columns) or JSON lines (complete records).",
            discussion: """
                CSV holds one licence per row (the first); JSON lines hold every field, with id, status and \
                credential level. The export is audited (it contains contact details).
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case csv, jsonl
        }

        @OptionGroup var daemon: DaemonOptions
        @Option(help: "Two-letter state code (a state token exports its own state).") var state: String?
        @Option(help: "csv or jsonl.") var format: Format = .csv
        @Option(help: "registered, verified, available, deployed or withdrawn.") var status: String?
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?

        func run() async throws {
            if let output, !FileManager.default.createFile(atPath: output, contents: nil) {
                throw ValidationError("cannot create \(output)")
            }
            let sink = output.flatMap { FileHandle(forWritingAtPath: $0) } ?? FileHandle.standardOutput
            func emit(_ line: String) { sink.write(Data((line + "\n").utf8)) }
            if format == .csv { emit(VolunteerCSV.record(VolunteerCSV.header)) }

            let client = try await daemon.connectAuthenticated()
            var cursor: String?
            var count = 0
            repeat {
                let body = requestBody(["state": state, "status": status, "full": true, "limit": 1000, "after": cursor])
                let response = try await client.send("VOLUNTEER.LIST " + body)
                guard response.isOK, let payload = response.payload else {
                    await client.close()
                    throw DaemonError(response)
                }
                for row in response.rows {
                    switch format {
                    case .jsonl:
                        emit(row)
                    case .csv:
                        guard let data = row.data(using: .utf8),
                            let record = try? JSONDecoder().decode(ExportedRecord.self, from: data)
                        else { continue }
                        emit(VolunteerCSV.record(try VolunteerCSV.cells(for: record.profile)))
                    }
                    count += 1
                }
                cursor = jsonObject(payload)["next"] as? String
            } while cursor != nil
            await client.close()
            if output != nil { print("exported \(count) volunteer(s) to \(output!)") }
        }
    }
}

/// The part of a full record that CSV export needs.
struct ExportedRecord: Decodable {
    let profile: VolunteerProfile
}
