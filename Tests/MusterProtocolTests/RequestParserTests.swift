import MusterProtocol
import Testing

@Suite struct RequestParserTests {
    func parse(_ text: String) throws -> ParsedLine {
        try RequestParser.parse(Array(text.utf8))
    }

    func parseBytes(_ bytes: [UInt8]) -> Result<ParsedLine, RequestError> {
        Result { () throws(RequestError) in try RequestParser.parse(bytes) }
    }

    @Test func verbIsUpperCasedAndWordsSplitOnSpacesAndTabs() throws {
        #expect(try parse("auth  mst_abc") == .request(Request(verb: "AUTH", words: ["mst_abc"])))
        #expect(try parse("  help\tping  ") == .request(Request(verb: "HELP", words: ["ping"])))
        #expect(try parse("volunteer.get 12 x") == .request(Request(verb: "VOLUNTEER.GET", words: ["12", "x"])))
    }

    @Test func jsonObjectEndsTheLine() throws {
        #expect(
            try parse(#"VOLUNTEER.REGISTER {"name": "Ana María", "skills": ["icu"]}  "#)
                == .request(Request(verb: "VOLUNTEER.REGISTER", body: #"{"name": "Ana María", "skills": ["icu"]}"#)))
        #expect(
            try parse(#"X 1 2 {"a":1}"#) == .request(Request(verb: "X", words: ["1", "2"], body: #"{"a":1}"#)))
    }

    @Test func unterminatedJSONObjectIsRejected() {
        #expect(parseBytes(Array(#"X {"a":1"#.utf8)) == .failure(.unterminatedBody))
    }

    @Test func blankLinesAreEmpty() throws {
        #expect(try parse("") == .empty)
        #expect(try parse("   \t ") == .empty)
    }

    @Test(arguments: [UInt8(0x00), 0x0D, 0x1B, 0x7F, 0x0B, 0x0C])
    func controlCharactersAreRejectedWithTheirPosition(byte: UInt8) {
        #expect(parseBytes(Array("PI".utf8) + [byte] + Array("NG".utf8)) == .failure(.controlCharacter(byte: byte, byteOffset: 2)))
    }

    @Test func invalidUTF8IsRejectedAtTheOffendingByte() {
        // A bad continuation, an overlong encoding, a surrogate, a truncated sequence, a stray continuation byte.
        #expect(parseBytes(Array("AUTH ".utf8) + [0xC3, 0x28]) == .failure(.invalidUTF8(byteOffset: 5)))
        #expect(parseBytes([0x50, 0xC0, 0xAF]) == .failure(.invalidUTF8(byteOffset: 1)))
        #expect(parseBytes([0x50, 0x20, 0xED, 0xA0, 0x80]) == .failure(.invalidUTF8(byteOffset: 2)))
        #expect(parseBytes([0x50, 0x20, 0xE2, 0x82]) == .failure(.invalidUTF8(byteOffset: 2)))
        #expect(parseBytes([0x80]) == .failure(.invalidUTF8(byteOffset: 0)))
        #expect(RequestError.invalidUTF8(byteOffset: 5).description == "invalid UTF-8 at byte 6")
    }

    @Test func validMultiByteUTF8IsAccepted() throws {
        #expect(try parse("NOTE José 東京 🚑") == .request(Request(verb: "NOTE", words: ["José", "東京", "🚑"])))
    }

    @Test(arguments: ["1PING", "PI*NG", "É", String(repeating: "A", count: 33), "-X"])
    func malformedVerbs(verb: String) {
        #expect(parseBytes(Array("\(verb) x".utf8)) == .failure(.malformedVerb(verb)))
    }

    @Test func verbOfThirtyTwoCharactersIsAccepted() throws {
        let verb = String(repeating: "A", count: 32)
        #expect(try parse(verb) == .request(Request(verb: verb)))
    }

    @Test func argumentCountIsBounded() throws {
        let sixtyFour = (0..<64).map(String.init).joined(separator: " ")
        guard case .request(let request) = try parse("X " + sixtyFour) else {
            Issue.record("expected a request")
            return
        }
        #expect(request.words.count == 64)
        #expect(parseBytes(Array("X \(sixtyFour) 64".utf8)) == .failure(.tooManyArguments(limit: 64)))
    }

    @Test func httpRequestLinesAreRecognised() throws {
        #expect(try parse("GET / HTTP/1.1") == .httpRequest)
        #expect(try parse("POST /api HTTP/1.0") == .httpRequest)
        #expect(try parse("GET x") == .request(Request(verb: "GET", words: ["x"])))
    }

    /// The server parses from contiguous memory (a concrete entry point, with an ASCII fast path): it must read every
    /// line exactly as the generic one does.
    @Test func contiguousBytesParseAsAnyCollection() {
        let lines: [[UInt8]] = [
            "PING", "ping", "Eligibility.Check 12 NY", "  help\tping  ", "VOLUNTEER.REGISTER {\"a\": \"é\"}",
            "AUTH Zoë", "É", "poſt / HTTP/1.1", "GET / HTTP/1.1", "X {unterminated", "1PING", "",
        ].map { Array($0.utf8) } + [[0x50, 0x49, 0xFF], [0x50, 0x07, 0x41], [0x41, 0x20, 0xE2, 0x82]]
        for line in lines {
            let generic = parseBytes(line)
            let contiguous = line.withUnsafeBytes { bytes in
                Result { () throws(RequestError) in try RequestParser.parse(bytes) }
            }
            #expect(contiguous == generic, "\(line)")
        }
        // "ſ" (long s) upper-cases to "S": such a verb is not ASCII, so it still goes through upper-casing.
        #expect(parseBytes(Array("poſt / HTTP/1.1".utf8)) == .success(.httpRequest))
    }

    @Test func everyErrorDescriptionNamesTheProblem() {
        #expect(RequestError.controlCharacter(byte: 0, byteOffset: 0).description == "control character 0x00 at byte 1 is not allowed")
        #expect(RequestError.tooManyArguments(limit: 64).description.contains("at most 64"))
        #expect(RequestError.malformedVerb("1x").description.contains("\"1x\""))
        #expect(RequestError.unterminatedBody.description.contains("'}'"))
    }
}
