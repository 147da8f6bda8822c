// The Groth16 proof system over BN254: R1CS, the QAP computed by NTT on a
// coset, setup, proving, verification (single and batched) and the key and
// proof encodings of the native, snarkjs and Ethereum forms.
//
// Depends on `BN254` only and does no I/O beyond the bytes it is handed.
import BN254

/// Setup, proving and verification.
public enum Groth16 {
    static func domain(size: Int) throws(Groth16Error) -> EvaluationDomain {
        do {
            return try EvaluationDomain(size: size)
        } catch {
            throw .malformed("no evaluation domain of size \(size): \(error)")
        }
    }

    /// L₀(τ) … L_{n−1}(τ) for the domain of size n: Lᵢ(τ) = (τⁿ − 1)·ωⁱ / (n·(τ − ωⁱ)).
    /// τ must lie outside the domain.
    static func lagrangeBasis(at tau: Fr, domain: EvaluationDomain) -> [Fr] {
        let n = domain.size
        var powers = [Fr](repeating: .one, count: n)
        for i in 1..<max(1, n) { powers[i] = powers[i - 1] * domain.generator }
        var denominators = powers.map { tau - $0 }
        Fr.batchInverse(&denominators)
        let factor = (tau.power(UInt256(UInt64(n))) - .one) * domain.sizeInverse
        return (0..<n).map { factor * powers[$0] * denominators[$0] }
    }

    /// The QAP polynomials of every wire at τ: uⱼ(τ), vⱼ(τ), wⱼ(τ), with snarkjs's extra
    /// row per public wire appended to A.
    static func wirePolynomials(_ r1cs: R1CS, lagrange: [Fr]) -> (u: [Fr], v: [Fr], w: [Fr]) {
        func accumulate(_ matrix: SparseMatrix) -> [Fr] {
            var sums = [Fr](repeating: .zero, count: r1cs.wireCount)
            for row in 0..<matrix.rowCount {
                for entry in matrix.rowStarts[row]..<matrix.rowStarts[row + 1] {
                    let wire = Int(matrix.wires[entry])
                    sums[wire] = sums[wire] + matrix.coefficients[entry] * lagrange[row]
                }
            }
            return sums
        }
        var u = accumulate(r1cs.a)
        for wire in 0...r1cs.publicCount { u[wire] = u[wire] + lagrange[r1cs.constraintCount + wire] }
        return (u, accumulate(r1cs.b), accumulate(r1cs.c))
    }

    /// A single-party setup: the toxic waste τ, α, β, γ, δ is drawn from `generator` and
    /// dropped when this returns. Anyone who ran it could forge proofs, so it is for
    /// development and testing only; production keys come from a multi-party ceremony.
    public static func developmentSetup(
        _ r1cs: R1CS, threads: Int = 1, using generator: inout some RandomNumberGenerator
    ) async throws(Groth16Error) -> ProvingKey {
        let n = ProvingKey.domainSize(for: r1cs)
        let domain = try domain(size: n)
        let doubleDomain = try self.domain(size: 2 * n)
        func nonZero() -> Fr {
            while true {
                let value = Fr.random(using: &generator)
                if !value.isZero { return value }
            }
        }
        var tau = nonZero()
        // τ must avoid the 2n-th roots of unity (then no denominator below vanishes).
        while tau.power(UInt256(UInt64(2 * n))) == .one { tau = nonZero() }
        let alpha = nonZero()
        let beta = nonZero()
        let gamma = nonZero()
        let delta = nonZero()

        let lagrange = lagrangeBasis(at: tau, domain: domain)
        let (u, v, w) = wirePolynomials(r1cs, lagrange: lagrange)
        let gammaInverse = gamma.inverse()!
        let deltaInverse = delta.inverse()!
        let publicWires = r1cs.publicCount + 1
        var ic: [Fr] = []
        var c: [Fr] = []
        for wire in 0..<r1cs.wireCount {
            let combined = beta * u[wire] + alpha * v[wire] + w[wire]
            if wire < publicWires { ic.append(combined * gammaInverse) } else { c.append(combined * deltaInverse) }
        }
        // H: the Lagrange polynomials of the odd points ω₂ₙ^(2i+1), over δ.
        let omega = doubleDomain.generator
        let omegaSquared = omega * omega
        var oddPoints = [Fr](repeating: omega, count: n)
        for i in 1..<max(1, n) { oddPoints[i] = oddPoints[i - 1] * omegaSquared }
        var denominators = oddPoints.map { tau - $0 }
        Fr.batchInverse(&denominators)
        let hFactor = (tau.power(UInt256(UInt64(2 * n))) - .one) * doubleDomain.sizeInverse * deltaInverse
        let h = (0..<n).map { hFactor * oddPoints[$0] * denominators[$0] }

        let g1 = FixedBaseTable(base: G1.generator)
        let g2 = FixedBaseTable(base: G2.generator)
        let g1Scalars = [alpha, beta, delta] + u + v + ic + c + h
        let g1Points = await g1.multiply(g1Scalars, threads: threads)
        let g2Points = await g2.multiply([beta, gamma, delta] + v, threads: threads)
        let wires = r1cs.wireCount
        var offset = 3
        func take(_ count: Int) -> [G1Affine] {
            defer { offset += count }
            return Array(g1Points[offset..<(offset + count)])
        }
        let aPoints = take(wires)
        let b1Points = take(wires)
        let icPoints = take(publicWires)
        let cPoints = take(wires - publicWires)
        let hPoints = take(n)
        let verifyingKey = VerifyingKey(
            alpha1: g1Points[0], beta2: g2Points[0], gamma2: g2Points[1], delta2: g2Points[2], ic: icPoints)
        return try ProvingKey(
            domainSize: n, alpha1: g1Points[0], beta1: g1Points[1], beta2: g2Points[0], delta1: g1Points[2],
            delta2: g2Points[2], a: aPoints, b1: b1Points, b2: Array(g2Points[3...]), c: cPoints, h: hPoints,
            r1cs: r1cs, verifyingKey: verifyingKey)
    }

