import Foundation

extension StringProtocol where UTF8View: BidirectionalCollection {
    /// The text without the whitespace at either end that `trimmingCharacters(in: .whitespaces)` removes (spaces,
    /// tabs and Unicode's other horizontal spaces), with the same result.
    ///
    /// Almost every field of a registration or a CSV cell starts and ends with a printable ASCII character, so neither
    /// end can need trimming; that case is decided from two bytes instead of by Foundation's scan.
    var trimmingWhitespace: String {
        guard let first = utf8.first, let last = utf8.last else { return "" }
        if first < 0x80, last < 0x80, !Self.isASCIIWhitespace(first), !Self.isASCIIWhitespace(last) {
            return String(self)
        }
        return trimmingCharacters(in: .whitespaces)
    }

    /// The ASCII members of `CharacterSet.whitespaces`: space and tab (line breaks are not among them).
    private static func isASCIIWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }
}
