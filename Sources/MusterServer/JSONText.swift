import Foundation

/// JSON for reply payloads: compact, keys sorted, so replies are stable and easy to compare.
public enum JSONText {
    /// One encoder for every reply: its settings never change after this, and encoding is safe from any thread.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    /// Encodes a value as one line of JSON.
    public static func encode(_ value: some Encodable) -> String {
        // Encoding our own reply types cannot fail; if it ever does, say so rather than send a broken line.
        guard let data = try? encoder.encode(value) else { return "{\"error\":\"unencodable reply\"}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Marks an optional reply field that must always be present, as `null` when empty.
///
/// Synthesised `Encodable` leaves nil optionals out; reply objects instead always carry every key, so clients can
/// tell "none" from "not sent".
@propertyWrapper
public struct ExplicitNull<Value: Encodable>: Encodable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension ExplicitNull: Sendable where Value: Sendable {}
