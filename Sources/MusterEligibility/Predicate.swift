import MusterCore
/// A typed value a field yields or a literal in a pack.
public enum FactValue: Sendable, Hashable, CustomStringConvertible {
    case int(Int), bool(Bool), string(String), date(CalendarDate), missing
    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let v): return v
        case .date(let v): return v.description
        case .missing: return "missing"
        }
    }
    @inline(__always) static func compare(_ a: FactValue, _ b: FactValue) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.date(let x), .date(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : 1
        case (.string(let x), .string(let y)): return x == y ? 0 : 1
        default: return nil
        }
    }
}

public enum FieldType: Sendable, Equatable, CustomStringConvertible {
    case int, bool, date, string(allowed: [String]?)
    public var description: String {
        switch self {
        case .int: return "integer"
        case .bool: return "boolean"
        case .date: return "date"
        case .string(let a): return a.map { "one of \($0.joined(separator: "|"))" } ?? "string"
        }
    }
}

struct EvalContext {
    let facts: EligibilityFacts
    let date: CalendarDate
    var license: EligibilityFacts.License?
}

/// A field the predicate language can read: name, type, plain-words label and unit.
///
/// A class: compiled predicates hold one for every field they read, and evaluating one passes a reference (one
/// retain) rather than copying three strings, a type and a closure.
final class FieldDef: Sendable {
    let name: String, label: String, unit: String, type: FieldType, licenseLevel: Bool
    let get: @Sendable (EvalContext) -> FactValue

    init(
        name: String, label: String, unit: String, type: FieldType, licenseLevel: Bool,
        get: @escaping @Sendable (EvalContext) -> FactValue
    ) {
        self.name = name
        self.label = label
        self.unit = unit
        self.type = type
        self.licenseLevel = licenseLevel
        self.get = get
    }
}

enum FieldCatalog {
    static func opt(_ d: CalendarDate?) -> FactValue { d.map { .date($0) } ?? .missing }
    static let all: [String: FieldDef] = {
        var f: [String: FieldDef] = [:]
        func add(_ n: String, _ l: String, _ u: String, _ t: FieldType, lic: Bool = false,
                 _ g: @escaping @Sendable (EvalContext) -> FactValue) {
            f[n] = FieldDef(name: n, label: l, unit: u, type: t, licenseLevel: lic, get: g)
        }
        typealias F = EligibilityFacts
        add("category", "category", "", .string(allowed: F.Category.allCases.map(\.rawValue))) { .string($0.facts.category.rawValue) }
        add("profession", "profession", "", .string(allowed: nil)) { .string($0.facts.profession) }
        add("homeState", "home state", "", .string(allowed: nil)) { .string($0.facts.homeState) }
        add("disciplinary", "unresolved disciplinary action", "", .bool) { .bool($0.facts.disciplinary) }
        add("credentialLevel", "credential level", "", .int) { c in c.facts.credentialLevel.map { .int($0) } ?? .missing }
        add("img.usGmeMonths", "US GME", " months", .int) { c in c.facts.img.map { .int($0.usGmeMonths) } ?? .missing }
        add("img.ecfmgCertified", "ECFMG certified", "", .bool) { c in c.facts.img.map { .bool($0.ecfmgCertified) } ?? .missing }
        add("img.yearsOfPractice", "years of foreign practice", " years", .int) { c in c.facts.img.map { .int($0.yearsOfPractice) } ?? .missing }
        add("img.homeCountryLicenseStanding", "home-country licence standing", "", .string(allowed: F.Standing.allCases.map(\.rawValue))) { c in c.facts.img?.homeCountryLicenseStanding.map { .string($0.rawValue) } ?? .missing }
        add("img.graduationDate", "medical school graduation", "", .date) { c in opt(c.facts.img?.graduationDate) }
        add("retired.lastClinicalPractice", "last clinical practice", "", .date) { c in opt(c.facts.retired?.lastClinicalPractice) }
        add("student.program", "student programme", "", .string(allowed: F.Program.allCases.map(\.rawValue))) { c in c.facts.student.map { .string($0.program.rawValue) } ?? .missing }
        add("student.graduationDate", "graduation", "", .date) { c in opt(c.facts.student?.graduationDate) }
        add("student.graduated", "graduated", "", .bool) { c in c.facts.student.map { .bool($0.graduated) } ?? .missing }
        add("license.jurisdiction", "licence jurisdiction", "", .string(allowed: nil), lic: true) { c in c.license.map { .string($0.jurisdiction) } ?? .missing }
        add("license.type", "licence type", "", .string(allowed: nil), lic: true) { c in c.license.map { .string($0.type) } ?? .missing }
        add("license.status", "licence status", "", .string(allowed: F.LicenseStatus.allCases.map(\.rawValue)), lic: true) { c in c.license.map { .string($0.status.rawValue) } ?? .missing }
        add("license.expires", "licence expiry", "", .date, lic: true) { c in opt(c.license?.expires) }
        add("license.lapsed", "licence status change", "", .date, lic: true) { c in opt(c.license?.lapsed) }
        add("license.multistate", "multistate licence", "", .bool, lic: true) { c in c.license.map { .bool($0.multistate) } ?? .missing }
        return f
    }()
}

