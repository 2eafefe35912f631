import Foundation

/// A parsed JSON value that keeps the distinction between booleans, integers and other numbers, so validation can
/// say exactly what was wrong with a field.
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses a JSON document; the error says where it is malformed.
    public static func parse(_ text: String) throws(FieldErrors) -> JSONValue {
        do {
            return try JSONParser.parse(text)
        } catch {
            throw FieldErrors([FieldError("body", "malformed JSON: \(error.message) at byte \(error.offset + 1)")])
        }
    }

    /// A name for the value's type, for messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSONValue {
    /// Applies a JSON merge patch (RFC 7386): objects merge key by key, `null` removes a key, anything else
    /// replaces.
    public func merging(patch: JSONValue) -> JSONValue {
        guard case .object(let changes) = patch else { return patch }
        var base: [String: JSONValue]
        if case .object(let object) = self { base = object } else { base = [:] }
        for (key, change) in changes {
            if change == .null {
                base.removeValue(forKey: key)
            } else {
                base[key] = (base[key] ?? .null).merging(patch: change)
            }
        }
        return .object(base)
    }

    /// Encodes any `Encodable` value into a `JSONValue`.
    public static func from(_ value: some Encodable) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }
}

extension JSONValue: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
