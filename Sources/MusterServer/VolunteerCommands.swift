import Foundation
import MusterCore
import MusterEligibility
import MusterPQ
import MusterProtocol
import MusterRegistry
import MusterStore

/// The registry commands: register, get, update, withdraw, verify, list, status.
///
/// Access: `admin` everywhere; a `state` token only for volunteers its own state registered. For a state token a
/// volunteer outside its state, and one that does not exist, get the same `FORBIDDEN`, so nothing hints that a
/// record exists elsewhere.
enum VolunteerCommands {
    static var all: [Command] { [register, ImportCommand.command, get, update, withdraw, verify, list, status] }

    static let stateRoles: CommandAccess = .roles([.admin, .state])

    // MARK: - Shared pieces

    /// The state a command is confined to: the token's own for `state`, nil (all) for `admin`.
    static func scope(_ context: CommandContext) -> String? {
        context.identity?.role == .admin ? nil : context.identity?.jurisdiction?.code
    }

    /// The state a listing or report covers: the one asked for (nil: all) for an admin; a state token's own, which
    /// is also the only one it may ask for.
    static func confinedState(asked: String?, _ context: CommandContext) throws -> String? {
        guard let own = scope(context) else { return asked }
        if let asked, asked != own { throw CommandError.forbidden("a \(own) token sees \(own)'s volunteers only") }
        return own
    }

    static func volunteerID(_ request: Request) throws -> Int64 {
        guard let text = request.words.first, let id = Int64(text), id > 0 else {
            throw CommandError.badRequest("id: expected a positive whole number, got \"\(request.words.first?.prefix(20) ?? "")\"")
        }
        return id
    }

    /// The error for a volunteer that does not exist, or not within the caller's scope (the same `FORBIDDEN` for
    /// both, to a state token).
    static func absent(_ id: Int64, _ context: CommandContext) -> CommandError {
        if let scope = scope(context) { return .forbidden("volunteer \(id) is not in \(scope)'s registry") }
        return .notFound("no volunteer \(id)")
    }

    /// Maps store refusals to protocol errors.
    static func mapped<T>(_ context: CommandContext, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as VolunteerStoreError {
            switch error {
            case .notFound(let id):
                throw absent(id, context)
            case .refConflict(let id, let fields):
                throw CommandError.conflict(
                    "ref was registered before as volunteer \(id) with different content: \(fields.joined(separator: ", "))")
            case .duplicate(let id, let state, let reason):
                throw CommandError.conflict(
                    "duplicate of volunteer \(id) registered in \(state) (\(reason))"
                        + (scope(context) != state
                            ? "; if this is the same person registering in another state, send consentToShare: true to link the records"
                            : ""))
            case .invalidTransition(let from, let to):
                throw CommandError.conflict("status cannot change from \(from.rawValue) to \(to.rawValue)")
            case .withdrawn(let id):
                throw CommandError.conflict("volunteer \(id) is withdrawn; its record can no longer change")
            case .immutableField(let field):
                throw CommandError.badRequest("\(field): cannot be changed")
            }
        } catch let error as FieldErrors {
            throw CommandError.badRequest(error.description)
        }
    }

    // MARK: - Views

    struct RecordView: Encodable {
        let id: Int64
        let registeringState: String
        let status: String
        @ExplicitNull var credentialLevel: Int?
        @ExplicitNull var credentialValidUntil: CalendarDate?
        @ExplicitNull var linkedTo: Int64?
        let createdAt: Date
        let updatedAt: Date
        let profile: VolunteerProfile
        let verifications: [Verification]?

        init(_ record: VolunteerRecord, verifications: [Verification]? = nil) {
            id = record.id
            registeringState = record.registeringState
            status = record.status.rawValue
            credentialLevel = record.credentialLevel
            credentialValidUntil = record.credentialValidUntil
            linkedTo = record.linkedTo
            createdAt = record.createdAt
            updatedAt = record.updatedAt
            profile = record.profile
            self.verifications = verifications
        }
    }

    // MARK: - Commands

