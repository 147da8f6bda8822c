import BN254
import TestSupport
import Testing

@testable import Groth16

/// x³ + x + 5 = out with x secret: the smallest circuit with a real product chain.
/// A point on the twist outside G2, from the first x with x³ + b′ a square (the twist's
/// cofactor is about p, so such points are almost never in G2).
func twistPointOutsideG2() -> G2Affine {
    var x = Fp2(Fp(1), Fp(1))
    while true {
        if let y = (x.squared() * x + G2Curve.b).squareRoot() { return G2Affine(x: x, y: y) }
        x = x + .one
    }
}

func cubicCircuit() throws -> Circuit {
    let builder = CircuitBuilder()
    let out = builder.publicInput("out")
    let x = builder.secretInput("x")
    let square = builder.mul(x, x)
    let cube = builder.mul(square, x)
    builder.assertEqual(cube + x + Fr(5), out)
    return try builder.build()
}

@Suite("Groth16")
struct Groth16Tests {
    @Test("the builder compiles to circom's wire order and the solver fills the witness")
    func builderAndSolver() throws {
        let circuit = try cubicCircuit()
        #expect(circuit.r1cs.publicCount == 1)
        #expect(circuit.r1cs.wireCount == 5)  // one, out, x, x², x³
        #expect(circuit.r1cs.constraintCount == 3)
        let witness = try circuit.solve(publicInputs: [Fr(35)], secretInputs: [Fr(3)])
        #expect(witness == [Fr.one, Fr(35), Fr(3), Fr(9), Fr(27)])
        #expect(throws: Groth16Error.self) { try circuit.solve(publicInputs: [Fr(36)], secretInputs: [Fr(3)]) }
        #expect(throws: Groth16Error.self) { try circuit.solve(publicInputs: [], secretInputs: [Fr(3)]) }
    }

