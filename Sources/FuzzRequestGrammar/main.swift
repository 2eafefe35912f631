// Fuzzes the request grammar of MusterProtocol: `RequestParser.parse` over one line's bytes.
//
// Invariants:
// - any bytes give a result or a `RequestError`, never a crash, and the error's description can be written;
// - an error's byte offset points into the line: at the control character it names, or at the first byte where
//   UTF-8 breaks (the bytes before it validate, the line as a whole does not);
// - a parsed request is well formed (upper-case verb of at most 32 letters, digits, `.`, `_`, `-`; at most 64
//   non-empty words without spaces, none starting with `{`; a body from `{` to `}`);
// - writing the request back as `VERB word... {body}` and parsing that gives the same request;
// - the parser, which works on the line's bytes, agrees with a plain reading of it by Unicode scalars and Characters
//   (`readByScalars`), on every line of valid UTF-8 without control characters.
import FuzzSupport
import MusterProtocol

func verbIsWellFormed(_ verb: String) -> Bool {
    let bytes = Array(verb.utf8)
    guard (1...32).contains(bytes.count), let first = bytes.first, (65...90).contains(first) else { return false }
    return bytes.allSatisfy { (65...90).contains($0) || (48...57).contains($0) || $0 == 46 || $0 == 95 || $0 == 45 }
}

func check(_ request: Request, line: [UInt8]) {
    precondition(verbIsWellFormed(request.verb), "malformed verb \"\(request.verb)\" accepted")
    precondition(request.words.count <= RequestParser.maxWords, "\(request.words.count) words accepted")
    for word in request.words {
        precondition(!word.isEmpty, "an empty word")
        precondition(!word.unicodeScalars.contains(where: { $0 == " " || $0 == "\t" }), "word \"\(word)\" holds a space")
        precondition(word.unicodeScalars.first != "{", "word \"\(word)\" starts a JSON object")
    }
    if let body = request.body {
        // Scalars, not Characters: a combining mark after `{` makes one Character of the two.
        precondition(body.unicodeScalars.first == "{" && body.unicodeScalars.last == "}", "body \(body) is not braced")
    }
    let rewritten = ([request.verb] + request.words + (request.body.map { [$0] } ?? [])).joined(separator: " ")
    let again = Result { () throws(RequestError) in try RequestParser.parse(Array(rewritten.utf8)) }
    precondition(again == .success(.request(request)), "\"\(rewritten)\" parsed as \(again), not as \(request)")
}

/// The request grammar read the plain way: words split at spaces and tabs scalar by scalar, the body from the first
/// `{` to a `}` that ends the line (Characters, so a `}` with a combining mark after it does not end it).
/// Returns nil for an empty line and for a line it refuses; leaves out the HTTP check.
func readByScalars(_ text: String) -> (verb: String, words: [String], body: String?)? {
    let scalars = text.unicodeScalars
    var index = scalars.startIndex
    func skipSpaces() {
        while index < scalars.endIndex, scalars[index] == " " || scalars[index] == "\t" { index = scalars.index(after: index) }
    }
    func readWord() -> String {
        let start = index
        while index < scalars.endIndex, scalars[index] != " ", scalars[index] != "\t" { index = scalars.index(after: index) }
        return String(scalars[start..<index])
    }
    skipSpaces()
    if index == scalars.endIndex { return nil }
    let verb = readWord()
    var words: [String] = []
    var body: String?
    while true {
        skipSpaces()
        if index == scalars.endIndex { break }
        if scalars[index] == "{" {
            var rest = String(scalars[index...])
            while let last = rest.last, last == " " || last == "\t" { rest.removeLast() }
            guard rest.hasSuffix("}") else { return nil }
            body = rest
            break
        }
        guard words.count < RequestParser.maxWords else { return nil }
        words.append(readWord())
    }
    return (verb, words, body)
}

Fuzz.main { raw in
    let line = Array(raw)
    let parsed = Result { () throws(RequestError) in try RequestParser.parse(line) }
    // Lines of valid UTF-8 without control characters: the parser agrees with the plain reading.
    if !line.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }), let text = String(validating: line, as: UTF8.self) {
        switch parsed {
        case .success(.request(let request)):
            let plain = readByScalars(text)
            precondition(
                plain?.verb.uppercased() == request.verb && plain?.words == request.words && plain?.body == request.body,
                "\(request) differs from the plain reading \(String(describing: plain))")
        case .failure(.unterminatedBody):
            precondition(readByScalars(text) == nil, "\"\(text)\" refused as unterminated, read plainly as a request")
        default:
            break
        }
    }
    switch parsed {
    case .success(.empty):
        precondition(line.allSatisfy { $0 == 0x20 || $0 == 0x09 }, "a line with text parsed as empty")
    case .success(.httpRequest):
        break
    case .success(.request(let request)):
        check(request, line: line)
    case .failure(let error):
        _ = error.description
        switch error {
        case .controlCharacter(let byte, let offset):
            precondition(offset < line.count && line[offset] == byte, "control character \(byte) not at byte \(offset)")
            precondition(byte < 0x20 && byte != 0x09 || byte == 0x7F, "byte \(byte) is not a control character")
            precondition(!line[..<offset].contains { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }, "an earlier control character")
        case .invalidUTF8(let offset):
            precondition(String(validating: line, as: UTF8.self) == nil, "valid UTF-8 reported invalid")
            precondition(offset < line.count, "invalid UTF-8 at \(offset), past the end of \(line.count) bytes")
            precondition(String(validating: line[..<offset], as: UTF8.self) != nil, "the bytes before offset \(offset) are not valid UTF-8")
        case .malformedVerb, .tooManyArguments, .unterminatedBody:
            break
        }
    }
}
