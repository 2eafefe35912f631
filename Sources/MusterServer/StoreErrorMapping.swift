import MusterPQ
import MusterStore

/// A store refusal whose protocol error does not depend on who asked; `ErrorMapping` turns it into its reply, so
/// commands need no wrapper of their own. (`VolunteerStoreError` is not one: its message depends on the caller's
/// scope, so the registry commands map it themselves.)
protocol ClientFacingError: Error {
    var commandError: CommandError { get }
}

extension OrderStoreError: ClientFacingError {
    var commandError: CommandError {
        switch self {
        case .notFound(let id): .notFound("no instrument \(id)")
        case .versionNotFound(let id, let version): .notFound("instrument \(id) has no version \(version)")
        case .rescindBeforeEffective(let id, let from):
            .badRequest("date: \(id) took effect on \(from); a rescission must be after that")
        case .alreadyEnded(let id, let lastDay):
            .conflict("\(id) was last in force on \(lastDay); it cannot be rescinded later than that")
        }
    }
}

extension StaffingStoreError: ClientFacingError {
    var commandError: CommandError {
        switch self {
        case .facilityNotFound(let id): .notFound("no facility \(id)")
        case .requestNotFound(let id): .notFound("no staffing request \(id)")
        case .assignmentNotFound(let id): .notFound("no offer \(id)")
        case .invalidTransition(let id, let from, let to): .conflict("offer \(id) is \(from); it cannot become \(to)")
        case .requestCancelled(let id): .conflict("staffing request \(id) is cancelled")
        }
    }
}
