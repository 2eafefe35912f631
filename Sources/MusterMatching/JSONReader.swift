/// A strict, allocation-light JSON tokenizer over a byte buffer (RFC 8259): it reads one
/// token at a time on demand, so the instance decoder can check the schema while it scans and
/// never builds a generic JSON tree. Errors carry the byte offset; line and column are worked
/// out only when an error is reported.
struct JSONReader {
    let base: UnsafePointer<UInt8>
    let count: Int
    var pos: Int = 0
    /// Scratch space for strings with escapes.
    var scratch: [UInt8] = []

    init(_ buffer: UnsafeBufferPointer<UInt8>) {
        // An empty buffer has no base address; point at a harmless static byte instead.
        base = buffer.baseAddress ?? JSONReader.emptyBase
        count = buffer.count
    }

    nonisolated(unsafe) private static let emptyBase: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    // MARK: errors

    /// 1-based line and byte column of `offset`.
    func lineColumn(_ offset: Int) -> (Int, Int) {
        var line = 1, lineStart = 0
        var i = 0
        let end = min(offset, count)
        while i < end {
            if base[i] == 0x0A { line += 1; lineStart = i + 1 }
            i += 1
        }
        return (line, end - lineStart + 1)
    }

    func error(_ kind: MatchInstanceError.Kind, _ message: String, at offset: Int? = nil) -> MatchInstanceError {
        let (l, c) = lineColumn(offset ?? pos)
        return MatchInstanceError(kind: kind, path: "", message: message, line: l, column: c)
    }

    func syntax(_ message: String, at offset: Int? = nil) -> MatchInstanceError {
        error(.syntax, message, at: offset)
    }

    /// What the byte at the cursor looks like, for messages: `'x'` or `end of input`.
    func found() -> String {
        guard pos < count else { return "end of input" }
        let c = base[pos]
        if c >= 0x20 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x" + String(c, radix: 16)
    }

    // MARK: structure

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < count {
            let c = base[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { return }
        }
    }

    /// The next significant byte (after whitespace), or 0 at the end of input.
    @inline(__always)
    mutating func peek() -> UInt8 {
        skipWhitespace()
        return pos < count ? base[pos] : 0
    }

    @inline(__always)
    mutating func expect(_ c: UInt8, _ what: @autoclosure () -> String) throws(MatchInstanceError) {
        if peek() == c { pos += 1; return }
        throw syntax("expected \(what()), found \(found())")
    }

    /// After `{` or `[`: whether another member follows, consuming the `,` or closing byte.
    /// `first` tracks whether a member has been read yet.
    @inline(__always)
    mutating func more(_ first: inout Bool, close: UInt8) throws(MatchInstanceError) -> Bool {
        let c = peek()
        if c == close { pos += 1; return false }
        if first { first = false; return true }
        if c == UInt8(ascii: ",") {
            pos += 1
            if peek() == close { throw syntax("trailing ',' before '\(Character(Unicode.Scalar(close)))'") }
            return true
        }
        throw syntax("expected ',' or '\(Character(Unicode.Scalar(close)))', found \(found())")
    }

    /// Checks that only whitespace remains.
    mutating func expectEnd() throws(MatchInstanceError) {
        if peek() != 0 || pos < count { throw syntax("unexpected \(found()) after the top-level value") }
    }

    // MARK: strings

