extension JSONValue {
    /// The value as compact JSON text with object keys sorted, so equal values give equal text.
    ///
    /// Written directly rather than through `JSONEncoder`, which is several times slower on a value tree; a bulk
    /// import writes one of these per row. A non-integer number is written in Swift's shortest exact form, always
    /// with a fraction or exponent so it reads back as a number and not an integer. Every value this writes parses
    /// back (`JSONValue.parse`) to an equal value.
    ///
    /// - Precondition: no number is infinite or NaN (`parse` never makes one).
    public var jsonText: String {
        var out = ""
        write(into: &out)
        return out
    }

    /// Appends `jsonText` to `out`.
    public func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .integer(let number): out += String(number)
        case .number(let number):
            precondition(number.isFinite, "JSON has no infinite or NaN numbers")
            let text = String(number)
            out += text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? text : text + ".0"
        case .string(let text): JSONWriter.appendQuoted(text, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                JSONWriter.appendQuoted(key, to: &out)
                out += ":"
                members[key]!.write(into: &out)
            }
            out += "}"
        }
    }
}

extension JSONValue {
    /// The same JSON text without whitespace between tokens: every token, and the order of object keys, kept. For
    /// text made elsewhere (PostgreSQL's `json_build_object` writes `{"type" : "offer", "id" : 7}`) that goes out
    /// in the protocol's compact form, `{"type":"offer","id":7}`.
    ///
    /// Whitespace inside strings stays. Meant for text that parses (`JSONValue.parse`); other text gets the same
    /// treatment and is not checked.
    public static func compacting(_ text: String) -> String {
        var utf8 = Array(text.utf8)
        var kept = 0
        var inString = false
        var escaped = false
        for index in utf8.indices {
            let byte = utf8[index]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
                || byte == UInt8(ascii: "\r")
            {
                continue
            }
            utf8[kept] = byte
            kept += 1
        }
        if kept == utf8.count { return text }
        return String(decoding: utf8[..<kept], as: UTF8.self)
    }
}
