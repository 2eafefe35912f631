import MusterCore
import MusterEligibility
import MusterProtocol
import MusterRegistry
import MusterStore

/// Eligibility under the emergency orders in force: for a stored volunteer in one state or in every state, for an
/// unsaved profile (intake screening), and the blockers report for a state.
enum EligibilityCommands {
    static var all: [Command] { [check, states, screen, blockers] }

    // MARK: - Arguments

    /// A state argument: a known US state or territory code.
    static func state(_ text: String) throws -> String {
        guard let jurisdiction = Jurisdiction(text) else {
            throw CommandError.badRequest("state: unknown US state or territory \"\(text.prefix(20))\"")
        }
        return jurisdiction.code
    }

    /// An optional date argument (YYYY-MM-DD, a real calendar day); today when absent.
    static func date(_ text: String?, _ context: CommandContext) throws -> CalendarDate {
        guard let text else { return context.services.today() }
        guard let date = CalendarDate(text) else {
            throw CommandError.badRequest("date: \"\(text.prefix(20))\" is not a calendar date (YYYY-MM-DD)")
        }
        return date
    }

    /// A stored volunteer within the caller's scope, with the facts the rules read.
    static func facts(of id: Int64, _ context: CommandContext) async throws -> (VolunteerRecord, EligibilityFacts) {
        let record = try await context.services.volunteerReader.get(id: id, scope: VolunteerCommands.scope(context))
        return try facts(of: record, id: id, context)
    }

    /// The facts the rules read from a stored volunteer, or the error for one that is not there for this caller.
    static func facts(
        of record: VolunteerRecord?, id: Int64, _ context: CommandContext
    ) throws -> (VolunteerRecord, EligibilityFacts) {
        guard let record else { throw VolunteerCommands.absent(id, context) }
        return (record, EligibilityFacts(profile: record.profile, credentialLevel: record.credentialLevel))
    }

    // MARK: - Commands

    static let check = Command(
        name: "ELIGIBILITY.CHECK", usage: "ELIGIBILITY.CHECK <id> <state> [<date>]",
        summary: "May this stored volunteer practise in the state on the date (default today)? Basis, conditions, reasons.",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(minWords: 2, maxWords: 3),
        // The busiest read: from the event loop to a batched read on a pool thread, which also decides and writes
        // the reply, and back, without a task.
        body: .deferred { request, context, completion in
            let id: Int64
            let state: String
            let date: CalendarDate
            do {
                id = try VolunteerCommands.volunteerID(request)
                state = try Self.state(request.words[1])
                date = try Self.date(request.words.count > 2 ? request.words[2] : nil, context)
            } catch {
                completion(.failure(error))
                return
            }
            let services = context.services
            let decide = { @Sendable (catalog: PackCatalog) in
                services.volunteerReader.get(id: id, scope: VolunteerCommands.scope(context)) { read in
                    completion(
                        Result {
                            let (record, facts) = try facts(of: read.get(), id: id, context)
                            var view = DecisionView(catalog: catalog, facts: facts, state: state, date: date, explain: true)
                            view.volunteerId = record.id
                            view.status = record.status.rawValue
                            view.credentialLevel = record.credentialLevel
                            return CommandResult(.ok(view.json))
                        })
                }
            }
            if let catalog = services.orders.loaded {
                decide(catalog)
            } else {
                // Not loaded yet (a check arriving as the daemon starts): a task loads it, and the check goes on.
                Task {
                    do {
                        decide(try await services.orders.catalog(services.pool))
                    } catch {
                        completion(.failure(error))
                    }
                }
            }
        })

    static let states = Command(
        name: "ELIGIBILITY.STATES", usage: "ELIGIBILITY.STATES <id> [<date>]",
        summary: "Every state in which this stored volunteer may practise on the date (default today): one ROW each.",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(minWords: 1, maxWords: 2),
        body: .async { request, context in
            let id = try VolunteerCommands.volunteerID(request)
            let date = try date(request.words.count > 1 ? request.words[1] : nil, context)
            let (record, facts) = try await facts(of: id, context)
            let catalog = try await context.services.orders.catalog(context.services.pool)
            let rows = EligibleState.all(catalog: catalog, facts: facts, date: date)
            struct Summary: Encodable {
                let volunteerId: Int64
                let date: CalendarDate
                let count: Int
                let statesChecked: Int
            }
            return CommandResult(
                .rows(
                    rows.map { JSONText.encode($0) },
                    summary: JSONText.encode(
                        Summary(volunteerId: record.id, date: date, count: rows.count, statesChecked: catalog.states.count))))
        })

