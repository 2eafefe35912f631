import MusterCore

/// Everything a volunteer registers: who they are, how to reach them, their credentials as claimed, and when and
/// how far they can serve. Claims here are self-reported; only verifications (`Verification`) count towards the
/// credential level.
public struct VolunteerProfile: Sendable, Equatable, Codable {
    /// The registering client's idempotency key, unique per registering state.
    public var ref: String
    public var category: VolunteerCategory
    public var profession: Profession
    public var firstName: String
    public var lastName: String
    public var dateOfBirth: CalendarDate?
    public var email: String?
    /// E.164, e.g. `+12125550100`.
    public var phone: String?
    public var homeState: String
    public var location: Location?
    /// National Provider Identifier (10 digits, Luhn-checked).
    public var npi: String?
    public var licenses: [License]
    public var disciplinaryActions: [DisciplinaryAction]
    public var skills: [Skill]
    /// ISO 639-1 codes, e.g. `en`, `es`.
    public var languages: [String]
    public var availability: Availability?
    public var maxTravelKm: Int?
    public var telehealthOnly: Bool
    public var img: IMGDetails?
    public var retired: RetiredDetails?
    public var student: StudentDetails?
    /// Consent to link this record to the same person's record in another state.
    public var consentToShare: Bool

    public init(
        ref: String, category: VolunteerCategory, profession: Profession, firstName: String, lastName: String,
        dateOfBirth: CalendarDate?, email: String?, phone: String?, homeState: String, location: Location?,
        npi: String?, licenses: [License], disciplinaryActions: [DisciplinaryAction], skills: [Skill],
        languages: [String], availability: Availability?, maxTravelKm: Int?, telehealthOnly: Bool,
        img: IMGDetails?, retired: RetiredDetails?, student: StudentDetails?, consentToShare: Bool
    ) {
        self.ref = ref
        self.category = category
        self.profession = profession
        self.firstName = firstName
        self.lastName = lastName
        self.dateOfBirth = dateOfBirth
        self.email = email
        self.phone = phone
        self.homeState = homeState
        self.location = location
        self.npi = npi
        self.licenses = licenses
        self.disciplinaryActions = disciplinaryActions
        self.skills = skills
        self.languages = languages
        self.availability = availability
        self.maxTravelKm = maxTravelKm
        self.telehealthOnly = telehealthOnly
        self.img = img
        self.retired = retired
        self.student = student
        self.consentToShare = consentToShare
    }

    public struct Location: Sendable, Equatable, Codable {
        public var lat: Double
        public var lon: Double
    }

    public struct License: Sendable, Equatable, Codable {
        /// A US jurisdiction code.
        public var jurisdiction: String
        /// The licence type as the board names it, e.g. `MD`, `RN`.
        public var type: String
        public var number: String
        public var status: LicenseStatus
        public var issued: CalendarDate?
        public var expires: CalendarDate?
        /// When it lapsed or was made inactive.
        public var lapsed: CalendarDate?
        /// A multistate licence under the Nurse Licensure Compact (issued by a member state); nil means no.
        public var multistate: Bool?

        public init(
            jurisdiction: String, type: String, number: String, status: LicenseStatus, issued: CalendarDate?,
            expires: CalendarDate?, lapsed: CalendarDate?, multistate: Bool? = nil
        ) {
            self.jurisdiction = jurisdiction
            self.type = type
            self.number = number
            self.status = status
            self.issued = issued
            self.expires = expires
            self.lapsed = lapsed
            self.multistate = multistate
        }
    }

    public struct DisciplinaryAction: Sendable, Equatable, Codable {
        public var jurisdiction: String
        public var date: CalendarDate
        public var action: String
        public var resolved: Bool
    }

    public struct Availability: Sendable, Equatable, Codable {
        public var from: CalendarDate
        public var to: CalendarDate
    }

    public struct IMGDetails: Sendable, Equatable, Codable {
        public var medicalSchool: String
        public var country: String
        public var graduationDate: CalendarDate
        public var ecfmgCertified: Bool
        public var ecfmgNumber: String?
        public var ecfmgDate: CalendarDate?
        /// Steps passed, e.g. `["1", "2CK"]`.
        public var usmleStepsPassed: [String]
        /// Months of US graduate medical education completed.
        public var usGmeMonths: Int
        /// The licence in the country of training.
        public var homeCountryLicense: HomeCountryLicense?
        public var yearsOfPractice: Int
    }

    public struct HomeCountryLicense: Sendable, Equatable, Codable {
        public var country: String
        public var standing: Standing

        public enum Standing: String, Sendable, Equatable, Codable, CaseIterable {
            case good, restricted, suspended, revoked, lapsed
        }
    }

    public struct RetiredDetails: Sendable, Equatable, Codable {
        public var lastClinicalPractice: CalendarDate
    }

    public struct StudentDetails: Sendable, Equatable, Codable {
        public var school: String
        public var program: Program
        /// Year of study, 1 to 8.
        public var year: Int?
        public var graduationDate: CalendarDate
        /// True once graduated (the date is then the actual date).
        public var graduated: Bool

        public enum Program: String, Sendable, Equatable, Codable, CaseIterable {
            case medicine, nursing
        }
    }
}