    /// Reads a string and hands its (unescaped, UTF-8 validated) bytes to `body`.
    /// The bytes are valid only during the call.
    @inline(__always)
    mutating func withString<T>(_ body: (UnsafeBufferPointer<UInt8>) throws(MatchInstanceError) -> T) throws(MatchInstanceError) -> T {
        guard peek() == UInt8(ascii: "\"") else { throw syntax("expected string, found \(found())") }
        pos += 1
        let start = pos
        var ascii = true
        while pos < count {
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                let buf = UnsafeBufferPointer(start: base + start, count: pos - start)
                pos += 1
                if !ascii, !JSONReader.isValidUTF8(buf) { throw syntax("string is not valid UTF-8", at: start) }
                return try body(buf)
            }
            if c == UInt8(ascii: "\\") { return try withEscapedString(start: start, body) }
            if c < 0x20 { throw syntax("control character in string (must be escaped)") }
            if c >= 0x80 { ascii = false }
            pos += 1
        }
        throw syntax("unterminated string", at: start - 1)
    }

    private mutating func withEscapedString<T>(start: Int, _ body: (UnsafeBufferPointer<UInt8>) throws(MatchInstanceError) -> T) throws(MatchInstanceError) -> T {
        var out = scratch
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: UnsafeBufferPointer(start: base + start, count: pos - start))
        while true {
            guard pos < count else { throw syntax("unterminated string", at: start - 1) }
            let c = base[pos]
            if c == UInt8(ascii: "\"") { pos += 1; break }
            if c < 0x20 { throw syntax("control character in string (must be escaped)") }
            if c != UInt8(ascii: "\\") { out.append(c); pos += 1; continue }
            pos += 1
            guard pos < count else { throw syntax("unterminated string", at: start - 1) }
            let e = base[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    guard pos + 1 < count, base[pos] == UInt8(ascii: "\\"), base[pos + 1] == UInt8(ascii: "u") else {
                        throw syntax("unpaired surrogate in \\u escape", at: pos - 6)
                    }
                    pos += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw syntax("unpaired surrogate in \\u escape", at: pos - 6) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw syntax("unpaired surrogate in \\u escape", at: pos - 6)
                }
                guard let u = Unicode.Scalar(scalar) else { throw syntax("invalid \\u escape", at: pos - 6) }
                out.append(contentsOf: UTF8.encode(u)!)
            default:
                throw syntax("invalid escape '\\\(Character(Unicode.Scalar(e)))' in string", at: pos - 2)
            }
        }
        scratch = out
        return try out.withUnsafeBufferPointer { (b) throws(MatchInstanceError) -> T in
            if !JSONReader.isValidUTF8(b) { throw syntax("string is not valid UTF-8", at: start) }
            return try body(b)
        }
    }

    private mutating func hex4() throws(MatchInstanceError) -> UInt32 {
        guard pos + 4 <= count else { throw syntax("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = base[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw syntax("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    /// Fast path for the common short string: when the string at the cursor is plain ASCII
    /// without escapes, moves past it and returns its bytes (valid while the buffer lives);
    /// otherwise returns nil with the cursor at the opening quote (use `withString`).
    @inline(__always)
    mutating func plainASCIIString() -> UnsafeBufferPointer<UInt8>? {
        guard peek() == UInt8(ascii: "\"") else { return nil }
        var i = pos + 1
        while i < count {
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                let b = UnsafeBufferPointer(start: base + pos + 1, count: i - pos - 1)
                pos = i + 1
                return b
            }
            if c == UInt8(ascii: "\\") || c < 0x20 || c >= 0x80 { return nil }
            i += 1
        }
        return nil
    }

    /// Reads a string as a Swift `String`.
    @inline(__always)
    mutating func readString() throws(MatchInstanceError) -> String {
        try withString { b in String(decoding: b, as: UTF8.self) }
    }

    static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            var need: Int, minScalar: UInt32, scalar: UInt32
            switch c {
            case 0xC2...0xDF: need = 1; scalar = UInt32(c & 0x1F); minScalar = 0x80
            case 0xE0...0xEF: need = 2; scalar = UInt32(c & 0x0F); minScalar = 0x800
            case 0xF0...0xF4: need = 3; scalar = UInt32(c & 0x07); minScalar = 0x10000
            default: return false
            }
            guard i + need < n else { return false }
            for k in 1...need {
                let cc = b[i + k]
                guard cc & 0xC0 == 0x80 else { return false }
                scalar = scalar << 6 | UInt32(cc & 0x3F)
            }
            if scalar < minScalar || scalar > 0x10FFFF || (scalar >= 0xD800 && scalar < 0xE000) { return false }
            i += need + 1
        }
        return true
    }

    // MARK: numbers

    /// The raw text of a number token, with what was seen in it.
    struct NumberToken {
        var start: Int
        var end: Int
        /// Only `-?digits`: an integer in Python's reading.
        var isInteger: Bool
    }

    /// Scans one JSON number (strict grammar: no leading zeros, no `+`, no bare `.`).
    @inline(__always)
    mutating func scanNumber() throws(MatchInstanceError) -> NumberToken {
        let start = pos
        var isInteger = true
        if pos < count && base[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < count, base[pos] &- 0x30 < 10 else { throw syntax("invalid number", at: start) }
        if base[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < count && base[pos] &- 0x30 < 10 { throw syntax("invalid number (leading zero)", at: start) }
        } else {
            while pos < count && base[pos] &- 0x30 < 10 { pos += 1 }
        }
        if pos < count && base[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard pos < count, base[pos] &- 0x30 < 10 else { throw syntax("invalid number (digit expected after '.')", at: start) }
            while pos < count && base[pos] &- 0x30 < 10 { pos += 1 }
        }
        if pos < count && (base[pos] | 0x20) == UInt8(ascii: "e") {
            isInteger = false
            pos += 1
            if pos < count && (base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-")) { pos += 1 }
            guard pos < count, base[pos] &- 0x30 < 10 else { throw syntax("invalid number (digit expected in exponent)", at: start) }
            while pos < count && base[pos] &- 0x30 < 10 { pos += 1 }
        }
        return NumberToken(start: start, end: pos, isInteger: isInteger)
    }

    /// The integer value of an integer token, saturated to `Int.min...Int.max`.
    func integerValue(_ t: NumberToken) -> Int {
        var i = t.start
        let negative = base[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var v = 0
        while i < t.end {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(base[i] - 0x30))
            if o1 || o2 { return negative ? Int.min : Int.max }
            v = a
            i += 1
        }
        return negative ? -v : v
    }

    private static let powersOf10: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// The correctly rounded `Double` of a number token (as Python's `float()` gives it).
    ///
    /// Fast path (Clinger): when the decimal significand has at most 15 digits it is an exact
    /// double, and so is 10^k for k <= 22, so one IEEE multiplication or division rounds the
    /// exact quotient correctly. Anything else goes to the standard library's parser.
    func doubleValue(_ t: NumberToken) -> Double {
        var i = t.start
        let negative = base[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var exp10 = 0
        var fast = true
        while i < t.end, base[i] &- 0x30 < 10 {
            if mantissa != 0 || base[i] != 0x30 { digits += 1 }
            mantissa = mantissa &* 10 &+ UInt64(base[i] - 0x30)
            i += 1
        }
        if i < t.end && base[i] == UInt8(ascii: ".") {
            i += 1
            while i < t.end, base[i] &- 0x30 < 10 {
                if mantissa != 0 || base[i] != 0x30 { digits += 1 }
                mantissa = mantissa &* 10 &+ UInt64(base[i] - 0x30)
                exp10 -= 1
                i += 1
            }
        }
        if i < t.end { fast = false }  // exponent part: let the library handle it
        if digits > 15 { fast = false }
        if fast && exp10 >= -22 {
            var v = Double(mantissa)
            if exp10 < 0 { v /= JSONReader.powersOf10[-exp10] }
            return negative ? -v : v
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + t.start, count: t.end - t.start), as: UTF8.self)
        return Double(text) ?? .nan
    }

    // MARK: skipping and describing values

    /// Skips one value of any type, checking its syntax. `depth` guards against
    /// pathological nesting.
    mutating func skipValue(depth: Int = 0) throws(MatchInstanceError) {
        if depth > 512 { throw syntax("nesting too deep") }
        switch peek() {
        case UInt8(ascii: "\""): _ = try withString { _ in 0 }
        case UInt8(ascii: "{"):
            pos += 1
            var first = true
            while try more(&first, close: UInt8(ascii: "}")) {
                _ = try withString { _ in 0 }
                try expect(UInt8(ascii: ":"), "':' after object key")
                try skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "["):
            pos += 1
            var first = true
            while try more(&first, close: UInt8(ascii: "]")) { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber()
        default: throw syntax("expected a JSON value, found \(found())")
        }
    }

    private mutating func literal(_ word: StaticString) throws(MatchInstanceError) {
        let n = word.utf8CodeUnitCount
        let w = word.utf8Start
        guard pos + n <= count else { throw syntax("invalid literal") }
        for k in 0..<n where base[pos + k] != w[k] { throw syntax("invalid literal") }
        pos += n
    }

    /// Skips the value at the cursor and describes it for a type error:
    /// `string "abc"`, `number 2.5`, `object`, `array`, `true`, `null`.
    mutating func describeValue() throws(MatchInstanceError) -> String {
        let c = peek()
        let start = pos
        try skipValue()
        let raw = String(decoding: UnsafeBufferPointer(start: base + start, count: min(pos - start, 40)), as: UTF8.self)
        let more = pos - start > 40 ? "..." : ""
        switch c {
        case UInt8(ascii: "\""): return "string \(raw)\(more)"
        case UInt8(ascii: "{"): return "object"
        case UInt8(ascii: "["): return "array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "boolean \(raw)"
        case UInt8(ascii: "n"): return "null"
        default: return "number \(raw)\(more)"
        }
    }

    func text(_ t: NumberToken) -> String {
        String(decoding: UnsafeBufferPointer(start: base + t.start, count: t.end - t.start), as: UTF8.self)
    }
}
