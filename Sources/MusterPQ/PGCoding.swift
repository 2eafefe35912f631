import Foundation
import MusterCore

/// A Swift value that can be sent to PostgreSQL as a text-format parameter.
public protocol PGEncodable: Sendable {
    /// The value in PostgreSQL's text input syntax for its type.
    var pgText: String { get }
}

/// A Swift value that can be read from a text-format result column.
public protocol PGDecodable: Sendable {
    /// Decodes a non-NULL column value.
    static func pgDecode(_ text: String) throws -> Self
    /// The value for SQL NULL; by default a decoding error.
    static func pgDecodeNull() throws -> Self
}

extension PGDecodable {
    public static func pgDecodeNull() throws -> Self {
        throw PGError(.decoding, message: "unexpected NULL for \(Self.self)")
    }
}

func decodingError<T>(_ text: String, as type: T.Type) -> PGError {
    PGError(.decoding, message: "cannot decode \(T.self) from \"\(text.prefix(64))\"")
}

extension Optional: PGDecodable where Wrapped: PGDecodable {
    public static func pgDecode(_ text: String) throws -> Self { try Wrapped.pgDecode(text) }
    public static func pgDecodeNull() throws -> Self { nil }
}

extension String: PGEncodable, PGDecodable {
    public var pgText: String { self }
    public static func pgDecode(_ text: String) throws -> String { text }
}

extension Substring: PGEncodable {
    public var pgText: String { String(self) }
}

extension Int: PGEncodable, PGDecodable {
    public var pgText: String { String(self) }
    public static func pgDecode(_ text: String) throws -> Int {
        guard let value = Int(text) else { throw decodingError(text, as: Int.self) }
        return value
    }
}

extension Int64: PGEncodable, PGDecodable {
    public var pgText: String { String(self) }
    public static func pgDecode(_ text: String) throws -> Int64 {
        guard let value = Int64(text) else { throw decodingError(text, as: Int64.self) }
        return value
    }
}

extension Int32: PGEncodable, PGDecodable {
    public var pgText: String { String(self) }
    public static func pgDecode(_ text: String) throws -> Int32 {
        guard let value = Int32(text) else { throw decodingError(text, as: Int32.self) }
        return value
    }
}

extension Int16: PGEncodable, PGDecodable {
    public var pgText: String { String(self) }
    public static func pgDecode(_ text: String) throws -> Int16 {
        guard let value = Int16(text) else { throw decodingError(text, as: Int16.self) }
        return value
    }
}

extension Bool: PGEncodable, PGDecodable {
    public var pgText: String { self ? "t" : "f" }
    public static func pgDecode(_ text: String) throws -> Bool {
        switch text {
        case "t", "true": return true
        case "f", "false": return false
        default: throw decodingError(text, as: Bool.self)
        }
    }
}

extension Double: PGEncodable, PGDecodable {
    public var pgText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self > 0 ? "Infinity" : "-Infinity" }
        return String(self)
    }
    public static func pgDecode(_ text: String) throws -> Double {
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let value = Double(text) else { throw decodingError(text, as: Double.self) }
            return value
        }
    }
}

extension UUID: PGEncodable, PGDecodable {
    public var pgText: String { uuidString.lowercased() }
    public static func pgDecode(_ text: String) throws -> UUID {
        guard let value = UUID(uuidString: text) else { throw decodingError(text, as: UUID.self) }
        return value
    }
}

extension CalendarDate: PGEncodable, PGDecodable {
    public var pgText: String { description }
    public static func pgDecode(_ text: String) throws -> CalendarDate {
        guard let value = CalendarDate(text) else { throw decodingError(text, as: CalendarDate.self) }
        return value
    }
}

