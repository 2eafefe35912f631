/// The pathway by which a volunteer may practise in an emergency.
public enum VolunteerCategory: String, Sendable, CaseIterable, Codable {
    /// International medical graduate without a US licence.
    case img
    /// Retired or inactive clinician whose licence lapsed or was made inactive.
    case retired
    /// Medical or nursing student, or recent graduate.
    case student
    /// Clinician actively licensed in another US jurisdiction.
    case licensed
}

/// Professions Muster registers.
public enum Profession: String, Sendable, CaseIterable, Codable {
    case physician
    case registeredNurse = "registered_nurse"
    case licensedPracticalNurse = "licensed_practical_nurse"
    case nursePractitioner = "nurse_practitioner"
    case physicianAssistant = "physician_assistant"
    case respiratoryTherapist = "respiratory_therapist"
    case pharmacist
    case paramedic
    case emt
    case medicalStudent = "medical_student"
    case nursingStudent = "nursing_student"
}

/// A licence's standing with its board.
public enum LicenseStatus: String, Sendable, CaseIterable, Codable {
    case active, inactive, expired, lapsed, suspended, revoked
}

/// The controlled vocabulary of clinical skills (documented in PROTOCOL.md).
public enum Skill: String, Sendable, CaseIterable, Codable {
    case criticalCare = "critical_care"
    case ventilator
    case emergency
    case anesthesia
    case primaryCare = "primary_care"
    case pediatrics
    case obstetrics
    case infectiousDisease = "infectious_disease"
    case geriatrics
    case behavioralHealth = "behavioral_health"
    case telehealth
    case medSurg = "med_surg"
    case telemetry
    case triage
    case ivTherapy = "iv_therapy"
    case infectionControl = "infection_control"
    case airwayManagement = "airway_management"
    case pharmacyDispensing = "pharmacy_dispensing"
    case vaccination
    case woundCare = "wound_care"
}

/// The lifecycle of a volunteer record.
///
/// ```
/// registered ──(credential level derived)──▶ verified ──▶ available ◀──▶ deployed
///      ▲                                        │              │
///      └────────(verification expired)──────────┴──────────────┘
/// any state except withdrawn ──▶ withdrawn (final)
/// ```
public enum VolunteerStatus: String, Sendable, CaseIterable, Codable {
    case registered, verified, available, deployed, withdrawn

    /// Whether a person (state or admin) may move a record from this status to `next`. `verified` is reached only by
    /// verification, never by hand, and `withdrawn` is final.
    public func allowsManualTransition(to next: VolunteerStatus) -> Bool {
        switch (self, next) {
        case (.verified, .available), (.available, .deployed), (.deployed, .available), (.available, .verified):
            return true
        case (.withdrawn, _):
            return false
        case (_, .withdrawn):
            return true
        default:
            return false
        }
    }
}

/// What kind of credential item a verification is about.
public enum VerificationItem: String, Sendable, CaseIterable, Codable {
    /// A licence (named by jurisdiction and number).
    case license
    /// ECFMG certification of an international medical graduate.
    case ecfmg
    /// Current enrolment in a school.
    case enrollment
    /// Graduation from a school.
    case graduation
    /// The person's identity.
    case identity
    /// Current clinical employment outside a hospital.
    case employment
    /// Current clinical privileges at a hospital.
    case privileges
}

/// What the primary source said.
public enum VerificationOutcome: String, Sendable, CaseIterable, Codable {
    case verified, failed, unverifiable
}
