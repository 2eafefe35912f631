import Foundation
import MusterCore
import MusterPQ
import MusterProtocol
import MusterRegistry
import MusterStore

/// Facilities, staffing requests, matching rounds and offers.
///
/// Access: an admin everywhere; a state token for its own state's facilities, requests and volunteers; a hospital
/// token for its own facility's requests and the offers made on them (with the volunteers' names and contact
/// details, which it sees for nothing else).
enum StaffingCommands {
    static var all: [Command] {
        [createFacility, listFacilities, submit, getRequest, listRequests, cancel, match, shortage, listOffers]
            + [accept, decline, confirm, release]
    }

    static let everyone: CommandAccess = .roles([.admin, .state, .hospital])

    static func id(_ request: Request, _ name: String = "id") throws -> Int64 {
        guard let text = request.words.first, let id = Int64(text), id > 0 else {
            throw CommandError.badRequest("\(name): expected a positive whole number, got \"\(request.words.first?.prefix(20) ?? "")\"")
        }
        return id
    }

    /// May the caller see or change this request?
    static func mayAccess(_ request: StaffingRequest, _ context: CommandContext) -> Bool {
        guard let identity = context.identity else { return false }
        switch identity.role {
        case .admin: return true
        case .state: return identity.jurisdiction?.code == request.state
        case .hospital: return identity.facilityID == request.facilityId
        }
    }

    static func readRequest(_ id: Int64, _ context: CommandContext) async throws -> StaffingRequest {
        let found = try await context.services.pool.withConnection { connection in try StaffingStore().request(connection, id: id) }
        guard let found, mayAccess(found, context) else {
            if context.identity?.role == .admin { throw CommandError.notFound("no staffing request \(id)") }
            throw CommandError.forbidden("staffing request \(id) is not yours")
        }
        return found
    }

    // MARK: Facilities

    static let createFacility = Command(
        name: "FACILITY.CREATE",
        usage: "FACILITY.CREATE {\"state\": code, \"name\": text, \"kind\": hospital|alternate_care_site|nursing_home|clinic, \"lat\": n, \"lon\": n, \"provides\": [token]}",
        summary: "Registers a facility in a state (a state token: its own).",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(body: .required),
        body: .async { request, context in
            let input = try RequestBody.parse(request, with: FacilityInput.parse)
            let state = input.state?.code
            let own = VolunteerCommands.scope(context)
            if let own, let state, state != own { throw CommandError.forbidden("a \(own) token registers \(own)'s facilities only") }
            guard let state = state ?? own else { throw CommandError.badRequest("state: required for an admin token") }
            let (identity, audit) = (context.identity, context.services.audit)
            let facility = try await context.services.pool.withTransaction { connection in
                let facility = try StaffingStore().createFacility(
                    connection, state: state, name: input.name, kind: input.kind, lat: input.lat, lon: input.lon,
                    provides: input.provides, by: identity)
                try audit.record(
                    connection, actor: identity, action: "facility.create", entity: "facility", entityID: facility.id,
                    state: state, before: nil, after: try PGJSON(encoding: facility))
                return facility
            }
            return CommandResult(.ok(JSONText.encode(facility)))
        })

    static let listFacilities = Command(
        name: "FACILITY.LIST", usage: "FACILITY.LIST [<state>]",
        summary: "Facilities (a state token: its own state's; a hospital token: its own).",
        access: everyone, arguments: CommandArguments(maxWords: 1),
        body: .async { request, context in
            let asked = try request.words.first.map { try EligibilityCommands.state($0) }
            let state = try VolunteerCommands.confinedState(asked: asked, context)
            var facilities = try await context.services.pool.withConnection { connection in
                try StaffingStore().facilities(connection, state: state)
            }
            if context.identity?.role == .hospital { facilities = facilities.filter { $0.id == context.identity?.facilityID } }
            return CommandResult(.rows(facilities.map { JSONText.encode($0) }, summary: JSONText.encode(["count": facilities.count])))
        })

    // MARK: Requests

