import BN254

/// A Groth16 proof: A and C in G1, B in G2.
public struct Proof: Sendable, Equatable {
    public var a: G1Affine
    public var b: G2Affine
    public var c: G1Affine

    public init(a: G1Affine, b: G2Affine, c: G1Affine) {
        self.a = a
        self.b = b
        self.c = c
    }
}

/// What a verifier needs: α, β, γ, δ and one IC point per public wire (the constant first).
public struct VerifyingKey: Sendable, Equatable {
    public var alpha1: G1Affine
    public var beta2: G2Affine
    public var gamma2: G2Affine
    public var delta2: G2Affine
    public var ic: [G1Affine]

    /// Public signals, not counting the constant wire.
    public var publicCount: Int { ic.count - 1 }

    public init(alpha1: G1Affine, beta2: G2Affine, gamma2: G2Affine, delta2: G2Affine, ic: [G1Affine]) {
        self.alpha1 = alpha1
        self.beta2 = beta2
        self.gamma2 = gamma2
        self.delta2 = delta2
        self.ic = ic
    }

    /// e(α, β) as snarkjs writes `vk_alphabeta_12` (its final exponentiation is the one
    /// `Pairing.pairing` uses).
    public var alphaBeta: Fp12 { Pairing.pairing(alpha1, beta2) }
}

/// The prover's key, in the layout of a snarkjs `.zkey` (and rapidsnark's):
///
/// - the QAP is taken over the constraints followed by one extra row per public wire
///   (the constant included) with Aᵢ = that wire and B, C empty, which makes the public
///   wires' A polynomials independent; the domain is the next power of two above the row count;
/// - `a`, `b1`, `b2` hold [uⱼ(τ)]₁, [vⱼ(τ)]₁, [vⱼ(τ)]₂ for every wire, `c` holds
///   [(β·uⱼ + α·vⱼ + wⱼ)(τ)/δ]₁ for the private wires;
/// - `h` holds [L′ᵢ(τ)/δ]₁ where L′ᵢ is the Lagrange polynomial of the point ω₂ₙ^(2i+1)
///   over the domain of size 2n. The prover evaluates A·B − C on those odd points (a
///   coset NTT) and takes one MSM with `h`: no division by the vanishing polynomial,
///   because A·B − C vanishes on the even points, the original domain.
///
/// So a ceremony `.zkey` maps onto this type without transformation.
public struct ProvingKey: Sendable {
    public let domainSize: Int
    public let wireCount: Int
    public let publicCount: Int
    public let alpha1: G1Affine
    public let beta1: G1Affine
    public let beta2: G2Affine
    public let delta1: G1Affine
    public let delta2: G2Affine
    public let a: [G1Affine]
    public let b1: [G1Affine]
    public let b2: [G2Affine]
    public let c: [G1Affine]
    public let h: [G1Affine]
    /// The constraint matrices (without the extra public rows, which are implied).
    public let r1cs: R1CS
    public let verifyingKey: VerifyingKey

    public init(
        domainSize: Int, alpha1: G1Affine, beta1: G1Affine, beta2: G2Affine, delta1: G1Affine, delta2: G2Affine,
        a: [G1Affine], b1: [G1Affine], b2: [G2Affine], c: [G1Affine], h: [G1Affine], r1cs: R1CS,
        verifyingKey: VerifyingKey
    ) throws(Groth16Error) {
        let wires = r1cs.wireCount
        let privateWires = wires - r1cs.publicCount - 1
        guard domainSize == ProvingKey.domainSize(for: r1cs) else {
            throw .keyMismatch("domain size \(domainSize) for \(r1cs.constraintCount + r1cs.publicCount + 1) rows")
        }
        for (name, count, expected) in [
            ("A", a.count, wires), ("B1", b1.count, wires), ("B2", b2.count, wires), ("C", c.count, privateWires),
            ("H", h.count, domainSize), ("IC", verifyingKey.ic.count, r1cs.publicCount + 1),
        ] where count != expected {
            throw .keyMismatch("section \(name) has \(count) points, expected \(expected)")
        }
        self.domainSize = domainSize
        self.wireCount = wires
        self.publicCount = r1cs.publicCount
        self.alpha1 = alpha1
        self.beta1 = beta1
        self.beta2 = beta2
        self.delta1 = delta1
        self.delta2 = delta2
        self.a = a
        self.b1 = b1
        self.b2 = b2
        self.c = c
        self.h = h
        self.r1cs = r1cs
        self.verifyingKey = verifyingKey
    }

    /// The QAP domain: the smallest power of two holding the constraints and one extra
    /// row per public wire, as snarkjs chooses it.
    public static func domainSize(for r1cs: R1CS) -> Int {
        var size = 1
        while size < r1cs.constraintCount + r1cs.publicCount + 1 { size <<= 1 }
        return size
    }
}
