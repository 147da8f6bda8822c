/// Faster scalar multiplication in G2 through the endomorphism ψ (Galbraith–Lin–Scott).
///
/// ψ = untwist ∘ Frobenius ∘ twist maps the twist to itself and acts on the order-r
/// subgroup G2 as multiplication by λ = 6x² (p ≡ 6x² (mod r) for a BN curve, since
/// p − r = 6x²). λ has order 12 modulo r (the embedding degree), so λ⁴ − λ² + 1 ≡ 0 and
/// 1, λ, λ², λ³ span the scalars: k ≡ k₀ + k₁λ + k₂λ² + k₃λ³ (mod r) with every kᵢ
/// below 2^67, and [k]Q = Σ [kᵢ]ψⁱ(Q) takes a quarter of the doublings.
public enum G2Endomorphism {
    /// 6x², the eigenvalue of ψ on G2.
    public static let eigenvalue: UInt256 = {
        let x = UInt128(Pairing.bnParameter)
        let sixXSquared = x * x * 6  // below 2^127
        return UInt256(UInt64(truncatingIfNeeded: sixXSquared), UInt64(truncatingIfNeeded: sixXSquared >> 64), 0, 0)
    }()

    /// A reduced basis of the lattice {v ∈ ℤ⁴ : v₀ + v₁λ + v₂λ² + v₃λ³ ≡ 0 (mod r)},
    /// found offline by LLL; its entries are small multiples of x and its determinant
    /// is −r. The tests check every row against λ.
    static let basis: [[Int128]] = {
        let x = Int128(Pairing.bnParameter)
        return [
            [2 * x + 1, 0, 2 * x, 1],
            [2 * x, x + 1, -x, x],
            [x + 1, x, x, -2 * x],
            [2 * x + 1, -x, -x - 1, -x],
        ]
    }()

    /// ⌊2^256·aᵢ/r⌋, where k·(a₀, a₁, a₂, a₃)/r are the coordinates of (k, 0, 0, 0) in the
    /// basis (the aᵢ are the first row of the basis' adjugate over −r, all positive).
    /// k·gᵢ / 2^256 then rounds each coordinate down by less than 2, which keeps every
    /// kᵢ below 2^67 for any k below 2^256; the tests check the split, and its bound, on
    /// edge and random scalars.
    static let roundingMultipliers: [UInt256] = [
        UInt256(0x2dff_2915_32e4_2728, 0x55b4_ca7b_a3e5_577f, 0x9e80_318a_b0d9_2b95, 0),
        UInt256(0x46f4_bda9_95d5_1bb1, 0x08e5_da66_fc71_84ae, 0x9e80_318a_b0d9_2b93, 0),
        UInt256(0xd91d_232e_c7e0_b3d7, 0x2, 0, 0),
        UInt256(0xc170_977d_cef3_cd3f, 0x55b4_ca7b_a3e5_577d, 0x9e80_318a_b0d9_2b95, 0),
    ]

    /// (k₀, k₁, k₂, k₃) with k ≡ Σ kᵢλⁱ (mod r), each |kᵢ| below 2^67, for any k below 2^256.
    public static func decompose(_ k: UInt256) -> [Int128] {
        // k minus Σ cᵢ·basisᵢ is short, so its entries are exact when computed modulo 2^128
        // even though k and the cᵢ·basisᵢ are far larger.
        var parts: [UInt128] = [UInt128(k.l1) << 64 | UInt128(k.l0), 0, 0, 0]
        for (row, multiplier) in zip(basis, roundingMultipliers) {
            let c = k.multipliedFullWidth(by: multiplier).high
            let cLow = UInt128(c.l1) << 64 | UInt128(c.l0)
            for j in 0..<4 { parts[j] = parts[j] &- cLow &* UInt128(bitPattern: row[j]) }
        }
        return parts.map { Int128(bitPattern: $0) }
    }
}

extension JacobianPoint where Curve == G2Curve {
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

    /// [k]P by the four-dimensional ψ split; valid for P in G2 and any k below 2^256.
    func multipliedInSubgroup(by scalar: UInt256) -> JacobianPoint {
        if isInfinity || scalar.isZero { return .infinity }
        let parts = G2Endomorphism.decompose(scalar).map { part in
            let magnitude = part.magnitude
            return (
                magnitude: UInt256(UInt64(truncatingIfNeeded: magnitude), UInt64(magnitude >> 64), 0, 0),
                negative: part < 0
            )
        }
        return multiplied(byParts: parts, endomorphism: { $0.psi })
    }
}

extension AffinePoint where Curve == G2Curve {
    /// ψ(P) = (conj(x)·γx, conj(y)·γy).
    public var psi: AffinePoint {
        if isInfinity { return self }
        let frobenius = FrobeniusCoefficients.shared
        return AffinePoint(x: x.conjugate() * frobenius.twistX, y: y.conjugate() * frobenius.twistY)
    }

    /// [k]P for P in G2, by the ψ decomposition.
    public static func * (point: AffinePoint, scalar: Fr) -> G2 {
        point.jacobian * scalar
    }
}
