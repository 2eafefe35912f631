import MusterCore
import Yams

public enum Setting: String, Sendable, CaseIterable { case hospital, alternate_care_site, telehealth, any }
public enum SourceGrade: String, Sendable, CaseIterable, Comparable {
    case V, S, U
    public static func < (a: SourceGrade, b: SourceGrade) -> Bool { a.rank < b.rank }
    var rank: Int { switch self { case .V: 0; case .S: 1; case .U: 2 } }
}
/// Condition codes from orders.md §0.
public let knownConditionCodes: Set<String> = [
    "hospital_only", "in_person_clinical_only", "nj_doh_licensed_facility_or_designated_emergency_site",
    "acute_care_facility_only", "supervision_required", "direct_supervision_on_premises", "no_prescribing",
    "temporary_license_application_required", "reactivation_application_required",
    "expedited_full_license_application_required", "valid_for_duration_of_emergency",
    "exam_within_90_days_of_availability", "iema_idph_direction_or_ltc_hospital_fqhc",
    "scope_within_home_and_host_state_scope", "malpractice_insurance_required",
    "contracting_entity_verifies_credentials", "registered_with_qualifying_registration_system",
    "expires_2022_12_31", "limited_license_90_days", "intern_resident_fellow_at_board_approved_program",
    "multistate_license_required",
]

public struct SourceCitation: Sendable, Hashable { public let citation: String; public let grade: SourceGrade }

public struct Provision: Sendable {
    public let id: String
    public let title: String
    public let categories: Set<EligibilityFacts.Category>?   // nil = any
    public let professions: Set<String>?                     // nil = any
    public let settings: [Setting]
    public let conditions: [String]
    public let grade: SourceGrade
    public let uncertain: Bool
    public let allowAdverse: Bool
    public let effectiveFrom: CalendarDate?   // overrides the pack window when set
    public internal(set) var effectiveTo: CalendarDate?
    public let why: String?
    let criteria: Predicate?
    public var criteriaDescription: String { criteria?.describe ?? "none" }
    /// `categories`, sorted and comma-separated, for reasons (made once, not per evaluation).
    let categoriesText: String?
    /// `professions`, sorted and comma-separated, for reasons.
    let professionsText: String?
    /// What ends each of this provision's reasons, ` (PACK-ID provision-id)`; set when its pack is built.
    var reasonTag = ""

    init(
        id: String, title: String, categories: Set<EligibilityFacts.Category>?, professions: Set<String>?,
        settings: [Setting], conditions: [String], grade: SourceGrade, uncertain: Bool, allowAdverse: Bool,
        effectiveFrom: CalendarDate?, effectiveTo: CalendarDate?, why: String?, criteria: Predicate?
    ) {
        self.id = id
        self.title = title
        self.categories = categories
        self.professions = professions
        self.settings = settings
        self.conditions = conditions
        self.grade = grade
        self.uncertain = uncertain
        self.allowAdverse = allowAdverse
        self.effectiveFrom = effectiveFrom
        self.effectiveTo = effectiveTo
        self.why = why
        self.criteria = criteria
        categoriesText = categories.map { $0.map(\.rawValue).sorted().joined(separator: ", ") }
        professionsText = professions.map { $0.sorted().joined(separator: ", ") }
    }
}

/// One instrument (order, programme, statute or cross-state mechanism), compiled.
public struct RulePack: Sendable {
    public let id: String
    public let state: String              // two-letter state, or "MULTI" for a mechanism
    public let appliesTo: Set<String>     // states the pack applies to (own state always included)
    public let kind: String               // instrument | mechanism
    public let title: String
    public let instrumentType: String
    public let instrumentNumber: String
    public let signed: CalendarDate?
    public let effectiveFrom: CalendarDate
    public internal(set) var effectiveTo: CalendarDate? // nil = open-ended
    public let extendedBy: [String]
    /// The file's `version:` when loaded from a file; the database's version number once stored.
    public internal(set) var version: Int
    /// The file's own `version:` (the document revision), kept when the database renumbers.
    public internal(set) var revision: Int
    /// The day from which a rescission ends the instrument (it was last in force the day before); nil if never rescinded.
    public internal(set) var rescindedOn: CalendarDate?
    public let sources: [SourceCitation]
    public internal(set) var provisions: [Provision]
    public let file: String
}

