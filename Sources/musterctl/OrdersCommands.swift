import ArgumentParser
import Foundation
import MusterClient
import MusterEligibility

extension MusterCtl {
    struct Orders: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Emergency orders as rule packs: validate files, load and rescind versions, list and show them.",
            discussion: """
                validate works on files alone. The others go through musterd: an admin token manages every \
                instrument, a state token its own state's.
                """,
            subcommands: [Validate.self, Load.self, List.self, Show.self, Rescind.self])
    }
}

/// Writes `message` to standard error and exits with status 1.
func failWithStatus1(_ message: String) throws -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    throw ExitCode(1)
}

extension MusterCtl.Orders {
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Type-check rule pack files; every error is listed as file:line:column: key: message.")

        @Argument(help: "Pack files (*.yaml).") var files: [String]

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one pack file") }
        }

        func run() throws {
            let (packs, errors) = RulePackFile.compile(files)
            for file in packs {
                let pack = file.pack
                print("ok  \(file.path): \(pack.id), \(pack.provisions.count) provision(s), applies to \(pack.appliesTo.sorted().joined(separator: ","))")
            }
            for error in errors { FileHandle.standardError.write(Data((error.description + "\n").utf8)) }
            if !errors.isEmpty { try failWithStatus1("\(errors.count) of \(files.count) file(s) rejected") }
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store rule packs as new versions (a file already stored unchanged adds nothing).",
            discussion: "Every file is checked first; if any is invalid, none is sent.")

        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "Pack files (*.yaml).") var files: [String]
        @Flag(help: "Print the results as JSON lines.") var json = false

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one pack file") }
        }

        func run() async throws {
            let (packs, errors) = RulePackFile.compile(files)
            if !errors.isEmpty {
                for error in errors { FileHandle.standardError.write(Data((error.description + "\n").utf8)) }
                try failWithStatus1("\(errors.count) file(s) rejected; nothing loaded")
            }
            let client = try await daemon.connectAuthenticated()
            var failed = 0
            for file in packs {
                let path = file.path
                let body = requestBody(["file": (path as NSString).lastPathComponent, "yaml": file.text])
                let response: Response
                do { response = try await client.send("ORDERS.LOAD " + body) } catch {
                    await client.close()
                    throw error
                }
                guard response.isOK else {
                    failed += 1
                    FileHandle.standardError.write(Data("\(path): \(response.description)\n".utf8))
                    continue
                }
                if json { print(response.payload ?? "{}"); continue }
                let outcome = jsonObject(response.payload ?? "{}")
                let created = (outcome["created"] as? Bool) == true
                print("\(created ? "loaded   " : "unchanged") \(cell(outcome["id"])) version \(cell(outcome["version"]))  (\(path))")
            }
            await client.close()
            if failed > 0 { try failWithStatus1("\(failed) of \(packs.count) pack(s) refused") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The latest version of every instrument.")

        @OptionGroup var daemon: DaemonOptions
        @Option(help: "Only instruments that apply to this state.") var state: String?
        @Flag(help: "Print the rows as JSON lines.") var json = false

        func run() async throws {
            let response = try await request(daemon, "ORDERS.LIST" + (state.map { " \($0)" } ?? ""))
            if json { response.rows.forEach { print($0) }; return }
            let rows = response.rows.map(jsonObject).map { row in
                [
                    cell(row["id"]), cell(row["version"]), cell(row["appliesTo"]), cell(row["effectiveFrom"]),
                    cell(row["effectiveTo"]), cell(row["rescindedOn"]), (row["inForceToday"] as? Bool) == true ? "yes" : "no",
                    cell(row["title"]),
                ]
            }
            print(
                Table.render(
                    header: ["ID", "VERSION", "APPLIES TO", "FROM", "TO", "RESCINDED", "IN FORCE", "TITLE"], rows: rows),
                terminator: "")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One version of an instrument, with its provisions.")

        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "The instrument id, e.g. NY-EO-202.10.") var id: String
        @Option(help: "The version (default: the latest).") var version: Int?
        @Flag(help: "Print JSON.") var json = false
        @Flag(help: "Print the stored YAML text only.") var yaml = false

        func run() async throws {
            let response = try await request(daemon, "ORDERS.SHOW \(id)" + (version.map { " \($0)" } ?? ""))
            if json { print(response.payload ?? "{}"); return }
            let pack = jsonObject(response.payload ?? "{}")
            if yaml { print(pack["yaml"] as? String ?? "", terminator: ""); return }
            print("\(cell(pack["id"])) version \(cell(pack["version"])) of \(cell(pack["versions"])): \(cell(pack["title"]))")
            print("  applies to  \(cell(pack["appliesTo"]))")
            print("  signed      \(cell(pack["signed"]))")
            print("  in force    \(cell(pack["effectiveFrom"])) to \(pack["effectiveTo"] is NSNull ? "open-ended" : cell(pack["effectiveTo"]))")
            if !(pack["rescindedOn"] is NSNull) { print("  rescinded   from \(cell(pack["rescindedOn"]))") }
            print("  loaded      \(cell(pack["loadedAt"])) by \(cell(pack["loadedBy"])) (\(cell(pack["file"])))")
            for source in pack["sources"] as? [[String: Any]] ?? [] {
                print("  source [\(cell(source["grade"]))] \(cell(source["citation"]))")
            }
            for provision in pack["provisions"] as? [[String: Any]] ?? [] {
                let uncertain = (provision["uncertain"] as? Bool) == true ? ", uncertain" : ""
                print("  \(cell(provision["id"])) \(cell(provision["title"])) [grade \(cell(provision["grade"]))\(uncertain)]")
                print("      covers      \(cell(provision["categories"])) / \(cell(provision["professions"]))")
                print("      requires    \(cell(provision["criteria"]))")
                print("      grants      \(cell(provision["settings"])); conditions \(cell(provision["conditions"]))")
            }
        }
    }

    struct Rescind: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rescind an instrument from a date: a new version, in force up to the day before.")

        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "The instrument id.") var id: String
        @Option(help: "The first day it is no longer in force, YYYY-MM-DD.") var on: String

        func run() async throws {
            let response = try await request(daemon, "ORDERS.RESCIND \(id) \(on)")
            let outcome = jsonObject(response.payload ?? "{}")
            print("rescinded \(cell(outcome["id"])) from \(on): version \(cell(outcome["version"]))")
        }
    }
}
