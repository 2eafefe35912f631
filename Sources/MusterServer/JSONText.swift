import Foundation

/// JSON for reply payloads: compact, keys sorted, so replies are stable and easy to compare.
public enum JSONText {
    /// Encodes a value as one line of JSON.
    public static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Encoding our own reply types cannot fail; if it ever does, say so rather than send a broken line.
        guard let data = try? encoder.encode(value) else { return "{\"error\":\"unencodable reply\"}" }
        return String(decoding: data, as: UTF8.self)
    }
}
