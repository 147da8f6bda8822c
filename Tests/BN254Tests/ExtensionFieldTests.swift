import TestSupport
import Testing

@testable import BN254

extension Fp2 {
    static func random(using rng: inout SeededRandom) -> Fp2 { Fp2(.random(using: &rng), .random(using: &rng)) }
}
extension Fp6 {
    static func random(using rng: inout SeededRandom) -> Fp6 {
        Fp6(.random(using: &rng), .random(using: &rng), .random(using: &rng))
    }
}
extension Fp12 {
    static func random(using rng: inout SeededRandom) -> Fp12 { Fp12(.random(using: &rng), .random(using: &rng)) }
}

@Suite("Extension fields")
struct ExtensionFieldTests {
    func checkAxioms<F: FieldElement>(_ make: (inout SeededRandom) -> F, rounds: Int, using rng: inout SeededRandom) {
        for _ in 0..<rounds {
            let a = make(&rng)
            let b = make(&rng)
            let c = make(&rng)
            #expect(a * b == b * a)
            #expect((a * b) * c == a * (b * c))
            #expect(a * (b + c) == a * b + a * c)
            #expect(a - b + b == a)
            #expect(a.squared() == a * a)
            #expect(a.doubled() == a + a)
            #expect(a * a.inverse()! == .one)
        }
    }

    @Test("Fp2, Fp6 and Fp12 satisfy the field axioms on random elements")
    func axioms() {
        var rng = SeededRandom.forTest("extension axioms")
        checkAxioms(Fp2.random, rounds: 100, using: &rng)
        checkAxioms(Fp6.random, rounds: 50, using: &rng)
        checkAxioms(Fp12.random, rounds: 20, using: &rng)
    }

    @Test("Fp2's lazily reduced product and square equal the schoolbook formulas over Fp")
    func fp2ProductMatchesSchoolbook() {
        var rng = SeededRandom.forTest("fp2 lazy reduction")
        let minusOne = -Fp.one
        // Coordinates at the extremes drive a0·b0 − a1·b1 to both signs and the sums to 2p − 2.
        var elements: [Fp2] = [
            .zero, .one, Fp2(.zero, .one), Fp2(minusOne, minusOne), Fp2(.zero, minusOne), Fp2(minusOne, .zero),
            Fp2(.one, minusOne), Fp2(minusOne, .one),
        ]
        for _ in 0..<60 { elements.append(.random(using: &rng)) }
        for a in elements {
            #expect(a.squared() == Fp2(a.c0 * a.c0 - a.c1 * a.c1, a.c0 * a.c1 + a.c1 * a.c0), "\(a)²")
            for b in elements {
                let product = a * b
                #expect(product == Fp2(a.c0 * b.c0 - a.c1 * b.c1, a.c0 * b.c1 + a.c1 * b.c0), "\(a) · \(b)")
                #expect(product.c0.montgomery < Fp.modulus && product.c1.montgomery < Fp.modulus)
            }
        }
    }

    @Test("u² = −1, v³ = ξ, w² = v")
    func definingRelations() {
        let u = Fp2(.zero, .one)
        #expect(u.squared() == -Fp2.one)
        let v = Fp6(.zero, .one, .zero)
        #expect(v.squared() * v == Fp6(Fp2(Fp(9), Fp(1)), .zero, .zero))
        let w = Fp12(.zero, .one)
        #expect(w.squared() == Fp12(v, .zero))
        var rng = SeededRandom.forTest("non-residue")
        let x = Fp2.random(using: &rng)
        #expect(x.multipliedByNonResidue() == x * Fp2(Fp(9), Fp(1)))
        let y = Fp6.random(using: &rng)
        #expect(y.multipliedByNonResidue() == y * v)
    }

    @Test("Fp2 square roots exist exactly for squares")
    func fp2SquareRoots() {
        var rng = SeededRandom.forTest("fp2 sqrt")
        for _ in 0..<30 {
            let a = Fp2.random(using: &rng)
            let root = a.squared().squareRoot()!
            #expect(root == a || root == -a)
        }
        // ξ is a non-residue in Fp2 (that is what makes Fp6 a field).
        #expect(Fp2(Fp(9), Fp(1)).squareRoot() == nil)
    }

    @Test("the Frobenius map is x ↦ x^p, x^(p²), x^(p³)")
    func frobenius() {
        var rng = SeededRandom.forTest("frobenius")
        let a = Fp12.random(using: &rng)
        let p = Fp.modulus
        let ap = a.power(p)
        #expect(a.frobenius(1) == ap)
        #expect(a.frobenius(2) == ap.power(p))
        #expect(a.frobenius(3) == ap.power(p).power(p))
        #expect(a.frobenius(1).frobenius(1) == a.frobenius(2))
        #expect(a.conjugate() == a.frobenius(3).frobenius(3))
    }

    @Test("sparse line multiplication and cyclotomic squaring agree with the general forms")
    func specialisedProducts() {
        var rng = SeededRandom.forTest("sparse products")
        for _ in 0..<10 {
            let f = Fp12.random(using: &rng)
            let (a, b, c) = (Fp2.random(using: &rng), Fp2.random(using: &rng), Fp2.random(using: &rng))
            let line = Fp12(Fp6(a, .zero, .zero), Fp6(b, c, .zero))
            #expect(f.multipliedByLine(a, b, c) == f * line)
            let (b0, b1) = (Fp2.random(using: &rng), Fp2.random(using: &rng))
            #expect(f.c0.multiplied(by: b0, b1) == f.c0 * Fp6(b0, b1, .zero))
            // f^((p⁶ − 1)(p² + 1)) is in the cyclotomic subgroup.
            let g = f.conjugate() * f.inverse()!
            let cyclotomic = g.frobenius(2) * g
            #expect(cyclotomic.cyclotomicSquared() == cyclotomic.squared())
            #expect(cyclotomic.cyclotomicPower(12345) == cyclotomic.power(UInt256(12345)))
            let exponent = rng.next() as UInt64
            for e in [0, 1, 2, 7, 8, 15, Pairing.bnParameter, UInt64.max, exponent] {
                #expect(cyclotomic.cyclotomicPower(e) == cyclotomic.power(UInt256(e)), "exponent \(e)")
            }
        }
    }
}
