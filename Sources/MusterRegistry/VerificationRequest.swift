import MusterCore

/// What a state user records about one credential item, as read from a verification command.
public struct VerificationInput: Sendable, Equatable {
    public var item: VerificationItem
    /// A licence is named `JURISDICTION:NUMBER`; other items by free text (a school, a certificate number).
    public var subject: String
    public var outcome: VerificationOutcome
    public var source: String
    public var reference: String
    public var expires: CalendarDate?

    public init(
        item: VerificationItem, subject: String, outcome: VerificationOutcome, source: String, reference: String,
        expires: CalendarDate?
    ) {
        self.item = item
        self.subject = subject
        self.outcome = outcome
        self.source = source
        self.reference = reference
        self.expires = expires
    }

    /// Reads `{item, subject, outcome, source, reference, expires}`, reporting every bad field.
    public static func parse(_ value: JSONValue) throws(FieldErrors) -> VerificationInput {
        var errors: [FieldError] = []
        var r = ObjectReader(value, path: "", errors: &errors)
        let item = r.token("item", VerificationItem.self, required: true)
        let subject = r.string("subject", maxLength: 200) ?? ""
        let outcome = r.token("outcome", VerificationOutcome.self, required: true)
        let source = r.string("source", required: true, maxLength: 200)
        let reference = r.string("reference", required: true, maxLength: 200)
        let expires = r.date("expires")
        if item == .license {
            let parts = subject.split(separator: ":", maxSplits: 1)
            if parts.count != 2 || Jurisdiction(parts[0]) == nil || parts[1].isEmpty {
                r.fail("subject", "a licence is named JURISDICTION:NUMBER, e.g. NY:123456")
            }
        }
        errors += r.finish()
        guard errors.isEmpty, let item, let outcome, let source, let reference else { throw FieldErrors(errors) }
        return VerificationInput(
            item: item, subject: subject, outcome: outcome, source: source, reference: reference, expires: expires)
    }
}
