import Foundation
import MusterCore

/// One primary-source verification, as recorded (append-only).
public struct Verification: Sendable, Equatable, Codable {
    public var id: Int64
    public var item: VerificationItem
    /// What exactly was checked: for a licence `JURISDICTION:NUMBER` (e.g. `NY:123456`), for a school its name;
    /// empty for identity.
    public var subject: String
    public var outcome: VerificationOutcome
    /// The primary source, e.g. `NY Office of the Professions license lookup`.
    public var source: String
    /// The source's reference, e.g. a lookup id or certificate number.
    public var reference: String
    /// Who recorded it (the token's name).
    public var verifiedBy: String
    public var verifiedAt: Date
    /// When what was verified stops being valid (a licence's or certificate's expiry), if it does.
    public var expires: CalendarDate?

    public init(
        id: Int64, item: VerificationItem, subject: String, outcome: VerificationOutcome, source: String,
        reference: String, verifiedBy: String, verifiedAt: Date, expires: CalendarDate?
    ) {
        self.id = id
        self.item = item
        self.subject = subject
        self.outcome = outcome
        self.source = source
        self.reference = reference
        self.verifiedBy = verifiedBy
        self.verifiedAt = verifiedAt
        self.expires = expires
    }

    /// True when this verification confirms its item on `date`.
    public func confirms(on date: CalendarDate) -> Bool {
        outcome == .verified && (expires.map { $0 >= date } ?? true)
    }
}

/// The ESAR-VHP emergency credential level, derived from verified items only (never from claims).
///
/// 1. clinically active in a hospital: a verified active licence and verified hospital privileges;
/// 2. clinically active in another setting: a verified active licence and verified clinical employment;
/// 3. meets the basic qualifications to practise: a verified active licence;
/// 4. health education or experience only: a verified licence of any standing, ECFMG certification, graduation or
///    enrolment.
///
/// Every level also needs verified identity. Without it, or with nothing else verified, there is no level.
public struct CredentialAssessment: Sendable, Equatable {
    /// 1 (highest) to 4, or nil when nothing qualifying is verified.
    public let level: Int?
    /// What would raise the assessment, in plain words, e.g. `identity`, `an active US licence`.
    public let missing: [String]
    /// The first date on which this level stops holding because a verification expires (nil if none does).
    public let validUntil: CalendarDate?

    /// Assesses a volunteer on `date`. For each item and subject only the latest verification counts, so a later
    /// `failed` cancels an earlier `verified`.
    public static func assess(
        profile: VolunteerProfile, verifications: [Verification], on date: CalendarDate
    ) -> CredentialAssessment {
        var latest: [String: Verification] = [:]
        for verification in verifications.sorted(by: { ($0.verifiedAt, $0.id) < ($1.verifiedAt, $1.id) }) {
            latest["\(verification.item.rawValue)|\(verification.subject.uppercased())"] = verification
        }
        let current = latest.values.filter { $0.confirms(on: date) }
        func has(_ item: VerificationItem) -> [Verification] { current.filter { $0.item == item } }

        let activeLicenses = has(.license).filter { verification in
            profile.licenses.contains { license in
                "\(license.jurisdiction):\(license.number)".uppercased() == verification.subject.uppercased()
                    && license.status == .active && (license.expires.map { $0 >= date } ?? true)
            }
        }
        let identity = has(.identity)
        let privileges = has(.privileges)
        let employment = has(.employment)
        let education = has(.ecfmg) + has(.graduation) + has(.enrollment)
        let anyLicense = has(.license)

        var missing: [String] = []
        if identity.isEmpty { missing.append("identity") }
        let supporting: [Verification]
        let level: Int?
        if !activeLicenses.isEmpty, !privileges.isEmpty {
            level = 1
            supporting = activeLicenses + privileges
        } else if !activeLicenses.isEmpty, !employment.isEmpty {
            level = 2
            supporting = activeLicenses + employment
        } else if !activeLicenses.isEmpty {
            level = 3
            supporting = activeLicenses
        } else if !anyLicense.isEmpty || !education.isEmpty {
            level = 4
            supporting = anyLicense + education
        } else {
            level = nil
            supporting = []
        }
        if activeLicenses.isEmpty {
            switch profile.category {
            case .licensed: missing.append("an active US licence")
            case .retired: missing.append(anyLicense.isEmpty ? "a licence (any standing)" : "an active US licence (for level 3)")
            case .img: if education.isEmpty { missing.append("ECFMG certification or graduation") }
            case .student: if education.isEmpty { missing.append("enrolment or graduation") }
            }
        } else if privileges.isEmpty, employment.isEmpty {
            missing.append("current clinical employment or hospital privileges (for level 1 or 2)")
        }
        guard identity.isEmpty == false, let level else {
            return CredentialAssessment(level: nil, missing: missing, validUntil: nil)
        }
        let validUntil = (identity + supporting).compactMap(\.expires).min()
        return CredentialAssessment(level: level, missing: missing, validUntil: validUntil)
    }
}
