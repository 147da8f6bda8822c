/// Modular inversion by Bernstein and Yang's "divsteps" ("Fast constant-time gcd
/// computation and modular inversion", 2019), in the variable-time form that takes
/// runs of divisions by two at once.
///
/// Each round works on the low 64 bits of f and g alone: 62 halvings, and the swaps
/// and additions between them, are gathered into one 2×2 integer matrix, which is then
/// applied to the full numbers (an exact division by 2^62) and, Montgomery-style, to
/// their cofactors modulo m. About eight rounds invert a 254-bit value, against about
/// eighteen of 31 steps for a binary GCD. Variable time: the values inverted here are
/// public (curve points' denominators, never secrets).
extension PrimeField {
    /// A bound on rounds that no input reaches: 254-bit inputs need at most 735 divsteps,
    /// 12 rounds of 62, and batched steps never need more than single ones.
    @inlinable
    static var maximumInversionRounds: Int { 20 }

    /// y⁻¹·c mod m as a plain integer, for 0 < y < m and c < m.
    ///
    /// Throughout, d·y ≡ c·f and e·y ≡ c·g (mod m). The rounds take (f, g) from (m, y)
    /// to (±1, 0), so c·y⁻¹ is ±d. With c = 2^512 mod m and y a Montgomery
    /// representation a·2^256, that is a⁻¹·2^256: the inverse, in Montgomery form.
    @inlinable
    static func inverseModulus(_ y: UInt256, times c: UInt256) -> UInt256 {
        let m = Signed62(modulus)
        // m⁻¹ mod 2^62, from −m⁻¹ mod 2^64.
        let modulusInverse62 = (0 &- montgomeryInverse) & Signed62.mask
        var f = m
        var g = Signed62(y)
        var d = Signed62.zero
        var e = Signed62(c)
        var eta: Int64 = -1
        var rounds = 0
        while !g.isZero {
            precondition(rounds < maximumInversionRounds, "divsteps did not reach gcd(y, m)")
            rounds += 1
            let t = DivstepMatrix(eta: &eta, f: UInt64(bitPattern: f.v0), g: UInt64(bitPattern: g.v0))
            Signed62.applyModular(t, &d, &e, modulus: m, modulusInverse62: modulusInverse62)
            Signed62.applyExact(t, &f, &g)
        }
        // f is ±1 now, as gcd(y, m) = 1.
        return d.normalized(negating: f.isNegative, modulus: m)
    }
}

/// 62 divsteps as a matrix scaled by 2^62: 2^62·(f′, g′) = (u·f + v·g, q·f + r·g).
/// The entries satisfy |u| + |v| ≤ 2^62 and |q| + |r| ≤ 2^62.
@frozen @usableFromInline
struct DivstepMatrix {
    @usableFromInline var u: Int64
    @usableFromInline var v: Int64
    @usableFromInline var q: Int64
    @usableFromInline var r: Int64

    /// The steps that f and g's low bits decide, with f odd. `eta` is −δ in the paper's
    /// notation; it carries over from one round to the next.
    @inlinable
    init(eta: inout Int64, f f0: UInt64, g g0: UInt64) {
        var (u, v, q, r): (Int64, Int64, Int64, Int64) = (1, 0, 0, 1)
        var f = f0
        var g = g0
        var remaining: Int64 = 62
        // Invariant: 2^(62 − remaining)·(f, g) = (u·f₀ + v·g₀, q·f₀ + r·g₀) in the low
        // `remaining` bits that are still meaningful.
        while true {
            // Halve g as often as it allows at once; halving g doubles the other row.
            let zeros = min(Int64(g.trailingZeroBitCount), remaining)
            g >>= UInt64(zeros)
            u &<<= zeros
            v &<<= zeros
            eta &-= zeros
            remaining &-= zeros
            if remaining == 0 { break }
            // g is odd. A swap (with a sign change) when δ > 0, as in a single divstep.
            var w: UInt64
            if eta < 0 {
                eta = 0 &- eta
                (f, g) = (g, 0 &- f)
                (u, v, q, r) = (q, r, 0 &- u, 0 &- v)
                // Add the multiple of f that clears as many low bits of g as the next
                // steps may use, up to six: −g/f mod 2^6, with f⁻¹ ≡ f·(2 − f²) mod 2^6.
                let limit = min(eta &+ 1, remaining)
                let mask = (UInt64.max >> UInt64(64 - limit)) & 63
                w = (f &* g &* (f &* f &- 2)) & mask
            } else {
                // Up to four bits: f⁻¹ mod 2^4 is f, plus 8 when bit 2 of f + 1 is set.
                let limit = min(eta &+ 1, remaining)
                let mask = (UInt64.max >> UInt64(64 - limit)) & 15
                let inverse = f &+ (((f &+ 1) & 4) << 1)
                w = (0 &- inverse &* g) & mask
            }
            g &+= f &* w
            q &+= u &* Int64(bitPattern: w)
            r &+= v &* Int64(bitPattern: w)
        }
        (self.u, self.v, self.q, self.r) = (u, v, q, r)
    }
}

