import Foundation
import MusterCore
import MusterEligibility
import MusterPQ
import MusterProtocol
import MusterRegistry
import MusterStore

/// Emergency orders as versioned rule packs: load, rescind, list, show.
enum OrderCommands {
    static var all: [Command] { [load, rescind, list, show] }

    /// An instrument id argument.
    static func instrumentID(_ text: String) throws -> String {
        guard (1...100).contains(text.utf8.count) else { throw CommandError.badRequest("id: 1 to 100 characters") }
        return text
    }

    /// A state token may change only its own state's instruments; mechanisms (MULTI) and anything applying to
    /// other states are an admin's.
    static func authorise(state: String, appliesTo: Set<String>, _ context: CommandContext) throws {
        guard let own = VolunteerCommands.scope(context) else { return }
        if state != own || appliesTo != [own] {
            throw CommandError.forbidden("a \(own) token manages \(own)'s own instruments only")
        }
    }

    static let load = Command(
        name: "ORDERS.LOAD", usage: "ORDERS.LOAD {\"file\": name, \"yaml\": text}",
        summary: "Stores a rule pack as its instrument's next version (no change if this exact text is stored).",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(body: .required),
        body: .async { request, context in
            var file = ""
            var yaml = ""
            try RequestBody.fields(request) { reader in
                file = reader.string("file", required: true, maxLength: 200) ?? ""
                yaml = reader.string("yaml", required: true, maxLength: 60_000) ?? ""
            }
            let pack: RulePack
            do throws(PackLoadError) {
                pack = try RulePack.load(yaml: yaml, file: file)
            } catch {
                let issues = error.issues.map(\.description).joined(separator: "; ")
                throw CommandError.badRequest("\(file): rejected with \(error.issues.count) error(s): \(issues)")
            }
            try authorise(state: pack.state, appliesTo: pack.appliesTo, context)
            let (identity, text) = (context.identity, yaml)
            let audit = context.services.audit
            let outcome = try await context.services.pool.withTransaction { connection in
                let outcome = try OrderStore().load(connection, pack: pack, yaml: text, by: identity)
                if outcome.created {
                    try audit.record(
                        connection, actor: identity, action: "orders.load", entity: "order_pack", entityID: nil,
                        state: pack.state == "MULTI" ? nil : pack.state, before: nil,
                        after: try PGJSON(encoding: outcome))
                }
                return outcome
            }
            if outcome.created { try await context.services.orders.reload(context.services.pool) }
            return CommandResult(.ok(JSONText.encode(outcome)))
        })

    static let rescind = Command(
        name: "ORDERS.RESCIND", usage: "ORDERS.RESCIND <id> <date>",
        summary: "Adds a version ending the instrument: in force up to the day before <date>.",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(minWords: 2, maxWords: 2),
        body: .async { request, context in
            let id = try instrumentID(request.words[0])
            guard let date = CalendarDate(request.words[1]) else {
                throw CommandError.badRequest("date: \"\(request.words[1].prefix(20))\" is not a calendar date (YYYY-MM-DD)")
            }
            let catalog = try await context.services.orders.catalog(context.services.pool)
            guard let latest = catalog.versions(of: id).last else { throw CommandError.notFound("no instrument \(id)") }
            try authorise(state: latest.state, appliesTo: latest.appliesTo, context)
            let identity = context.identity
            let audit = context.services.audit
            let outcome = try await context.services.pool.withTransaction { connection in
                let outcome = try OrderStore().rescind(connection, id: id, on: date, by: identity)
                struct Rescinded: Encodable {
                    let id: String
                    let version: Int
                    let rescindedOn: CalendarDate
                }
                try audit.record(
                    connection, actor: identity, action: "orders.rescind", entity: "order_pack", entityID: nil,
                    state: latest.state == "MULTI" ? nil : latest.state, before: nil,
                    after: try PGJSON(encoding: Rescinded(id: id, version: outcome.version, rescindedOn: date)))
                return outcome
            }
            try await context.services.orders.reload(context.services.pool)
            return CommandResult(.ok(JSONText.encode(outcome)))
        })

    static let list = Command(
        name: "ORDERS.LIST", usage: "ORDERS.LIST [<state>]",
        summary: "The latest version of every instrument (that applies to the state): one ROW each.",
        access: .authenticated, arguments: CommandArguments(maxWords: 1),
        body: .async { request, context in
            let state = try request.words.first.map { try EligibilityCommands.state($0) }
            let today = context.services.today()
            let catalog = try await context.services.orders.catalog(context.services.pool)
            let records = try await context.services.pool.withConnection { connection in
                try OrderStore().list(connection, state: state)
            }
            let rows = records.map { record in
                ListedPack(record, versions: catalog.versions(of: record.id).count, inForceToday: inForce(record.id, catalog, today))
            }
            return CommandResult(.rows(rows.map { JSONText.encode($0) }, summary: JSONText.encode(["count": rows.count])))
        })

