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
        if text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
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
    public init?(_ line: String) {
        func rest(after prefixLength: Int) -> String { String(line.dropFirst(prefixLength)) }
        if line == "OK" {
            self = .ok(nil)
        } else if line.hasPrefix("OK ") {
            self = .ok(rest(after: 3))
        } else if line.hasPrefix("ROW ") {
            self = .row(rest(after: 4))
        } else if line.hasPrefix("EVENT ") {
            self = .event(rest(after: 6))
        } else if line.hasPrefix("ERR ") {
            let tail = rest(after: 4)
            if let space = tail.firstIndex(of: " ") {
                self = .error(code: String(tail[..<space]), message: String(tail[tail.index(after: space)...]))
            } else {
                self = .error(code: tail, message: "")
            }
        } else {
            return nil
        }
    }
}
