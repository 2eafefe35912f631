#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The spec's great-circle distance in km: haversine on a sphere of radius 6371.0 km, in
/// double precision, evaluated in exactly the order the spec writes it so that every
/// implementation agrees to the last bit at a travel limit:
///
/// ```
/// phi1 = lat1 * pi / 180;  phi2 = lat2 * pi / 180
/// dphi = (lat2 - lat1) * pi / 180;  dlambda = (lon2 - lon1) * pi / 180
/// a = sin(dphi / 2) * sin(dphi / 2) + cos(phi1) * cos(phi2) * sin(dlambda / 2) * sin(dlambda / 2)
/// distanceKm = 2 * 6371.0 * asin(min(1, sqrt(a)))
/// ```
///
/// `sin`, `cos`, `asin` and `sqrt` are the platform C library's, as in the reference Python.
/// The volunteer is point 1 and the request point 2 (the formula is symmetric bit for bit).
@inline(__always)
public func haversineKm(lat1: Double, lon1: Double, lat2: Double, lon2: Double) -> Double {
    let phi1 = lat1 * Double.pi / 180.0
    let phi2 = lat2 * Double.pi / 180.0
    return Haversine.distance(lat1: lat1, lon1: lon1, cosPhi1: cos(phi1),
                              lat2: lat2, lon2: lon2, cosPhi2: cos(phi2))
}

/// Rounds a distance to whole km, halves away from zero (2.5 -> 3, -2.5 -> -3), exactly as the
/// spec's `travelKm` sum does for each assigned pair.
@inline(__always)
public func roundedKm(_ km: Double) -> Int {
    Int(km.rounded(.toNearestOrAwayFromZero))
}

/// Pieces of the distance computation, split so that per-point cosines can be computed once.
enum Haversine {
    /// 2 * 6371.0, exact in binary.
    static let diameter = 2.0 * 6371.0

    /// `cos(lat * pi / 180)`: bit-identical to what the spec formula computes per point.
    @inline(__always)
    static func cosLat(_ lat: Double) -> Double { cos(lat * Double.pi / 180.0) }

    /// The spec formula with the two cosines supplied (they are functions of one point each).
    @inline(__always)
    static func distance(lat1: Double, lon1: Double, cosPhi1: Double,
                         lat2: Double, lon2: Double, cosPhi2: Double) -> Double {
        let dphi = (lat2 - lat1) * Double.pi / 180.0
        let dlambda = (lon2 - lon1) * Double.pi / 180.0
        let s1 = sin(dphi / 2.0)
        let s2 = sin(dlambda / 2.0)
        let a = s1 * s1 + cosPhi1 * cosPhi2 * s2 * s2
        return diameter * asin(Swift.min(1.0, a.squareRoot()))
    }

    /// A unit vector for a point, for the chord prefilter.
    static func unitVector(lat: Double, lon: Double) -> (Double, Double, Double) {
        let phi = lat * Double.pi / 180.0
        let lambda = lon * Double.pi / 180.0
        return (cos(phi) * cos(lambda), cos(phi) * sin(lambda), sin(phi))
    }

    /// A bound on the squared chord length (unit sphere) beyond which a pair is certainly
    /// farther than `km`, with a generous safety margin for rounding in both computations.
    ///
    /// For a true great-circle distance d, the chord between the unit vectors is
    /// 2 sin(d / 2R). The computed haversine and the computed chord each carry a relative error
    /// of a few ulps (~1e-15); the margin used here (relative 1e-9, absolute 1e-12) is six
    /// orders of magnitude larger, so a pair rejected by `chord2 > bound` has a computed
    /// haversine distance > km as well. The prefilter never decides acceptance: pairs that
    /// pass it are settled by the exact spec formula.
    static func chordBound(km: Double) -> Double {
        let half = km / diameter  // d / 2R
        if !(half < Double.pi / 2) { return .infinity }
        let s = sin(half)
        return 4 * s * s * (1 + 1e-9) + 1e-12
    }
}
