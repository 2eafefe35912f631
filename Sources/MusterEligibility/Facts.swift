import MusterCore
/// Everything a rule may look at. Adapt `VolunteerProfile` into this in the daemon.
public struct EligibilityFacts: Sendable, Hashable {
    public enum Category: String, Sendable, CaseIterable { case img, retired, student, licensed }
    public enum LicenseStatus: String, Sendable, CaseIterable { case active, inactive, expired, lapsed, suspended, revoked }
    public enum Standing: String, Sendable, CaseIterable { case good, restricted, suspended, revoked, lapsed }
    public enum Program: String, Sendable, CaseIterable { case medicine, nursing }

    public struct License: Sendable, Hashable {
        public var jurisdiction: String   // US state code, "CA-ON" style province, or ISO country
        public var type: String           // e.g. physician, registered_nurse
        public var status: LicenseStatus
        public var expires: CalendarDate?
        public var lapsed: CalendarDate?  // status-change date (retired/inactive/lapsed)
        public var multistate: Bool
        public init(jurisdiction: String, type: String, status: LicenseStatus, expires: CalendarDate? = nil,
                    lapsed: CalendarDate? = nil, multistate: Bool = false) {
            self.jurisdiction = jurisdiction; self.type = type; self.status = status
            self.expires = expires; self.lapsed = lapsed; self.multistate = multistate
        }
    }
    public struct IMG: Sendable, Hashable {
        public var usGmeMonths: Int, ecfmgCertified: Bool, yearsOfPractice: Int
        /// Standing of the licence in the country of training; nil when the volunteer holds none.
        public var homeCountryLicenseStanding: Standing?, graduationDate: CalendarDate?
        public init(usGmeMonths: Int, ecfmgCertified: Bool, yearsOfPractice: Int,
                    homeCountryLicenseStanding: Standing?, graduationDate: CalendarDate? = nil) {
            self.usGmeMonths = usGmeMonths; self.ecfmgCertified = ecfmgCertified; self.yearsOfPractice = yearsOfPractice
            self.homeCountryLicenseStanding = homeCountryLicenseStanding; self.graduationDate = graduationDate
        }
    }
    public struct Retired: Sendable, Hashable {
        public var lastClinicalPractice: CalendarDate?
        public init(lastClinicalPractice: CalendarDate?) { self.lastClinicalPractice = lastClinicalPractice }
    }
    public struct Student: Sendable, Hashable {
        public var program: Program, graduationDate: CalendarDate?, graduated: Bool
        public init(program: Program, graduationDate: CalendarDate?, graduated: Bool) {
            self.program = program; self.graduationDate = graduationDate; self.graduated = graduated
        }
    }

    public var category: Category
    public var profession: String
    public var homeState: String
    public var licenses: [License]
    public var disciplinary: Bool
    public var img: IMG?
    public var retired: Retired?
    public var student: Student?
    public var credentialLevel: Int?
    public var skills: [String]

    public init(category: Category, profession: String, homeState: String, licenses: [License] = [],
                disciplinary: Bool = false, img: IMG? = nil, retired: Retired? = nil, student: Student? = nil,
                credentialLevel: Int? = nil, skills: [String] = []) {
        self.category = category; self.profession = profession; self.homeState = homeState; self.licenses = licenses
        self.disciplinary = disciplinary; self.img = img; self.retired = retired; self.student = student
        self.credentialLevel = credentialLevel; self.skills = skills
    }
}