    static let submit = Command(
        name: "REQUEST.SUBMIT",
        usage: "REQUEST.SUBMIT {\"facilityId\": n, \"profession\": p, \"skills\": [s], \"maxCredentialLevel\": 1-4, \"count\": n, \"start\": date, \"end\": date, \"priority\": 1-5, \"notes\": text}",
        summary: "Submits a staffing request for a facility (a hospital token: its own facility).",
        access: everyone, arguments: CommandArguments(body: .required),
        body: .async { request, context in
            let input = try RequestBody.parse(request, with: StaffingRequestInput.parse)
            let own = context.identity?.facilityID
            if let own, let given = input.facilityID, given != own {
                throw CommandError.forbidden("facilityId: a hospital token submits for its own facility (\(own)) only")
            }
            guard let facilityID = input.facilityID ?? own else { throw CommandError.badRequest("facilityId: required") }
            let (identity, audit) = (context.identity, context.services.audit)
            let scope = VolunteerCommands.scope(context)
            let created = try await context.services.pool.withTransaction { connection -> StaffingRequest in
                guard let facility = try StaffingStore().facility(connection, id: facilityID) else {
                    throw StaffingStoreError.facilityNotFound(facilityID)
                }
                if let scope, identity?.role == .state, facility.state != scope {
                    throw CommandError.forbidden("facility \(facilityID) is not in \(scope)")
                }
                let created = try StaffingStore().submit(connection, input, at: facility, by: identity)
                try audit.record(
                    connection, actor: identity, action: "request.submit", entity: "staffing_request", entityID: created.id,
                    state: created.state, before: nil, after: try PGJSON(encoding: created))
                return created
            }
            return CommandResult(.ok(JSONText.encode(created)))
        })

    static let getRequest = Command(
        name: "REQUEST.GET", usage: "REQUEST.GET <id>", summary: "One staffing request with its fill count.",
        access: everyone, arguments: CommandArguments(minWords: 1, maxWords: 1),
        body: .async { request, context in
            CommandResult(.ok(JSONText.encode(try await readRequest(try id(request), context))))
        })

    static let listRequests = Command(
        name: "REQUEST.LIST", usage: "REQUEST.LIST [{\"state\": code, \"facilityId\": n, \"open\": true}]",
        summary: "Staffing requests, newest first (a hospital: its own; a state: its state's).",
        access: everyone, arguments: CommandArguments(body: .optional),
        body: .async { request, context in
            var state: String?
            var facilityID: Int64?
            var openOnly = false
            try RequestBody.fields(request) { reader in
                if context.identity?.role != .hospital { state = try ReportCommands.reportState(&reader, context) }
                facilityID = reader.integer("facilityId", range: 1...Int.max).map(Int64.init)
                openOnly = reader.bool("open") ?? false
            }
            if context.identity?.role == .hospital { facilityID = context.identity?.facilityID }
            let (s, f, o) = (state, facilityID, openOnly)
            let requests = try await context.services.pool.withConnection { connection in
                try StaffingStore().requests(connection, state: s, facilityID: f, openOnly: o)
            }
            return CommandResult(.rows(requests.map { JSONText.encode($0) }, summary: JSONText.encode(["count": requests.count])))
        })

    static let cancel = Command(
        name: "REQUEST.CANCEL", usage: "REQUEST.CANCEL <id>",
        summary: "Cancels a request; its offers and bookings are released.",
        access: everyone, arguments: CommandArguments(minWords: 1, maxWords: 1),
        body: .async { request, context in
            let requestID = try id(request)
            let found = try await readRequest(requestID, context)
            let (identity, audit) = (context.identity, context.services.audit)
            let released = try await context.services.pool.withTransaction { connection in
                let released = try StaffingStore().cancel(connection, id: requestID)
                try StaffingStore().restoreAvailability(connection, volunteers: released.map(\.volunteerId))
                try audit.record(
                    connection, actor: identity, action: "request.cancel", entity: "staffing_request", entityID: requestID,
                    state: found.state, before: nil, after: try PGJSON(encoding: ["released": released.map(\.id)]))
                return released
            }
            // The volunteers it held may fill other requests.
            if !released.isEmpty { context.services.backfill.request(state: found.state) }
            return CommandResult(.ok(JSONText.encode(["id": requestID, "released": Int64(released.count)])))
        })

    // MARK: Matching