    static let register = Command(
        name: "VOLUNTEER.REGISTER", usage: "VOLUNTEER.REGISTER {registration}",
        summary: "Registers a volunteer; idempotent by ref within the registering state.",
        access: stateRoles, arguments: CommandArguments(body: .required),
        body: .async { request, context in
            var json = try RequestBody.json(request)
            // `registeringState` chooses the state for an admin; a state token registers into its own state.
            var registering = context.identity?.jurisdiction
            if case .object(var object) = json, let given = object.removeValue(forKey: "registeringState") {
                json = .object(object)
                guard case .string(let code) = given, let jurisdiction = Jurisdiction(code) else {
                    throw CommandError.badRequest("registeringState: expected a US state or territory code")
                }
                if let own = registering, own != jurisdiction {
                    throw CommandError.forbidden("a \(own.code) token registers volunteers in \(own.code) only")
                }
                registering = jurisdiction
            }
            guard let state = registering else {
                throw CommandError.badRequest("registeringState: required for an admin token")
            }
            let today = context.services.today()
            let profile = try await mapped(context) { try VolunteerProfile.parse(json, today: today) }
            let identity = context.identity!
            // Committed together with whatever else is registering at this moment (group commit).
            let result = try await mapped(context) {
                try await context.services.registrations.register(profile, state: state, actor: identity)
            }
            struct Registered: Encodable {
                let id: Int64
                let created: Bool
            }
            return CommandResult(.ok(JSONText.encode(Registered(id: result.id, created: result.created))))
        })

    static let get = Command(
        name: "VOLUNTEER.GET", usage: "VOLUNTEER.GET <id>",
        summary: "A volunteer's record with its verification history.",
        access: stateRoles, arguments: CommandArguments(minWords: 1, maxWords: 1),
        body: .async { request, context in
            let id = try volunteerID(request)
            let scope = scope(context)
            let store = context.services.volunteers
            let identity = context.identity
            let view = try await context.services.pool.withTransaction { connection -> RecordView? in
                guard let record = try store.get(connection, id: id, scope: scope) else { return nil }
                // Reading contact details is audited.
                try context.services.audit.record(
                    connection, actor: identity, action: "volunteer.read", entity: "volunteer", entityID: id,
                    state: record.registeringState, before: nil, after: nil)
                return RecordView(record, verifications: try store.verifications(connection, id: id))
            }
            guard let view else { return try await mapped(context) { throw VolunteerStoreError.notFound(id) } }
            return CommandResult(.ok(JSONText.encode(view)))
        })

