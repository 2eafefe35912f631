// Fuzzes the line codec of MusterProtocol: `LineFrameDecoder` fed a byte stream in random chunkings, directly and
// through NIO's `ByteToMessageHandler` in an `EmbeddedChannel`, and `Reply.write` with arbitrary payloads.
//
// Input: byte 0 picks the line limit (1...64, so long lines are common), bytes 1-8 seed the chunking, the rest is
// the stream. Invariants:
// - both paths give exactly the frames of a one-pass reference splitter over the whole stream, whatever the
//   chunking (so no frame is lost, split, merged or longer than the limit, and the result never depends on how
//   the bytes arrive);
// - every line frame parses without a crash (`RequestParser`);
// - every reply is written as exactly the lines it stands for, each read back by `ReplyLine` as the same kind with
//   control characters turned into spaces.
import FuzzSupport
import MusterProtocol
import NIOCore
import NIOEmbedded

/// What the decoder must produce for `stream`, computed in one pass without the decoder's incremental state.
func referenceFrames(_ stream: [UInt8], maxLineLength: Int) -> [LineFrame] {
    var frames: [LineFrame] = []
    var start = 0
    while let newline = stream[start...].firstIndex(of: UInt8(ascii: "\n")) {
        var length = newline - start
        if length > 0, stream[newline - 1] == UInt8(ascii: "\r") { length -= 1 }
        frames.append(length > maxLineLength ? .tooLong : .line(ByteBuffer(bytes: stream[start..<(start + length)])))
        start = newline + 1
    }
    // An unterminated tail is dropped at the end of the stream, unless it already passed the limit (then the
    // decoder said so before the end; `maxLineLength + 1` bytes may still be a line plus its `\r`).
    if stream.count - start > maxLineLength + 1 { frames.append(.tooLong) }
    return frames
}

/// `stream` cut into pieces: mostly small, sometimes big or empty (for the direct path, where pieces are cheap).
func chunks(of stream: [UInt8], _ rng: inout SplitMix) -> [ArraySlice<UInt8>] {
    var result: [ArraySlice<UInt8>] = []
    var start = 0
    let scale = [1, 3, 8, 64, 4096][Int(rng.next() % 5)]
    while start < stream.count {
        let size = Int(rng.next() % UInt64(scale + 1))
        let end = min(stream.count, start + size)
        result.append(stream[start..<end])
        start = end
    }
    return result
}

/// `stream` cut at up to `most - 1` random places (a pipeline write costs much more than a direct read).
func pieces(of stream: [UInt8], most: Int, _ rng: inout SplitMix) -> [ArraySlice<UInt8>] {
    guard !stream.isEmpty else { return [] }
    let cuts = (0..<Int(rng.next() % UInt64(most))).map { _ in Int(rng.next() % UInt64(stream.count + 1)) }.sorted()
    var result: [ArraySlice<UInt8>] = []
    var start = 0
    for cut in cuts + [stream.count] {
        result.append(stream[start..<cut])
        start = cut
    }
    return result
}

func checkFrames(_ frames: [LineFrame], _ expected: [LineFrame], maxLineLength: Int, _ path: String) {
    for frame in frames {
        if case .line(let line) = frame {
            precondition(line.readableBytes <= maxLineLength, "\(path): a line of \(line.readableBytes) bytes passed the limit \(maxLineLength)")
            precondition(!line.readableBytesView.contains(UInt8(ascii: "\n")), "\(path): a line frame holds a newline")
            // The grammar must take any frame without crashing (it has its own target for invariants).
            _ = try? RequestParser.parse(line.readableBytesView)
        }
    }
    precondition(frames == expected, "\(path): frames \(frames) differ from the reference \(expected)")
}

func decodeDirectly(_ pieces: [ArraySlice<UInt8>], maxLineLength: Int, _ rng: inout SplitMix) -> [LineFrame] {
    var decoder = LineFrameDecoder(maxLineLength: maxLineLength)
    var buffer = ByteBuffer()
    var frames: [LineFrame] = []
    for piece in pieces {
        buffer.writeBytes(piece)
        while let frame = decoder.nextFrame(&buffer) { frames.append(frame) }
        // Asking again after "need more data" must be harmless.
        if rng.next() % 4 == 0 { precondition(decoder.nextFrame(&buffer) == nil, "a second call without new bytes gave a frame") }
        // Callers may compact the buffer between reads (ByteToMessageHandler does).
        if rng.next() % 3 == 0 { buffer.discardReadBytes() }
    }
    return frames
}

func decodeInPipeline(_ pieces: [ArraySlice<UInt8>], maxLineLength: Int) -> [LineFrame] {
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder(maxLineLength: maxLineLength)))
    var frames: [LineFrame] = []
    func drain() {
        while let frame = try! channel.readInbound(as: LineFrame.self) { frames.append(frame) }
    }
    for piece in pieces {
        try! channel.writeInbound(ByteBuffer(bytes: piece))
        drain()
    }
    _ = try! channel.finish()  // end of stream: decodeLast
    drain()
    return frames
}

func checkReplies(_ payload: String) {
    let sanitized = String(decoding: payload.utf8.map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    let code = ErrorCode.allCases[payload.utf8.count % ErrorCode.allCases.count]
    let cases: [(Reply, [ReplyLine])] = [
        (.ok(nil), [.ok(nil)]),
        (.ok(payload), [.ok(sanitized)]),
        (.rows([payload, ""], summary: payload), [.row(sanitized), .row(""), .ok(sanitized)]),
        (.error(code, payload), [
            .error(code: code.rawValue, message: sanitized),
        ]),
    ]
    for (reply, expected) in cases {
        var buffer = ByteBuffer()
        reply.write(into: &buffer)
        var decoder = LineFrameDecoder(maxLineLength: buffer.readableBytes + 1)
        var lines: [ReplyLine] = []
        while let frame = decoder.nextFrame(&buffer) {
            guard case .line(let line) = frame else { preconditionFailure("a reply line was too long") }
            guard let text = String(validating: line.readableBytesView, as: UTF8.self) else {
                preconditionFailure("a reply line is not UTF-8")
            }
            guard let parsed = ReplyLine(text) else { preconditionFailure("reply line \"\(text)\" is not a reply line") }
            lines.append(parsed)
        }
        precondition(buffer.readableBytes == 0, "a reply did not end with a newline")
        precondition(lines == expected, "reply \(reply) was read back as \(lines), expected \(expected)")
    }
}

Fuzz.main { raw in
    var input = FuzzInput(raw)
    let maxLineLength = 1 + Int(input.byte() % 64)
    var rng = SplitMix(seed: input.word())
    let stream = input.rest()
    let expected = referenceFrames(stream, maxLineLength: maxLineLength)

    checkFrames(decodeDirectly(chunks(of: stream, &rng), maxLineLength: maxLineLength, &rng), expected, maxLineLength: maxLineLength, "direct")
    checkFrames(decodeInPipeline(pieces(of: stream, most: 32, &rng), maxLineLength: maxLineLength), expected, maxLineLength: maxLineLength, "pipeline")

    // The stream as a reply payload (invalid UTF-8 repaired, as a Swift String always is).
    checkReplies(String(decoding: stream, as: UTF8.self))
}
