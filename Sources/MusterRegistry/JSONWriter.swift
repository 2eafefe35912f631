import MusterCore

/// Compact JSON written directly, in exactly the form `JSONEncoder` gives with `.sortedKeys` and
/// `.withoutEscapingSlashes` (no spaces, slashes unescaped, whole doubles without `.0`), at a fraction of its cost.
/// Used for the hottest replies and for what a registration stores. The caller writes each object's keys in sorted
/// order; the writer puts the commas between members and elements.
public struct JSONWriter {
    /// What has been written.
    public private(set) var output = ""
    /// True right after `{` or `[` opened and before the first member or element: no comma is due.
    private var atStart = true

    public init(capacity: Int = 512) {
        output.reserveCapacity(capacity)
    }

    /// Appends text as it is (a number already formatted, a nested value already written).
    public mutating func raw(_ text: String) {
        output += text
        atStart = false
    }

    /// Opens an object; its members follow as `key` and a value, then `endObject`.
    public mutating func beginObject() {
        output += "{"
        atStart = true
    }

    public mutating func endObject() {
        output += "}"
        atStart = false
    }

    /// Appends an object key and its colon, after a comma unless it is the object's first.
    public mutating func key(_ name: StaticString) {
        if !atStart { output += "," }
        output += "\""
        output += name.description
        output += "\":"
        atStart = true
    }

    /// Appends a key that is not known until run time (a ref, say), escaped as a string is.
    public mutating func key(_ name: String) {
        if !atStart { output += "," }
        Self.appendQuoted(name, to: &output)
        output += ":"
        atStart = true
    }

    /// Appends a string, quoted and escaped as JSONEncoder escapes it.
    public mutating func string(_ value: String) {
        Self.appendQuoted(value, to: &output)
        atStart = false
    }

    /// Appends `null`.
    public mutating func null() {
        output += "null"
        atStart = false
    }

    /// Appends `true` or `false`.
    public mutating func bool(_ value: Bool) {
        output += value ? "true" : "false"
        atStart = false
    }

    /// Appends an integer.
    public mutating func int<T: BinaryInteger>(_ value: T) {
        output += String(value)
        atStart = false
    }

    /// Appends a double as JSONEncoder writes it: Swift's shortest exact form, without a trailing `.0`.
    ///
    /// - Precondition: the value is finite (JSON has no infinity or NaN).
    public mutating func double(_ value: Double) {
        precondition(value.isFinite, "JSON has no infinite or NaN numbers")
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        output += text
        atStart = false
    }

    /// Appends an object member: its key, then its value (a date as its `YYYY-MM-DD` string).
    public mutating func member(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    public mutating func member(_ name: StaticString, _ value: CalendarDate) {
        key(name)
        string(value.description)
    }

    public mutating func member(_ name: StaticString, _ value: some BinaryInteger) {
        key(name)
        int(value)
    }

    public mutating func member(_ name: StaticString, _ value: Double) {
        key(name)
        double(value)
    }

    public mutating func member(_ name: StaticString, _ value: Bool) {
        key(name)
        bool(value)
    }

    public mutating func member(_ name: StaticString, _ values: [String]) {
        key(name)
        strings(values)
    }

    /// Appends a member only when its value is present, as synthesised `Encodable` leaves a nil optional out.
    public mutating func optional(_ name: StaticString, _ value: String?) {
        if let value { member(name, value) }
    }

    public mutating func optional(_ name: StaticString, _ value: CalendarDate?) {
        if let value { member(name, value) }
    }

    public mutating func optional(_ name: StaticString, _ value: (some BinaryInteger)?) {
        if let value { member(name, value) }
    }

    public mutating func optional(_ name: StaticString, _ value: Double?) {
        if let value { member(name, value) }
    }

    public mutating func optional(_ name: StaticString, _ value: Bool?) {
        if let value { member(name, value) }
    }

    /// Appends an array of strings.
    public mutating func strings(_ values: [String]) {
        array(values) { json, value in json.string(value) }
    }

    /// Appends an array, each element written by `element`.
    public mutating func array<T>(_ values: [T], _ element: (inout JSONWriter, T) -> Void) {
        output += "["
        for (index, value) in values.enumerated() {
            if index > 0 { output += "," }
            element(&self, value)
        }
        output += "]"
        atStart = false
    }

    /// Appends `value` as a JSON string literal: quotes, backslashes and control characters escaped (the short forms
    /// where JSON has them, else `\u00XX`), everything else as it is.
    public static func appendQuoted(_ value: String, to output: inout String) {
        output += "\""
        // Almost every string needs no escaping: one pass over its bytes says so, and it is then appended whole.
        let plain =
            value.utf8.withContiguousStorageIfAvailable { bytes in
                !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
            } ?? false
        if plain {
            output += value
        } else {
            appendEscaped(value, to: &output)
        }
        output += "\""
    }

    private static func appendEscaped(_ value: String, to output: inout String) {
        let utf8 = value.utf8
        var plainStart = utf8.startIndex
        var index = plainStart
        while index != utf8.endIndex {
            let byte = utf8[index]
            let escape: String?
            switch byte {
            case UInt8(ascii: "\""): escape = "\\\""
            case UInt8(ascii: "\\"): escape = "\\\\"
            case 0x0A: escape = "\\n"
            case 0x0D: escape = "\\r"
            case 0x09: escape = "\\t"
            case 0x08: escape = "\\b"
            case 0x0C: escape = "\\f"
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                escape = "\\u00" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]], as: UTF8.self)
            default: escape = nil
            }
            if let escape {
                output += String(value[plainStart..<index])
                output += escape
                plainStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        output += String(value[plainStart..<utf8.endIndex])
    }
}
