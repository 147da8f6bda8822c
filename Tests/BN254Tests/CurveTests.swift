import TestSupport
import Testing

@testable import BN254

@Suite("Curves")
struct CurveTests {
    @Test("the generators are on their curves and have order r")
    func generators() {
        #expect(G1Curve.generator.isOnCurve)
        #expect(G2Curve.generator.isOnCurve)
        #expect(G1.generator.multiplied(by: Fr.modulus).isInfinity)
        #expect(G2.generator.isInSubgroup)
        #expect(!G1.generator.multiplied(by: Fr.modulus.subtractingReportingBorrow(UInt256(1)).difference).isInfinity)
    }

    @Test("group law: addition, doubling, mixed addition and negation agree (G1 and G2)")
    func groupLaw() {
        var rng = SeededRandom.forTest("group law")
        checkGroupLaw(G1.generator, using: &rng)
        checkGroupLaw(G2.generator, using: &rng)
    }

    func checkGroupLaw<C: CurveParameters>(_ generator: JacobianPoint<C>, using rng: inout SeededRandom) {
        for _ in 0..<10 {
            let a = generator * Fr.random(using: &rng)
            let b = generator * Fr.random(using: &rng)
            #expect(a.isOnCurve && b.isOnCurve)
            #expect(a + b == b + a)
            #expect(a + a == a.doubled())
            #expect(a + b.affine == a + b)
            #expect(a + a.affine == a.doubled())
            #expect((a + (-a)).isInfinity)
            #expect((a + (-a.affine)).isInfinity)
            #expect(a + JacobianPoint.infinity == a)
            #expect(JacobianPoint.infinity + a == a)
            #expect(a.affine.jacobian == a)
            let (x, y) = (Fr.random(using: &rng), Fr.random(using: &rng))
            #expect(generator * x + generator * y == generator * (x + y))
            #expect((generator * x) * y == generator * (x * y))
        }
        #expect(generator.multiplied(by: UInt256(5)) == generator + generator + generator + generator + generator)
        #expect(generator.multiplied(by: .zero).isInfinity)
        // A scalar ≥ r wraps around (these points have order r).
        #expect(
            generator.multiplied(by: Fr.modulus.addingReportingCarry(UInt256(7)).sum)
                == generator.multiplied(by: UInt256(7)))
        let maximum = UInt256(UInt64.max, UInt64.max, UInt64.max, UInt64.max)
        #expect(generator.multiplied(by: maximum) == generator * Fr(reducing: maximum))
        let points = (0..<5).map { i in i == 2 ? JacobianPoint<C>.infinity : generator * Fr.random(using: &rng) }
        #expect(JacobianPoint.batchAffine(points) == points.map(\.affine))
    }

    @Test("a G2 point on the twist but outside the subgroup fails the subgroup check")
    func g2Subgroup() {
        // Search for an x with x³ + b' a square: such points are almost never in G2 (cofactor ≈ p).
        var x = Fp2(Fp(1), Fp(1))
        while true {
            if let y = (x.squared() * x + G2Curve.b).squareRoot() {
                let point = G2Affine(x: x, y: y)
                #expect(point.isOnCurve)
                #expect(!point.isInSubgroup)
                #expect(!point.jacobian.isInSubgroupByOrder)
                return
            }
            x = x + .one
        }
    }
}

@Suite("G2 subgroup membership")
struct G2SubgroupTests {
    /// Points on the twist from a seeded search; almost none of them lies in G2.
    static func twistPoints(_ count: Int, using rng: inout SeededRandom) -> [G2] {
        var points: [G2] = []
        while points.count < count {
            let x = Fp2(Fp.random(using: &rng), Fp.random(using: &rng))
            if let y = (x.squared() * x + G2Curve.b).squareRoot() { points.append(G2Affine(x: x, y: y).jacobian) }
        }
        return points
    }