    /// The witness's A, B and C row values on the domain (the public wires' rows of A
    /// included). Throws for the first constraint the witness violates.
    static func rowEvaluations(_ key: ProvingKey, witness: [Fr]) throws(Groth16Error) -> (a: [Fr], b: [Fr], c: [Fr]) {
        let r1cs = key.r1cs
        let n = key.domainSize
        var aValues = [Fr](repeating: .zero, count: n)
        var bValues = [Fr](repeating: .zero, count: n)
        var cValues = [Fr](repeating: .zero, count: n)
        // One pass both evaluates the rows and checks the witness against them.
        let violated: Int? = witness.withUnsafeBufferPointer { w in
            for row in 0..<r1cs.constraintCount {
                aValues[row] = r1cs.a.evaluateRow(row, w)
                bValues[row] = r1cs.b.evaluateRow(row, w)
                cValues[row] = r1cs.c.evaluateRow(row, w)
                if aValues[row] * bValues[row] != cValues[row] { return row }
            }
            return nil
        }
        if let violated { throw .unsatisfied(constraint: violated) }
        for wire in 0...r1cs.publicCount { aValues[r1cs.constraintCount + wire] = witness[wire] }
        return (aValues, bValues, cValues)
    }

    /// A·B − C at the odd points ω₂ₙ^(2i+1), the values the `h` points weigh, from the row
    /// values on the domain.
    static func quotientEvaluations(
        _ rows: (a: [Fr], b: [Fr], c: [Fr]), domainSize n: Int, threads: Int
    ) async throws(Groth16Error) -> [Fr] {
        var (aValues, bValues, cValues) = rows
        let domain = try domain(size: n)
        let shift = try self.domain(size: 2 * n).generator
        // Evaluations on the domain → coefficients → evaluations on the odd coset.
        func toCoset(_ values: inout [Fr]) async throws(Groth16Error) {
            do {
                try await domain.inverse(&values, threads: threads)
                try await domain.cosetForward(&values, shift: shift, threads: threads)
            } catch {
                throw .malformed("NTT failed: \(error)")
            }
        }
        try await toCoset(&aValues)
        try await toCoset(&bValues)
        try await toCoset(&cValues)
        for i in 0..<n { aValues[i] = aValues[i] * bValues[i] - cValues[i] }
        return aValues
    }

    /// A proof for `witness` (one value per wire, wire 0 = 1), with fresh r and s from
    /// `generator`. A witness that violates a constraint is refused.
    public static func prove(
        _ key: ProvingKey, witness: [Fr], threads: Int = 1, using generator: inout some RandomNumberGenerator
    ) async throws(Groth16Error) -> Proof {
        try key.r1cs.checkShape(of: witness)
        let rows = try rowEvaluations(key, witness: witness)
        let privateWitness = Array(witness[(key.publicCount + 1)...])
        let sums: (a: G1, b1: G1, b2: G2, c: G1, h: G1)
        if threads <= 1 {
            // One at a time: the least memory held at once.
            let quotient = try await quotientEvaluations(rows, domainSize: key.domainSize, threads: 1)
            sums = (
                await MSM.multiply(points: key.a, scalars: witness),
                await MSM.multiply(points: key.b1, scalars: witness),
                await MSM.multiply(points: key.b2, scalars: witness),
                await MSM.multiply(points: key.c, scalars: privateWitness),
                await MSM.multiply(points: key.h, scalars: quotient)
            )
        } else {
            // The four MSMs that need only the witness run while the quotient is computed,
            // and all of them share the threads: each MSM alone leaves cores idle at its
            // start and end, and the G2 one is several times longer than the others.
            async let aSum = MSM.multiply(points: key.a, scalars: witness, threads: threads)
            async let b1Sum = MSM.multiply(points: key.b1, scalars: witness, threads: threads)
            async let b2Sum = MSM.multiply(points: key.b2, scalars: witness, threads: threads)
            async let cSum = MSM.multiply(points: key.c, scalars: privateWitness, threads: threads)
            let quotient = try await quotientEvaluations(rows, domainSize: key.domainSize, threads: threads)
            let hSum = await MSM.multiply(points: key.h, scalars: quotient, threads: threads)
            sums = (await aSum, await b1Sum, await b2Sum, await cSum, hSum)
        }
        let (aSum, b1Sum, b2Sum, cSum, hSum) = sums

        let r = Fr.random(using: &generator)
        let s = Fr.random(using: &generator)
        let delta1 = key.delta1.jacobian
        let a = key.alpha1.jacobian + aSum + delta1 * r
        let b = key.beta2.jacobian + b2Sum + key.delta2.jacobian * s
        let b1 = key.beta1.jacobian + b1Sum + delta1 * s
        let c = cSum + hSum + a * s + b1 * r - delta1 * (r * s)
        let normalized = G1.batchAffine([a, c])
        return Proof(a: normalized[0], b: b.affine, c: normalized[1])
    }
}