public enum CompareOp: String, Sendable, CaseIterable {
    case eq, ne, lt, le, gt, ge
    var symbol: String {
        switch self { case .eq: "="; case .ne: "≠"; case .lt: "<"; case .le: "≤"; case .gt: ">"; case .ge: "≥" }
    }
    var negated: CompareOp { switch self { case .eq: .ne; case .ne: .eq; case .lt: .ge; case .le: .gt; case .gt: .le; case .ge: .lt } }
    @inline(__always) func holds(_ c: Int) -> Bool {
        switch self { case .eq: c == 0; case .ne: c != 0; case .lt: c < 0; case .le: c <= 0; case .gt: c > 0; case .ge: c >= 0 }
    }
}

/// A leaf predicate's texts, made once when its pack compiles, so that explaining a decision joins them rather than
/// formatting lists and thresholds again for every volunteer.
struct LeafText: Sendable {
    /// What is required, in plain words: `US GME ≥ 12 months`, `category in [img, retired]`.
    let requirement: String
    /// The reason when the field has no value: `US GME missing, ≥ 12 months required`.
    let missing: String
    /// What follows the volunteer's value in a failing reason: for a comparison the negated threshold
    /// (`< 12 required`), for `in` the list (`[img, retired]`), for a window its length (`5 years`).
    let detail: String
}

