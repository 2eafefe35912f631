/// A US state, the District of Columbia, or a US territory, by its two-letter USPS code.
///
/// Emergency orders, licences and `state` tokens are all scoped to one of these.
public struct Jurisdiction: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The upper-case two-letter code, e.g. `NY`.
    public let code: String

    /// Accepts a known code in any letter case; returns nil for anything else.
    public init?(_ code: some StringProtocol) {
        let upper = code.uppercased()
        guard Jurisdiction.names[upper] != nil else { return nil }
        self.code = upper
    }

    /// The jurisdiction's name, e.g. `New York`.
    public var name: String { Jurisdiction.names[code]! }

    public var description: String { code }

    public static func < (lhs: Jurisdiction, rhs: Jurisdiction) -> Bool { lhs.code < rhs.code }

    /// Every known code: the 50 states, DC and the five inhabited territories.
    public static var all: [Jurisdiction] { names.keys.sorted().map { Jurisdiction($0)! } }

    static let names: [String: String] = [
        "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
        "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
        "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
        "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
        "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri",
        "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
        "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio",
        "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
        "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
        "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
        "DC": "District of Columbia", "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands",
        "AS": "American Samoa", "MP": "Northern Mariana Islands",
    ]
}