    @Test("the ψ test agrees with [r]Q = O on G2 points, twist points, and G2 points plus small torsion")
    func psiTestAgreesWithOrder() {
        var rng = SeededRandom.forTest("g2 subgroup")
        let members = (0..<10).map { _ in G2.generator * Fr.random(using: &rng) }
        for q in members + [G2.infinity, G2.generator] {
            #expect(q.isInSubgroup && q.isInSubgroupByOrder)
        }
        let twist = Self.twistPoints(10, using: &rng)
        for q in twist {
            #expect(q.isInSubgroup == q.isInSubgroupByOrder)
            #expect(!q.isInSubgroup)
        }
        // The twist's order is r·c with c = 2p − r = 10069·c′: T = [r·c′]R has order 10069 (or 1),
        // and a G2 point plus such a T must fail.
        let (cPrime, remainder) = Self.cofactor.dividedReportingRemainder(by: 10069)
        #expect(remainder == 0)
        var torsionFound = 0
        for (r, member) in zip(twist, members) {
            let torsion = r.multiplied(by: Fr.modulus).multiplied(by: cPrime)
            if torsion.isInfinity { continue }
            torsionFound += 1
            #expect(torsion.multiplied(by: UInt256(10069)).isInfinity)
            let forged = member + torsion
            #expect(!forged.isInSubgroup)
            #expect(!forged.isInSubgroupByOrder)
        }
        #expect(torsionFound > 0)
    }

    /// The twist's order is r·c, c = 2p − r.
    static let cofactor = UInt256(2).multipliedFullWidth(by: Fp.modulus).low.subtractingReportingBorrow(Fr.modulus)
        .difference

    /// c = 10069·5864401·1875725156269·ℓ₄.
    static let cofactorPrimes: [UInt256] = {
        var rest = cofactor
        for small: UInt64 in [10069, 5_864_401, 1_875_725_156_269] {
            let (quotient, remainder) = rest.dividedReportingRemainder(by: small)
            precondition(remainder == 0)
            rest = quotient
        }
        return [UInt256(10069), UInt256(5_864_401), UInt256(1_875_725_156_269), rest]
    }()

    @Test(
        "a prepared point's membership, read from its Miller steps, is exact: alone, in a batch, and with torsion of every order in the cofactor"
    )
    func preparedMembership() {
        var rng = SeededRandom.forTest("prepared membership")
        #expect(
            Self.cofactorPrimes[3].description
                == "197620364512881247228717050342013327560683201906968909")
        let members = (0..<10).map { _ in (G2.generator * Fr.random(using: &rng)).affine }
        let twist = Self.twistPoints(6, using: &rng).map(\.affine)
        // Points of each prime order ℓ dividing the cofactor: [r·c/ℓ]R for twist points R.
        // Each ℓ-part of the (cyclic) twist group is reached, alone and added to G2 points.
        #expect(Self.cofactorPrimes.reduce(UInt256(1)) { $0.multipliedFullWidth(by: $1).low } == Self.cofactor)
        var torsion: [G2Affine] = []
        for prime in Self.cofactorPrimes {
            var quotient = UInt256(1)
            for other in Self.cofactorPrimes where other != prime {
                quotient = quotient.multipliedFullWidth(by: other).low
            }
            #expect(quotient.multipliedFullWidth(by: prime).low == Self.cofactor)
            let point = Self.twistPoints(4, using: &rng).lazy.map {
                $0.multiplied(by: Fr.modulus).multiplied(by: quotient)
            }
            .first { !$0.isInfinity }
            guard let point else {
                Issue.record("no point of order \(prime) found")
                continue
            }
            #expect(point.multiplied(by: prime).isInfinity)
            torsion.append(point.affine)
        }
        #expect(torsion.count == 4)
        let forged = zip(members, torsion).map { ($0.jacobian + $1).affine }
        let points = members + [.infinity] + twist + torsion + forged
        let expected = points.map { $0.jacobian.isInSubgroupByOrder }
        #expect(expected.filter { $0 }.count == members.count + 1)
        #expect(points.map { G2Prepared($0).isInSubgroup } == expected)
        #expect(G2Prepared.batch(points).map(\.isInSubgroup) == expected)
        // Small batches are prepared point by point, in projective steps.
        for start in stride(from: 0, to: points.count, by: 3) {
            let slice = Array(points[start..<min(points.count, start + 3)])
            #expect(G2Prepared.batch(slice).map(\.isInSubgroup) == Array(expected[start..<start + slice.count]))
        }
        // The plain loop reads the same from its steps; a pair with G1 at infinity takes no
        // steps, and its G2 point is checked on its own.
        let pairs = points.enumerated().map { i, q in (i % 5 == 0 ? G1Affine.infinity : G1Curve.generator, q) }
        let (value, flags) = Pairing.millerLoopCheckingSubgroup(prepared: [], unprepared: pairs)
        #expect(flags == expected)
        #expect(value == Pairing.millerLoop(pairs))
    }
}