/// A compiled, type-checked predicate.
indirect enum Predicate: Sendable {
    case compare(FieldDef, CompareOp, FactValue, LeafText)
    case member(FieldDef, [FactValue], LeafText)
    /// Date field lies in [evaluation date − months − days, evaluation date].
    case within(FieldDef, months: Int, days: Int, LeafText)
    case all([Predicate]), any([Predicate]), not(Predicate)
    /// A licence quantifier and its body's plain words (made once: quantifiers do not nest, so each leaf's text is
    /// copied into at most one of them).
    case anyLicense(Predicate, body: String), noLicense(Predicate, body: String)

    /// `field op value`, with its texts.
    static func comparing(_ f: FieldDef, _ op: CompareOp, _ v: FactValue) -> Predicate {
        let threshold = "\(op.symbol) \(v)\(f.unit)"
        return .compare(
            f, op, v,
            LeafText(
                requirement: "\(f.label) \(threshold)", missing: "\(f.label) missing, \(threshold) required",
                detail: "\(op.negated.symbol) \(v) required"))
    }

    /// `field in values`, with its texts.
    static func membership(_ f: FieldDef, _ values: [FactValue]) -> Predicate {
        let list = "[\(values.map(\.description).joined(separator: ", "))]"
        return .member(f, values, LeafText(requirement: "\(f.label) in \(list)", missing: "\(f.label) missing not in \(list)", detail: list))
    }

    /// A date field within `window` (`5 years`, `180 days`) before the evaluation date, with its texts.
    static func window(_ f: FieldDef, months: Int, days: Int, _ window: String) -> Predicate {
        .within(
            f, months: months, days: days,
            LeafText(
                requirement: "\(f.label) within the last \(window)",
                missing: "\(f.label) missing, within the last \(window) required", detail: window))
    }

    /// A licence quantifier over `body`: some licence satisfies it (`any`), or none does.
    static func license(any: Bool, _ body: Predicate) -> Predicate {
        any ? .anyLicense(body, body: body.describe) : .noLicense(body, body: body.describe)
    }

    func holds(_ c: inout EvalContext) -> Bool {
        switch self {
        case .compare(let f, let op, let v, _):
            guard let r = FactValue.compare(f.get(c), v) else { return false }
            return op.holds(r)
        case .member(let f, let vs, _):
            let x = f.get(c); if case .missing = x { return false }
            return vs.contains(x)
        case .within(let f, let months, let days, _):
            guard case .date(let d) = f.get(c) else { return false }
            guard d <= c.date else { return false }
            // No limit when the window reaches back before 0001-01-01 (an evaluation date early in year 1).
            return Self.windowStart(c.date, months: months, days: days).map { d >= $0 } ?? true
        case .all(let ps): for p in ps where !p.holds(&c) { return false }; return true
        case .any(let ps): for p in ps where p.holds(&c) { return true }; return false
        case .not(let p): return !p.holds(&c)
        case .anyLicense(let p, _), .noLicense(let p, _):
            var found = false
            let saved = c.license
            for l in c.facts.licenses { c.license = l; if p.holds(&c) { found = true; break } }
            c.license = saved
            if case .anyLicense = self { return found } else { return !found }
        }
    }

    /// The first day of a `within` window ending on `date`: `months` and then `days` earlier, or nil when that is
    /// before 0001-01-01, the first day a `CalendarDate` holds (any evaluation date is accepted, so a window may
    /// reach back past it; the amounts are bounded when the pack compiles).
    static func windowStart(_ date: CalendarDate, months: Int, days: Int) -> CalendarDate? {
        guard let shifted = date.adding(months: -months) else { return nil }
        if days == 0 { return shifted }
        let start = shifted.daysSinceEpoch - days
        return start >= firstDayNumber ? CalendarDate(daysSinceEpoch: start) : nil
    }

    /// 0001-01-01 in days since 1970-01-01.
    static let firstDayNumber = CalendarDate(year: 1, month: 1, day: 1)!.daysSinceEpoch

    /// A plain-words statement of what is required.
    var describe: String {
        switch self {
        case .compare(_, _, _, let t), .member(_, _, let t), .within(_, _, _, let t): return t.requirement
        case .all(let ps): return ps.map(\.describe).joined(separator: " and ")
        case .any(let ps): return "(" + ps.map(\.describe).joined(separator: " or ") + ")"
        case .not(let p): return "not (\(p.describe))"
        case .anyLicense(_, let body): return "a licence with " + body
        case .noLicense(_, let body): return "no licence with " + body
        }
    }

    /// The requirements that fail, without the volunteer's values (so they can be counted across volunteers):
    /// the failing conjuncts of an `all`, otherwise the whole predicate's statement.
    func unmet(_ c: inout EvalContext) -> [String] {
        if holds(&c) { return [] }
        if case .all(let ps) = self { return ps.flatMap { $0.unmet(&c) } }
        return [describe]
    }

    /// Why this predicate fails, in plain words naming field, value and threshold.
    func reasons(_ c: inout EvalContext) -> [String] {
        if holds(&c) { return [] }
        switch self {
        case .compare(let f, _, _, let t):
            let x = f.get(c)
            if case .missing = x { return [t.missing] }
            return ["\(f.label) \(x)\(f.unit) \(t.detail)".replacingSpaces()]
        case .member(let f, _, let t):
            let x = f.get(c)
            if case .missing = x { return [t.missing] }
            return ["\(f.label) \(x) not in \(t.detail)"]
        case .within(let f, let months, let days, let t):
            guard case .date(let d) = f.get(c) else { return [t.missing] }
            if d > c.date { return ["\(f.label) \(d) is after the evaluation date \(c.date)"] }
            let limit = Self.windowStart(c.date, months: months, days: days).map(\.description) ?? "0001-01-01"
            return ["\(f.label) \(d) is more than \(t.detail) before \(c.date) (limit \(limit))"]
        case .all(let ps): return ps.flatMap { $0.reasons(&c) }
        case .any(let ps): return ["none of: " + ps.map { p in p.reasons(&c).joined(separator: "; ") }.joined(separator: " | ")]
        case .not(let p): return ["\(p.describe) holds, which is not allowed"]
        case .anyLicense(_, let body): return ["no licence with " + body]
        case .noLicense(let p, let body):
            let bad = c.facts.licenses.filter { l in var cc = c; cc.license = l; return p.holds(&cc) }
            return bad.map { "licence \($0.jurisdiction) \($0.type) \($0.status.rawValue) matches \(body), which is not allowed" }
        }
    }
}

extension String {
    // "US GME 11 months < 12 required": value then unit then threshold; keep single spaces.
    fileprivate func replacingSpaces() -> String {
        // Usually there is nothing to collapse: no space at either end, none doubled.
        var previous: UInt8 = 0x20
        var clean = true
        for byte in utf8 {
            if byte == 0x20, previous == 0x20 { clean = false; break }
            previous = byte
        }
        if clean, previous != 0x20 { return self }
        return split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
