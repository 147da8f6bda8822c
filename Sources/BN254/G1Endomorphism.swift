/// Faster scalar multiplication in G1 through the endomorphism φ (GLV).
///
/// p ≡ 1 (mod 3), so Fp has a primitive cube root of unity β, and φ(x, y) = (β·x, y)
/// maps the curve y² = x³ + 3 to itself. On G1 (prime order r) it acts as
/// multiplication by λ, a cube root of unity modulo r. Writing k ≡ k₁ + k₂·λ (mod r)
/// with |k₁|, |k₂| below 2^128 turns [k]P into [k₁]P + [k₂]φ(P): half the doublings.
///
/// The split uses a short basis of the lattice {(a, b) : a + b·λ ≡ 0 (mod r)},
/// v₁ = (a₁, −b₁) and v₂ = (a₂, b₂), found offline by the extended Euclidean algorithm
/// on (r, λ) as in Gallant–Lambert–Vanstone; the tests check every relation.
public enum G1Endomorphism {
    /// β: φ(P) = (β·x, y) equals [λ]P for this choice of the two cube roots.
    public static let beta = Fp(
        decimal: "2203960485148121921418603742825762020974279258880205651966")!
    /// λ = 4407920970296243842393367215006156084916469457145843978461.
    public static let lambda = Fr(
        decimal: "4407920970296243842393367215006156084916469457145843978461")!

    // Basis vectors: a₁ − b₁·λ ≡ 0 and a₂ + b₂·λ ≡ 0 (mod r); a₁·b₂ + a₂·b₁ = r.
    static let a1 = UInt256(0x89d3_2568_94d2_13e3, 0, 0, 0)
    static let b1 = UInt256(0x8211_bbeb_7d4f_1128, 0x6f4d_8248_eeb8_59fc, 0, 0)
    static let a2 = UInt256(0x0be4_e154_1221_250b, 0x6f4d_8248_eeb8_59fd, 0, 0)
    static let b2 = a1
    // ⌊2^256·b₂/r⌋ and ⌊2^256·b₁/r⌋: k·g / 2^256 approximates the rational coordinates
    // of (k, 0) in the basis; the floors keep |k₁|, |k₂| below 2^127 (checked offline
    // on random and extreme k).
    static let g1 = UInt256(0xd91d_232e_c7e0_b3d7, 0x2, 0, 0)
    static let g2 = UInt256(0x7a7b_d9d4_391e_b18d, 0x4cce_f014_a773_d2cf, 0x2, 0)

    /// (k₁, k₂) with k ≡ k₁ + k₂·λ (mod r), as magnitudes and signs; both below 2^128.
    /// k must be below 2^254.
    public static func decompose(_ k: UInt256) -> (k1: UInt256, k1Negative: Bool, k2: UInt256, k2Negative: Bool) {
        let c1 = k.multipliedFullWidth(by: g1).high
        let c2 = k.multipliedFullWidth(by: g2).high
        // Two's complement modulo 2^256: the true values are below 2^128 in magnitude.
        let k1 = k.subtractingReportingBorrow(c1.multipliedFullWidth(by: a1).low).difference
            .subtractingReportingBorrow(c2.multipliedFullWidth(by: a2).low).difference
        let k2 = c1.multipliedFullWidth(by: b1).low
            .subtractingReportingBorrow(c2.multipliedFullWidth(by: b2).low).difference
        let (m1, n1) = k1.magnitudeAndSign
        let (m2, n2) = k2.magnitudeAndSign
        return (m1, n1, m2, n2)
    }
}

extension UInt256 {
    /// |v| and whether v < 0, reading the value as a two's-complement integer.
    var magnitudeAndSign: (UInt256, Bool) {
        if l3 >> 63 == 0 { return (self, false) }
        return (UInt256.zero.subtractingReportingBorrow(self).difference, true)
    }
}

extension JacobianPoint where Curve == G1Curve {
    /// φ(P) = (β·X, Y, Z): x = X/Z² scales by β, y is unchanged.
    public var phi: JacobianPoint { JacobianPoint(x: x * G1Endomorphism.beta, y: y, z: z) }

    /// [k]P by the GLV split. Every point of the curve is in G1 (the cofactor is one).
    public static func * (point: JacobianPoint, scalar: Fr) -> JacobianPoint {
        point.multipliedByEndomorphism(scalar.canonical)
    }

    /// [k]P for k below r.
    func multipliedByEndomorphism(_ scalar: UInt256) -> JacobianPoint {
        if isInfinity || scalar.isZero { return .infinity }
        let (k1, k1Negative, k2, k2Negative) = G1Endomorphism.decompose(scalar)
        return multiplied(
            byParts: [(k1, k1Negative), (k2, k2Negative)], endomorphism: { $0.phi })
    }
}

extension AffinePoint where Curve == G1Curve {
    /// [k]P by the GLV split.
    public static func * (point: AffinePoint, scalar: Fr) -> G1 {
        point.jacobian * scalar
    }
}

extension AffinePoint where Curve == G1Curve {
    /// φ(P) = (β·x, y).
    public var phi: AffinePoint { isInfinity ? self : AffinePoint(x: x * G1Endomorphism.beta, y: y) }
}

extension JacobianPoint where Curve == G1Curve {
    /// [a + b·λ]P for 64-bit a and b: a scalar from a set of 2^128 distinct values (the
    /// lattice of the GLV split has no non-zero vector this short) for half the doublings
    /// of a 128-bit scalar. Batch verification draws its random weights this way.
    public func multiplied(low a: UInt64, high b: UInt64) -> JacobianPoint {
        multiplied(byParts: [(UInt256(a), false), (UInt256(b), false)], endomorphism: { $0.phi })
    }
}