    static let screen = Command(
        name: "ELIGIBILITY.SCREEN", usage: "ELIGIBILITY.SCREEN <state> [<date>] {registration}",
        summary: "Intake screening: checks an unsaved profile (the registration format; ref optional). Nothing is stored.",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(minWords: 1, maxWords: 2, body: .required),
        body: .async { request, context in
            let state = try state(request.words[0])
            let date = try date(request.words.count > 1 ? request.words[1] : nil, context)
            var json = try RequestBody.json(request)
            if case .object(var object) = json, object["ref"] == nil {
                object["ref"] = .string("screening")
                json = .object(object)
            }
            let profile: VolunteerProfile
            do throws(FieldErrors) {
                profile = try VolunteerProfile.parse(json, today: context.services.today())
            } catch {
                throw CommandError.badRequest(error.description)
            }
            let catalog = try await context.services.orders.catalog(context.services.pool)
            // No verifications exist for an unsaved profile, so no credential level either.
            let facts = EligibilityFacts(profile: profile, credentialLevel: nil)
            let view = DecisionView(catalog: catalog, facts: facts, state: state, date: date, explain: true)
            return CommandResult(.ok(view.json))
        })

    static let blockers = Command(
        name: "ELIGIBILITY.BLOCKERS", usage: "ELIGIBILITY.BLOCKERS <state> [<date>]",
        summary: "For the state's registered volunteers: how many are eligible, and for the rest, counts per unmet requirement.",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(minWords: 1, maxWords: 2),
        body: .async { request, context in
            let state = try state(request.words[0])
            let date = try date(request.words.count > 1 ? request.words[1] : nil, context)
            _ = try VolunteerCommands.confinedState(asked: state, context)
            let catalog = try await context.services.orders.catalog(context.services.pool)
            let packs = catalog.packs(for: state, on: date)
            var report = BlockersReport(state: state, date: date)
            var registered = VolunteerFilter()
            registered.state = state
            try await RegistryScan.forEach(registered, context) { record in
                guard record.status != .withdrawn else { return }
                let facts = EligibilityFacts(profile: record.profile, credentialLevel: record.credentialLevel)
                let decision = EligibilityEngine.evaluate(
                    facts, state: state, date: date, packs: packs, explain: false, requirements: true)
                report.add(decision, facts: facts)
            }
            let rows = report.rows()
            return CommandResult(.rows(rows.map { JSONText.encode($0) }, summary: JSONText.encode(report.summary(rows: rows.count))))
        })
}

// MARK: - Scanning a state's registry

/// Reads a state's volunteers in id order, a batch per lease, so that a report over a large registry holds neither
/// a connection nor the whole registry for long. Reports read on the replica when there is one.
enum RegistryScan {
    static let batchSize = 2000

    /// Calls `body` for every volunteer `filter` selects, withdrawn ones included.
    static func forEach(
        _ filter: VolunteerFilter, _ context: CommandContext, _ body: (VolunteerRecord) throws -> Void
    ) async throws {
        let store = context.services.volunteers
        var after: Int64 = 0
        while true {
            let (scanFilter, from) = (filter, after)
            let batch = try await context.services.reports.withConnection { connection in
                try store.list(connection, filter: scanFilter, after: from, limit: batchSize)
            }
            for record in batch { try body(record) }
            guard batch.count == batchSize, let last = batch.last else { return }
            after = last.id
        }
    }
}

// MARK: - Reply shapes

/// One granting provision in a reply.
struct GrantView: Encodable {
    let instrument: String
    let version: Int
    let provision: String
    let settings: [String]
    let conditions: [String]
    let grade: String
    let uncertain: Bool

    /// `packs`: the versions the decision was made on (a grant on ordinary licensure has none: version 0).
    init(_ grant: Grant, in packs: [RulePack]) {
        instrument = grant.instrument
        version = packs.first { $0.id == grant.instrument }?.version ?? 0
        provision = grant.provision
        settings = grant.settings.map(\.rawValue)
        conditions = grant.conditions
        grade = grant.grade.rawValue
        uncertain = grant.uncertain
    }

    /// This grant as `JSONText.encode` would write it.
    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.member("conditions", conditions)
        json.member("grade", grade)
        json.member("instrument", instrument)
        json.member("provision", provision)
        json.member("settings", settings)
        json.member("uncertain", uncertain)
        json.member("version", version)
        json.endObject()
    }
}

/// An eligibility decision as a reply.
struct DecisionView: Encodable {
    var volunteerId: Int64?
    var status: String?
    var credentialLevel: Int?
    let state: String
    let date: CalendarDate
    let eligible: Bool
    @ExplicitNull var primary: GrantView?
    let grants: [GrantView]
    let conditions: [String]
    let uncertain: Bool
    let reasons: [String]
    /// The instrument versions the answer rests on.
    let packs: [PackRef]

    struct PackRef: Encodable {
        let id: String
        let version: Int
    }