    static let match = Command(
        name: "MATCH.RUN", usage: "MATCH.RUN <state>|ALL [{\"dryRun\": true, \"offerHours\": 12}]",
        summary: "Runs an exact matching round for a state's open requests (ALL: every state with open requests, admin only) and writes the offers (dryRun: propose only).",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(minWords: 1, maxWords: 1, body: .optional),
        body: .async { request, context in
            var options = MatchRound.Options(offerHours: context.services.matching.offerHours)
            try RequestBody.fields(request) { reader in
                options.dryRun = reader.bool("dryRun") ?? false
                options.offerHours = reader.integer("offerHours", range: 1...24 * 14) ?? options.offerHours
            }
            let states: [String]
            if request.words[0] == "ALL" {
                guard context.identity?.role == .admin else {
                    throw CommandError.forbidden("MATCH.RUN ALL is for an admin token; a state token matches its own state")
                }
                states = try await context.services.pool.withConnection { connection in
                    try StaffingStore().statesWithOpenRequests(connection)
                }
            } else {
                let state = try EligibilityCommands.state(request.words[0])
                _ = try VolunteerCommands.confinedState(asked: state, context)
                states = [state]
            }
            // One round per state, each in its own transaction under its own lock.
            var offers: [MatchRound.Offer] = []
            var results: [MatchRound.Result] = []
            for state in states {
                let outcome = try await MatchRound.run(state: state, options: options, actor: context.identity, services: context.services)
                offers += outcome.offers
                results.append(outcome.result)
            }
            let summary = request.words[0] == "ALL" ? JSONText.encode(["rounds": results]) : JSONText.encode(results[0])
            return CommandResult(.rows(offers.map { JSONText.encode($0) }, summary: summary))
        })

    struct ShortageSummary: Encodable {
        let state: String
        let requestsOpen: Int
        let requestsShort: Int
        let slotsShort: Int
        let considered: Int
        let removedBy: ShortageCounts
    }

    static let shortage = Command(
        name: "SHORTAGE", usage: "SHORTAGE <state>",
        summary: "For each open request an optimal round would leave short: how many volunteers each filter rules out (nothing is written).",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(minWords: 1, maxWords: 1),
        body: .async { request, context in
            let state = try EligibilityCommands.state(request.words[0])
            _ = try VolunteerCommands.confinedState(asked: state, context)
            let options = MatchRound.Options(dryRun: true, offerHours: context.services.matching.offerHours, explain: true)
            let outcome = try await MatchRound.run(state: state, options: options, actor: context.identity, services: context.services)
            var total = ShortageCounts()
            for short in outcome.shortage { total.add(short.removedBy) }
            let summary = ShortageSummary(
                state: state, requestsOpen: outcome.result.requests, requestsShort: outcome.shortage.count,
                slotsShort: outcome.shortage.map(\.short).reduce(0, +), considered: outcome.result.volunteersConsidered,
                removedBy: total)
            return CommandResult(.rows(outcome.shortage.map { JSONText.encode($0) }, summary: JSONText.encode(summary)))
        })

    // MARK: Offers

    /// An offer as a reply; the volunteer's name and contact details only for those entitled to them.
    struct OfferView: Encodable {
        let id: Int64
        let requestId: Int64
        let facilityId: Int64
        let state: String
        let volunteerId: Int64
        let start: CalendarDate
        let end: CalendarDate
        let status: String
        let basis: String
        let conditions: [String]
        let distanceKm: Int
        let deadline: Date
        var volunteer: VolunteerContact?

        init(_ assignment: Assignment, contact: VolunteerContact?) {
            id = assignment.id
            requestId = assignment.requestId
            facilityId = assignment.facilityId
            state = assignment.state
            volunteerId = assignment.volunteerId
            start = assignment.start
            end = assignment.end
            status = assignment.status
            basis = assignment.basis
            conditions = assignment.conditions
            distanceKm = assignment.distanceKm
            deadline = assignment.deadline
            volunteer = contact
        }
    }

