/// Checks for identifiers and contact fields.
public enum Identifiers {
    /// A National Provider Identifier: 10 digits whose last is the Luhn check digit computed over the prefix
    /// `80840` followed by the first nine digits (CMS, "NPI check digit").
    public static func npiProblem(_ npi: String) -> String? {
        let digits = npi.compactMap { $0.wholeNumberValue }
        guard npi.count == 10, digits.count == 10, npi.allSatisfy(\.isASCII) else { return "must be 10 digits" }
        guard isLuhnValid([8, 0, 8, 4, 0] + digits) else { return "check digit mismatch" }
        return nil
    }

    static func isLuhnValid(_ digits: [Int]) -> Bool {
        var sum = 0
        for (offset, digit) in digits.reversed().enumerated() {
            if offset % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return sum % 10 == 0
    }

    /// E.164: `+`, a country code not starting with 0, at most 15 digits in all.
    public static func phoneProblem(_ phone: String) -> String? {
        let body = phone.dropFirst()
        guard phone.hasPrefix("+"), (8...15).contains(body.count), body.allSatisfy({ $0.isASCII && $0.isNumber }),
            body.first != "0"
        else { return "not E.164 (expected + and 8 to 15 digits, e.g. +12125550100)" }
        return nil
    }

    /// A plausible address: one `@`, a local part, a domain with a dot, no spaces.
    public static func emailProblem(_ email: String) -> String? {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), !email.contains(where: \.isWhitespace)
        else { return "not an email address" }
        return nil
    }
}
