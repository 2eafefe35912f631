import MusterProtocol
import NIOCore
import Testing

@Suite struct ReplyTests {
    func text(_ reply: Reply) -> String {
        var buffer = ByteBuffer()
        reply.write(into: &buffer)
        return String(buffer: buffer)
    }

    @Test func okForms() {
        #expect(text(.ok(nil)) == "OK\n")
        #expect(text(.ok("PONG")) == "OK PONG\n")
        #expect(text(.ok(#"{"a":1}"#)) == "OK {\"a\":1}\n")
    }

    @Test func rowsThenSummary() {
        #expect(text(.rows(["{\"n\":1}", "{\"n\":2}"], summary: "{\"count\":2}")) == "ROW {\"n\":1}\nROW {\"n\":2}\nOK {\"count\":2}\n")
        #expect(text(.rows([], summary: "{\"count\":0}")) == "OK {\"count\":0}\n")
    }

    @Test func errorsCarryCodeAndMessage() {
        #expect(text(.error(.notFound, "no volunteer 12")) == "ERR NOT_FOUND no volunteer 12\n")
    }

    @Test func aPayloadCanNeverBreakIntoTwoLines() {
        #expect(text(.error(.badRequest, "bad\nOK forged\r")) == "ERR BAD_REQUEST bad OK forged \n")
        #expect(text(.ok("a\u{0}b")) == "OK a b\n")
    }

    @Test func replyLinesParse() {
        #expect(ReplyLine("OK") == .ok(nil))
        #expect(ReplyLine("OK PONG") == .ok("PONG"))
        #expect(ReplyLine("ROW {}") == .row("{}"))
        #expect(ReplyLine("EVENT {\"e\":1}") == .event("{\"e\":1}"))
        #expect(ReplyLine("ERR TOO_LONG line exceeds 10 bytes") == .error(code: "TOO_LONG", message: "line exceeds 10 bytes"))
        #expect(ReplyLine("ERR BUSY") == .error(code: "BUSY", message: ""))
        #expect(ReplyLine("HELLO") == nil)
    }

    @Test func errorCodesAreUpperSnakeCase() {
        for code in ErrorCode.allCases {
            #expect(code.rawValue.allSatisfy { $0.isUppercase || $0 == "_" }, "\(code.rawValue)")
        }
        #expect(ErrorCode.unavailable.isTransient)
        #expect(!ErrorCode.badRequest.isTransient)
    }
}
