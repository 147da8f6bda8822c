/// The degree-12 extension Fp12 = Fp6[w]/(w² − v); elements c0 + c1·w.
///
/// The pairing's target group GT is the order-r subgroup of Fp12's units.
/// Seen over Fp2, an element is Σ bₑ·wᵉ (e = 0…5) with w⁶ = ξ, where
/// c0 = (b0, b2, b4) and c1 = (b1, b3, b5); the Frobenius map uses that view.
@frozen
public struct Fp12: FieldElement {
    public var c0: Fp6
    public var c1: Fp6

    @inlinable @inline(__always)
    public init(_ c0: Fp6, _ c1: Fp6) {
        self.c0 = c0
        self.c1 = c1
    }

    @inlinable public static var zero: Fp12 { Fp12(.zero, .zero) }
    @inlinable public static var one: Fp12 { Fp12(.one, .zero) }
    @inlinable public var isZero: Bool { c0.isZero && c1.isZero }

    @inlinable @inline(__always)
    public static func + (lhs: Fp12, rhs: Fp12) -> Fp12 { Fp12(lhs.c0 + rhs.c0, lhs.c1 + rhs.c1) }

    @inlinable @inline(__always)
    public static func - (lhs: Fp12, rhs: Fp12) -> Fp12 { Fp12(lhs.c0 - rhs.c0, lhs.c1 - rhs.c1) }

    @inlinable @inline(__always)
    public static prefix func - (value: Fp12) -> Fp12 { Fp12(-value.c0, -value.c1) }

    @inlinable @inline(__always)
    public func doubled() -> Fp12 { Fp12(c0.doubled(), c1.doubled()) }

    /// Karatsuba: three Fp6 products.
    @inlinable
    public static func * (a: Fp12, b: Fp12) -> Fp12 {
        let v0 = a.c0 * b.c0
        let v1 = a.c1 * b.c1
        let c1 = (a.c0 + a.c1) * (b.c0 + b.c1) - v0 - v1
        return Fp12(v0 + v1.multipliedByNonResidue(), c1)
    }

    /// Complex squaring: two Fp6 products.
    @inlinable
    public func squared() -> Fp12 {
        let ab = c0 * c1
        let c0Squared = (c0 + c1) * (c0 + c1.multipliedByNonResidue()) - ab - ab.multipliedByNonResidue()
        return Fp12(c0Squared, ab.doubled())
    }

    /// Multiplication by the sparse element a + (b + c·v)·w, the shape of a line
    /// evaluated at a G1 point under BN254's D-type twist.
    @inlinable
    public func multipliedByLine(_ a: Fp2, _ b: Fp2, _ c: Fp2) -> Fp12 {
        let low = c0.scaled(by: a)
        let high = c1.multiplied(by: b, c)
        let sum = (c0 + c1).multiplied(by: a + b, c)
        return Fp12(low + high.multipliedByNonResidue(), sum - low - high)
    }

    /// Multiplication by the sparse element 1 + (b + c·v)·w, a Miller-loop line normalized
    /// to a leading 1: ten Fp2 products, against thirteen for a general line.
    @inlinable
    public func multipliedByNormalizedLine(_ b: Fp2, _ c: Fp2) -> Fp12 {
        // (c0 + c1·w)(1 + L·w) = (c0 + c1·L·v) + (c0·L + c1)·w, since w² = v.
        let high = c1.multiplied(by: b, c)
        return Fp12(c0 + high.multipliedByNonResidue(), c0.multiplied(by: b, c) + c1)
    }

    /// The conjugate c0 − c1·w, which is x ↦ x^(p⁶); the inverse of an element of norm one (GT).
    @inlinable
    public func conjugate() -> Fp12 { Fp12(c0, -c1) }

    @inlinable
    public func inverse() -> Fp12? {
        // (c0 + c1 w)⁻¹ = (c0 − c1 w) / (c0² − v·c1²)
        let denominator = c0.squared() - c1.squared().multipliedByNonResidue()
        guard let inverse = denominator.inverse() else { return nil }
        return Fp12(c0 * inverse, -(c1 * inverse))
    }

    /// x ↦ x^(p^power) for power in 1…3 (apply repeatedly for more).
    @inlinable
    public func frobenius(_ power: Int) -> Fp12 {
        let table = FrobeniusCoefficients.shared
        let gamma = table.fp12[power - 1]
        @inline(__always) func map(_ x: Fp2) -> Fp2 { power % 2 == 1 ? x.conjugate() : x }
        return Fp12(
            Fp6(map(c0.c0), map(c0.c1) * gamma[2], map(c0.c2) * gamma[4]),
            Fp6(map(c1.c0) * gamma[1], map(c1.c1) * gamma[3], map(c1.c2) * gamma[5]))
    }

