import NIOCore

/// What the line decoder produces: a complete line, or notice that a line exceeded the limit.
public enum LineFrame: Sendable, Equatable {
    /// One line without its `\n` (and without a `\r` directly before it).
    case line(ByteBuffer)
    /// A line longer than the limit. Its bytes are discarded up to and including its `\n`; the next line is read
    /// normally.
    case tooLong
}

/// Splits a byte stream into `\n`-terminated lines of at most `maxLineLength` bytes (terminator excluded).
///
/// A longer line yields one `.tooLong` as soon as the limit is passed, then its remaining bytes are skipped
/// up to its `\n`, so memory stays bounded by the limit whatever the peer sends. Bytes left without a `\n` at
/// end of stream are dropped.
public struct LineFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = LineFrame

    /// The longest line accepted, in bytes, not counting `\r\n` or `\n`.
    public let maxLineLength: Int
    private var discarding = false
    private var scanned = 0

    public init(maxLineLength: Int) {
        precondition(maxLineLength > 0, "maxLineLength must be positive")
        self.maxLineLength = maxLineLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = nextFrame(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        while let frame = nextFrame(&buffer) {
            context.fireChannelRead(wrapInboundOut(frame))
        }
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return .needMoreData
    }

    /// Takes the next frame off the front of `buffer`, or returns nil when more bytes are needed.
    /// Exposed for callers that frame bytes outside a channel pipeline.
    public mutating func nextFrame(_ buffer: inout ByteBuffer) -> LineFrame? {
        while true {
            let view = buffer.readableBytesView
            if discarding {
                if let newline = view.firstIndex(of: UInt8(ascii: "\n")) {
                    buffer.moveReaderIndex(to: newline + 1)
                    discarding = false
                    scanned = 0
                    continue
                }
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                return nil
            }
            let searchStart = view.startIndex + min(scanned, view.count)
            if let newline = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) {
                var length = newline - view.startIndex
                if length > 0, view[newline - 1] == UInt8(ascii: "\r") { length -= 1 }
                scanned = 0
                if length > maxLineLength {
                    buffer.moveReaderIndex(to: newline + 1)
                    return .tooLong
                }
                let line = buffer.readSlice(length: length)!
                buffer.moveReaderIndex(to: newline + 1)
                return .line(line)
            }
            // No newline yet. `maxLineLength + 1` bytes may still be a full line plus its `\r`.
            if view.count > maxLineLength + 1 {
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                discarding = true
                scanned = 0
                return .tooLong
            }
            scanned = view.count
            return nil
        }
    }
}
