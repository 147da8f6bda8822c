/// The cubic extension Fp6 = Fp2[v]/(v³ − ξ) with ξ = 9 + u; elements c0 + c1·v + c2·v².
@frozen
public struct Fp6: FieldElement {
    public var c0: Fp2
    public var c1: Fp2
    public var c2: Fp2

    @inlinable @inline(__always)
    public init(_ c0: Fp2, _ c1: Fp2, _ c2: Fp2) {
        self.c0 = c0
        self.c1 = c1
        self.c2 = c2
    }

    @inlinable public static var zero: Fp6 { Fp6(.zero, .zero, .zero) }
    @inlinable public static var one: Fp6 { Fp6(.one, .zero, .zero) }
    @inlinable public var isZero: Bool { c0.isZero && c1.isZero && c2.isZero }

    @inlinable @inline(__always)
    public static func + (lhs: Fp6, rhs: Fp6) -> Fp6 { Fp6(lhs.c0 + rhs.c0, lhs.c1 + rhs.c1, lhs.c2 + rhs.c2) }

    @inlinable @inline(__always)
    public static func - (lhs: Fp6, rhs: Fp6) -> Fp6 { Fp6(lhs.c0 - rhs.c0, lhs.c1 - rhs.c1, lhs.c2 - rhs.c2) }

    @inlinable @inline(__always)
    public static prefix func - (value: Fp6) -> Fp6 { Fp6(-value.c0, -value.c1, -value.c2) }

    @inlinable @inline(__always)
    public func doubled() -> Fp6 { Fp6(c0.doubled(), c1.doubled(), c2.doubled()) }

    /// Karatsuba for a cubic extension: six Fp2 products.
    @inlinable
    public static func * (a: Fp6, b: Fp6) -> Fp6 {
        let v0 = a.c0 * b.c0
        let v1 = a.c1 * b.c1
        let v2 = a.c2 * b.c2
        // c0 = v0 + ξ((a1 + a2)(b1 + b2) − v1 − v2)
        let c0 = ((a.c1 + a.c2) * (b.c1 + b.c2) - v1 - v2).multipliedByNonResidue() + v0
        // c1 = (a0 + a1)(b0 + b1) − v0 − v1 + ξ·v2
        let c1 = (a.c0 + a.c1) * (b.c0 + b.c1) - v0 - v1 + v2.multipliedByNonResidue()
        // c2 = (a0 + a2)(b0 + b2) − v0 − v2 + v1
        let c2 = (a.c0 + a.c2) * (b.c0 + b.c2) - v0 - v2 + v1
        return Fp6(c0, c1, c2)
    }

    /// Chung–Hasan SQR2: two Fp2 products and three Fp2 squarings.
    @inlinable
    public func squared() -> Fp6 {
        let s0 = c0.squared()
        let ab = c0 * c1
        let s1 = ab.doubled()
        let s2 = (c0 - c1 + c2).squared()
        let bc = c1 * c2
        let s3 = bc.doubled()
        let s4 = c2.squared()
        return Fp6(
            s3.multipliedByNonResidue() + s0,
            s4.multipliedByNonResidue() + s1,
            s1 + s2 + s3 - s0 - s4)
    }

    /// Multiplication by v: (c0, c1, c2)·v = (ξ·c2, c0, c1).
    @inlinable @inline(__always)
    public func multipliedByNonResidue() -> Fp6 { Fp6(c2.multipliedByNonResidue(), c0, c1) }

    /// Multiplication by an Fp2 element.
    @inlinable @inline(__always)
    public func scaled(by factor: Fp2) -> Fp6 { Fp6(c0 * factor, c1 * factor, c2 * factor) }

    /// Multiplication by b0 + b1·v (a sparse element, as pairing lines give).
    @inlinable
    public func multiplied(by b0: Fp2, _ b1: Fp2) -> Fp6 {
        let v0 = c0 * b0
        let v1 = c1 * b1
        // (a0 + a1 v + a2 v²)(b0 + b1 v) = (a0b0 + ξ a2b1) + (a0b1 + a1b0) v + (a1b1 + a2b0) v²
        let r0 = (c2 * b1).multipliedByNonResidue() + v0
        let r1 = (c0 + c1) * (b0 + b1) - v0 - v1
        let r2 = c2 * b0 + v1
        return Fp6(r0, r1, r2)
    }

    @inlinable
    public func inverse() -> Fp6? {
        // With t0 = c0² − ξ c1 c2, t1 = ξ c2² − c0 c1, t2 = c1² − c0 c2, the inverse is
        // (t0 + t1 v + t2 v²) / (c0 t0 + ξ (c2 t1 + c1 t2)).
        let t0 = c0.squared() - (c1 * c2).multipliedByNonResidue()
        let t1 = c2.squared().multipliedByNonResidue() - c0 * c1
        let t2 = c1.squared() - c0 * c2
        let denominator = c0 * t0 + (c2 * t1 + c1 * t2).multipliedByNonResidue()
        guard let inverse = denominator.inverse() else { return nil }
        return Fp6(t0 * inverse, t1 * inverse, t2 * inverse)
    }

    public var description: String { "(\(c0), \(c1), \(c2))" }
}