    static let update = Command(
        name: "VOLUNTEER.UPDATE", usage: "VOLUNTEER.UPDATE <id> {changes}",
        summary: "Changes some fields (JSON merge patch; null removes); \"status\" moves the record (available, deployed).",
        access: stateRoles, arguments: CommandArguments(minWords: 1, maxWords: 1, body: .required),
        body: .async { request, context in
            let id = try volunteerID(request)
            var patch = try RequestBody.json(request)
            var newStatus: VolunteerStatus?
            if case .object(var object) = patch, let status = object.removeValue(forKey: "status") {
                patch = .object(object)
                guard case .string(let text) = status, let parsed = VolunteerStatus(rawValue: text) else {
                    throw CommandError.badRequest(
                        "status: unknown value (expected one of \(VolunteerStatus.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                guard parsed != .withdrawn else { throw CommandError.badRequest("status: use VOLUNTEER.WITHDRAW to withdraw") }
                newStatus = parsed
            }
            let scope = scope(context)
            let store = context.services.volunteers
            let identity = context.identity!
            let today = context.services.today()
            let (patchValue, statusValue) = (patch, newStatus)
            let record = try await mapped(context) {
                try await context.services.pool.withTransaction { connection in
                    try store.update(
                        connection, id: id, scope: scope,
                        change: { current in
                            let merged = try JSONValue.from(current).merging(patch: patchValue)
                            return try VolunteerProfile.parse(merged, today: today)
                        }, status: statusValue, actor: identity, today: today)
                }
            }
            return CommandResult(.ok(JSONText.encode(RecordView(record))))
        })

    static let withdraw = Command(
        name: "VOLUNTEER.WITHDRAW", usage: "VOLUNTEER.WITHDRAW <id> [{\"reason\": text}]",
        summary: "Withdraws a volunteer (final); they leave matching.",
        access: stateRoles, arguments: CommandArguments(minWords: 1, maxWords: 1, body: .optional),
        body: .async { request, context in
            let id = try volunteerID(request)
            let reason = try RequestBody.fields(request) { reader in reader.string("reason", maxLength: 1000) }
            let scope = scope(context)
            let store = context.services.volunteers
            let identity = context.identity!
            let record = try await mapped(context) {
                try await context.services.pool.withTransaction { connection in try store.withdraw(connection, id: id, scope: scope, reason: reason, actor: identity) }
            }
            struct Withdrawn: Encodable {
                let id: Int64
                let status: String
            }
            return CommandResult(.ok(JSONText.encode(Withdrawn(id: record.id, status: record.status.rawValue))))
        })

    static let verify = Command(
        name: "VOLUNTEER.VERIFY", usage: "VOLUNTEER.VERIFY <id> {item, subject, outcome, source, reference, expires}",
        summary: "Records a primary-source verification (append-only); the credential level is recomputed.",
        access: stateRoles, arguments: CommandArguments(minWords: 1, maxWords: 1, body: .required),
        body: .async { request, context in
            let id = try volunteerID(request)
            let input = try RequestBody.parse(request, with: VerificationInput.parse)
            let scope = scope(context)
            let store = context.services.volunteers
            let identity = context.identity!
            let today = context.services.today()
            let (verificationID, record) = try await mapped(context) {
                try await context.services.pool.withTransaction { connection in try store.verify(connection, id: id, scope: scope, input: input, actor: identity, today: today) }
            }
            struct Verified: Encodable {
                let verificationId: Int64
                @ExplicitNull var credentialLevel: Int?
                let status: String
            }
            return CommandResult(
                .ok(JSONText.encode(Verified(verificationId: verificationID, credentialLevel: record.credentialLevel, status: record.status.rawValue))))
        })

    static let list = Command(
        name: "VOLUNTEER.LIST", usage: "VOLUNTEER.LIST [{filters, limit, after}]",
        summary: "Searches volunteers: one ROW each (full records with \"full\": true), then OK {count, next}.",
        access: stateRoles, arguments: CommandArguments(body: .optional),
        body: .async { request, context in
            let query = try RequestBody.parse(request, with: VolunteerQuery.parse)
            var requested = query.filter
            requested.state = try confinedState(asked: query.filter.state, context)
            let (filter, after, limit, full) = (requested, query.after, query.limit, query.full)
            let store = context.services.volunteers
            let identity = context.identity
            let records: [VolunteerRecord]
            if full {
                // Full records carry contact details: reading them is audited, one row per page, in the same
                // transaction on the primary (a record is never shown unaudited).
                records = try await context.services.pool.withTransaction { connection in
                    let records = try store.list(connection, filter: filter, after: after, limit: limit + 1)
                    if !records.isEmpty {
                        try context.services.audit.record(
                            connection, actor: identity, action: "volunteer.export", entity: "volunteer", entityID: nil,
                            state: filter.state, before: nil,
                            after: try PGJSON(encoding: ["ids": records.prefix(limit).map(\.id)]))
                    }
                    return records
                }
            } else {
                // A search's summaries: on the replica when there is one.
                records = try await context.services.reports.withConnection { connection in
                    try store.list(connection, filter: filter, after: after, limit: limit + 1)
                }
            }
            let page = Array(records.prefix(limit))
            let next = records.count > limit ? page.last.map { VolunteerQuery.cursor(after: $0.id) } : nil
            let rows = page.map { full ? JSONText.encode(RecordView($0)) : JSONText.encode(SummaryView($0)) }
            struct Summary: Encodable {
                let count: Int
                @ExplicitNull var next: String?
            }
            return CommandResult(.rows(rows, summary: JSONText.encode(Summary(count: rows.count, next: next))))
        })

    static let status = Command(
        name: "VOLUNTEER.STATUS", usage: "VOLUNTEER.STATUS <id>",
        summary: "Where a volunteer stands: awaiting verification (of what), verified, eligible (in which states), deployed, withdrawn.",
        access: stateRoles, arguments: CommandArguments(minWords: 1, maxWords: 1),
        body: .async { request, context in
            let id = try volunteerID(request)
            let scope = scope(context)
            let store = context.services.volunteers
            let today = context.services.today()
            let found = try await context.services.pool.withConnection { connection -> (VolunteerRecord, CredentialAssessment, [Assignment])? in
                guard let record = try store.get(connection, id: id, scope: scope) else { return nil }
                let assessment = CredentialAssessment.assess(
                    profile: record.profile, verifications: try store.verifications(connection, id: id), on: today)
                let offers = try StaffingStore().assignments(
                    connection, requestID: nil, volunteerID: id, state: nil, facilityID: nil, activeOnly: true).map(\.assignment)
                return (record, assessment, offers)
            }
            guard let (record, assessment, offers) = found else {
                return try await mapped(context) { throw VolunteerStoreError.notFound(id) }
            }
            var eligibleIn: [EligibleState] = []
            if record.status != .withdrawn {
                let catalog = try await context.services.orders.catalog(context.services.pool)
                let facts = EligibilityFacts(profile: record.profile, credentialLevel: record.credentialLevel)
                eligibleIn = EligibleState.all(catalog: catalog, facts: facts, date: today)
            }
            var answer = FunnelStatus(record: record, assessment: assessment, eligibleIn: eligibleIn, date: today)
            answer.offers = offers.map { FunnelStatus.OfferSummary(id: $0.id, requestId: $0.requestId, status: $0.status, start: $0.start, end: $0.end) }
            if record.status != .deployed, record.status != .withdrawn, let open = offers.first(where: { $0.status != "confirmed" }) {
                answer.stage = "offered"
                answer.message = "Offered to staffing request \(open.requestId) (\(open.start) to \(open.end)); the offer is \(open.status)."
            }
            return CommandResult(.ok(JSONText.encode(answer)))
        })

}

/// A volunteer's place in the funnel, in words a volunteer or a coordinator can act on.
///
/// Stages: `awaiting_verification` → `verified` (eligible nowhere yet) → `eligible` (verified, and eligible in at
/// least one state today) → `offered` (an active offer not yet confirmed) → `deployed`; or `withdrawn`. `eligibleIn` is filled for unverified volunteers too, so a
/// coordinator sees where verification would let them serve.
struct FunnelStatus: Encodable {
    let id: Int64
    var stage: String
    let status: String
    @ExplicitNull var credentialLevel: Int?
    let awaitingVerificationOf: [String]
    let eligibleIn: [EligibleState]
    /// Active offers and bookings.
    var offers: [OfferSummary] = []
    let date: CalendarDate
    var message: String

    struct OfferSummary: Encodable {
        let id: Int64
        let requestId: Int64
        let status: String
        let start: CalendarDate
        let end: CalendarDate
    }

    init(record: VolunteerRecord, assessment: CredentialAssessment, eligibleIn: [EligibleState], date: CalendarDate) {
        id = record.id
        status = record.status.rawValue
        credentialLevel = assessment.level
        awaitingVerificationOf = assessment.missing
        self.eligibleIn = eligibleIn
        self.date = date
        let states = eligibleIn.map(\.state).joined(separator: ", ")
        let level = assessment.level.map(String.init) ?? "-"
        switch record.status {
        case .withdrawn:
            stage = "withdrawn"
            message = "Withdrawn; no longer considered."
        case .deployed:
            stage = "deployed"
            message = "Deployed."
        case .available, .verified:
            let availability = record.status == .available ? "available for matching" : "not yet marked available"
            if eligibleIn.isEmpty {
                stage = "verified"
                message = "Verified at credential level \(level) and \(availability); no emergency order in force today lets them practise in any state."
            } else {
                stage = "eligible"
                message = "Verified at credential level \(level), eligible in \(states), and \(availability)."
            }
        case .registered:
            stage = "awaiting_verification"
            message = "Registered; awaiting verification of " + assessment.missing.joined(separator: ", ") + "."
                + (eligibleIn.isEmpty ? "" : " Once verified, eligible in \(states) on the record as registered.")
        }
    }
}

/// A list row: who and what, without contact details.
struct SummaryView: Encodable {
    let id: Int64
    let registeringState: String
    let status: String
    @ExplicitNull var credentialLevel: Int?
    let category: String
    let profession: String
    let firstName: String
    let lastName: String
    let homeState: String
    let skills: [Skill]
    @ExplicitNull var availability: VolunteerProfile.Availability?

    init(_ record: VolunteerRecord) {
        id = record.id
        registeringState = record.registeringState
        status = record.status.rawValue
        credentialLevel = record.credentialLevel
        category = record.profile.category.rawValue
        profession = record.profile.profession.rawValue
        firstName = record.profile.firstName
        lastName = record.profile.lastName
        homeState = record.profile.homeState
        skills = record.profile.skills
        availability = record.profile.availability
    }
}
