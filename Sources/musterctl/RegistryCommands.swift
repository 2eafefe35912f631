import ArgumentParser
import Foundation
import MusterClient

/// Sends one request and returns its reply, or throws the `ERR` as it came.
func request(_ daemon: DaemonOptions, _ line: String) async throws -> Response {
    let client = try await daemon.connectAuthenticated()
    let response: Response
    do {
        response = try await client.send(line)
    } catch {
        await client.close()
        throw error
    }
    await client.close()
    guard response.isOK else { throw DaemonError(response) }
    return response
}

/// Parses a JSON object line from the daemon.
func jsonObject(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
}

/// A JSON object for a request body, from the options given.
func requestBody(_ fields: [String: Any?]) -> String {
    let present = fields.compactMapValues { $0 }
    let data = (try? JSONSerialization.data(withJSONObject: present, options: [.sortedKeys])) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
}

func cell(_ value: Any?) -> String {
    switch value {
    case nil, is NSNull: return "-"
    case let array as [Any]: return array.map { "\($0)" }.joined(separator: ",")
    default: return "\(value!)"
    }
}

extension MusterCtl {
    struct Volunteers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search, show and follow up volunteers (through musterd).",
            subcommands: [Import.self, Export.self, List.self, Show.self, Expiring.self])
    }

    struct Funnel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts per category and profession: registered → verified → eligible → offered → deployed.",
            discussion: "eligible: verified, and eligible today in the registering state under the orders in force (deployed volunteers count too).")

        @OptionGroup var daemon: DaemonOptions
        @Option(help: "Two-letter state code (a state token sees its own state).") var state: String?
        @Flag(help: "Print the rows as JSON lines.") var json = false

        func run() async throws {
            let response = try await request(daemon, "VOLUNTEER.FUNNEL " + requestBody(["state": state]))
            if json { response.rows.forEach { print($0) }; return }
            let rows = response.rows.map(jsonObject)
            let columns = ["registered", "verified", "eligible", "offered", "deployed", "available", "withdrawn"]
            var table = rows.map { row in [cell(row["category"]), cell(row["profession"])] + columns.map { cell(row[$0]) } }
            let totals = columns.map { column in String(rows.reduce(0) { $0 + (($1[column] as? Int) ?? 0) }) }
            table.append(["TOTAL", ""] + totals)
            print(Table.render(header: ["CATEGORY", "PROFESSION"] + columns.map { $0.uppercased() }, rows: table), terminator: "")
        }
    }

    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the audit log, newest first.")

        @OptionGroup var daemon: DaemonOptions
        @Option(help: "Only this volunteer's rows.") var volunteer: Int?
        @Option(help: "Two-letter state code.") var state: String?
        @Option(help: "How many rows.") var limit = 50
        @Flag(help: "Print the rows as JSON lines.") var json = false

        func run() async throws {
            let body = requestBody(["entity": volunteer.map { _ in "volunteer" }, "id": volunteer, "state": state, "limit": limit])
            let response = try await request(daemon, "AUDIT " + body)
            if json { response.rows.forEach { print($0) }; return }
            print(
                Table.render(
                    header: ["ID", "AT", "ACTOR", "ACTION", "ENTITY", "STATE"],
                    rows: response.rows.map(jsonObject).map { row in
                        [cell(row["id"]), cell(row["at"]), cell(row["actor"]), cell(row["action"]),
                         "\(cell(row["entity"])) \(cell(row["entityId"]))", cell(row["state"])]
                    }), terminator: "")
        }
    }
}

extension MusterCtl.Volunteers {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Search volunteers (all pages).")

        @OptionGroup var daemon: DaemonOptions
        @Option(help: "Two-letter state code.") var state: String?
        @Option(help: "img, retired, student or licensed.") var category: String?
        @Option(help: "e.g. registered_nurse.") var profession: String?
        @Option(help: "e.g. critical_care.") var skill: String?
        @Option(help: "registered, verified, available, deployed or withdrawn.") var status: String?
        @Option(help: "Credential level at most this (1-4).") var maxLevel: Int?
        @Option(help: "Available on this date (YYYY-MM-DD).") var availableOn: String?
        @Flag(help: "Print the rows as JSON lines.") var json = false

