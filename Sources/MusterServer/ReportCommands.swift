import Foundation
import MusterCore
import MusterEligibility
import MusterProtocol
import MusterRegistry
import MusterStore

/// Reports for state departments and admins: the funnel, expiring credentials, the audit log. The funnel and the
/// expiring list read on the replica when there is one; the audit log on the primary, so it shows the latest.
enum ReportCommands {
    static var all: [Command] { [funnel, expiring, audit] }

    /// Reads an optional `state` for a report; a state token may only name its own.
    static func reportState(_ reader: inout ObjectReader, _ context: CommandContext) throws -> String? {
        var asked: String?
        if let text = reader.string("state", maxLength: 2) {
            asked = Jurisdiction(text)?.code
            if asked == nil { reader.fail("state", "unknown US state or territory \"\(text)\"") }
        }
        return try VolunteerCommands.confinedState(asked: asked, context)
    }

    static let funnel = Command(
        name: "VOLUNTEER.FUNNEL", usage: "VOLUNTEER.FUNNEL [{\"state\": code}]",
        summary: "Counts per category and profession: registered, verified, eligible, offered, deployed, available, withdrawn.",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(body: .optional),
        body: .async { request, context in
            var state: String?
            try RequestBody.fields(request) { reader in state = try reportState(&reader, context) }
            let scope = state
            let store = context.services.volunteers
            var rows = try await context.services.reports.withConnection { connection in try store.funnel(connection, state: scope) }
            let eligible = try await eligibleCounts(state: scope, context)
            for index in rows.indices {
                rows[index].eligible = eligible[FunnelKey(category: rows[index].category, profession: rows[index].profession)] ?? 0
            }
            return CommandResult(.rows(rows.map { JSONText.encode($0) }, summary: JSONText.encode(["count": rows.count])))
        })

    struct FunnelKey: Hashable {
        let category: String
        let profession: String
    }

    /// Verified volunteers (with a credential level) who are deployed or eligible today in their registering state,
    /// per category and profession.
    static func eligibleCounts(state: String?, _ context: CommandContext) async throws -> [FunnelKey: Int] {
        let today = context.services.today()
        let catalog = try await context.services.orders.catalog(context.services.pool)
        var packsByState: [String: [RulePack]] = [:]
        var counts: [FunnelKey: Int] = [:]
        // Only records with a credential level (every level is at most 4): the others cannot count.
        var verified = VolunteerFilter()
        verified.state = state
        verified.maxCredentialLevel = 4
        try await RegistryScan.forEach(verified, context) { record in
            let key = FunnelKey(category: record.profile.category.rawValue, profession: record.profile.profession.rawValue)
            switch record.status {
            case .registered, .withdrawn:
                return
            case .deployed:
                counts[key, default: 0] += 1
            case .verified, .available:
                let home = record.registeringState
                let packs = packsByState[home] ?? catalog.packs(for: home, on: today)
                packsByState[home] = packs
                let facts = EligibilityFacts(profile: record.profile, credentialLevel: record.credentialLevel)
                if EligibilityEngine.evaluate(facts, state: home, date: today, packs: packs, explain: false).eligible {
                    counts[key, default: 0] += 1
                }
            }
        }
        return counts
    }

    static let expiring = Command(
        name: "VOLUNTEER.EXPIRING", usage: "VOLUNTEER.EXPIRING [{\"withinDays\": n, \"state\": code, \"limit\": n}]",
        summary: "Volunteers whose credential level lapses within n days (default 30), soonest first.",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(body: .optional),
        body: .async { request, context in
            var state: String?
            var days = 30
            var limit = 1000
            try RequestBody.fields(request) { reader in
                state = try reportState(&reader, context)
                days = reader.integer("withinDays", range: 0...3650) ?? 30
                limit = reader.integer("limit", range: 1...10_000) ?? 1000
            }
            let (scope, until, max) = (state, context.services.today().adding(days: days), limit)
            let store = context.services.volunteers
            let rows = try await context.services.reports.withConnection { connection in
                try store.expiring(connection, state: scope, until: until, limit: max)
            }
            return CommandResult(.rows(rows.map { JSONText.encode($0) }, summary: JSONText.encode(["count": rows.count])))
        })

    struct AuditView: Encodable {
        let id: Int64
        let at: Date
        let actor: String
        let action: String
        let entity: String
        let entityId: Int64?
        let state: String?
        let before: JSONValue?
        let after: JSONValue?

        init(_ entry: AuditEntry) {
            id = entry.id
            at = entry.at
            actor = entry.actor
            action = entry.action
            entity = entry.entity
            entityId = entry.entityID
            state = entry.state
            before = entry.before.flatMap { try? JSONValue.parse($0) }
            after = entry.after.flatMap { try? JSONValue.parse($0) }
        }
    }

    static let audit = Command(
        name: "AUDIT", usage: "AUDIT [{\"entity\": name, \"id\": n, \"state\": code, \"limit\": n}]",
        summary: "The audit log, newest first: who changed or read what, with before and after.",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(body: .optional),
        body: .async { request, context in
            var state: String?
            var entity: String?
            var id: Int?
            var limit = 100
            try RequestBody.fields(request) { reader in
                state = try reportState(&reader, context)
                entity = reader.string("entity", maxLength: 40)
                id = reader.integer("id", range: 1...Int.max)
                limit = reader.integer("limit", range: 1...10_000) ?? 100
            }
            let (scope, kind, entityID, max) = (state, entity, id.map(Int64.init), limit)
            let log = context.services.audit
            let entries = try await context.services.pool.withConnection { connection in
                try log.entries(connection, entity: kind, entityID: entityID, state: scope, limit: max)
            }
            return CommandResult(.rows(entries.map { JSONText.encode(AuditView($0)) }, summary: JSONText.encode(["count": entries.count])))
        })
}