    @Test("boolean, select and isZero gadgets compute and constrain")
    func gadgets() throws {
        let builder = CircuitBuilder()
        let flag = builder.secretInput("flag")
        let a = builder.secretInput("a")
        let b = builder.secretInput("b")
        let result = builder.publicInput("result")
        let zeroTest = builder.publicInput("aIsZero")
        builder.assertBoolean(flag)
        builder.assertEqual(builder.select(flag, a, b), result)
        builder.assertEqual(builder.isZero(a), zeroTest)
        let circuit = try builder.build()
        _ = try circuit.solve(publicInputs: [Fr(7), .zero], secretInputs: [.one, Fr(7), Fr(9)])
        _ = try circuit.solve(publicInputs: [Fr(9), .zero], secretInputs: [.zero, Fr(7), Fr(9)])
        _ = try circuit.solve(publicInputs: [Fr(9), .one], secretInputs: [.zero, .zero, Fr(9)])
        // A flag of 2 is not boolean; a wrong isZero claim is refused.
        #expect(throws: Groth16Error.self) {
            try circuit.solve(publicInputs: [Fr(11), .zero], secretInputs: [Fr(2), Fr(7), Fr(9)])
        }
        #expect(throws: Groth16Error.self) {
            try circuit.solve(publicInputs: [Fr(9), .zero], secretInputs: [.zero, .zero, Fr(9)])
        }
    }

    @Test("setup, prove and verify; changed inputs and tampered proofs are rejected")
    func completenessAndSoundness() async throws {
        var rng = SeededRandom.forTest("groth16 cubic")
        let circuit = try cubicCircuit()
        let key = try await Groth16.developmentSetup(circuit.r1cs, using: &rng)
        let witness = try circuit.solve(publicInputs: [Fr(35)], secretInputs: [Fr(3)])
        let proof = try await Groth16.prove(key, witness: witness, using: &rng)
        #expect(try Groth16.verify(key.verifyingKey, publicInputs: [Fr(35)], proof: proof))
        #expect(try !Groth16.verify(key.verifyingKey, publicInputs: [Fr(36)], proof: proof))
        var tampered = proof
        tampered.a = (tampered.a.jacobian + G1.generator).affine
        #expect(try !Groth16.verify(key.verifyingKey, publicInputs: [Fr(35)], proof: tampered))
        tampered = proof
        tampered.c = -tampered.c
        #expect(try !Groth16.verify(key.verifyingKey, publicInputs: [Fr(35)], proof: tampered))
        tampered = proof
        tampered.b = (tampered.b.jacobian + G2.generator).affine
        #expect(try !Groth16.verify(key.verifyingKey, publicInputs: [Fr(35)], proof: tampered))
        // Two proofs of one statement differ (fresh r, s) and both verify.
        let second = try await Groth16.prove(key, witness: witness, using: &rng)
        #expect(second != proof)
        #expect(try Groth16.verify(key.verifyingKey, publicInputs: [Fr(35)], proof: second))
        // Wrong input count is malformed, not merely invalid.
        #expect(throws: Groth16Error.self) { try Groth16.verify(key.verifyingKey, publicInputs: [], proof: proof) }
    }

    @Test("a B on the twist but outside G2 is refused by both verifications, with A anywhere, and a B in G2 passes")
    func bOutsideSubgroup() async throws {
        var rng = SeededRandom.forTest("groth16 B outside G2")
        let circuit = try cubicCircuit()
        let key = try await Groth16.developmentSetup(circuit.r1cs, using: &rng)
        let prepared = PreparedVerifyingKey(key.verifyingKey)
        let witness = try circuit.solve(publicInputs: [Fr(35)], secretInputs: [Fr(3)])
        let proof = try await Groth16.prove(key, witness: witness, using: &rng)
        // A twist point outside G2, and the proof's B plus a point of order 10069.
        let outside = twistPointOutsideG2()
        let cofactor = UInt256(2).multipliedFullWidth(by: Fp.modulus).low.subtractingReportingBorrow(Fr.modulus)
            .difference
        let torsion = outside.jacobian.multiplied(by: Fr.modulus).multiplied(
            by: cofactor.dividedReportingRemainder(by: 10069).quotient)
        #expect(!torsion.isInfinity)
        let forged = (proof.b.jacobian + torsion).affine
        for b in [outside, forged] {
            for a in [proof.a, G1Affine.infinity] {
                var bad = proof
                (bad.a, bad.b) = (a, b)
                #expect(throws: Groth16Error.invalidEncoding("proof point B is not in the subgroup G2")) {
                    try Groth16.verify(key.verifyingKey, publicInputs: [Fr(35)], proof: bad)
                }
                #expect(throws: Groth16Error.invalidEncoding("proof point B is not in the subgroup G2")) {
                    try Groth16.verify(prepared, publicInputs: [Fr(35)], proof: bad)
                }
            }
        }
        #expect(try Groth16.verify(prepared, publicInputs: [Fr(35)], proof: proof))
        var noA = proof
        noA.a = .infinity
        #expect(try !Groth16.verify(prepared, publicInputs: [Fr(35)], proof: noA))
        #expect(try !Groth16.verify(key.verifyingKey, publicInputs: [Fr(35)], proof: noA))
    }

    @Test("row values computed in several tasks equal one pass, and the first violated row is reported")
    func rowEvaluationTasks() async throws {
        // x, x², x⁴, … : 9,000 squarings, enough rows for several tasks of consecutive rows.
        let builder = CircuitBuilder()
        let out = builder.publicInput("out")
        var value = builder.secretInput("x")
        for _ in 0..<9_000 { value = builder.mul(value, value) }
        builder.assertEqual(value, out)
        let circuit = try builder.build()
        var power = Fr(3)
        for _ in 0..<9_000 { power = power * power }
        let witness = try circuit.solve(publicInputs: [power], secretInputs: [Fr(3)])
        let n = 16_384
        let single = try await Groth16.rowEvaluations(circuit.r1cs, domainSize: n, witness: witness, threads: 1)
        for threads in [2, 3] {
            let split = try await Groth16.rowEvaluations(
                circuit.r1cs, domainSize: n, witness: witness, threads: threads)
            #expect(split.a == single.a && split.b == single.b && split.c == single.c)
        }
        #expect(single.a.count == n && single.b.count == n && single.c.count == n)
        #expect(single.a[circuit.r1cs.constraintCount + 1] == power)  // the public wire's row of A
        // Wrong values in rows 7,000 and 2,000 (each in a different task): row 2,000 is reported.
        var bad = witness
        let rowSevenThousand = circuit.r1cs.c.row(7_000)[0].0
        bad[rowSevenThousand] = bad[rowSevenThousand] + .one
        for threads in [1, 2] {
            await #expect(throws: Groth16Error.unsatisfied(constraint: 7_000)) {
                try await Groth16.rowEvaluations(circuit.r1cs, domainSize: n, witness: bad, threads: threads)
            }
        }
        let rowTwoThousand = circuit.r1cs.c.row(2_000)[0].0
        bad[rowTwoThousand] = bad[rowTwoThousand] + .one
        for threads in [1, 2] {
            await #expect(throws: Groth16Error.unsatisfied(constraint: 2_000)) {
                try await Groth16.rowEvaluations(circuit.r1cs, domainSize: n, witness: bad, threads: threads)
            }
        }
    }

    @Test("the prover refuses a witness that violates one constraint")
    func proverRefusesBadWitness() async throws {
        var rng = SeededRandom.forTest("groth16 bad witness")
        let circuit = try cubicCircuit()
        let key = try await Groth16.developmentSetup(circuit.r1cs, using: &rng)
        var witness = try circuit.solve(publicInputs: [Fr(35)], secretInputs: [Fr(3)])
        witness[3] = Fr(10)  // x² wrong
        await #expect(throws: Groth16Error.unsatisfied(constraint: 0)) {
            try await Groth16.prove(key, witness: witness, using: &rng)
        }
        await #expect(throws: Groth16Error.self) {
            try await Groth16.prove(key, witness: Array(witness.dropLast()), using: &rng)
        }
    }

    @Test("batch verification accepts good batches and rejects one bad proof")
    func batchVerification() async throws {
        var rng = SeededRandom.forTest("groth16 batch")
        let circuit = try cubicCircuit()
        let key = try await Groth16.developmentSetup(circuit.r1cs, using: &rng)
        var batch: [(publicInputs: [Fr], proof: Proof)] = []
        // Sixteen proofs: enough for B's lines to be prepared together.
        for x in 1...16 {
            let xValue = Fr(UInt64(x))
            let out = xValue * xValue * xValue + xValue + Fr(5)
            let witness = try circuit.solve(publicInputs: [out], secretInputs: [xValue])
            batch.append(([out], try await Groth16.prove(key, witness: witness, threads: 2, using: &rng)))
        }
        #expect(try await Groth16.batchVerify(key.verifyingKey, batch, using: &rng))
        #expect(try await Groth16.batchVerify(key.verifyingKey, [], using: &rng))
        #expect(try await Groth16.batchVerify(key.verifyingKey, Array(batch.prefix(3)), using: &rng))
        var bad = batch
        bad[3].publicInputs = [bad[3].publicInputs[0] + .one]
        #expect(try await !Groth16.batchVerify(key.verifyingKey, bad, using: &rng))
        bad = batch
        bad[5].proof.c = bad[0].proof.c
        #expect(try await !Groth16.batchVerify(key.verifyingKey, bad, using: &rng))
        bad = batch
        bad[8].proof.b = bad[1].proof.b
        #expect(try await !Groth16.batchVerify(key.verifyingKey, bad, using: &rng))
        #expect(try await !Groth16.batchVerify(key.verifyingKey, Array(bad[7...9]), using: &rng))
        // A B on the twist but outside G2 is refused, in a batch large or small.
        bad = batch
        bad[11].proof.b = twistPointOutsideG2()
        for proofs in [bad, Array(bad.suffix(5))] {
            await #expect(throws: Groth16Error.invalidEncoding("proof point B is not in the subgroup G2")) {
                try await Groth16.batchVerify(key.verifyingKey, proofs, using: &rng)
            }
        }
    }

    @Test("snarkjs JSON and the Ethereum form round-trip")
    func encodings() async throws {
        var rng = SeededRandom.forTest("groth16 encodings")
        let circuit = try cubicCircuit()
        let key = try await Groth16.developmentSetup(circuit.r1cs, using: &rng)
        let witness = try circuit.solve(publicInputs: [Fr(35)], secretInputs: [Fr(3)])
        let proof = try await Groth16.prove(key, witness: witness, using: &rng)
        #expect(try Proof(snarkjs: proof.snarkjs) == proof)
        #expect(try Proof(ethereumBytes: proof.ethereumBytes) == proof)
        #expect(try VerifyingKey(snarkjs: key.verifyingKey.snarkjs) == key.verifyingKey)
        #expect(try SnarkjsPublicSignals.decode(SnarkjsPublicSignals.encode([Fr(35)])) == [Fr(35)])
        #expect(throws: Groth16Error.self) { try SnarkjsPublicSignals.decode([Fr.modulus.decimalString]) }
        #expect(throws: Groth16Error.self) { try SnarkjsPublicSignals.decode(["12a"]) }
        var wrongCurve = proof.snarkjs
        wrongCurve.curve = "bls12-381"
        #expect(throws: Groth16Error.self) { try Proof(snarkjs: wrongCurve) }
        #expect(throws: Groth16Error.self) { try Proof(ethereumBytes: proof.ethereumBytes.dropLast()) }
    }

    @Test("native binary forms round-trip, and malformed bytes get named errors")
    func nativeForms() async throws {
        var rng = SeededRandom.forTest("groth16 native forms")
        let circuit = try cubicCircuit()
        let key = try await Groth16.developmentSetup(circuit.r1cs, using: &rng)
        let witness = try circuit.solve(publicInputs: [Fr(35)], secretInputs: [Fr(3)])
        let proof = try await Groth16.prove(key, witness: witness, using: &rng)
        #expect(try Proof(nativeBytes: proof.nativeBytes) == proof)
        #expect(try VerifyingKey(nativeBytes: key.verifyingKey.nativeBytes) == key.verifyingKey)
        let reloaded = try ProvingKey(nativeBytes: key.nativeBytes)
        #expect(reloaded.nativeBytes == key.nativeBytes)
        #expect(reloaded.r1cs == key.r1cs)
        let again = try await Groth16.prove(reloaded, witness: witness, using: &rng)
        #expect(try Groth16.verify(key.verifyingKey, publicInputs: [Fr(35)], proof: again))

        func reason(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        let bytes = key.nativeBytes
        for cut in [5, 200, bytes.count / 2] {
            let message = reason { _ = try ProvingKey(nativeBytes: Array(bytes.dropLast(cut))) }
            #expect(message.contains("truncated") || message.contains("more than the file can hold"), "\(message)")
        }
        #expect(reason { _ = try ProvingKey(nativeBytes: bytes + [0]) }.contains("unexpected bytes"))
        #expect(reason { _ = try ProvingKey(nativeBytes: proof.nativeBytes) }.contains("magic"))
        var wrongVersion = bytes
        wrongVersion[4] = 7
        #expect(reason { _ = try ProvingKey(nativeBytes: wrongVersion) }.contains("version"))
        // A moved off the curve: the last byte of its y coordinate flipped.
        var offCurve = proof.nativeBytes
        offCurve[8 + 63] ^= 1
        #expect(reason { _ = try Proof(nativeBytes: offCurve) }.contains("curve"))
    }
}
