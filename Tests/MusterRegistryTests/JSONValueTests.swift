import MusterRegistry
import Testing

@Suite struct JSONValueTests {
    @Test func parsesEveryKind() throws {
        let value = try JSONValue.parse(#" {"a": [1, -2.5e1, true, false, null, "x\"\\\/\n\u00e9\ud83d\ude91"], "b": {}, "c": []} "#)
        #expect(value == .object([
            "a": .array([.integer(1), .number(-25), .bool(true), .bool(false), .null, .string("x\"\\/\né🚑")]),
            "b": .object([:]), "c": .array([]),
        ]))
        #expect(try JSONValue.parse("9223372036854775807") == .integer(Int64.max))
        #expect(try JSONValue.parse("9223372036854775808") == .number(9223372036854775808))
        #expect(try JSONValue.parse("\"Ana María\"") == .string("Ana María"))
    }

    @Test(arguments: [
        ("{\"a\":1,}", "expected a member name"),
        ("[1,]", "unexpected character"),
        ("{\"a\":1,\"a\":2}", "duplicate member \"a\""),
        ("01", "unexpected text after the JSON value"),
        ("\"tab\there\"", "control character in a string"),
        ("\"\\ud83d\"", "unpaired surrogate escape"),
        ("\"\\x41\"", "invalid escape"),
        ("{\"a\" 1}", "expected ':'"),
        ("[1 2]", "expected ',' or ']'"),
        ("tru", "unexpected end of text"),
        ("1e999", "number out of range"),
        ("\"open", "unterminated string"),
        (String(repeating: "[", count: 65) + String(repeating: "]", count: 65), "nested too deeply"),
    ])
    func malformedDocumentsSayWhatAndWhere(text: String, message: String) {
        #expect(throws: FieldErrors.self) { try JSONValue.parse(text) }
        do {
            _ = try JSONValue.parse(text)
        } catch {
            #expect(error.description.contains(message), "\(error)")
            #expect(error.description.contains("at byte"))
        }
    }

    @Test func compactingDropsWhitespaceBetweenTokensOnly() throws {
        // As PostgreSQL's json_build_object writes it: the keys keep their order.
        #expect(
            JSONValue.compacting(#"{"type" : "volunteer", "id" : 7, "status" : null, "n" : [1, 2]}"#)
                == #"{"type":"volunteer","id":7,"status":null,"n":[1,2]}"#)
        // Inside strings nothing changes, past escaped quotes and escaped backslashes too.
        let tricky = " {\n\t\"a b\" :\r \"x \\\" y\" , \"c\\\\\" : \"d e\" ,\"f\":[ \"\\\\\\\" g\" ] } "
        let compact = JSONValue.compacting(tricky)
        #expect(compact == #"{"a b":"x \" y","c\\":"d e","f":["\\\" g"]}"#)
        #expect(try JSONValue.parse(compact) == JSONValue.parse(tricky))
        // Compact text comes back as it was; compacting twice is compacting once.
        #expect(JSONValue.compacting(compact) == compact)
        #expect(JSONValue.compacting("") == "")
    }

    @Test func mergePatch() throws {
        let base = try JSONValue.parse(#"{"a":1,"b":{"c":2,"d":3},"e":[1]}"#)
        let patched = base.merging(patch: try JSONValue.parse(#"{"a":null,"b":{"c":9},"e":[2,3],"f":"new"}"#))
        #expect(patched == (try JSONValue.parse(#"{"b":{"c":9,"d":3},"e":[2,3],"f":"new"}"#)))
    }
}