        func run() async throws {
            let client = try await daemon.connectAuthenticated()
            var rows: [String] = []
            var cursor: String?
            repeat {
                let body = requestBody([
                    "state": state, "category": category, "profession": profession, "skill": skill, "status": status,
                    "maxCredentialLevel": maxLevel, "availableOn": availableOn, "limit": 1000, "after": cursor,
                ])
                let response = try await client.send("VOLUNTEER.LIST " + body)
                guard response.isOK, let payload = response.payload else {
                    await client.close()
                    throw DaemonError(response)
                }
                rows += response.rows
                cursor = jsonObject(payload)["next"] as? String
            } while cursor != nil
            await client.close()
            if json { rows.forEach { print($0) }; return }
            print(
                Table.render(
                    header: ["ID", "STATE", "NAME", "CATEGORY", "PROFESSION", "STATUS", "LEVEL", "SKILLS"],
                    rows: rows.map(jsonObject).map { row in
                        [cell(row["id"]), cell(row["registeringState"]), "\(cell(row["firstName"])) \(cell(row["lastName"]))",
                         cell(row["category"]), cell(row["profession"]), cell(row["status"]), cell(row["credentialLevel"]),
                         cell(row["skills"])]
                    }), terminator: "")
            print("\(rows.count) volunteer(s)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one volunteer with verifications and funnel status.")

        @OptionGroup var daemon: DaemonOptions
        @Argument(help: "The volunteer id.") var id: Int
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let record = try await request(daemon, "VOLUNTEER.GET \(id)")
            let status = try await request(daemon, "VOLUNTEER.STATUS \(id)")
            if json {
                print("{\"record\":\(record.payload ?? "null"),\"status\":\(status.payload ?? "null")}")
                return
            }
            let object = jsonObject(record.payload ?? "{}")
            let profile = object["profile"] as? [String: Any] ?? [:]
            print("Volunteer \(cell(object["id"])): \(cell(profile["firstName"])) \(cell(profile["lastName"]))")
            print("  registered in  \(cell(object["registeringState"])) (ref \(cell(profile["ref"])))")
            print("  category       \(cell(profile["category"])), \(cell(profile["profession"]))")
            print("  contact        \(cell(profile["email"])) \(cell(profile["phone"]))")
            print("  status         \(cell(object["status"])), credential level \(cell(object["credentialLevel"]))")
            let funnel = jsonObject(status.payload ?? "{}")
            print("  stage          \(cell(funnel["stage"]))")
            let eligibleIn = (funnel["eligibleIn"] as? [[String: Any]] ?? []).map { state in
                let primary = state["primary"] as? [String: Any] ?? [:]
                return "\(cell(state["state"])) (\(cell(primary["instrument"])) \(cell(primary["provision"])))"
            }
            print("  eligible in    \(eligibleIn.isEmpty ? "none today" : eligibleIn.joined(separator: ", "))")
            print("  next           \(cell(funnel["message"]))")
            let verifications = object["verifications"] as? [[String: Any]] ?? []
            if !verifications.isEmpty {
                print("  verifications:")
                for v in verifications {
                    print("    \(cell(v["verifiedAt"]))  \(cell(v["item"])) \(cell(v["subject"]))  \(cell(v["outcome"]))  \(cell(v["source"])) [\(cell(v["reference"]))] by \(cell(v["verifiedBy"]))")
                }
            }
        }
    }

    struct Expiring: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Volunteers whose credentials lapse soon.")

        @OptionGroup var daemon: DaemonOptions
        @Option(help: "Window, e.g. 30d (days).") var within = "30d"
        @Option(help: "Two-letter state code.") var state: String?
        @Flag(help: "Print the rows as JSON lines.") var json = false

        func validate() throws {
            guard within.hasSuffix("d"), let days = Int(within.dropLast()), days >= 0 else {
                throw ValidationError("--within: expected a number of days such as 30d, got \"\(within)\"")
            }
        }

        func run() async throws {
            let days = Int(within.dropLast())!
            let response = try await request(daemon, "VOLUNTEER.EXPIRING " + requestBody(["withinDays": days, "state": state]))
            if json { response.rows.forEach { print($0) }; return }
            print(
                Table.render(
                    header: ["ID", "STATE", "NAME", "LEVEL", "VALID UNTIL"],
                    rows: response.rows.map(jsonObject).map { row in
                        [cell(row["id"]), cell(row["registeringState"]), "\(cell(row["firstName"])) \(cell(row["lastName"]))",
                         cell(row["credentialLevel"]), cell(row["credentialValidUntil"])]
                    }), terminator: "")
        }
    }
}