    /// Squaring for elements of the cyclotomic subgroup (after the easy part of the final
    /// exponentiation), after Granger and Scott: Fp12 seen as Fp4³ over Fp2, three Fp4 squarings.
    @inlinable
    public func cyclotomicSquared() -> Fp12 {
        // Fp4 pairs (g0, g1), (g2, g3), (g4, g5) in the w-power basis: (b0, b3), (b1, b4), (b2, b5).
        @inline(__always) func fp4Square(_ x: Fp2, _ y: Fp2) -> (Fp2, Fp2) {
            // (x + y·s)² with s² = ξ: (x² + ξy²) + 2xy·s
            let xy = x * y
            let real = (x + y) * (x + y.multipliedByNonResidue()) - xy - xy.multipliedByNonResidue()
            return (real, xy.doubled())
        }
        let (t0, t1) = fp4Square(c0.c0, c1.c1)  // b0, b3
        let (t2, t3) = fp4Square(c1.c0, c0.c2)  // b1, b4
        let (t4, t5) = fp4Square(c0.c1, c1.c2)  // b2, b5
        @inline(__always) func threeMinusTwo(_ t: Fp2, _ z: Fp2) -> Fp2 { (t - z).doubled() + t }  // 3t − 2z
        @inline(__always) func threePlusTwo(_ t: Fp2, _ z: Fp2) -> Fp2 { (t + z).doubled() + t }  // 3t + 2z
        return Fp12(
            Fp6(threeMinusTwo(t0, c0.c0), threeMinusTwo(t2, c0.c1), threeMinusTwo(t4, c0.c2)),
            Fp6(threePlusTwo(t5.multipliedByNonResidue(), c1.c0), threePlusTwo(t1, c1.c1), threePlusTwo(t3, c1.c2)))
    }

    /// `self^exponent` for a cyclotomic element: width-4 signed windows over cyclotomic
    /// squarings. Inversion is conjugation here, so negative digits cost nothing, and the
    /// BN parameter x needs about 13 products instead of the 27 its binary form takes
    /// (the final exponentiation raises to x three times).
    @inlinable
    public func cyclotomicPower(_ exponent: UInt64) -> Fp12 {
        if exponent == 0 { return .one }
        let digits = wnafDigits(UInt256(exponent), width: 4)
        // oddPowers[i] = self^(2i + 1), the values a width-4 digit selects.
        let square = cyclotomicSquared()
        var oddPowers = [self]
        for i in 1..<4 { oddPowers.append(oddPowers[i - 1] * square) }
        var result = Fp12.one
        var started = false
        for digit in digits.reversed() {
            if started { result = result.cyclotomicSquared() }
            if digit == 0 { continue }
            let factor = digit > 0 ? oddPowers[Int(digit) >> 1] : oddPowers[Int(-digit) >> 1].conjugate()
            result = started ? result * factor : factor
            started = true
        }
        return result
    }

    public var description: String { "(\(c0), \(c1))" }
}

/// The constants of the Frobenius maps, computed once from ξ = 9 + u.
///
/// For the w-power basis, (b·wᵉ)^(p^k) = b^(p^k) · ξ^(e(p^k − 1)/6) · wᵉ, and
/// ξ^(e(p^k − 1)/6) = Π_{i<k} frobeniusᶦ(ξ^(e(p − 1)/6)).
public final class FrobeniusCoefficients: Sendable {
    public static let shared = FrobeniusCoefficients()

    /// `fp12[k − 1][e]` = ξ^(e(p^k − 1)/6), for k in 1…3 and e in 0…5.
    public let fp12: [[Fp2]]
    /// ξ^((p − 1)/3) and ξ^((p − 1)/2): the twist's Frobenius factors for x and y.
    public let twistX: Fp2
    public let twistY: Fp2

    private init() {
        let xi = Fp2(Fp(9), Fp(1))
        let sixth = Fp.modulus.subtractingReportingBorrow(UInt256(1)).difference.dividedReportingRemainder(by: 6)
        let base = xi.power(sixth.quotient)  // ξ^((p−1)/6)
        var first = [Fp2.one]
        for _ in 1..<6 { first.append(first.last! * base) }
        var table = [first]
        for _ in 1..<3 {
            let previous = table.last!
            // γ_{k+1,e} = γ_{k,e}^p · γ_{1,e}
            table.append((0..<6).map { previous[$0].conjugate() * first[$0] })
        }
        fp12 = table
        twistX = first[2]
        twistY = first[3]
    }
}
