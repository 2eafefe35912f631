import MusterProtocol

/// An error a command reports to its client as `ERR <code> <message>`.
///
/// Commands throw these for every failure the client should understand; anything else that escapes a command
/// is mapped in one place (`ErrorMapping`) so that no internal detail leaks.
public struct CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: ErrorCode
    public let message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func badRequest(_ message: String) -> CommandError { CommandError(.badRequest, message) }
    public static func forbidden(_ message: String) -> CommandError { CommandError(.forbidden, message) }
    public static func notFound(_ message: String) -> CommandError { CommandError(.notFound, message) }
    public static func conflict(_ message: String) -> CommandError { CommandError(.conflict, message) }

    public var description: String { "\(code.rawValue) \(message)" }
}
