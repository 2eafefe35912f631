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
