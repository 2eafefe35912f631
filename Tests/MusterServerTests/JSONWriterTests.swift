import Foundation
import MusterServer
import Testing

/// The hand-written JSON of hot replies is byte for byte what JSONEncoder (as `JSONText`) writes.
@Suite struct JSONWriterTests {
    @Test(arguments: [
        "", "plain", "quote \" and backslash \\", "slash / stays", "tab\tnewline\nreturn\r", "\u{8}\u{c}",
        "nul \u{0} and \u{1}\u{1f}", "del \u{7f}", "accents: Pérez, Ñandú", "US GME ≥ 12 months", "emoji 🩺🚑",
        "line separator \u{2028} paragraph \u{2029}", "combining e\u{301}",
    ])
    func stringsAreEscapedAsJSONEncoderEscapesThem(_ value: String) throws {
        var writer = JSONWriter()
        writer.string(value)
        #expect(writer.output == JSONText.encode(value))
    }

    @Test func everyControlCharacter() throws {
        let all = String(decoding: (0..<0x20).map { UInt8($0) } + Array("\"\\/".utf8), as: UTF8.self)
        var writer = JSONWriter()
        writer.string(all)
        #expect(writer.output == JSONText.encode(all))
    }

    @Test func objectsAndArrays() throws {
        struct Sample: Encodable {
            let a: [String]
            let b: Bool
            let c: Int
        }
        var writer = JSONWriter()
        writer.raw("{")
        writer.key("a", first: true)
        writer.strings(["x", "y\"z"])
        writer.key("b")
        writer.bool(true)
        writer.key("c")
        writer.int(-42)
        writer.raw("}")
        #expect(writer.output == JSONText.encode(Sample(a: ["x", "y\"z"], b: true, c: -42)))
    }
}
