/// One parsed request line: `VERB *(SP word) [SP json-object]`.
public struct Request: Sendable, Equatable {
    /// The command name, upper-cased (`PING`, `VOLUNTEER.GET`).
    public var verb: String
    /// Positional arguments: runs of non-space characters before any JSON object.
    public var words: [String]
    /// The JSON object that ends the line, as text, if there is one.
    public var body: String?

    public init(verb: String, words: [String] = [], body: String? = nil) {
        self.verb = verb
        self.words = words
        self.body = body
    }
}

/// Why a line is not a valid request. The description names what was wrong, for the `ERR` message.
public enum RequestError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidUTF8(byteOffset: Int)
    case controlCharacter(byte: UInt8, byteOffset: Int)
    case malformedVerb(String)
    case tooManyArguments(limit: Int)
    case unterminatedBody

    public var description: String {
        switch self {
        case .invalidUTF8(let offset):
            return "invalid UTF-8 at byte \(offset + 1)"
        case .controlCharacter(let byte, let offset):
            let hex = String(byte, radix: 16, uppercase: true)
            return "control character 0x\(hex.count == 1 ? "0" + hex : hex) at byte \(offset + 1) is not allowed"
        case .malformedVerb(let verb):
            return "malformed command name \"\(verb.prefix(40))\": expected letters, digits, '.', '_' or '-', "
                + "starting with a letter, at most 32 characters"
        case .tooManyArguments(let limit):
            return "too many arguments (at most \(limit) words before the JSON object)"
        case .unterminatedBody:
            return "the JSON object must end the line with '}'"
        }
    }
}

/// What a line is, once parsed.
public enum ParsedLine: Sendable, Equatable {
    /// A blank line: ignored, no reply.
    case empty
    /// An HTTP request line (`GET / HTTP/1.1`): some other protocol is talking to us; close without a reply.
    case httpRequest
    case request(Request)
}

/// Parses request lines. Pure: no I/O, no state.
public enum RequestParser {
    /// Most positional words a request may carry.
    public static let maxWords = 64
    static let maxVerbLength = 32
    static let httpMethods: Set<String> = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"]

    /// Parses one line (without its terminator).
    public static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(RequestError) -> ParsedLine {
        try parseLine(bytes)
    }

    /// Parses one line (without its terminator) held in contiguous memory: the server's path. Being concrete, it is
    /// compiled for these bytes here; the generic entry point, called from another module, checks each byte through
    /// generic witnesses and looks up type metadata on every line.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(RequestError) -> ParsedLine {
        try parseLine(bytes)
    }

    static func parseLine<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(RequestError) -> ParsedLine {
        // Control characters first: they make a line invalid whatever else it holds. TAB counts as a space.
        var offset = 0
        var ascii = true
        for byte in bytes {
            if (byte < 0x20 && byte != 0x09) || byte == 0x7F {
                throw .controlCharacter(byte: byte, byteOffset: offset)
            }
            if byte >= 0x80 { ascii = false }
            offset += 1
        }
        // ASCII is valid UTF-8 as it is, and most lines are ASCII: they skip the validating decoder (a generic
        // library call that looks up type metadata on every line).
        if ascii { return try parse(text: String(decoding: bytes, as: UTF8.self)) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidUTF8(byteOffset: firstInvalidUTF8Offset(bytes))
        }
        return try parse(text: text)
    }

    static func parse(text: String) throws(RequestError) -> ParsedLine {
        // Words are split at spaces and tabs, single ASCII bytes, so every index below falls on a character boundary
        // and each word or body is one slice of the line's bytes.
        let utf8 = text.utf8
        var index = utf8.startIndex
        func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        func skipSpaces() {
            while index < utf8.endIndex, isSpace(utf8[index]) { utf8.formIndex(after: &index) }
        }
        func readWord() -> String {
            let start = index
            while index < utf8.endIndex, !isSpace(utf8[index]) { utf8.formIndex(after: &index) }
            return String(text[start..<index])
        }
        skipSpaces()
        if index == utf8.endIndex { return .empty }
        let verb = readWord()
        var words: [String] = []
        var body: String?
        while true {
            skipSpaces()
            if index == utf8.endIndex { break }
            if utf8[index] == UInt8(ascii: "{") {
                var end = utf8.endIndex
                while isSpace(utf8[utf8.index(before: end)]) { utf8.formIndex(before: &end) }
                guard utf8[utf8.index(before: end)] == UInt8(ascii: "}") else { throw .unterminatedBody }
                body = String(text[index..<end])
                break
            }
            guard words.count < maxWords else { throw .tooManyArguments(limit: maxWords) }
            words.append(readWord())
        }
        // Verbs are almost always sent in ASCII capitals already; then the word is the verb as it is.
        let alreadyUpper = verb.utf8.allSatisfy { $0 < 0x80 && !($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) }
        let upper = alreadyUpper ? verb : verb.uppercased()
        if httpMethods.contains(upper), let last = words.last, last.hasPrefix("HTTP/") { return .httpRequest }
        guard isValidVerb(verb) else { throw .malformedVerb(verb) }
        return .request(Request(verb: upper, words: words, body: body))
    }

    static func isValidVerb(_ verb: String) -> Bool {
        let bytes = verb.utf8
        guard !bytes.isEmpty, bytes.count <= maxVerbLength else { return false }
        for (position, byte) in bytes.enumerated() {
            let isLetter = (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
            let isDigit = byte >= 48 && byte <= 57
            let isPunct = byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            if position == 0 ? !isLetter : !(isLetter || isDigit || isPunct) { return false }
        }
        return true
    }

    /// The offset of the first byte that breaks UTF-8 well-formedness (RFC 3629, no overlongs or surrogates).
    static func firstInvalidUTF8Offset<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Int {
        let array = Array(bytes)
        var i = 0
        while i < array.count {
            let lead = array[i]
            let length: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch lead {
            case 0x00...0x7F: i += 1; continue
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: return i
            }
            for k in 1..<length {
                guard i + k < array.count else { return i }
                let byte = array[i + k]
                let (lo, hi) = k == 1 ? (lower, upper) : (UInt8(0x80), UInt8(0xBF))
                if byte < lo || byte > hi { return i }
            }
            i += length
        }
        return array.count
    }
}
