import Foundation
import Logging
import MusterPQ
import MusterProtocol

/// Turns any error that escaped a command into the reply the client gets. The one place where internal errors
/// become protocol errors: database outages become `UNAVAILABLE`, anything unexpected becomes `INTERNAL` with an
/// id that is also logged, and no SQL, SQLSTATE text or data ever reaches the client.
enum ErrorMapping {
    static func reply(for error: any Error, verb: String, logger: Logger) -> Reply {
        switch error {
        case let error as CommandError:
            return .error(error.code, error.message)
        case let error as any ClientFacingError:
            return .error(error.commandError.code, error.commandError.message)
        case let error as PGError where error.kind == .exclusionViolation && error.constraint == "assignments_no_double_booking":
            return .error(.conflict, "the volunteer is already booked for overlapping dates")
        case let error as PGError where error.isUnavailable:
            logger.warning("database unavailable", metadata: ["command": "\(verb)", "error": "\(error.debugDescription)"])
            return .error(.unavailable, "the database is unavailable; nothing was changed unless a later check shows it, try again")
        case let error as PGError where error.kind == .serializationFailure || error.kind == .deadlockDetected:
            logger.warning("transaction conflict persisted", metadata: ["command": "\(verb)", "sqlstate": "\(error.sqlState ?? "")"])
            return .error(.unavailable, "the database was too busy with conflicting changes; nothing was changed, try again")
        case let error as PGError where error.kind == .queryCanceled:
            logger.warning("statement timed out", metadata: ["command": "\(verb)"])
            return .error(.unavailable, "the database took too long; nothing was changed, try again")
        case is CancellationError:
            return .error(.unavailable, "the server is shutting down; try again")
        default:
            let id = UUID().uuidString.prefix(8).lowercased()
            logger.error(
                "internal error", metadata: ["command": "\(verb)", "error-id": "\(id)", "error": "\(String(reflecting: error))"])
            return .error(.internalError, "internal error \(id); the server log has the details")
        }
    }
}
