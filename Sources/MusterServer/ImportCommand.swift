import Foundation
import MusterCore
import MusterPQ
import MusterProtocol
import MusterRegistry
import MusterStore

/// `VOLUNTEER.IMPORT`: many registrations in one request and one transaction, each row standing alone (a bad row
/// is reported and skipped; the good rows of the batch commit together, written with set-based statements). Idempotent by `ref` like
/// `VOLUNTEER.REGISTER`, so a re-sent batch creates nothing new.
enum ImportCommand {
    struct RowOutcome: Encodable {
        let line: Int
        @ExplicitNull var id: Int64?
        @ExplicitNull var created: Bool?
        let errors: [Problem]
    }

    struct Problem: Encodable {
        let field: String
        let rule: String
    }

    struct Totals: Encodable {
        let created: Int
        let existing: Int
        let failed: Int
    }

    static let command = Command(
        name: "VOLUNTEER.IMPORT", usage: "VOLUNTEER.IMPORT {\"rows\": [{\"line\": n, \"registration\": {…}}]}",
        summary: "Registers up to 1000 volunteers in one transaction; one ROW per row (id, or errors), bad rows skipped.",
        access: VolunteerCommands.stateRoles, arguments: CommandArguments(body: .required),
        body: .async { request, context in
            let envelope = try RequestBody.parse(request, with: ImportEnvelope.parse)
            var registering = context.identity?.jurisdiction
            if let asked = envelope.registeringState {
                if let own = registering, own != asked {
                    throw CommandError.forbidden("a \(own.code) token registers volunteers in \(own.code) only")
                }
                registering = asked
            }
            let rows = envelope.rows
            guard let state = registering else { throw CommandError.badRequest("registeringState: required for an admin token") }

            let today = context.services.today()
            // One outcome per row sent, in the order sent (lines need not be unique or sorted).
            var outcomes: [RowOutcome?] = Array(repeating: nil, count: rows.count)
            var valid: [(position: Int, line: Int, profile: VolunteerProfile)] = []
            for (position, row) in rows.enumerated() {
                let (line, registration) = (row.line, row.registration)
                do throws(FieldErrors) {
                    valid.append((position, line, try VolunteerProfile.parse(registration, today: today)))
                } catch {
                    outcomes[position] = RowOutcome(line: line, errors: error.errors.map { Problem(field: $0.field, rule: $0.rule) })
                }
            }
            let identity = context.identity!
            let store = context.services.volunteers
            let pool = context.services.pool
            @Sendable func register(_ rows: [(position: Int, line: Int, profile: VolunteerProfile)]) async throws -> [(Int, RowOutcome)] {
                try await pool.withTransaction { connection -> [(Int, RowOutcome)] in
                    let results = try store.registerBatch(connection, profiles: rows.map(\.profile), state: state, actor: identity)
                    return zip(rows, results).map { row, result in
                        switch result {
                        case .success(let registered):
                            return (row.position, RowOutcome(line: row.line, id: registered.id, created: registered.created, errors: []))
                        case .failure(let refusal):
                            return (row.position, RowOutcome(line: row.line, errors: [problem(refusal)]))
                        }
                    }
                }
            }
            let stored = try await togetherOrEachAlone(valid, register) { row, error in
                let reply = ErrorMapping.reply(for: error, verb: "VOLUNTEER.IMPORT", logger: context.logger)
                let message: String
                if case .error(_, let text) = reply { message = text } else { message = "refused by the database" }
                return (row.position, RowOutcome(line: row.line, errors: [Problem(field: "row", rule: message)]))
            }
            for (position, outcome) in stored { outcomes[position] = outcome }
            context.services.announcer.announce(stored.compactMap { _, outcome in
                guard outcome.created == true, let id = outcome.id else { return nil }
                return RegisteredVolunteer(id: id, state: state.code)
            })
            let ordered = outcomes.compactMap { $0 }
            let totals = Totals(
                created: ordered.filter { $0.created == true }.count, existing: ordered.filter { $0.created == false }.count,
                failed: ordered.filter { !$0.errors.isEmpty }.count)
            return CommandResult(.rows(ordered.map { JSONText.encode($0) }, summary: JSONText.encode(totals)))
        })

    static func problem(_ refusal: VolunteerStoreError) -> Problem {
        switch refusal {
        case .refConflict(let id, let fields):
            return Problem(field: "ref", rule: "registered before as volunteer \(id) with different content: \(fields.joined(separator: ", "))")
        case .duplicate(let id, let state, let reason):
            return Problem(field: "row", rule: "duplicate of volunteer \(id) registered in \(state) (\(reason))")
        default:
            return Problem(field: "row", rule: "\(refusal)")
        }
    }
}