/// `timestamptz` values. Connections run with `TimeZone=UTC` and `DateStyle=ISO`, so the server writes
/// `YYYY-MM-DD HH:MM:SS[.ffffff]+00`; offsets other than UTC are accepted too.
extension Date: PGEncodable, PGDecodable {
    public var pgText: String {
        let micros = (timeIntervalSince1970 * 1_000_000).rounded()
        var seconds = Int((micros / 1_000_000).rounded(.down))
        let fraction = Int(micros - Double(seconds) * 1_000_000)
        let day = CalendarDate(daysSinceEpoch: Int((Double(seconds) / 86_400).rounded(.down)))
        seconds -= day.daysSinceEpoch * 86_400
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(day) \(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))"
            + ".\(pad(fraction, 6))+00"
    }

    public static func pgDecode(_ text: String) throws -> Date {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19, let day = CalendarDate(String(decoding: bytes[0..<10], as: UTF8.self)),
            bytes[10] == UInt8(ascii: " ") || bytes[10] == UInt8(ascii: "T")
        else { throw decodingError(text, as: Date.self) }
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let hour = digits(11..<13), let minute = digits(14..<16), let second = digits(17..<19) else {
            throw decodingError(text, as: Date.self)
        }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            guard bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-"),
                let offsetHours = digits(index + 1..<index + 3)
            else { throw decodingError(text, as: Date.self) }
            var offsetMinutes = 0
            if index + 3 < bytes.count {
                guard bytes[index + 3] == UInt8(ascii: ":"), let minutes = digits(index + 4..<index + 6) else {
                    throw decodingError(text, as: Date.self)
                }
                offsetMinutes = minutes
            }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        }
        let whole = day.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(whole) + fraction)
    }
}

/// `bytea`, in the server's hex output format.
public struct PGBytes: PGEncodable, PGDecodable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var pgText: String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 2 + bytes.count * 2)
        out[0] = UInt8(ascii: "\\")
        out[1] = UInt8(ascii: "x")
        for (index, byte) in bytes.enumerated() {
            out[2 + index * 2] = hex[Int(byte >> 4)]
            out[3 + index * 2] = hex[Int(byte & 0xF)]
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func pgDecode(_ text: String) throws -> PGBytes {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else {
            throw decodingError(text, as: PGBytes.self)
        }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else {
                throw decodingError(text, as: PGBytes.self)
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return PGBytes(bytes)
    }
}

/// A `json`/`jsonb` value carried as its text; decode it with `decode(_:)`.
public struct PGJSON: PGEncodable, PGDecodable, Hashable {
    public var text: String
    public init(text: String) { self.text = text }

    /// Encodes a value with `JSONEncoder`.
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public var pgText: String { text }
    public static func pgDecode(_ text: String) throws -> PGJSON { PGJSON(text: text) }

    /// Decodes the JSON text into a `Decodable` type.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw PGError(.decoding, message: "cannot decode \(T.self) from json: \(error)")
        }
    }
}

/// One-dimensional arrays in PostgreSQL's text syntax: `{a,"b c",NULL}`.
extension Array: PGEncodable where Element: PGEncodable {
    public var pgText: String {
        var out = "{"
        for (index, element) in enumerated() {
            if index > 0 { out += "," }
            out += "\""
            for character in element.pgText.unicodeScalars {
                if character == "\"" || character == "\\" { out += "\\" }
                out.unicodeScalars.append(character)
            }
            out += "\""
        }
        return out + "}"
    }
}

extension Array: PGDecodable where Element: PGDecodable {
    public static func pgDecode(_ text: String) throws -> [Element] {
        try PGArrayParser.elements(of: text).map { element in
            if let element { return try Element.pgDecode(element) }
            return try Element.pgDecodeNull()
        }
    }
}

/// Splits a one-dimensional PostgreSQL array literal into its elements (nil for NULL).
enum PGArrayParser {
    static func elements(of text: String) throws -> [String?] {
        var scalars = Array(text.unicodeScalars)
        // An explicit lower bound prefix such as `[0:2]={...}` is skipped.
        if scalars.first == "[", let equals = scalars.firstIndex(of: "=") {
            scalars.removeSubrange(0...equals)
        }
        guard scalars.first == "{", scalars.last == "}" else { throw decodingError(text, as: [String].self) }
        var result: [String?] = []
        var index = 1
        let end = scalars.count - 1
        if index == end { return [] }
        while index <= end {
            var element = String.UnicodeScalarView()
            var quoted = false
            if scalars[index] == "{" {
                throw PGError(.decoding, message: "multi-dimensional arrays are not supported")
            }
            if scalars[index] == "\"" {
                quoted = true
                index += 1
                while index < end, scalars[index] != "\"" {
                    if scalars[index] == "\\" { index += 1 }
                    guard index < end else { throw decodingError(text, as: [String].self) }
                    element.append(scalars[index])
                    index += 1
                }
                guard index < end else { throw decodingError(text, as: [String].self) }
                index += 1  // closing quote
            } else {
                while index < end, scalars[index] != "," {
                    element.append(scalars[index])
                    index += 1
                }
            }
            let value = String(element)
            result.append(!quoted && value.uppercased() == "NULL" ? nil : value)
            if index < end {
                guard scalars[index] == "," else { throw decodingError(text, as: [String].self) }
                index += 1
            } else {
                break
            }
        }
        return result
    }
}