@Suite("G2 endomorphism")
struct G2EndomorphismTests {
    static let lambda = Fr(reducing: G2Endomorphism.eigenvalue)

    /// A signed 128-bit integer as an element of Fr.
    static func fr(_ value: Int128) -> Fr {
        let magnitude = value.magnitude
        let element = Fr(reducing: UInt256(UInt64(truncatingIfNeeded: magnitude), UInt64(magnitude >> 64), 0, 0))
        return value < 0 ? -element : element
    }

    @Test("ψ acts on G2 as multiplication by 6x², and the ψ-split scalar multiplication is exact")
    func psiScalarMultiplication() {
        var rng = SeededRandom.forTest("g2 psi")
        let q = G2.generator * Fr.random(using: &rng)
        #expect(q.psi == q.multiplied(by: G2Endomorphism.eigenvalue))
        #expect(q.psi.isOnCurve)
        let lambda = Self.lambda
        let edges: [Fr] = [
            .zero, .one, Fr(2), -Fr.one, lambda, lambda - .one, -lambda, lambda * lambda, lambda * lambda * lambda,
            Fr(reducing: UInt256(0, 0, 0, 1 << 62)),
        ]
        for k in edges + (0..<20).map({ _ in Fr.random(using: &rng) }) {
            #expect(q * k == q.multiplied(by: k.canonical), "k = \(k)")
        }
        let maximum = UInt256(.max, .max, .max, .max)
        #expect(q.multipliedInSubgroup(by: maximum) == q.multiplied(by: maximum))
        #expect((G2.infinity * Fr(5)).isInfinity)
    }

    @Test("the lattice basis lies in the kernel of λ, and the four-way split is exact and short")
    func decomposition() {
        let lambda = Self.lambda
        // λ is a primitive 12th root of unity modulo r: a root of Φ₁₂(t) = t⁴ − t² + 1.
        let lambdaSquared = lambda * lambda
        #expect(lambdaSquared * lambdaSquared - lambdaSquared + .one == .zero)
        let powers = [Fr.one, lambda, lambdaSquared, lambdaSquared * lambda]
        for row in G2Endomorphism.basis {
            #expect(zip(row, powers).reduce(Fr.zero) { $0 + Self.fr($1.0) * $1.1 } == .zero)
        }
        var rng = SeededRandom.forTest("g2 gls split")
        let bound = Int128(1) << 67
        var scalars: [UInt256] = [
            .zero, UInt256(1), G2Endomorphism.eigenvalue, Fr.modulus.subtractingReportingBorrow(UInt256(1)).difference,
            Fr.modulus, UInt256(0, 0, 0, 1 << 63), UInt256(.max, .max, .max, .max),
        ]
        scalars += (0..<1000).map { _ in Fr.random(using: &rng).canonical }
        scalars += (0..<200).map { _ in UInt256(rng.next(), rng.next(), rng.next(), rng.next()) }
        for k in scalars {
            let parts = G2Endomorphism.decompose(k)
            #expect(parts.allSatisfy { $0 > -bound && $0 < bound }, "k = \(k)")
            #expect(zip(parts, powers).reduce(Fr.zero) { $0 + Self.fr($1.0) * $1.1 } == Fr(reducing: k), "k = \(k)")
        }
    }
}

