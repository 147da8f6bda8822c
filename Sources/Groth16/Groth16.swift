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
    /// included), in up to `threads` tasks of consecutive rows. Throws for the first
    /// constraint the witness violates.
    static func rowEvaluations(_ r1cs: R1CS, domainSize n: Int, witness: [Fr], threads: Int) async throws(Groth16Error)
        -> (a: [Fr], b: [Fr], c: [Fr])
    {
        let rowCount = r1cs.constraintCount
        // A row takes about 0.3 µs (20 ms for 65,280 rows), a task some microseconds to
        // start: a thousand rows a task pays for it many times over.
        let taskCount = max(1, min(threads, rowCount / 1024))
        let bounds = (0...taskCount).map { rowCount * $0 / taskCount }
        let parts: [RowValues]
        if taskCount == 1 {
            parts = [evaluateRows(r1cs, witness, 0..<rowCount)]
        } else {
            parts = await withTaskGroup(of: (Int, RowValues).self) { group in
                for task in 0..<taskCount {
                    group.addTask { (task, evaluateRows(r1cs, witness, bounds[task]..<bounds[task + 1])) }
                }
                var parts = [RowValues?](repeating: nil, count: taskCount)
                for await (task, values) in group { parts[task] = values }
                return parts.map { $0! }
            }
        }
        if let violated = parts.lazy.compactMap(\.firstViolation).first { throw .unsatisfied(constraint: violated) }
        var values = (a: [Fr](), b: [Fr](), c: [Fr]())
        values.a.reserveCapacity(n)
        values.b.reserveCapacity(n)
        values.c.reserveCapacity(n)
        for part in consume parts {
            values.a += part.a
            values.b += part.b
            values.c += part.c
        }
        values.a += repeatElement(.zero, count: n - rowCount)
        values.b += repeatElement(.zero, count: n - rowCount)
        values.c += repeatElement(.zero, count: n - rowCount)
        for wire in 0...r1cs.publicCount { values.a[rowCount + wire] = witness[wire] }
        return values
    }

    /// The A, B and C values of some consecutive rows, and the first of them the witness violates.
    struct RowValues: Sendable {
        var a: [Fr] = []
        var b: [Fr] = []
        var c: [Fr] = []
        var firstViolation: Int?
    }

    /// One pass both evaluates the rows and checks the witness against them.
    static func evaluateRows(_ r1cs: R1CS, _ witness: [Fr], _ rows: Range<Int>) -> RowValues {
        var values = RowValues()
        values.a.reserveCapacity(rows.count)
        values.b.reserveCapacity(rows.count)
        values.c.reserveCapacity(rows.count)
        witness.withUnsafeBufferPointer { w in
            for row in rows {
                let (a, b, c) = (r1cs.a.evaluateRow(row, w), r1cs.b.evaluateRow(row, w), r1cs.c.evaluateRow(row, w))
                if a * b != c {
                    values.firstViolation = row
                    return
                }
                values.a.append(a)
                values.b.append(b)
                values.c.append(c)
            }
        }
        return values
    }

    /// Row values on the domain → coefficients → values on the odd coset ω₂ₙ^(2i+1).
    static func cosetEvaluations(
        _ values: [Fr], domain: EvaluationDomain, shift: Fr, threads: Int
    ) async throws(Groth16Error) -> [Fr] {
        var values = values
        do {
            try await domain.inverse(&values, threads: threads)
            try await domain.cosetForward(&values, shift: shift, threads: threads)
        } catch {
            throw .malformed("NTT failed: \(error)")
        }
        return values
    }

    /// A·B − C on the odd coset, the values the `h` points weigh, from the three rows' values
    /// there, written over A's (in place, so a large circuit holds no fourth array).
    static func formQuotient(_ a: inout [Fr], _ b: [Fr], _ c: [Fr]) {
        for i in a.indices { a[i] = a[i] * b[i] - c[i] }
    }

    /// The five MSMs of a proof, by one thread: one at a time, the least memory held at once.
    static func sequentialSums(
        _ key: ProvingKey, rows: (a: [Fr], b: [Fr], c: [Fr]), witness: [Fr], privateWitness: [Fr]
    ) async throws(Groth16Error) -> (a: G1, b1: G1, b2: G2, c: G1, h: G1) {
        let domain = try domain(size: key.domainSize)
        let shift = try self.domain(size: 2 * key.domainSize).generator
        var quotient = try await cosetEvaluations(rows.a, domain: domain, shift: shift, threads: 1)
        formQuotient(
            &quotient, try await cosetEvaluations(rows.b, domain: domain, shift: shift, threads: 1),
            try await cosetEvaluations(rows.c, domain: domain, shift: shift, threads: 1))
        return (
            await MSM.multiply(points: key.a, scalars: witness),
            await MSM.multiply(points: key.b1, scalars: witness),
            await MSM.multiply(points: key.b2, scalars: witness),
            await MSM.multiply(points: key.c, scalars: privateWitness),
            await MSM.multiply(points: key.h, scalars: quotient)
        )
    }

    /// The G1 sums of a proof, by the query each weighs.
    enum G1Sum: Int, Sendable {
        case a, b1, c, h
    }

    /// One part of a proof's work, as a task of `concurrentSums` returns it.
    enum ProofPart: Sendable {
        case cosetEvaluations(row: Int, [Fr])
        case g1(G1Sum, G1)
        case g2(G2)
    }

    /// The five MSMs of a proof on several threads, with the quotient's three NTT chains,
    /// as one pool of tasks. The order in which tasks start decides how well the threads
    /// stay busy, as the pool runs them first come, first served: the NTT chains first
    /// (the `h` MSM waits for them); then the G2 MSM, several times longer than the others,
    /// which fills the threads as the chains end; once the quotient is known, the `h` MSM
    /// and the three other G1 MSMs, largest first, so the smallest pieces come last and the
    /// threads finish together. (Started together with the chains, the MSMs' tasks used to
    /// hold the threads while the chains waited, and the `h` MSM then ran alone at the end.)
    static func concurrentSums(
        _ key: ProvingKey, rows: (a: [Fr], b: [Fr], c: [Fr]), witness: [Fr], privateWitness: [Fr], threads: Int
    ) async throws(Groth16Error) -> (a: G1, b1: G1, b2: G2, c: G1, h: G1) {
        let domain = try domain(size: key.domainSize)
        let shift = try self.domain(size: 2 * key.domainSize).generator
        let gathered: Result<(a: G1, b1: G1, b2: G2, c: G1, h: G1), Groth16Error> =
            await withTaskGroup(of: Result<ProofPart, Groth16Error>.self) { group in
                for (row, values) in [rows.a, rows.b, rows.c].enumerated() {
                    group.addTask {
                        do throws(Groth16Error) {
                            // One thread a chain: three chains keep two threads busier than
                            // one chain at a time split across them.
                            return .success(
                                .cosetEvaluations(
                                    row: row,
                                    try await cosetEvaluations(values, domain: domain, shift: shift, threads: 1)))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                group.addTask { .success(.g2(await MSM.multiply(points: key.b2, scalars: witness, threads: threads))) }
                var rowValues: [[Fr]?] = [nil, nil, nil]
                var g1Sums: [G1Sum: G1] = [:]
                var b2Sum: G2?
                while let result = await group.next() {
                    switch result {
                    case .failure(let error):
                        group.cancelAll()
                        return .failure(error)
                    case .success(.cosetEvaluations(let row, let values)):
                        rowValues[row] = consume values
                        guard var quotient = rowValues[0], let b = rowValues[1], let c = rowValues[2] else { continue }
                        rowValues = [nil, nil, nil]
                        formQuotient(&quotient, b, c)
                        group.addTask {
                            .success(
                                .g1(.h, await MSM.multiply(points: key.h, scalars: quotient, threads: threads)))
                        }
                        group.addTask {
                            .success(.g1(.a, await MSM.multiply(points: key.a, scalars: witness, threads: threads)))
                        }
                        group.addTask {
                            .success(
                                .g1(
                                    .c, await MSM.multiply(points: key.c, scalars: privateWitness, threads: threads)
                                ))
                        }
                        group.addTask {
                            .success(
                                .g1(.b1, await MSM.multiply(points: key.b1, scalars: witness, threads: threads)))
                        }
                    case .success(.g1(let which, let sum)):
                        g1Sums[which] = sum
                    case .success(.g2(let sum)):
                        b2Sum = sum
                    }
                }
                return .success((g1Sums[.a]!, g1Sums[.b1]!, b2Sum!, g1Sums[.c]!, g1Sums[.h]!))
            }
        return try gathered.get()
    }

    /// A proof for `witness` (one value per wire, wire 0 = 1), with fresh r and s from
    /// `generator`. A witness that violates a constraint is refused.
    public static func prove(
        _ key: ProvingKey, witness: [Fr], threads: Int = 1, using generator: inout some RandomNumberGenerator
    ) async throws(Groth16Error) -> Proof {
        try key.r1cs.checkShape(of: witness)
        let rows = try await rowEvaluations(key.r1cs, domainSize: key.domainSize, witness: witness, threads: threads)
        let privateWitness = Array(witness[(key.publicCount + 1)...])
        let sums =
            threads <= 1
            ? try await sequentialSums(key, rows: rows, witness: witness, privateWitness: privateWitness)
            : try await concurrentSums(
                key, rows: rows, witness: witness, privateWitness: privateWitness, threads: threads)
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
