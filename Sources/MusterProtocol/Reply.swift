import NIOCore

/// A server reply: what a command answers, before it is written as lines.
public enum Reply: Sendable, Equatable {
    /// `OK` alone, or `OK <payload>` (a word or a JSON value).
    case ok(String?)
    /// Zero or more `ROW <json>` lines, then `OK <summary>`.
    case rows([String], summary: String)
    /// `ERR <CODE> <message>`.
    case error(ErrorCode, String)

    /// Writes the reply's lines, each ending in `\n`. Any line break or control character inside a payload or
    /// message is replaced by a space, so one reply line can never be read as two.
    public func write(into buffer: inout ByteBuffer) {
        switch self {
        case .ok(let payload):
            if let payload {
                buffer.writeStaticString("OK ")
                Reply.writeSingleLine(payload, into: &buffer)
            } else {
                buffer.writeStaticString("OK\n")
            }
        case .rows(let rows, let summary):
            for row in rows {
                buffer.writeStaticString("ROW ")
                Reply.writeSingleLine(row, into: &buffer)
            }
            buffer.writeStaticString("OK ")
            Reply.writeSingleLine(summary, into: &buffer)
        case .error(let code, let message):
            buffer.writeStaticString("ERR ")
            buffer.writeString(code.rawValue)
            buffer.writeStaticString(" ")
            Reply.writeSingleLine(message, into: &buffer)
        }
    }

    /// Writes a pushed event line, `EVENT <json>`.
    public static func writeEvent(_ payload: String, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("EVENT ")
        writeSingleLine(payload, into: &buffer)
    }

    static func writeSingleLine(_ text: String, into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        let written = buffer.writeString(text)
        // Replace any control byte in place (they are single bytes in UTF-8, so lengths do not change).
        let isControl = { (byte: UInt8) in byte < 0x20 || byte == 0x7F }
        let hasControl =
            text.utf8.withContiguousStorageIfAvailable { $0.contains(where: isControl) }
            ?? text.utf8.contains(where: isControl)
        if hasControl {
            for offset in start..<(start + written) {
                let byte = buffer.getInteger(at: offset, as: UInt8.self)!
                if byte < 0x20 || byte == 0x7F { buffer.setInteger(UInt8(ascii: " "), at: offset) }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }
}

/// One line a client reads from the server.
public enum ReplyLine: Sendable, Equatable {
    /// `OK [payload]`: the end of a reply.
    case ok(String?)
    /// `ERR CODE message`: the end of a reply. Unknown codes are kept as text.
    case error(code: String, message: String)
    /// `ROW json`: a data line of a reply still in progress.
    case row(String)
    /// `EVENT json`: a pushed event, between replies.
    case event(String)

    /// Parses one server line (without its terminator); nil when it is none of the above.
    ///
    /// Reads bytes, not Characters: a payload that starts with a combining mark joins the space before it into one
    /// Character, so `"OK "` would not be a Character prefix of the line, nor the space after an error code a
    /// Character of its own.
    public init?(_ line: String) {
        let bytes = line.utf8
        func rest(after prefixLength: Int) -> String { String(decoding: bytes.dropFirst(prefixLength), as: UTF8.self) }
        if bytes.elementsEqual("OK".utf8) {
            self = .ok(nil)
        } else if bytes.starts(with: "OK ".utf8) {
            self = .ok(rest(after: 3))
        } else if bytes.starts(with: "ROW ".utf8) {
            self = .row(rest(after: 4))
        } else if bytes.starts(with: "EVENT ".utf8) {
            self = .event(rest(after: 6))
        } else if bytes.starts(with: "ERR ".utf8) {
            let tail = bytes.dropFirst(4)
            if let space = tail.firstIndex(of: UInt8(ascii: " ")) {
                self = .error(
                    code: String(decoding: tail[..<space], as: UTF8.self),
                    message: String(decoding: tail[tail.index(after: space)...], as: UTF8.self))
            } else {
                self = .error(code: String(decoding: tail, as: UTF8.self), message: "")
            }
        } else {
            return nil
        }
    }
}
