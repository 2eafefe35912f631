/// Compact JSON written by hand for the hottest replies, in exactly the form `JSONText.encode` gives (no spaces,
/// keys in sorted order, slashes unescaped), at a fraction of JSONEncoder's cost. The caller writes the keys of
/// each object in sorted order.
public struct JSONWriter {
    /// What has been written.
    public private(set) var output = ""

    public init(capacity: Int = 512) {
        output.reserveCapacity(capacity)
    }

    /// Appends text as it is (punctuation, `null`).
    public mutating func raw(_ text: String) {
        output += text
    }

    /// Appends an object key and its colon, after a comma unless it is the object's first.
    public mutating func key(_ name: StaticString, first: Bool = false) {
        if !first { output += "," }
        output += "\""
        output += name.description
        output += "\":"
    }

    /// Appends a string, quoted and escaped as JSONEncoder escapes it.
    public mutating func string(_ value: String) {
        output += "\""
        var plainStart = value.utf8.startIndex
        var index = plainStart
        let utf8 = value.utf8
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
        output += "\""
    }

    /// Appends `true` or `false`.
    public mutating func bool(_ value: Bool) {
        output += value ? "true" : "false"
    }

    /// Appends an integer.
    public mutating func int<T: BinaryInteger>(_ value: T) {
        output += String(value)
    }

    /// Appends an array of strings.
    public mutating func strings(_ values: [String]) {
        output += "["
        for (index, value) in values.enumerated() {
            if index > 0 { output += "," }
            string(value)
        }
        output += "]"
    }

    /// Appends an array, each element written by `element`.
    public mutating func array<T>(_ values: [T], _ element: (inout JSONWriter, T) -> Void) {
        output += "["
        for (index, value) in values.enumerated() {
            if index > 0 { output += "," }
            element(&self, value)
        }
        output += "]"
    }
}