/// One problem found while loading a pack: file, line, column and key path.
public struct PackIssue: Error, Sendable, Hashable, CustomStringConvertible {
    public let file: String, line: Int, column: Int, key: String, message: String
    public var description: String { "\(file):\(line):\(column): \(key): \(message)" }
}
/// A pack was rejected as a whole; `issues` lists every problem found.
public struct PackLoadError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let issues: [PackIssue]
    public var description: String { "\(file): rejected with \(issues.count) error(s)\n" + issues.map { "  \($0)" }.joined(separator: "\n") }
}

struct PackParser {
    let file: String
    var issues: [PackIssue] = []
    /// Predicates compiled so far. YAML aliases repeat what they point to, so a few hundred bytes of nested aliases
    /// can stand for billions of predicates; a pack may hold at most `maxPredicates`.
    var predicates = 0
    static let maxPredicates = 10_000

    mutating func err(_ n: Node?, _ key: String, _ msg: String) {
        let m = n?.mark
        issues.append(PackIssue(file: file, line: (m?.line ?? 0), column: (m?.column ?? 0), key: key, message: msg))
    }
    func pairs(_ n: Node) -> [(String, Node, Node)] {
        guard let m = n.mapping else { return [] }
        return m.map { ($0.key.string ?? "?", $0.key, $0.value) }
    }
    mutating func mapping(_ n: Node?, _ key: String, allowed: Set<String>, required: Set<String> = []) -> [String: Node] {
        guard let n else { return [:] }
        guard n.mapping != nil else { err(n, key, "expected a mapping"); return [:] }
        var out: [String: Node] = [:]
        for (k, kn, v) in pairs(n) {
            if !allowed.contains(k) { err(kn, "\(key).\(k)", "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))"); continue }
            if out[k] != nil { err(kn, "\(key).\(k)", "duplicate key") }
            out[k] = v
        }
        for r in required.sorted() where out[r] == nil { err(n, "\(key).\(r)", "required key missing") }
        return out
    }
    mutating func string(_ n: Node?, _ key: String) -> String? {
        guard let n else { return nil }
        guard let s = n.scalar?.string else { err(n, key, "expected a scalar string"); return nil }
        return s
    }
    mutating func int(_ n: Node?, _ key: String) -> Int? {
        guard let s = string(n, key) else { return nil }
        guard let v = Int(s) else { err(n, key, "expected an integer, got \"\(s)\""); return nil }
        return v
    }
    mutating func bool(_ n: Node?, _ key: String) -> Bool? {
        guard let s = string(n, key) else { return nil }
        switch s { case "true": return true; case "false": return false
        default: err(n, key, "expected true or false, got \"\(s)\""); return nil }
    }
    mutating func date(_ n: Node?, _ key: String) -> CalendarDate? {
        guard let s = string(n, key) else { return nil }
        guard let d = CalendarDate(s) else { err(n, key, "expected a date YYYY-MM-DD, got \"\(s)\""); return nil }
        return d
    }
    mutating func list(_ n: Node?, _ key: String) -> [Node] {
        guard let n else { return [] }
        guard let s = n.sequence else { err(n, key, "expected a list"); return [] }
        return Array(s)
    }
    mutating func stringList(_ n: Node?, _ key: String) -> [String] {
        list(n, key).enumerated().compactMap { string($0.element, "\(key)[\($0.offset)]") }
    }

    // MARK: predicates

    mutating func literal(_ n: Node, _ key: String, for f: FieldDef) -> FactValue? {
        switch f.type {
        case .int: return int(n, key).map { .int($0) }
        case .bool: return bool(n, key).map { .bool($0) }
        case .date: return date(n, key).map { .date($0) }
        case .string(let allowed):
            guard let s = string(n, key) else { return nil }
            if let allowed, !allowed.contains(s) {
                err(n, key, "\"\(s)\" is not a valid \(f.name) (\(f.type))"); return nil
            }
            return .string(s)
        }
    }
    mutating func field(_ n: Node?, _ key: String, inLicense: Bool) -> FieldDef? {
        guard let name = string(n, key) else { return nil }
        guard let f = FieldCatalog.all[name] else {
            err(n, key, "unknown field \"\(name)\" (known: \(FieldCatalog.all.keys.sorted().joined(separator: ", ")))"); return nil
        }
        if f.licenseLevel && !inLicense { err(n, key, "field \"\(name)\" is only allowed inside anyLicense/noLicense"); return nil }
        return f
    }

