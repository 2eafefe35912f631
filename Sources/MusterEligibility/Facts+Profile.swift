import MusterCore
import MusterRegistry

extension EligibilityFacts {
    /// The facts the rules read, taken from a registry record.
    ///
    /// Everything comes from the record as registered, except `credentialLevel`, which the registry derives from
    /// primary-source verifications only (pass nil for an unsaved profile). Only unresolved disciplinary actions count.
    public init(profile: VolunteerProfile, credentialLevel: Int?) {
        let category: Category
        switch profile.category {
        case .img: category = .img
        case .retired: category = .retired
        case .student: category = .student
        case .licensed: category = .licensed
        }
        let licenses = profile.licenses.map { license in
            License(
                jurisdiction: license.jurisdiction, type: license.type, status: Self.status(license.status),
                expires: license.expires, lapsed: license.lapsed, multistate: license.multistate ?? false)
        }
        let img = profile.img.map { details in
            IMG(
                usGmeMonths: details.usGmeMonths, ecfmgCertified: details.ecfmgCertified,
                yearsOfPractice: details.yearsOfPractice,
                homeCountryLicenseStanding: details.homeCountryLicense.flatMap { Standing(rawValue: $0.standing.rawValue) },
                graduationDate: details.graduationDate)
        }
        let retired = profile.retired.map { Retired(lastClinicalPractice: $0.lastClinicalPractice) }
        let student = profile.student.map { details in
            Student(
                program: details.program == .medicine ? .medicine : .nursing, graduationDate: details.graduationDate,
                graduated: details.graduated)
        }
        self.init(
            category: category, profession: profile.profession.rawValue, homeState: profile.homeState,
            licenses: licenses, disciplinary: profile.disciplinaryActions.contains { !$0.resolved }, img: img,
            retired: retired, student: student, credentialLevel: credentialLevel,
            skills: profile.skills.map(\.rawValue))
    }

    private static func status(_ status: MusterRegistry.LicenseStatus) -> LicenseStatus {
        switch status {
        case .active: .active
        case .inactive: .inactive
        case .expired: .expired
        case .lapsed: .lapsed
        case .suspended: .suspended
        case .revoked: .revoked
        }
    }
}