@Suite("G1 endomorphism")
struct G1EndomorphismTests {
    @Test("β and λ are non-trivial cube roots of unity, and φ acts on G1 as λ")
    func phiIsMultiplicationByLambda() {
        let beta = G1Endomorphism.beta
        let lambda = G1Endomorphism.lambda
        #expect(beta != .one && beta * beta * beta == .one)
        #expect(lambda != .one && lambda * lambda * lambda == .one)
        var rng = SeededRandom.forTest("g1 phi")
        let p = G1.generator * Fr.random(using: &rng)
        #expect(p.phi == p.multiplied(by: lambda.canonical))
        #expect(p.phi.isOnCurve)
    }

    @Test("the lattice basis and the split are exact")
    func decomposition() {
        let lambda = G1Endomorphism.lambda
        let a1 = Fr(reducing: G1Endomorphism.a1)
        let b1 = Fr(reducing: G1Endomorphism.b1)
        let a2 = Fr(reducing: G1Endomorphism.a2)
        let b2 = Fr(reducing: G1Endomorphism.b2)
        #expect(a1 - b1 * lambda == .zero)
        #expect(a2 + b2 * lambda == .zero)
        #expect(a1 * b2 + a2 * b1 == .zero)  // the determinant is r itself
        var rng = SeededRandom.forTest("g1 glv split")
        let edges: [Fr] = [.zero, .one, -Fr.one, lambda, -lambda, Fr(reducing: UInt256(0, 0, 0, 1 << 62))]
        let bound = UInt256(0, 0, 1, 0)  // 2^128
        for k in edges + (0..<1000).map({ _ in Fr.random(using: &rng) }) {
            let (k1, k1Negative, k2, k2Negative) = G1Endomorphism.decompose(k.canonical)
            #expect(k1 < bound && k2 < bound, "k = \(k)")
            let signed1 = k1Negative ? -Fr(reducing: k1) : Fr(reducing: k1)
            let signed2 = k2Negative ? -Fr(reducing: k2) : Fr(reducing: k2)
            #expect(signed1 + signed2 * lambda == k, "k = \(k)")
        }
    }

    @Test("[a + b·λ]P from two 64-bit halves equals the multiplication by that scalar")
    func halvesScalarMultiplication() {
        var rng = SeededRandom.forTest("g1 halves mul")
        let p = G1.generator * Fr.random(using: &rng)
        let edges: [(UInt64, UInt64)] = [(0, 0), (1, 0), (0, 1), (.max, .max), (.max, 0), (0, .max)]
        for (a, b) in edges + (0..<30).map({ _ in (rng.next(), rng.next()) }) {
            #expect(p.multiplied(low: a, high: b) == p * (Fr(a) + Fr(b) * G1Endomorphism.lambda), "a = \(a), b = \(b)")
        }
    }

    @Test("GLV scalar multiplication equals the plain double-and-add")
    func glvScalarMultiplication() {
        var rng = SeededRandom.forTest("g1 glv mul")
        let p = G1.generator * Fr.random(using: &rng)
        let edges: [Fr] = [.zero, .one, -Fr.one, G1Endomorphism.lambda, -G1Endomorphism.lambda]
        for k in edges + (0..<30).map({ _ in Fr.random(using: &rng) }) {
            #expect(p * k == p.multiplied(by: k.canonical), "k = \(k)")
        }
        #expect((G1.infinity * Fr(5)).isInfinity)
    }

    @Test("the full-width product matches Fr arithmetic")
    func fullWidthProduct() {
        var rng = SeededRandom.forTest("u256 full width")
        for _ in 0..<100 {
            let a = UInt256(rng.next(), rng.next(), rng.next(), rng.next())
            let b = UInt256(rng.next(), rng.next(), rng.next(), rng.next())
            let (high, low) = a.multipliedFullWidth(by: b)
            // high·2^256 + low ≡ a·b (mod r)
            let twoTo256 = Fr(reducing: UInt256(0, 0, 0, 1 << 63)) * Fr(2)
            #expect(Fr(reducing: high) * twoTo256 + Fr(reducing: low) == Fr(reducing: a) * Fr(reducing: b))
        }
    }
}
