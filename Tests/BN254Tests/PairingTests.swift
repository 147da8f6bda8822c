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

    @Test("Miller loops over prepared G2 points equal the plain ones, infinity included")
    func preparedLines() {
        var rng = SeededRandom.forTest("prepared lines")
        let p = G1Curve.generator
        let q = G2Curve.generator
        var pairs: [(G1Affine, G2Affine)] = []
        for _ in 0..<3 {
            pairs.append(((p * Fr.random(using: &rng)).affine, (q * Fr.random(using: &rng)).affine))
        }
        let prepared = pairs.map { ($0.0, G2Prepared($0.1)) }
        #expect(Pairing.millerLoop(prepared: prepared) == Pairing.millerLoop(pairs))
        #expect(Pairing.millerLoop(prepared: [(p, G2Prepared(.infinity)), (.infinity, G2Prepared(q))]) == .one)
        #expect(
            Pairing.millerLoop(prepared: prepared + [(p, G2Prepared(.infinity))]) == Pairing.millerLoop(pairs))
    }
}