/// A signed integer in five limbs of 62 bits: v0…v3 in 0..<2^62, v4 signed. The headroom
/// lets a limb take a 62-bit product's carry without leaving 64 bits.
@frozen @usableFromInline
struct Signed62 {
    @usableFromInline var v0: Int64
    @usableFromInline var v1: Int64
    @usableFromInline var v2: Int64
    @usableFromInline var v3: Int64
    @usableFromInline var v4: Int64

    @inlinable static var mask: UInt64 { (1 << 62) - 1 }

    @inlinable
    init(_ v0: Int64, _ v1: Int64, _ v2: Int64, _ v3: Int64, _ v4: Int64) {
        (self.v0, self.v1, self.v2, self.v3, self.v4) = (v0, v1, v2, v3, v4)
    }

    @inlinable
    static var zero: Signed62 { Signed62(0, 0, 0, 0, 0) }

    /// A value below 2^256.
    @inlinable
    init(_ x: UInt256) {
        let m = Signed62.mask
        self.init(
            Int64(bitPattern: x.l0 & m), Int64(bitPattern: (x.l0 >> 62 | x.l1 << 2) & m),
            Int64(bitPattern: (x.l1 >> 60 | x.l2 << 4) & m), Int64(bitPattern: (x.l2 >> 58 | x.l3 << 6) & m),
            Int64(bitPattern: x.l3 >> 56))
    }

    @inlinable
    var isZero: Bool { v0 | v1 | v2 | v3 | v4 == 0 }

    @inlinable
    var isNegative: Bool { v4 < 0 }

    /// (f, g) ← (u·f + v·g, q·f + r·g) / 2^62, a division the matrix makes exact.
    @inlinable @inline(__always)
    static func applyExact(_ t: DivstepMatrix, _ f: inout Signed62, _ g: inout Signed62) {
        let (u, v, q, r) = (Int128(t.u), Int128(t.v), Int128(t.q), Int128(t.r))
        var cf = u &* Int128(f.v0) &+ v &* Int128(g.v0)
        var cg = q &* Int128(f.v0) &+ r &* Int128(g.v0)
        cf >>= 62
        cg >>= 62
        let f0 = nextLimb(&cf, u, f.v1, v, g.v1)
        let g0 = nextLimb(&cg, q, f.v1, r, g.v1)
        let f1 = nextLimb(&cf, u, f.v2, v, g.v2)
        let g1 = nextLimb(&cg, q, f.v2, r, g.v2)
        let f2 = nextLimb(&cf, u, f.v3, v, g.v3)
        let g2 = nextLimb(&cg, q, f.v3, r, g.v3)
        let f3 = nextLimb(&cf, u, f.v4, v, g.v4)
        let g3 = nextLimb(&cg, q, f.v4, r, g.v4)
        f = Signed62(f0, f1, f2, f3, Int64(truncatingIfNeeded: cf))
        g = Signed62(g0, g1, g2, g3, Int64(truncatingIfNeeded: cg))
    }

