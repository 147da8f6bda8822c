import TestSupport
import Testing

@testable import BN254

@Suite("Pairing")
struct PairingTests {
    @Test("e(aP, bQ) = e(P, Q)^(ab), e is non-degenerate, and the result is in GT")
    func bilinearity() {
        var rng = SeededRandom.forTest("bilinearity")
        let p = G1Curve.generator
        let q = G2Curve.generator
        let base = Pairing.pairing(p, q)
        #expect(base != .one)
        #expect(base.power(Fr.modulus) == .one)
        for _ in 0..<3 {
            let a = Fr.random(using: &rng)
            let b = Fr.random(using: &rng)
            let left = Pairing.pairing((p * a).affine, (q * b).affine)
            #expect(left == base.power((a * b).canonical))
            #expect(Pairing.pairing((p * a).affine, q) == Pairing.pairing(p, (q * a).affine))
        }
    }

    @Test("a product of pairings is one exactly when the exponents cancel; infinity contributes one")
    func productChecks() {
        var rng = SeededRandom.forTest("pairing product")
        let a = Fr.random(using: &rng)
        let b = Fr.random(using: &rng)
        let p = G1Curve.generator
        let q = G2Curve.generator
        // e(aP, bQ) · e(−abP, Q) = 1
        let pairs = [((p * a).affine, (q * b).affine), ((p * (-(a * b))).affine, q)]
        #expect(Pairing.productIsOne(pairs))
        let broken = [((p * a).affine, (q * b).affine), ((p * (-(a * b) + .one)).affine, q)]
        #expect(!Pairing.productIsOne(broken))
        #expect(Pairing.productIsOne([]))
        #expect(Pairing.productIsOne([(.infinity, q), (p, .infinity)]))
        #expect(Pairing.millerLoop([(p, q), (.infinity, q)]) == Pairing.millerLoop([(p, q)]))
    }

    @Test("Miller loops over prepared G2 points, alone or beside plain ones, agree with the plain loop in GT")
    func preparedLines() {
        var rng = SeededRandom.forTest("prepared lines")
        let p = G1Curve.generator
        let q = G2Curve.generator
        var pairs: [(G1Affine, G2Affine)] = []
        for _ in 0..<3 {
            pairs.append(((p * Fr.random(using: &rng)).affine, (q * Fr.random(using: &rng)).affine))
        }
        let expected = Pairing.finalExponentiation(Pairing.millerLoop(pairs))
        let prepared = pairs.map { ($0.0, G2Prepared($0.1)) }
        // Normalized lines drop factors in Fp2: the loops agree after the final exponentiation.
        #expect(Pairing.finalExponentiation(Pairing.millerLoop(prepared: prepared)) == expected)
        #expect(
            Pairing.finalExponentiation(Pairing.millerLoop(prepared: [prepared[0]], unprepared: Array(pairs[1...])))
                == expected)
        #expect(Pairing.millerLoop(prepared: [(p, G2Prepared(.infinity)), (.infinity, G2Prepared(q))]) == .one)
        #expect(
            Pairing.finalExponentiation(
                Pairing.millerLoop(prepared: prepared + [(p, G2Prepared(.infinity))], unprepared: [(.infinity, q)]))
                == expected)
    }

    @Test("preparing a batch in affine steps gives exactly the lines of preparing each point alone")
    func batchPreparation() {
        var rng = SeededRandom.forTest("batch preparation")
        let q = G2Curve.generator
        var points = (0..<(G2Prepared.affineBatchMinimum + 3)).map { _ in (q * Fr.random(using: &rng)).affine }
        points.insert(.infinity, at: 4)
        points.append(q)
        points.append(-q)
        for batch in [points, Array(points.prefix(3))] {
            let prepared = G2Prepared.batch(batch)
            #expect(prepared.count == batch.count)
            for (point, lines) in zip(batch, prepared) {
                #expect(lines.point == point)
                #expect(lines.lines == G2Prepared(point).lines)
                #expect(lines.lines.count == (point.isInfinity ? 0 : Pairing.millerSteps.count))
            }
        }
        // And the loop over them is the pairing product.
        let p = G1Curve.generator
        let pairs = points.map { ((p * Fr.random(using: &rng)).affine, $0) }
        #expect(
            Pairing.finalExponentiation(
                Pairing.millerLoop(prepared: Array(zip(pairs.map(\.0), G2Prepared.batch(points)))))
                == Pairing.finalExponentiation(Pairing.millerLoop(pairs)))
    }

    @Test("a normalized line multiplies as the sparse element 1 + (b + c·v)·w")
    func normalizedLineProduct() {
        var rng = SeededRandom.forTest("normalized line")
        for _ in 0..<20 {
            let f = Fp12(
                Fp6(.random(using: &rng), .random(using: &rng), .random(using: &rng)),
                Fp6(.random(using: &rng), .random(using: &rng), .random(using: &rng)))
            let b = Fp2(.random(using: &rng), .random(using: &rng))
            let c = Fp2(.random(using: &rng), .random(using: &rng))
            #expect(f.multipliedByNormalizedLine(b, c) == f * Fp12(.one, Fp6(b, c, .zero)))
        }
    }
}
