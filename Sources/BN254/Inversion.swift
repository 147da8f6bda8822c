/// Modular inversion by Pornin's optimised binary GCD ("Optimized Binary GCD for Modular
/// Inversion", 2020). The plain binary extended Euclid does about 500 steps, each a
/// shift or subtraction of four-limb numbers and of their cofactors. Here 31 steps at a
/// time run on one-word approximations of a and b (their low 31 bits and their top 33
/// bits), collecting the steps as a 2×2 matrix of small factors; the matrix is then
/// applied once to the full numbers and, with a division by 2^31 done Montgomery-style,
/// to the cofactors. Variable time: the values inverted here are public.
extension PrimeField {
    /// Rounds of 31 steps: the binary GCD of two numbers below 2^len ends within
    /// 2·len − 1 steps; one round more is slack that costs nothing when a is already 0.
    @inlinable
    static var inversionRounds: Int { (2 * modulus.bitWidth - 1 + 30) / 31 + 1 }

    /// y⁻¹ mod m as a plain integer, for 0 < y < m.
    @inlinable
    static func inverseModulus(_ y: UInt256) -> UInt256 {
        let mask31: UInt64 = (1 << 31) - 1
        var a = y
        var b = modulus
        // a ≡ y·u and b ≡ y·v (mod m) throughout.
        var u = UInt256(1)
        var v = UInt256.zero
        for _ in 0..<inversionRounds {
            let n = max(a.bitWidth, b.bitWidth, 64)
            var aBar = (a.l0 & mask31) | (a.bits(from: n - 33, count: 33) << 31)
            var bBar = (b.l0 & mask31) | (b.bits(from: n - 33, count: 33) << 31)
            // After the steps: a′·2^31 = f0·a + g0·b and b′·2^31 = f1·a + g1·b.
            var f0: Int64 = 1
            var g0: Int64 = 0
            var f1: Int64 = 0
            var g1: Int64 = 1
            for _ in 0..<31 {
                if aBar & 1 == 1 {
                    if aBar < bBar {
                        swap(&aBar, &bBar)
                        swap(&f0, &f1)
                        swap(&g0, &g1)
                    }
                    aBar &-= bBar
                    f0 &-= f1
                    g0 &-= g1
                }
                aBar >>= 1
                f1 &<<= 1
                g1 &<<= 1
            }
            var nextA = (SignedWide.product(a, f0) + SignedWide.product(b, g0)).shiftedRight31
            var nextB = (SignedWide.product(a, f1) + SignedWide.product(b, g1)).shiftedRight31
            if nextA.isNegative {
                nextA = nextA.negated
                (f0, g0) = (0 &- f0, 0 &- g0)
            }
            if nextB.isNegative {
                nextB = nextB.negated
                (f1, g1) = (0 &- f1, 0 &- g1)
            }
            a = nextA.low
            b = nextB.low
            let nextU = dividedBy2To31(SignedWide.product(u, f0) + SignedWide.product(v, g0))
            v = dividedBy2To31(SignedWide.product(u, f1) + SignedWide.product(v, g1))
            u = nextU
        }
        // gcd(y, m) = 1 is left in b, and y·v ≡ b.
        precondition(a.isZero && b == UInt256(1), "binary GCD did not converge")
        return v
    }

    /// t·2^−31 mod m, in 0..<m, for |t| < 2^32·m: a multiple of m clears t's low 31 bits
    /// (as in a Montgomery reduction), then the exact shift.
    @inlinable @inline(__always)
    static func dividedBy2To31(_ t: SignedWide) -> UInt256 {
        let q = (t.l0 &* montgomeryInverse) & ((1 << 31) - 1)
        var s = (t + SignedWide.product(modulus, Int64(q))).shiftedRight31
        let m = SignedWide(modulus)
        while s.isNegative { s = s + m }
        var r = s.low
        while !(r < modulus) { r = r.subtractingReportingBorrow(modulus).difference }
        return r
    }
}

/// A signed 320-bit integer in two's complement: a 256-bit value times a factor below
/// 2^63 in size, and sums of two such products.
@frozen @usableFromInline
struct SignedWide {
    @usableFromInline var l0: UInt64
    @usableFromInline var l1: UInt64
    @usableFromInline var l2: UInt64
    @usableFromInline var l3: UInt64
    @usableFromInline var l4: UInt64

    @inlinable
    init(_ l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64, _ l4: UInt64) {
        (self.l0, self.l1, self.l2, self.l3, self.l4) = (l0, l1, l2, l3, l4)
    }

    @inlinable
    init(_ value: UInt256) { self.init(value.l0, value.l1, value.l2, value.l3, 0) }

    /// x·f.
    @inlinable @inline(__always)
    static func product(_ x: UInt256, _ f: Int64) -> SignedWide {
        let m = UInt128(f.magnitude)
        var accumulator = UInt128(x.l0) &* m
        let r0 = UInt64(truncatingIfNeeded: accumulator)
        accumulator = (accumulator >> 64) &+ UInt128(x.l1) &* m
        let r1 = UInt64(truncatingIfNeeded: accumulator)
        accumulator = (accumulator >> 64) &+ UInt128(x.l2) &* m
        let r2 = UInt64(truncatingIfNeeded: accumulator)
        accumulator = (accumulator >> 64) &+ UInt128(x.l3) &* m
        let r3 = UInt64(truncatingIfNeeded: accumulator)
        let r4 = UInt64(truncatingIfNeeded: accumulator >> 64)
        let product = SignedWide(r0, r1, r2, r3, r4)
        return f < 0 ? product.negated : product
    }

    @inlinable @inline(__always)
    static func + (a: SignedWide, b: SignedWide) -> SignedWide {
        var carry: UInt64 = 0
        func add(_ x: UInt64, _ y: UInt64) -> UInt64 {
            let (s1, c1) = x.addingReportingOverflow(y)
            let (s2, c2) = s1.addingReportingOverflow(carry)
            carry = (c1 ? 1 : 0) &+ (c2 ? 1 : 0)
            return s2
        }
        let r0 = add(a.l0, b.l0)
        let r1 = add(a.l1, b.l1)
        let r2 = add(a.l2, b.l2)
        let r3 = add(a.l3, b.l3)
        let r4 = add(a.l4, b.l4)
        return SignedWide(r0, r1, r2, r3, r4)
    }

    @inlinable
    var isNegative: Bool { l4 >> 63 == 1 }

    @inlinable
    var negated: SignedWide {
        SignedWide(~l0, ~l1, ~l2, ~l3, ~l4) + SignedWide(1, 0, 0, 0, 0)
    }

    /// The value divided by 2^31, rounding towards −∞ (exact where this is used).
    @inlinable
    var shiftedRight31: SignedWide {
        SignedWide(
            l0 >> 31 | l1 << 33, l1 >> 31 | l2 << 33, l2 >> 31 | l3 << 33, l3 >> 31 | l4 << 33,
            UInt64(bitPattern: Int64(bitPattern: l4) >> 31))
    }

    /// The low 256 bits (the value itself when it is in 0..<2^256).
    @inlinable
    var low: UInt256 { UInt256(l0, l1, l2, l3) }
}