    mutating func predicate(_ n: Node, _ key: String, inLicense: Bool) -> Predicate? {
        predicates += 1
        if predicates > Self.maxPredicates {
            if predicates == Self.maxPredicates + 1 {
                err(n, key, "more than \(Self.maxPredicates) predicates in one pack (counting each use of a YAML alias)")
            }
            return nil
        }
        guard let m = n.mapping, m.count == 1, let (opName, opNode, body) = pairs(n).first else {
            err(n, key, "a predicate is a mapping with exactly one operator key"); return nil
        }
        let k = "\(key).\(opName)"
        if let op = CompareOp(rawValue: opName) {
            let b = mapping(body, k, allowed: ["field", "value"], required: ["field", "value"])
            guard let f = field(b["field"], "\(k).field", inLicense: inLicense), let vn = b["value"] else { return nil }
            if (op == .lt || op == .le || op == .gt || op == .ge), f.type != .int, f.type != .date {
                err(opNode, k, "operator \(opName) needs an integer or date field; \(f.name) is \(f.type)"); return nil
            }
            guard let v = literal(vn, "\(k).value", for: f) else { return nil }
            return .comparing(f, op, v)
        }
        switch opName {
        case "in":
            let b = mapping(body, k, allowed: ["field", "values"], required: ["field", "values"])
            guard let f = field(b["field"], "\(k).field", inLicense: inLicense), let vs = b["values"] else { return nil }
            var out: [FactValue] = []; var ok = true
            for (i, v) in list(vs, "\(k).values").enumerated() {
                if let x = literal(v, "\(k).values[\(i)]", for: f) { out.append(x) } else { ok = false }
            }
            if out.isEmpty && ok { err(vs, "\(k).values", "empty list") ; return nil }
            return ok ? .membership(f, out) : nil
        case "withinYears", "withinMonths", "withinDays":
            let unitKey = opName == "withinYears" ? "years" : (opName == "withinMonths" ? "months" : "days")
            let b = mapping(body, k, allowed: ["field", unitKey], required: ["field", unitKey])
            guard let f = field(b["field"], "\(k).field", inLicense: inLicense) else { _ = int(b[unitKey], "\(k).\(unitKey)"); return nil }
            guard let amount = int(b[unitKey], "\(k).\(unitKey)") else { return nil }
            if f.type != .date { err(b["field"], "\(k).field", "\(opName) needs a date field; \(f.name) is \(f.type)"); return nil }
            if amount < 0 { err(b[unitKey], "\(k).\(unitKey)", "must be ≥ 0"); return nil }
            // Dates run from 0001 to 9999, so a longer window means nothing (and would overflow).
            let most = unitKey == "years" ? 9999 : (unitKey == "months" ? 9999 * 12 : 9999 * 366)
            if amount > most { err(b[unitKey], "\(k).\(unitKey)", "must be at most \(most)"); return nil }
            if unitKey == "days" { return .window(f, months: 0, days: amount, "\(amount) days") }
            let months = unitKey == "years" ? amount * 12 : amount
            return .window(f, months: months, days: 0, "\(amount) \(unitKey)")
        case "all", "any":
            var ps: [Predicate] = []; var ok = true
            let items = list(body, k)
            if items.isEmpty && body.sequence != nil { err(body, k, "empty list") ; return nil }
            for (i, it) in items.enumerated() {
                if let p = predicate(it, "\(k)[\(i)]", inLicense: inLicense) { ps.append(p) } else { ok = false }
            }
            guard ok, body.sequence != nil else { return nil }
            return opName == "all" ? .all(ps) : .any(ps)
        case "not":
            return predicate(body, k, inLicense: inLicense).map { .not($0) }
        case "anyLicense", "noLicense":
            if inLicense { err(opNode, k, "\(opName) cannot be nested inside another licence quantifier"); return nil }
            guard let p = predicate(body, k, inLicense: true) else { return nil }
            return .license(any: opName == "anyLicense", p)
        default:
            err(opNode, k, "unknown operator \"\(opName)\" (eq ne lt le gt ge in withinYears withinMonths withinDays all any not anyLicense noLicense)")
            return nil
        }
    }

    // MARK: pack

