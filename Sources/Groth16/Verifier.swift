import BN254

extension Proof {
    /// A and C on G1, B on the twist and in the order-r subgroup: every proof that comes
    /// from outside passes this before any pairing is taken.
    public func validate() throws(Groth16Error) {
        try validateCurves()
        guard b.isInSubgroup else { throw Proof.bOutsideSubgroup }
    }

    /// A and C on G1 and B on the twist; the subgroup check is left to the caller.
    func validateCurves() throws(Groth16Error) {
        guard a.isOnCurve else { throw .invalidEncoding("proof point A is not on the curve") }
        guard c.isOnCurve else { throw .invalidEncoding("proof point C is not on the curve") }
        guard b.isOnCurve else { throw .invalidEncoding("proof point B is not on the twist") }
    }

    static let bOutsideSubgroup = Groth16Error.invalidEncoding("proof point B is not in the subgroup G2")
}

/// A verifying key made ready for many verifications: e(α, β) computed once and the
/// Miller-loop lines of β, γ and δ precomputed, so a verification costs three Miller
/// loops without G2 arithmetic for the key's points. Preparing costs about one pairing.
public struct PreparedVerifyingKey: Sendable {
    public let key: VerifyingKey
    let alphaBeta: Fp12
    let beta: G2Prepared
    let gamma: G2Prepared
    let delta: G2Prepared

    public init(_ key: VerifyingKey) {
        self.key = key
        alphaBeta = key.alphaBeta
        beta = G2Prepared(key.beta2)
        gamma = G2Prepared(key.gamma2)
        delta = G2Prepared(key.delta2)
    }
}

extension Groth16 {
    /// The same check as `verify(_:publicInputs:proof:)`, faster for a key used many times:
    /// e(−A, B)·e(IC(x), γ)·e(C, δ) · e(α, β) = 1 with e(α, β) precomputed.
    public static func verify(_ prepared: PreparedVerifyingKey, publicInputs: [Fr], proof: Proof) throws(Groth16Error)
        -> Bool
    {
        let statement = try checkedStatement(prepared.key, publicInputs, proof)
        let (loop, inSubgroup) = Pairing.millerLoopCheckingSubgroup(
            prepared: [(statement, prepared.gamma), (proof.c, prepared.delta)], unprepared: [(-proof.a, proof.b)])
        guard inSubgroup[0] else { throw Proof.bOutsideSubgroup }
        return Pairing.finalExponentiation(loop) * prepared.alphaBeta == .one
    }

    static func checkPublicInputs(_ key: VerifyingKey, _ inputs: [Fr]) throws(Groth16Error) {
        guard inputs.count == key.publicCount else {
            throw .witnessMismatch("\(inputs.count) public inputs for a key with \(key.publicCount)")
        }
    }

    /// The checks every verification starts with, then the statement point IC(x). B's
    /// subgroup check is left to its Miller steps (`Pairing.millerLoopCheckingSubgroup`).
    static func checkedStatement(_ key: VerifyingKey, _ publicInputs: [Fr], _ proof: Proof) throws(Groth16Error)
        -> G1Affine
    {
        try checkPublicInputs(key, publicInputs)
        try proof.validateCurves()
        return publicCombination(key, publicInputs).affine
    }

    /// IC₀ + Σ xᵢ·ICᵢ₊₁: the public part of the statement as one G1 point.
    static func publicCombination(_ key: VerifyingKey, _ inputs: [Fr]) -> G1 {
        var sum = key.ic[0].jacobian
        for (input, point) in zip(inputs, key.ic.dropFirst()) { sum = sum + point * input }
        return sum
    }

    /// Whether the proof is valid for these public inputs:
    /// e(A, B) = e(α, β) · e(IC(x), γ) · e(C, δ), checked as one product of four Miller loops.
    /// Malformed inputs (wrong count, points off the curve or outside G2) throw.
    public static func verify(_ key: VerifyingKey, publicInputs: [Fr], proof: Proof) throws(Groth16Error) -> Bool {
        let statement = try checkedStatement(key, publicInputs, proof)
        let (loop, inSubgroup) = Pairing.millerLoopCheckingSubgroup(
            prepared: [],
            unprepared: [(-proof.a, proof.b), (key.alpha1, key.beta2), (statement, key.gamma2), (proof.c, key.delta2)])
        guard inSubgroup[0] else { throw Proof.bOutsideSubgroup }
        return Pairing.finalExponentiation(loop) == .one
    }

