import MusterCore

/// Reads the body of a verification command.
public enum VerificationRequest {
    /// `{item, subject, outcome, source, reference, expires}`; a licence's subject is `JURISDICTION:NUMBER`.
    public static func parse(_ value: JSONValue) throws(FieldErrors) -> (
        item: VerificationItem, subject: String, outcome: VerificationOutcome, source: String, reference: String,
        expires: CalendarDate?
    ) {
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
        return (item, subject, outcome, source, reference, expires)
    }
}