    /// (d, e) ← (u·d + v·e, q·d + r·e) / 2^62 mod m, for d and e in (−2m, m), keeping them
    /// there. A multiple of m clears the low 62 bits first, as in a Montgomery reduction;
    /// adding m·u (m·v) for a negative d (e) beforehand keeps the result above −2m.
    @inlinable @inline(__always)
    static func applyModular(
        _ t: DivstepMatrix, _ d: inout Signed62, _ e: inout Signed62, modulus m: Signed62,
        modulusInverse62: UInt64
    ) {
        let dSign = d.v4 >> 63
        let eSign = e.v4 >> 63
        var md = (t.u & dSign) &+ (t.v & eSign)
        var me = (t.q & dSign) &+ (t.r & eSign)
        let (u, v, q, r) = (Int128(t.u), Int128(t.v), Int128(t.q), Int128(t.r))
        var cd = u &* Int128(d.v0) &+ v &* Int128(e.v0)
        var ce = q &* Int128(d.v0) &+ r &* Int128(e.v0)
        md &-= Int64(bitPattern: (modulusInverse62 &* UInt64(truncatingIfNeeded: cd) &+ UInt64(bitPattern: md)) & mask)
        me &-= Int64(bitPattern: (modulusInverse62 &* UInt64(truncatingIfNeeded: ce) &+ UInt64(bitPattern: me)) & mask)
        let (mdWide, meWide) = (Int128(md), Int128(me))
        cd = (cd &+ mdWide &* Int128(m.v0)) >> 62
        ce = (ce &+ meWide &* Int128(m.v0)) >> 62
        let d0 = nextLimb(&cd, u, d.v1, v, e.v1, mdWide, m.v1)
        let e0 = nextLimb(&ce, q, d.v1, r, e.v1, meWide, m.v1)
        let d1 = nextLimb(&cd, u, d.v2, v, e.v2, mdWide, m.v2)
        let e1 = nextLimb(&ce, q, d.v2, r, e.v2, meWide, m.v2)
        let d2 = nextLimb(&cd, u, d.v3, v, e.v3, mdWide, m.v3)
        let e2 = nextLimb(&ce, q, d.v3, r, e.v3, meWide, m.v3)
        let d3 = nextLimb(&cd, u, d.v4, v, e.v4, mdWide, m.v4)
        let e3 = nextLimb(&ce, q, d.v4, r, e.v4, meWide, m.v4)
        d = Signed62(d0, d1, d2, d3, Int64(truncatingIfNeeded: cd))
        e = Signed62(e0, e1, e2, e3, Int64(truncatingIfNeeded: ce))
    }

    /// Adds a·x + b·y (+ c·z) to the running sum, takes its low 62 bits as the next limb
    /// and keeps the rest as the carry.
    @inlinable @inline(__always)
    static func nextLimb(
        _ carry: inout Int128, _ a: Int128, _ x: Int64, _ b: Int128, _ y: Int64, _ c: Int128 = 0, _ z: Int64 = 0
    ) -> Int64 {
        carry &+= a &* Int128(x) &+ b &* Int128(y) &+ c &* Int128(z)
        let limb = Int64(truncatingIfNeeded: carry) & Int64(bitPattern: mask)
        carry >>= 62
        return limb
    }

    /// ±self reduced into 0..<m, as a plain integer; for |self| below a few m.
    @inlinable
    func normalized(negating: Bool, modulus m: Signed62) -> UInt256 {
        var x = negating ? Signed62(0 &- v0, 0 &- v1, 0 &- v2, 0 &- v3, 0 &- v4).carried : self
        while x.isNegative {
            x = Signed62(x.v0 &+ m.v0, x.v1 &+ m.v1, x.v2 &+ m.v2, x.v3 &+ m.v3, x.v4 &+ m.v4).carried
        }
        while true {
            let reduced = Signed62(x.v0 &- m.v0, x.v1 &- m.v1, x.v2 &- m.v2, x.v3 &- m.v3, x.v4 &- m.v4).carried
            if reduced.isNegative { break }
            x = reduced
        }
        let (a, b, c, d, e) = (UInt64(x.v0), UInt64(x.v1), UInt64(x.v2), UInt64(x.v3), UInt64(x.v4))
        return UInt256(a | b << 62, b >> 2 | c << 60, c >> 4 | d << 58, d >> 6 | e << 56)
    }

    /// The same value with v0…v3 brought back into 0..<2^62.
    @inlinable
    var carried: Signed62 {
        let m = Int64(bitPattern: Signed62.mask)
        var c = v0
        let r0 = c & m
        c = v1 &+ (c >> 62)
        let r1 = c & m
        c = v2 &+ (c >> 62)
        let r2 = c & m
        c = v3 &+ (c >> 62)
        let r3 = c & m
        return Signed62(r0, r1, r2, r3, v4 &+ (c >> 62))
    }
}