    /// Whether every proof in the batch is valid, with one multi-pairing: each equation is
    /// weighed by a fresh random ρₖ drawn from 2^128 values, so that a bad proof passes
    /// only with probability about 2^−128. k proofs cost k + 3 Miller loops and one final exponentiation.
    public static func batchVerify(
        _ key: VerifyingKey, _ batch: [(publicInputs: [Fr], proof: Proof)],
        using generator: inout some RandomNumberGenerator
    ) async throws(Groth16Error) -> Bool {
        try await batchVerify(
            key, batch, beta: G2Prepared(key.beta2), gamma: G2Prepared(key.gamma2), delta: G2Prepared(key.delta2),
            using: &generator)
    }

    /// Batch verification under a prepared key (its β, γ and δ lines are reused).
    public static func batchVerify(
        _ prepared: PreparedVerifyingKey, _ batch: [(publicInputs: [Fr], proof: Proof)],
        using generator: inout some RandomNumberGenerator
    ) async throws(Groth16Error) -> Bool {
        try await batchVerify(
            prepared.key, batch, beta: prepared.beta, gamma: prepared.gamma, delta: prepared.delta, using: &generator)
    }

    static func batchVerify(
        _ key: VerifyingKey, _ batch: [(publicInputs: [Fr], proof: Proof)], beta: G2Prepared, gamma: G2Prepared,
        delta: G2Prepared, using generator: inout some RandomNumberGenerator
    ) async throws(Groth16Error) -> Bool {
        if batch.isEmpty { return true }
        for item in batch {
            try checkPublicInputs(key, item.publicInputs)
            try item.proof.validateCurves()
        }
        // The proofs' B points take their Miller steps together, sharing an inversion a step,
        // and the steps' last point tells whether each B is in G2 (`G2Prepared.isInSubgroup`).
        let preparedB = G2Prepared.batch(batch.map(\.proof.b))
        guard preparedB.allSatisfy(\.isInSubgroup) else { throw Proof.bOutsideSubgroup }
        // ρ = a + b·λ with random 64-bit a and b (not both zero): 2^128 distinct values, and
        // ρ·A then takes half the doublings of a 128-bit scalar through the GLV endomorphism.
        var halves: [(low: UInt64, high: UInt64)] = []
        var weights: [Fr] = []
        for _ in batch {
            var (low, high) = (UInt64(0), UInt64(0))
            while low == 0 && high == 0 { (low, high) = (generator.next(), generator.next()) }
            halves.append((low, high))
            weights.append(Fr(low) + Fr(high) * G1Endomorphism.lambda)
        }
        // Σρₖ·IC(xₖ) = (Σρₖ)·IC₀ + Σⱼ (Σₖ ρₖ·xₖⱼ)·ICⱼ: one MSM over the IC points.
        var icScalars = [Fr](repeating: .zero, count: key.ic.count)
        for (weight, item) in zip(weights, batch) {
            icScalars[0] = icScalars[0] + weight
            for (j, input) in item.publicInputs.enumerated() { icScalars[j + 1] = icScalars[j + 1] + weight * input }
        }
        let statement = await MSM.multiply(points: key.ic, scalars: icScalars)
        let cSum = await MSM.multiply(points: batch.map(\.proof.c), scalars: weights)
        let alphaSum = key.alpha1 * icScalars[0]
        let weightedA = zip(halves, batch).map { weight, item in
            -item.proof.a.jacobian.multiplied(low: weight.low, high: weight.high)
        }
        let affine = G1.batchAffine(weightedA + [alphaSum, statement, cSum])
        var pairs = Array(zip(affine[..<batch.count], preparedB))
        pairs.append((affine[batch.count], beta))
        pairs.append((affine[batch.count + 1], gamma))
        pairs.append((affine[batch.count + 2], delta))
        return Pairing.finalExponentiation(Pairing.millerLoop(prepared: pairs)) == .one
    }
}
