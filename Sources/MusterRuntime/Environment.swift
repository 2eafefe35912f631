import ArgumentParser
import Foundation
import Logging

/// Reads option values that may come from flags or from `MUSTER_*` environment variables (flags win).
public struct Environment {
    let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    func value(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// A non-empty variable's value.
    public func string(_ name: String) -> String? { value(name) }

    /// True when the variable is `1`, `true` or `yes`.
    public func flag(_ name: String) -> Bool {
        guard let value = value(name)?.lowercased() else { return false }
        return ["1", "true", "yes"].contains(value)
    }

    /// A positive integer from a flag, else the variable, else the default.
    public func positive(_ flag: Int?, _ variable: String, default fallback: Int, name: String) throws -> Int {
        try positive(flag, variable, name: name) ?? fallback
    }

    /// A positive integer from a flag, else the variable; nil when neither is set.
    public func positive(_ flag: Int?, _ variable: String, name: String) throws -> Int? {
        if let flag {
            guard flag > 0 else { throw ValidationError("\(name) must be a positive whole number, got \(flag)") }
            return flag
        }
        guard let text = value(variable) else { return nil }
        guard let number = Int(text), number > 0 else {
            throw ValidationError("\(variable) must be a positive whole number, got \"\(text)\"")
        }
        return number
    }

    /// The log level from a flag or `MUSTER_LOG_LEVEL`.
    public func logLevel(_ flag: String?) throws -> Logger.Level {
        guard let text = flag ?? value("MUSTER_LOG_LEVEL") else { return .info }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError(
                "log level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
        }
        return level
    }

    /// `HOST:PORT` from a flag or `MUSTER_LISTEN`; an IPv6 host goes in brackets (`[::1]:7878`).
    public func listenAddress(_ flag: String?) throws -> (host: String, port: Int) {
        guard let text = flag ?? value("MUSTER_LISTEN") else { return ("127.0.0.1", 7878) }
        return try Self.parseHostPort(text, what: "listen address")
    }

    /// Parses `HOST:PORT` or `[V6]:PORT`.
    public static func parseHostPort(_ text: String, what: String) throws -> (host: String, port: Int) {
        var host: Substring
        var portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw ValidationError("\(what) \"\(text)\": expected [HOST]:PORT") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ValidationError("\(what) \"\(text)\": expected HOST:PORT, e.g. 127.0.0.1:7878")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw ValidationError("\(what) \"\(text)\": the host is empty") }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ValidationError("\(what) \"\(text)\": the port must be a number from 0 to 65535")
        }
        return (String(host), port)
    }
}
