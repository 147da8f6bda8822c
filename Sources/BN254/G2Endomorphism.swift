/// Faster scalar multiplication in G2 through the endomorphism ψ.
///
/// ψ = untwist ∘ Frobenius ∘ twist maps the twist to itself and acts on the order-r
/// subgroup G2 as multiplication by p, and p ≡ 6x² (mod r) for a BN curve (p − r = 6x²).
/// 6x² < 2^127, so k = k₁ + k₂·6x² with k₁, k₂ below 2^128 is a plain division, and
/// [k]Q = [k₁]Q + [k₂]ψ(Q) needs half the doublings of a direct multiplication.
extension JacobianPoint where Curve == G2Curve {
    /// 6x², the eigenvalue of ψ on G2.
    static let psiEigenvalue: UInt256 = {
        let x = UInt128(Pairing.bnParameter)
        let sixXSquared = x * x * 6  // below 2^127
        return UInt256(UInt64(truncatingIfNeeded: sixXSquared), UInt64(truncatingIfNeeded: sixXSquared >> 64), 0, 0)
    }()

    /// ψ(P) = (conj(X)·γx, conj(Y)·γy, conj(Z)) in Jacobian coordinates.
    public var psi: JacobianPoint {
        let frobenius = FrobeniusCoefficients.shared
        return JacobianPoint(
            x: x.conjugate() * frobenius.twistX, y: y.conjugate() * frobenius.twistY, z: z.conjugate())
    }

    /// [k]P for P in G2 (the order-r subgroup: every point built from the generator or
    /// accepted by a decoder). For points outside G2 use `multiplied(by:)`, which is exact.
    public static func * (point: JacobianPoint, scalar: Fr) -> JacobianPoint {
        point.multipliedInSubgroup(by: scalar.canonical)
    }

    /// [k]P by the ψ decomposition; valid for P in G2 and any k below 2^256.
    func multipliedInSubgroup(by scalar: UInt256) -> JacobianPoint {
        if isInfinity || scalar.isZero { return .infinity }
        let (k2, k1) = scalar.dividedReportingRemainder(byWide: Self.psiEigenvalue)
        return multipliedTwoDimensional(k1, negated: false, k2, negated: false, endomorphism: { $0.psi })
    }
}

extension UInt256 {
    /// The quotient and remainder of division by a non-zero divisor, by binary long division.
    /// Fast enough for one division per scalar multiplication.
    func dividedReportingRemainder(byWide divisor: UInt256) -> (quotient: UInt256, remainder: UInt256) {
        precondition(!divisor.isZero, "division by zero")
        var quotient = UInt256.zero
        var remainder = UInt256.zero
        for index in stride(from: bitWidth - 1, through: 0, by: -1) {
            // remainder = 2·remainder + bit; it stays below 2·divisor, so it fits while divisor < 2^255.
            remainder = remainder.addingReportingCarry(remainder).sum
            if bit(index) { remainder.l0 |= 1 }
            let (reduced, borrow) = remainder.subtractingReportingBorrow(divisor)
            if !borrow {
                remainder = reduced
                switch index >> 6 {
                case 0: quotient.l0 |= 1 << UInt64(index & 63)
                case 1: quotient.l1 |= 1 << UInt64(index & 63)
                case 2: quotient.l2 |= 1 << UInt64(index & 63)
                default: quotient.l3 |= 1 << UInt64(index & 63)
                }
            }
        }
        return (quotient, remainder)
    }
}

extension AffinePoint where Curve == G2Curve {
    /// [k]P for P in G2, by the ψ decomposition.
    public static func * (point: AffinePoint, scalar: Fr) -> G2 {
        point.jacobian * scalar
    }
}
