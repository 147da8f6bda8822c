/// The quadratic extension Fp2 = Fp[u]/(u² + 1), elements c0 + c1·u.
///
/// G2's coordinates live here. The sextic non-residue that builds Fp6 on top is ξ = 9 + u.
@frozen
public struct Fp2: FieldElement {
    public var c0: Fp
    public var c1: Fp

    @inlinable @inline(__always)
    public init(_ c0: Fp, _ c1: Fp) {
        self.c0 = c0
        self.c1 = c1
    }

    @inlinable public static var zero: Fp2 { Fp2(.zero, .zero) }
    @inlinable public static var one: Fp2 { Fp2(.one, .zero) }
    @inlinable public var isZero: Bool { c0.isZero && c1.isZero }

    @inlinable @inline(__always)
    public static func + (lhs: Fp2, rhs: Fp2) -> Fp2 { Fp2(lhs.c0 + rhs.c0, lhs.c1 + rhs.c1) }

    @inlinable @inline(__always)
    public static func - (lhs: Fp2, rhs: Fp2) -> Fp2 { Fp2(lhs.c0 - rhs.c0, lhs.c1 - rhs.c1) }

    @inlinable @inline(__always)
    public static prefix func - (value: Fp2) -> Fp2 { Fp2(-value.c0, -value.c1) }

    @inlinable @inline(__always)
    public func doubled() -> Fp2 { Fp2(c0.doubled(), c1.doubled()) }

    /// Karatsuba with lazy reduction: three 512-bit products, combined before they are
    /// reduced, so two Montgomery reductions instead of three and no modular additions.
    @inlinable @inline(__always)
    public static func * (lhs: Fp2, rhs: Fp2) -> Fp2 {
        let (a0, a1) = (lhs.c0.montgomery, lhs.c1.montgomery)
        let (b0, b1) = (rhs.c0.montgomery, rhs.c1.montgomery)
        let v0 = Fp.wideProduct(a0, b0)
        let v1 = Fp.wideProduct(a1, b1)
        // Sums below 2p < 2^255: no carry, and no reduction needed before the product.
        let cross = Fp.wideProduct(a0.addingReportingCarry(a1).sum, b0.addingReportingCarry(b1).sum)
        // a0·b1 + a1·b0 = cross − v0 − v1, at least 0 and below 2p² < p·2^256.
        let imaginary = cross.subtractingReportingBorrow(v0).difference.subtractingReportingBorrow(v1).difference
        // a0·b0 − a1·b1 lies in (−p², p²); after a borrow, adding p·2^256 brings it into [0, p·2^256).
        var (real, borrow) = v0.subtractingReportingBorrow(v1)
        let mask = 0 &- carryBit(borrow)
        let p = Fp.modulus
        real.high = real.high.addingReportingCarry(UInt256(p.l0 & mask, p.l1 & mask, p.l2 & mask, p.l3 & mask)).sum
        return Fp2(Fp(montgomery: Fp.montgomeryReduce(real)), Fp(montgomery: Fp.montgomeryReduce(imaginary)))
    }

    /// (a + b·u)² = (a + b)(a − b) + 2ab·u: two products, reduced from 512 bits so that
    /// their factors need no reduction: a + b, a + (p − b) and 2a are below 2p, and
    /// (2p)² < p·2^256.
    @inlinable @inline(__always)
    public func squared() -> Fp2 {
        let (a, b) = (c0.montgomery, c1.montgomery)
        let sum = a.addingReportingCarry(b).sum
        let difference = a.addingReportingCarry(Fp.modulus.subtractingReportingBorrow(b).difference).sum
        let doubled = a.addingReportingCarry(a).sum
        return Fp2(
            Fp(montgomery: Fp.montgomeryReduce(Fp.wideProduct(sum, difference))),
            Fp(montgomery: Fp.montgomeryReduce(Fp.wideProduct(doubled, b))))
    }

    /// Multiplication by a base-field element.
    @inlinable @inline(__always)
    public func scaled(by factor: Fp) -> Fp2 { Fp2(c0 * factor, c1 * factor) }

    /// Multiplication by ξ = 9 + u: (a + b·u)(9 + u) = (9a − b) + (a + 9b)·u.
    @inlinable @inline(__always)
    public func multipliedByNonResidue() -> Fp2 {
        let a8 = c0.doubled().doubled().doubled()
        let b8 = c1.doubled().doubled().doubled()
        return Fp2(a8 + c0 - c1, b8 + c1 + c0)
    }

    /// The conjugate c0 − c1·u, which is also the Frobenius map x ↦ x^p.
    @inlinable @inline(__always)
    public func conjugate() -> Fp2 { Fp2(c0, -c1) }

    /// The norm c0² + c1² in Fp.
    @inlinable
    public var norm: Fp { c0.squared() + c1.squared() }

    @inlinable
    public func inverse() -> Fp2? {
        guard let normInverse = norm.inverse() else { return nil }
        return Fp2(c0 * normInverse, -(c1 * normInverse))
    }

    /// A square root, or nil if `self` is not a square in Fp2.
    ///
    /// Uses the norm: for a = a0 + a1·u with a square root x0 + x1·u,
    /// x0² = (a0 ± √N(a)) / 2 and x1 = a1 / (2·x0).
    public func squareRoot() -> Fp2? {
        if isZero { return self }
        if c1.isZero {
            if let root = c0.squareRoot() { return Fp2(root, .zero) }
            // a0 is a non-square in Fp, so −a0 is a square (p ≡ 3 mod 4) and √a0 = √(−a0)·u.
            guard let root = (-c0).squareRoot() else { return nil }
            return Fp2(.zero, root)
        }
        guard let normRoot = norm.squareRoot() else { return nil }
        let half = Fp(2).inverse()!
        var x0Squared = (c0 + normRoot) * half
        if x0Squared.legendreSymbol() != 1 { x0Squared = (c0 - normRoot) * half }
        guard let x0 = x0Squared.squareRoot(), let twoX0Inverse = x0.doubled().inverse() else { return nil }
        let root = Fp2(x0, c1 * twoX0Inverse)
        return root.squared() == self ? root : nil
    }

    /// Whether this element is "negative" in the lexicographic sense used by point compression:
    /// compare c1 first, then c0, against (p − 1)/2.
    public var isLexicographicallyLargest: Bool {
        if !c1.isZero { return c1.isLexicographicallyLargest }
        return c0.isLexicographicallyLargest
    }

    public var description: String { "(\(c0) + \(c1)·u)" }
}

extension PrimeField {
    /// Whether the canonical value exceeds (m − 1)/2, the convention point compression uses for the sign of y.
    public var isLexicographicallyLargest: Bool {
        let half = Self.modulus.subtractingReportingBorrow(UInt256(1)).difference.halved
        return half < canonical
    }
}