    static let show = Command(
        name: "ORDERS.SHOW", usage: "ORDERS.SHOW <id> [<version>]",
        summary: "One version (default the latest) with its provisions and YAML text.",
        access: .authenticated, arguments: CommandArguments(minWords: 1, maxWords: 2),
        body: .async { request, context in
            let id = try instrumentID(request.words[0])
            var version: Int?
            if request.words.count > 1 {
                guard let number = Int(request.words[1]), number >= 1 else {
                    throw CommandError.badRequest("version: expected a positive whole number, got \"\(request.words[1].prefix(20))\"")
                }
                version = number
            }
            let asked = version
            let (record, yaml, versions) = try await context.services.pool.withConnection { connection in
                try OrderStore().show(connection, id: id, version: asked)
            }
            let pack: RulePack
            do {
                pack = try RulePack.load(yaml: yaml, file: record.file).stored(version: record.version, rescindedOn: record.rescindedOn)
            } catch {
                throw CommandError(.internalError, "stored version \(record.version) of \(id) no longer compiles")
            }
            return CommandResult(.ok(JSONText.encode(ShownPack(record, pack: pack, yaml: yaml, versions: versions))))
        })

    /// Whether the version of `id` in force on `date` (in any state it applies to) has that day in its window.
    static func inForce(_ id: String, _ catalog: PackCatalog, _ date: CalendarDate) -> Bool {
        guard let any = catalog.versions(of: id).last, let state = any.appliesTo.sorted().first else { return false }
        return catalog.packs(for: state, on: date).first { $0.id == id }?.isInForce(on: date) ?? false
    }
}

/// A row of `ORDERS.LIST`.
struct ListedPack: Encodable {
    let id: String
    let version: Int
    let versions: Int
    let state: String
    let appliesTo: [String]
    let title: String
    let effectiveFrom: CalendarDate
    @ExplicitNull var effectiveTo: CalendarDate?
    @ExplicitNull var rescindedOn: CalendarDate?
    let inForceToday: Bool
    let loadedAt: Date
    let loadedBy: String

    init(_ record: StoredPackVersion, versions: Int, inForceToday: Bool) {
        id = record.id
        version = record.version
        self.versions = versions
        state = record.state
        appliesTo = record.appliesTo
        title = record.title
        effectiveFrom = record.effectiveFrom
        effectiveTo = record.effectiveTo
        rescindedOn = record.rescindedOn
        self.inForceToday = inForceToday
        loadedAt = record.loadedAt
        loadedBy = record.loadedBy
    }
}

/// The reply of `ORDERS.SHOW`.
struct ShownPack: Encodable {
    let id: String
    let version: Int
    let versions: Int
    let revision: Int
    let state: String
    let appliesTo: [String]
    let title: String
    let instrument: [String: String]
    @ExplicitNull var signed: CalendarDate?
    let effectiveFrom: CalendarDate
    /// The last day in force, after any rescission.
    @ExplicitNull var effectiveTo: CalendarDate?
    @ExplicitNull var rescindedOn: CalendarDate?
    let sources: [[String: String]]
    let provisions: [ProvisionView]
    let file: String
    let sha256: String
    let loadedAt: Date
    let loadedBy: String
    let yaml: String

    struct ProvisionView: Encodable {
        let id: String
        let title: String
        let categories: [String]?
        let professions: [String]?
        let criteria: String
        let settings: [String]
        let conditions: [String]
        let grade: String
        let uncertain: Bool
        @ExplicitNull var effectiveFrom: CalendarDate?
        @ExplicitNull var effectiveTo: CalendarDate?
    }

    init(_ record: StoredPackVersion, pack: RulePack, yaml: String, versions: Int) {
        id = record.id
        version = record.version
        self.versions = versions
        revision = record.revision
        state = record.state
        appliesTo = record.appliesTo
        title = record.title
        instrument = ["type": pack.instrumentType, "number": pack.instrumentNumber]
        signed = pack.signed
        effectiveFrom = pack.effectiveFrom
        effectiveTo = pack.effectiveTo
        rescindedOn = record.rescindedOn
        sources = pack.sources.map { ["citation": $0.citation, "grade": $0.grade.rawValue] }
        provisions = pack.provisions.map { provision in
            ProvisionView(
                id: provision.id, title: provision.title, categories: provision.categories?.map(\.rawValue).sorted(),
                professions: provision.professions?.sorted(), criteria: provision.criteriaDescription,
                settings: provision.settings.map(\.rawValue), conditions: provision.conditions,
                grade: provision.grade.rawValue, uncertain: provision.uncertain, effectiveFrom: provision.effectiveFrom,
                effectiveTo: provision.effectiveTo)
        }
        file = record.file
        sha256 = record.sha256
        loadedAt = record.loadedAt
        loadedBy = record.loadedBy
        self.yaml = yaml
    }
}
