import MusterProtocol
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@Suite struct LineFrameDecoderTests {
    func frames(_ input: [String], max: Int = 16) throws -> [LineFrame] {
        var decoder = LineFrameDecoder(maxLineLength: max)
        var out: [LineFrame] = []
        var buffer = ByteBuffer()
        for chunk in input {
            buffer.writeString(chunk)
            while let frame = decoder.nextFrame(&buffer) { out.append(frame) }
        }
        return out
    }

    func line(_ text: String) -> LineFrame { .line(ByteBuffer(string: text)) }

    @Test func splitsOnNewlineAndStripsOneCarriageReturn() throws {
        #expect(try frames(["PING\nHELLO\r\nX\r\r\n"]) == [line("PING"), line("HELLO"), line("X\r")])
    }

    @Test func emptyLinesAreFrames() throws {
        #expect(try frames(["\n\r\n"]) == [line(""), line("")])
    }

    @Test func waitsForTheNewline() throws {
        #expect(try frames(["PI", "N", "G"]) == [])
        #expect(try frames(["PI", "N", "G", "\r", "\n"]) == [line("PING")])
    }

    @Test func lineOfExactlyTheLimitIsAccepted() throws {
        let exact = String(repeating: "a", count: 16)
        #expect(try frames([exact + "\n"]) == [line(exact)])
        #expect(try frames([exact + "\r\n"]) == [line(exact)])
        #expect(try frames([exact, "\r", "\n"]) == [line(exact)])
    }

    @Test func lineOneOverTheLimitIsTooLongAndTheNextLineIsRead() throws {
        let over = String(repeating: "a", count: 17)
        #expect(try frames([over + "\nPING\n"]) == [.tooLong, line("PING")])
        #expect(try frames([over + "\r\nPING\n"]) == [.tooLong, line("PING")])
    }

    @Test func longLineInManyChunksGivesOneTooLongAndBoundedBuffering() throws {
        var decoder = LineFrameDecoder(maxLineLength: 16)
        var buffer = ByteBuffer()
        var out: [LineFrame] = []
        for _ in 0..<1000 {
            buffer.writeString(String(repeating: "x", count: 10))
            while let frame = decoder.nextFrame(&buffer) { out.append(frame) }
            #expect(buffer.readableBytes <= 17, "the decoder must not hold more than the limit")
        }
        buffer.writeString("tail\nPING\n")
        while let frame = decoder.nextFrame(&buffer) { out.append(frame) }
        #expect(out == [.tooLong, line("PING")])
    }

    @Test func verifierByteByByteAndInOneBuffer() throws {
        let input = ByteBuffer(string: "PING\r\nAUTH abc\n\nHELP PING\n")
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (input, [line("PING"), line("AUTH abc"), line(""), line("HELP PING")])
            ],
            decoderFactory: { LineFrameDecoder(maxLineLength: 64) })
    }

    @Test func leftoverBytesAtEndOfStreamAreDropped() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder(maxLineLength: 64)))
        try channel.writeInbound(ByteBuffer(string: "PING\nHALF"))
        #expect(try channel.readInbound(as: LineFrame.self) == line("PING"))
        _ = try channel.finish()
        #expect(try channel.readInbound(as: LineFrame.self) == nil)
    }
}
