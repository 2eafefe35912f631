import Foundation
import MusterCore

/// One invalid field: its path (`licenses[1].status`) and the rule it broke (`unknown value "actve"`).
public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let rule: String

    public init(_ field: String, _ rule: String) {
        self.field = field
        self.rule = rule
    }

    public var description: String { "\(field): \(rule)" }
}

/// Every invalid field of one input, in the order found.
public struct FieldErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [FieldError]

    public init(_ errors: [FieldError]) { self.errors = errors }

    /// All errors, `; `-separated (at most 20, then a count of the rest).
    public var description: String {
        let shown = errors.prefix(20).map(\.description).joined(separator: "; ")
        return errors.count > 20 ? shown + "; and \(errors.count - 20) more" : shown
    }
}

/// Reads the fields of one JSON object, collecting errors with their paths, and rejecting fields it was not asked
/// about (unknown fields are errors, never silently ignored).
public struct ObjectReader {
    public let path: String
    private let object: [String: JSONValue]
    private var read: Set<String> = []
    private(set) var errors: [FieldError] = []

    /// Reads `value` as an object at `path`; a non-object records an error and reads as empty.
    public init(_ value: JSONValue?, path: String, errors: inout [FieldError]) {
        self.path = path
        if case .object(let object) = value {
            self.object = object
        } else {
            self.object = [:]
            if let value { errors.append(FieldError(path.isEmpty ? "body" : path, "expected an object, got \(value.typeName)")) }
        }
    }

    public func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public mutating func fail(_ key: String, _ rule: String) {
        errors.append(FieldError(fieldPath(key), rule))
    }

    /// The raw value; nil when absent or null.
    public mutating func value(_ key: String) -> JSONValue? {
        read.insert(key)
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    public mutating func has(_ key: String) -> Bool {
        guard let value = object[key] else { return false }
        return value != .null
    }

    public mutating func string(_ key: String, required: Bool = false, maxLength: Int = 200) -> String? {
        guard let value = value(key) else {
            if required { fail(key, "required") }
            return nil
        }
        guard case .string(let text) = value else {
            fail(key, "expected a string, got \(value.typeName)")
            return nil
        }
        let trimmed = text.trimmingWhitespace
        if trimmed.isEmpty {
            if required { fail(key, "must not be empty") }
            return nil
        }
        // A character is at least one byte, so only a longer byte count can be too many characters.
        if trimmed.utf8.count > maxLength, trimmed.count > maxLength {
            fail(key, "longer than \(maxLength) characters")
            return nil
        }
        return trimmed
    }

    public mutating func integer(_ key: String, required: Bool = false, range: ClosedRange<Int>) -> Int? {
        guard let value = value(key) else {
            if required { fail(key, "required") }
            return nil
        }
        guard case .integer(let number) = value else {
            fail(key, "expected a whole number, got \(value.typeName)")
            return nil
        }
        guard let int = Int(exactly: number), range.contains(int) else {
            fail(key, "must be from \(range.lowerBound) to \(range.upperBound), got \(number)")
            return nil
        }
        return int
    }

    public mutating func number(_ key: String, required: Bool = false, range: ClosedRange<Double>) -> Double? {
        guard let value = value(key) else {
            if required { fail(key, "required") }
            return nil
        }
        let number: Double
        switch value {
        case .integer(let int): number = Double(int)
        case .number(let double): number = double
        default:
            fail(key, "expected a number, got \(value.typeName)")
            return nil
        }
        guard range.contains(number) else {
            fail(key, "must be from \(range.lowerBound) to \(range.upperBound), got \(number)")
            return nil
        }
        return number
    }

    public mutating func bool(_ key: String, required: Bool = false) -> Bool? {
        guard let value = value(key) else {
            if required { fail(key, "required") }
            return nil
        }
        guard case .bool(let flag) = value else {
            fail(key, "expected true or false, got \(value.typeName)")
            return nil
        }
        return flag
    }

    public mutating func date(_ key: String, required: Bool = false) -> CalendarDate? {
        guard let text = string(key, required: required, maxLength: 10) else { return nil }
        guard let date = CalendarDate(text) else {
            fail(key, "expected a date YYYY-MM-DD, got \"\(text)\"")
            return nil
        }
        return date
    }

    /// A value from a fixed vocabulary.
    public mutating func token<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type, required: Bool = false) -> T?
    where T.RawValue == String {
        guard let text = string(key, required: required, maxLength: 64) else { return nil }
        guard let value = T(rawValue: text) else {
            fail(key, "unknown value \"\(text)\" (expected one of \(T.allCases.map(\.rawValue).joined(separator: ", ")))")
            return nil
        }
        return value
    }

    /// An array whose elements are read by `element` with their index in the path.
    public mutating func array<T>(
        _ key: String, maxCount: Int, _ element: (JSONValue, String, inout [FieldError]) -> T?
    ) -> [T]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else {
            fail(key, "expected an array, got \(value.typeName)")
            return nil
        }
        guard items.count <= maxCount else {
            fail(key, "at most \(maxCount) entries, got \(items.count)")
            return nil
        }
        var result: [T] = []
        for (index, item) in items.enumerated() {
            if let parsed = element(item, "\(fieldPath(key))[\(index)]", &errors) { result.append(parsed) }
        }
        return result
    }

    /// A nested object, read by `body`; its errors join ours.
    public mutating func object<T>(_ key: String, required: Bool = false, _ body: (inout ObjectReader) -> T?) -> T? {
        guard let value = value(key) else {
            if required { fail(key, "required") }
            return nil
        }
        var nested = ObjectReader(value, path: fieldPath(key), errors: &errors)
        guard case .object = value else { return nil }
        let result = body(&nested)
        errors += nested.finish()
        return result
    }

    /// Errors so far plus one for every field present but never read.
    public func finish() -> [FieldError] {
        var all = errors
        for key in object.keys.sorted() where !read.contains(key) {
            all.append(FieldError(fieldPath(key), "unknown field"))
        }
        return all
    }
}