    mutating func pack(_ root: Node) -> RulePack? {
        let top = mapping(root, "$", allowed: ["id", "state", "appliesTo", "kind", "title", "instrument", "signed", "effective",
                                               "extendedBy", "version", "sources", "provisions", "notes"],
                          required: ["id", "state", "title", "instrument", "effective", "version", "sources", "provisions"])
        let id = string(top["id"], "id")
        let state = string(top["state"], "state")
        let kind = top["kind"].flatMap { string($0, "kind") } ?? "instrument"
        if kind != "instrument" && kind != "mechanism" { err(top["kind"], "kind", "expected instrument or mechanism") }
        let applies = stringList(top["appliesTo"], "appliesTo")
        if kind == "mechanism" && applies.isEmpty { err(top["kind"] ?? root, "appliesTo", "a mechanism pack must list appliesTo states") }
        let title = string(top["title"], "title")
        _ = top["notes"].map { string($0, "notes") }
        let ins = mapping(top["instrument"], "instrument", allowed: ["type", "number"], required: ["type", "number"])
        let itype = string(ins["type"], "instrument.type"), inum = string(ins["number"], "instrument.number")
        let signed = top["signed"].flatMap { date($0, "signed") }
        let eff = mapping(top["effective"], "effective", allowed: ["from", "to"], required: ["from"])
        let from = date(eff["from"], "effective.from")
        let to: CalendarDate? = eff["to"].flatMap { n in n.scalar?.string == "open" ? nil : date(n, "effective.to") }
        if let from, let to, to < from { err(eff["to"], "effective.to", "ends (\(to)) before it starts (\(from))") }
        let version = int(top["version"], "version")
        var sources: [SourceCitation] = []
        for (i, s) in list(top["sources"], "sources").enumerated() {
            let k = "sources[\(i)]"
            let m = mapping(s, k, allowed: ["citation", "grade"], required: ["citation", "grade"])
            if let c = string(m["citation"], "\(k).citation"), let g = grade(m["grade"], "\(k).grade") { sources.append(.init(citation: c, grade: g)) }
        }
        if top["sources"] != nil && sources.isEmpty { err(top["sources"], "sources", "at least one source is required") }
        var provisions: [Provision] = []
        var seen: Set<String> = []
        let plist = list(top["provisions"], "provisions")
        if top["provisions"] != nil && plist.isEmpty { err(top["provisions"], "provisions", "at least one provision is required") }
        for (i, pn) in plist.enumerated() {
            if let p = provision(pn, "provisions[\(i)]") {
                if !seen.insert(p.id).inserted { err(pn, "provisions[\(i)].id", "duplicate provision id \(p.id)") }
                provisions.append(p)
            }
        }
        guard issues.isEmpty, let id, let state, let title, let itype, let inum, let from, let version else { return nil }
        for index in provisions.indices { provisions[index].reasonTag = " (\(id) \(provisions[index].id))" }
        return RulePack(id: id, state: state, appliesTo: Set(applies).union(state == "MULTI" ? [] : [state]), kind: kind,
                        title: title, instrumentType: itype, instrumentNumber: inum, signed: signed, effectiveFrom: from,
                        effectiveTo: to, extendedBy: stringList(top["extendedBy"], "extendedBy"), version: version,
                        revision: version, rescindedOn: nil, sources: sources, provisions: provisions, file: file)
    }
    mutating func grade(_ n: Node?, _ key: String) -> SourceGrade? {
        guard let s = string(n, key) else { return nil }
        guard let g = SourceGrade(rawValue: s) else { err(n, key, "grade must be V, S or U, got \"\(s)\""); return nil }
        return g
    }
    mutating func provision(_ n: Node, _ k: String) -> Provision? {
        let m = mapping(n, k, allowed: ["id", "title", "covers", "criteria", "grants", "grade", "uncertain", "allowAdverse", "effective", "why"],
                        required: ["id", "covers", "grants", "grade"])
        let id = string(m["id"], "\(k).id")
        let title = m["title"].flatMap { string($0, "\(k).title") } ?? ""
        let why = m["why"].flatMap { string($0, "\(k).why") }
        let cov = mapping(m["covers"], "\(k).covers", allowed: ["categories", "professions"])
        var cats: Set<EligibilityFacts.Category>? = nil
        if let cn = cov["categories"] {
            cats = []
            for (i, s) in list(cn, "\(k).covers.categories").enumerated() {
                guard let t = string(s, "\(k).covers.categories[\(i)]") else { continue }
                if let c = EligibilityFacts.Category(rawValue: t) { cats!.insert(c) } else { err(s, "\(k).covers.categories[\(i)]", "unknown category \"\(t)\" (img|retired|student|licensed)") }
            }
        }
        let profs = cov["professions"].map { Set(stringList($0, "\(k).covers.professions")) }
        let criteria = m["criteria"].flatMap { predicate($0, "\(k).criteria", inLicense: false) }
        let g = mapping(m["grants"], "\(k).grants", allowed: ["settings", "conditions"], required: ["settings"])
        var settings: [Setting] = []
        for (i, s) in list(g["settings"], "\(k).grants.settings").enumerated() {
            guard let t = string(s, "\(k).grants.settings[\(i)]") else { continue }
            if let v = Setting(rawValue: t) { settings.append(v) } else { err(s, "\(k).grants.settings[\(i)]", "unknown setting \"\(t)\" (hospital|alternate_care_site|telehealth|any)") }
        }
        var conditions: [String] = []
        for (i, s) in list(g["conditions"], "\(k).grants.conditions").enumerated() {
            guard let t = string(s, "\(k).grants.conditions[\(i)]") else { continue }
            if knownConditionCodes.contains(t) { conditions.append(t) } else { err(s, "\(k).grants.conditions[\(i)]", "unknown condition code \"\(t)\"") }
        }
        let grade = grade(m["grade"], "\(k).grade")
        let uncertain = m["uncertain"].flatMap { bool($0, "\(k).uncertain") } ?? false
        if grade == .U && !uncertain { err(m["grade"], "\(k).uncertain", "a grade U provision must say uncertain: true") }
        let allowAdverse = m["allowAdverse"].flatMap { bool($0, "\(k).allowAdverse") } ?? false
        let eff = mapping(m["effective"], "\(k).effective", allowed: ["from", "to"])
        let from = eff["from"].flatMap { date($0, "\(k).effective.from") }
        let to = eff["to"].flatMap { date($0, "\(k).effective.to") }
        guard let id, let grade else { return nil }
        return Provision(id: id, title: title, categories: cats, professions: profs, settings: settings, conditions: conditions,
                         grade: grade, uncertain: uncertain, allowAdverse: allowAdverse, effectiveFrom: from, effectiveTo: to,
                         why: why, criteria: criteria)
    }
}

