import MusterProtocol
import NIOCore
import Testing

/// Failures found by fuzzing (Deploy/fuzz.sh, target FuzzLineCodec), kept fixed.
@Suite struct ProtocolFuzzRegressionTests {
    func lines(_ reply: Reply) -> [ReplyLine?] {
        var buffer = ByteBuffer()
        reply.write(into: &buffer)
        return String(buffer: buffer).utf8.split(separator: UInt8(ascii: "\n")).map { ReplyLine(String(decoding: $0, as: UTF8.self)) }
    }

    /// `ReplyLine` matched `"OK "`, `"ERR "` and the space after the code as Characters; a payload starting with a
    /// combining mark joins the space before it into one Character, so the client could not read the line, or took
    /// part of the message for the error code. Fuzz input: a payload starting with U+0596.
    @Test func payloadsStartingWithACombiningMarkReadBack() {
        let text = "\u{596}x"
        #expect(lines(.ok(text)) == [.ok(text)])
        #expect(lines(.rows([text], summary: text)) == [.row(text), .ok(text)])
        #expect(lines(.error(.badRequest, "\u{301}name: unknown field")) == [.error(code: "BAD_REQUEST", message: "\u{301}name: unknown field")])
        #expect(ReplyLine("EVENT \u{301}") == .event("\u{301}"))
        #expect(ReplyLine("OK\u{301}") == nil)
        #expect(ReplyLine("ERR \u{301}") == .error(code: "\u{301}", message: ""))
    }
}
