/// What an API token lets its holder do.
public enum Role: String, Sendable, CaseIterable, Codable {
    /// Everything, in every jurisdiction.
    case admin
    /// A state health department: its own jurisdiction's volunteers and requests.
    case state
    /// A hospital or other facility: its own staffing requests.
    case hospital
}

/// Who is speaking on an authenticated connection: the token's holder and its scope.
public struct Identity: Hashable, Sendable {
    /// The token's database id (never the token itself).
    public let tokenID: Int64
    /// The token's human label, e.g. `NY DOH intake desk`.
    public let name: String
    public let role: Role
    /// Set for `state` tokens.
    public let jurisdiction: Jurisdiction?
    /// Set for `hospital` tokens.
    public let facilityID: Int64?

    public init(tokenID: Int64, name: String, role: Role, jurisdiction: Jurisdiction?, facilityID: Int64?) {
        self.tokenID = tokenID
        self.name = name
        self.role = role
        self.jurisdiction = jurisdiction
        self.facilityID = facilityID
    }
}