extension RulePack {
    /// Parses and type-checks one pack. Nothing is returned unless the whole file is valid.
    public static func load(yaml: String, file: String) throws(PackLoadError) -> RulePack {
        var p = PackParser(file: file)
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw PackLoadError(file: file, issues: [PackIssue(file: file, line: 0, column: 0, key: "$", message: "YAML syntax: \(error)")])
        }
        guard let root else { throw PackLoadError(file: file, issues: [PackIssue(file: file, line: 0, column: 0, key: "$", message: "empty document")]) }
        let pack = p.pack(root)
        guard let pack, p.issues.isEmpty else { throw PackLoadError(file: file, issues: p.issues) }
        return pack
    }
}

extension RulePack {
    /// Whether `date` lies in the instrument's own window: not before it was signed, and from `effectiveFrom` to
    /// `effectiveTo` (after any rescission). Provisions may narrow it further.
    public func isInForce(on date: CalendarDate) -> Bool {
        if let signed, date < signed { return false }
        return effectiveFrom <= date && (effectiveTo.map { date <= $0 } ?? true)
    }

    /// This pack as stored: numbered `version` by the database, and ended by a rescission from `rescindedOn`
    /// (the pack and every provision window then close the day before, unless they already closed earlier).
    public func stored(version: Int, rescindedOn: CalendarDate?) -> RulePack {
        var copy = self
        copy.version = version
        copy.rescindedOn = rescindedOn
        if let rescindedOn {
            let lastDay = rescindedOn.adding(days: -1)
            copy.effectiveTo = min(effectiveTo ?? lastDay, lastDay)
            copy.provisions = provisions.map { provision in
                var capped = provision
                if let to = provision.effectiveTo { capped.effectiveTo = min(to, lastDay) }
                return capped
            }
        }
        return copy
    }
}