    init(catalog: PackCatalog, facts: EligibilityFacts, state: String, date: CalendarDate, explain: Bool) {
        let packs = catalog.packs(for: state, on: date)
        let decision = EligibilityEngine.evaluate(facts, state: state, date: date, packs: packs, explain: explain)
        self.state = state
        self.date = date
        eligible = decision.eligible
        primary = decision.primary.map { GrantView($0, in: packs) }
        grants = decision.grants.map { GrantView($0, in: packs) }
        conditions = decision.conditions
        uncertain = decision.uncertain
        var reasons = decision.reasons
        if packs.isEmpty && !decision.eligible {
            reasons.append("no emergency order or cross-state mechanism is loaded for \(state)")
        }
        self.reasons = reasons
        self.packs = packs.map { PackRef(id: $0.id, version: $0.version) }
    }

    /// The reply payload: what `JSONText.encode(self)` gives, byte for byte (debug builds check that on every
    /// reply), written by hand because this is the reply of the busiest read.
    var json: String {
        // Room for the whole reply at once: the reasons are most of it (a few kilobytes when many provisions fail).
        var json = JSONWriter(capacity: reasons.reduce(512 + 256 * grants.count) { $0 + $1.utf8.count + 3 })
        json.beginObject()
        json.member("conditions", conditions)
        json.optional("credentialLevel", credentialLevel)
        json.member("date", date)
        json.member("eligible", eligible)
        json.key("grants")
        json.array(grants) { json, grant in grant.write(to: &json) }
        json.key("packs")
        json.array(packs) { json, pack in
            json.beginObject()
            json.member("id", pack.id)
            json.member("version", pack.version)
            json.endObject()
        }
        json.key("primary")
        if let primary {
            primary.write(to: &json)
        } else {
            json.null()
        }
        json.member("reasons", reasons)
        json.member("state", state)
        json.optional("status", status)
        json.member("uncertain", uncertain)
        json.optional("volunteerId", volunteerId)
        json.endObject()
        let text = json.output
        assert(text == JSONText.encode(self), "DecisionView.json differs from JSONText.encode:\n\(text)\n\(JSONText.encode(self))")
        return text
    }
}

/// A state where a volunteer may practise, and on what basis.
struct EligibleState: Encodable {
    let state: String
    let primary: GrantView
    let conditions: [String]
    let uncertain: Bool

    /// Every state (with a loaded instrument, or licensing the volunteer) where `facts` grant on `date`, in order.
    static func all(catalog: PackCatalog, facts: EligibilityFacts, date: CalendarDate) -> [EligibleState] {
        // Every state with an instrument, and every state where the volunteer holds an active licence.
        let licensed = facts.licenses.filter { $0.status == .active }.map(\.jurisdiction)
        let states = Set(catalog.states).union(licensed).sorted()
        return states.compactMap { state in
            let packs = catalog.packs(for: state, on: date)
            let decision = EligibilityEngine.evaluate(facts, state: state, date: date, packs: packs, explain: false)
            guard let primary = decision.primary else { return nil }
            return EligibleState(
                state: state, primary: GrantView(primary, in: packs), conditions: decision.conditions,
                uncertain: decision.uncertain)
        }
    }
}

/// Tallies, for one state and date, who is eligible and which requirements keep the others out.
struct BlockersReport {
    let state: String
    let date: CalendarDate
    private(set) var volunteers = 0
    private(set) var eligible = 0
    private struct Key: Hashable {
        let category: String
        let requirement: String
    }
    private var counts: [Key: Int] = [:]
    private var bases: [Key: Set<String>] = [:]

    init(state: String, date: CalendarDate) {
        self.state = state
        self.date = date
    }

    /// Counts one volunteer: eligible, or once per distinct requirement they fail (across provisions covering them),
    /// or as not covered by any provision in force.
    mutating func add(_ decision: Decision, facts: EligibilityFacts) {
        volunteers += 1
        if decision.eligible {
            eligible += 1
            return
        }
        let category = facts.category.rawValue
        var seen = Set<String>()
        for unmet in decision.unmet {
            let key = Key(category: category, requirement: unmet.requirement)
            bases[key, default: []].insert("\(unmet.instrument) \(unmet.provision)")
            if seen.insert(unmet.requirement).inserted { counts[key, default: 0] += 1 }
        }
        if decision.unmet.isEmpty {
            let key = Key(
                category: category,
                requirement: "no provision in force in \(state) covers \(category) \(facts.profession)")
            counts[key, default: 0] += 1
        }
    }

    struct Row: Encodable {
        let category: String
        let requirement: String
        let volunteers: Int
        let basis: [String]
    }

    /// Largest blocker first.
    func rows() -> [Row] {
        counts.map { key, count in
            Row(category: key.category, requirement: key.requirement, volunteers: count, basis: (bases[key] ?? []).sorted())
        }.sorted { ($1.volunteers, $0.category, $0.requirement) < ($0.volunteers, $1.category, $1.requirement) }
    }

    struct Summary: Encodable {
        let state: String
        let date: CalendarDate
        let volunteers: Int
        let eligible: Int
        let notEligible: Int
        let count: Int
    }

    func summary(rows: Int) -> Summary {
        Summary(state: state, date: date, volunteers: volunteers, eligible: eligible, notEligible: volunteers - eligible, count: rows)
    }
}