    static let listOffers = Command(
        name: "OFFER.LIST", usage: "OFFER.LIST [{\"requestId\": n, \"volunteerId\": n, \"active\": true}]",
        summary: "Offers and bookings, newest first (a hospital: on its requests, with contacts; a state: its requests and volunteers).",
        access: everyone, arguments: CommandArguments(body: .optional),
        body: .async { request, context in
            var requestID: Int64?
            var volunteerID: Int64?
            var activeOnly = false
            try RequestBody.fields(request) { reader in
                requestID = reader.integer("requestId", range: 1...Int.max).map(Int64.init)
                volunteerID = reader.integer("volunteerId", range: 1...Int.max).map(Int64.init)
                activeOnly = reader.bool("active") ?? false
            }
            let identity = context.identity!
            let (r, v, a) = (requestID, volunteerID, activeOnly)
            // A state sees offers on its requests and to its volunteers; a hospital those on its own requests.
            let state = identity.role == .state ? identity.jurisdiction?.code ?? "" : nil
            let facility = identity.role == .hospital ? identity.facilityID ?? -1 : nil
            let audit = context.services.audit
            let views = try await context.services.pool.withTransaction { connection in
                let views = try StaffingStore().assignments(
                    connection, requestID: r, volunteerID: v, state: state, facilityID: facility, activeOnly: a
                ).map { OfferView($0.assignment, contact: $0.contact) }
                // Names and contact details read by a hospital or a state are audited, one row per listing.
                let read = views.filter { $0.volunteer != nil }.map(\.volunteerId)
                if identity.role != .admin, !read.isEmpty {
                    try audit.record(
                        connection, actor: identity, action: "volunteer.contacts.read", entity: "assignment", entityID: nil,
                        state: identity.jurisdiction?.code, before: nil,
                        after: try PGJSON(encoding: ["volunteerIds": Array(Set(read)).sorted()]))
                }
                return views
            }
            return CommandResult(.rows(views.map { JSONText.encode($0) }, summary: JSONText.encode(["count": views.count])))
        })

    /// Who may move an offer to `target`.
    static func authorise(_ assignment: Assignment, to target: String, volunteerState: String?, _ context: CommandContext) throws {
        guard let identity = context.identity else { throw CommandError(.unauthenticated, "AUTH first") }
        switch (identity.role, target) {
        case (.admin, _): return
        case (.state, "accepted"), (.state, "declined"):
            if volunteerState == identity.jurisdiction?.code { return }
        case (.state, "released"):
            if assignment.state == identity.jurisdiction?.code || volunteerState == identity.jurisdiction?.code { return }
        case (.hospital, "confirmed"), (.hospital, "released"), (.hospital, "declined"):
            if assignment.facilityId == identity.facilityID { return }
        default: break
        }
        throw CommandError.forbidden("\(identity.role.rawValue) token may not make offer \(assignment.id) \(target)")
    }

    static func transition(_ name: String, to target: String, summary: String) -> Command {
        Command(
            name: name, usage: "\(name) <offer-id>", summary: summary, access: everyone,
            arguments: CommandArguments(minWords: 1, maxWords: 1),
            body: .async { request, context in
                let offerID = try id(request, "offer-id")
                let (identity, audit) = (context.identity, context.services.audit)
                let store = context.services.volunteers
                let changed = try await context.services.pool.withTransaction { connection -> Assignment in
                    guard let before = try StaffingStore().assignment(connection, id: offerID, forUpdate: true) else {
                        throw StaffingStoreError.assignmentNotFound(offerID)
                    }
                    let volunteerState = try store.get(connection, id: before.volunteerId, scope: nil)?.registeringState
                    try authorise(before, to: target, volunteerState: volunteerState, context)
                    let after = try StaffingStore().transition(connection, before, to: target)
                    try StaffingStore().updateVolunteerStatus(connection, after: after)
                    try audit.record(
                        connection, actor: identity, action: "assignment.\(target)", entity: "assignment", entityID: offerID,
                        state: after.state, before: try PGJSON(encoding: before), after: try PGJSON(encoding: after))
                    return after
                }
                // A freed slot is offered to the next best candidate by the state's next (backfill) round.
                if target == "declined" || target == "released" { context.services.backfill.request(state: changed.state) }
                return CommandResult(.ok(JSONText.encode(OfferView(changed, contact: nil))))
            })
    }

    static let accept = transition("OFFER.ACCEPT", to: "accepted", summary: "The volunteer's state accepts an offer on their behalf.")
    static let decline = transition("OFFER.DECLINE", to: "declined", summary: "Declines an offer (the volunteer's state, or the hospital); the slot reopens.")
    static let confirm = transition("OFFER.CONFIRM", to: "confirmed", summary: "The hospital confirms an accepted volunteer; they are deployed.")
    static let release = transition("OFFER.RELEASE", to: "released", summary: "Ends an offer or booking (at the end, or on cancellation).")
}
