/// A prime field of a 254-bit modulus, with elements kept in Montgomery form
/// (a·2^256 mod m) in four 64-bit limbs.
///
/// `Fp` and `Fr` conform by naming their constants; every operation is written
/// once here and specialised for each, so the constants become immediates.
/// The multiplication is CIOS; its bounds (see `montgomeryRound`) need 4m < 2^256,
/// true of both BN254 moduli (m < 2^254).
public protocol PrimeField: FieldElement, Comparable {
    /// The modulus m.
    static var modulus: UInt256 { get }
    /// −m⁻¹ mod 2^64.
    static var montgomeryInverse: UInt64 { get }
    /// 2^256 mod m: the Montgomery form of one.
    static var montgomeryOne: UInt256 { get }
    /// 2^512 mod m: converts a canonical value into Montgomery form.
    static var montgomeryRSquared: UInt256 { get }
    /// s such that m − 1 = 2^s · t with t odd.
    static var twoAdicity: Int { get }
    /// A primitive 2^s-th root of unity (Montgomery form), for square roots and NTTs.
    static var twoAdicRootOfUnityMontgomery: UInt256 { get }
    /// A quadratic non-residue, canonical.
    static var quadraticNonResidue: UInt64 { get }

    /// The raw Montgomery representation.
    var montgomery: UInt256 { get set }
    init(montgomery: UInt256)
}

// MARK: - Arithmetic

extension PrimeField {
    @inlinable @inline(__always)
    public static var zero: Self { Self(montgomery: .zero) }

    @inlinable @inline(__always)
    public static var one: Self { Self(montgomery: montgomeryOne) }

    @inlinable @inline(__always)
    public var isZero: Bool { montgomery.isZero }

    /// `value − m` if that is non-negative, else `value`; for values below 2m.
    @inlinable @inline(__always)
    static func reduceOnce(_ value: UInt256) -> UInt256 {
        let (reduced, borrow) = value.subtractingReportingBorrow(modulus)
        return borrow ? value : reduced
    }

    @inlinable @inline(__always)
    public static func + (lhs: Self, rhs: Self) -> Self {
        // Both below m < 2^254, so the sum fits in 256 bits.
        Self(montgomery: reduceOnce(lhs.montgomery.addingReportingCarry(rhs.montgomery).sum))
    }

    /// Adds m back under a mask rather than a branch: the borrow is random, and a
    /// mispredicted branch costs about as much as the subtraction itself.
    @inlinable @inline(__always)
    public static func - (lhs: Self, rhs: Self) -> Self {
        let (difference, borrow) = lhs.montgomery.subtractingReportingBorrow(rhs.montgomery)
        let mask = 0 &- carryBit(borrow)
        let m = modulus
        let correction = UInt256(m.l0 & mask, m.l1 & mask, m.l2 & mask, m.l3 & mask)
        return Self(montgomery: difference.addingReportingCarry(correction).sum)
    }

    @inlinable @inline(__always)
    public static prefix func - (value: Self) -> Self {
        if value.isZero { return value }
        return Self(montgomery: modulus.subtractingReportingBorrow(value.montgomery).difference)
    }

    @inlinable @inline(__always)
    public func doubled() -> Self { self + self }

    @inlinable @inline(__always)
    public static func * (lhs: Self, rhs: Self) -> Self {
        Self(montgomery: montgomeryProduct(lhs.montgomery, rhs.montgomery))
    }

    @inlinable @inline(__always)
    public func squared() -> Self { Self(montgomery: Self.montgomeryProduct(montgomery, montgomery)) }

    /// The product without its final subtraction of m: with m < 2^254, operands below 2m
    /// give a result below 2m (see `montgomeryProductBelowTwiceModulus`).
    @inlinable @inline(__always)
    public static func chainedProduct(_ lhs: Self, _ rhs: Self) -> Self {
        Self(montgomery: montgomeryProductBelowTwiceModulus(lhs.montgomery, rhs.montgomery))
    }

    @inlinable @inline(__always)
    public func reduced() -> Self { Self(montgomery: Self.reduceOnce(montgomery)) }

    /// a·b·2^−256 mod m for a, b < 2m: the one primitive every product and square uses.
    @inlinable @inline(__always)
    public static func montgomeryProduct(_ a: UInt256, _ b: UInt256) -> UInt256 {
        reduceOnce(montgomeryProductBelowTwiceModulus(a, b))
    }

    /// a·b·2^−256 mod m plus 0 or m, for a, b < 2m: the four CIOS rounds without the final
    /// subtraction. The result (a·b + q·m)/2^256 is below (4m² + m·2^256)/2^256 < 2m,
    /// because 4m < 2^256.
    @inlinable @inline(__always)
    public static func montgomeryProductBelowTwiceModulus(_ a: UInt256, _ b: UInt256) -> UInt256 {
        var t = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        montgomeryRound(&t, a, b.l0)
        montgomeryRound(&t, a, b.l1)
        montgomeryRound(&t, a, b.l2)
        montgomeryRound(&t, a, b.l3)
        return UInt256(t.0, t.1, t.2, t.3)
    }

    /// The 512-bit product a·b of any two 256-bit numbers: the first half of the product
    /// above, for sums of products that are reduced once (`Fp2`).
    @inlinable @inline(__always)
    public static func wideProduct(_ a: UInt256, _ b: UInt256) -> UInt512 {
        let (high, low) = a.multipliedFullWidth(by: b)
        return UInt512(low: low, high: high)
    }

    /// Montgomery's reduction t·2^−256 mod m for t < m·2^256: the second half.
    ///
    /// Four rounds t = (t + q·m)/2^64 clear the low half; what they leave is at most m
    /// (and fits four limbs), the high half is below m, so one subtraction of m finishes.
    @inlinable @inline(__always)
    public static func montgomeryReduce(_ t: UInt512) -> UInt256 {
        var u = (t.low.l0, t.low.l1, t.low.l2, t.low.l3)
        for _ in 0..<4 { u = reductionStep(u, top: 0) }
        return reduceOnce(UInt256(u.0, u.1, u.2, u.3).addingReportingCarry(t.high).sum)
    }

    /// One CIOS round: t = (t + a·bᵢ + q·m) / 2^64 with q chosen to clear the low limb.
    ///
    /// Each product's four low halves are added in one carry chain and its high halves,
    /// a limb up, in another, so the compiler makes an `add` and three `adc`s of each;
    /// a 128-bit multiply-add per limb took about twice as many instructions, and adding
    /// each product's limbs into a row first (`UInt256.row`) made a chain of products 5%
    /// slower. For a, bᵢ-limbs of a b < 2m, each round leaves t < t/2^64 + 3m, so t stays
    /// below 4m < 2^256; t + a·bᵢ + q·m < 4m + 3m·2^64 < 2^320: five limbs hold every
    /// partial sum, and the result fits in four.
    @inlinable @inline(__always)
    static func montgomeryRound(_ t: inout (UInt64, UInt64, UInt64, UInt64), _ a: UInt256, _ bi: UInt64) {
        let p0 = a.l0.multipliedFullWidth(by: bi)
        let p1 = a.l1.multipliedFullWidth(by: bi)
        let p2 = a.l2.multipliedFullWidth(by: bi)
        let p3 = a.l3.multipliedFullWidth(by: bi)
        var c: UInt64
        var (u0, u1, u2, u3): (UInt64, UInt64, UInt64, UInt64)
        (u0, c) = addWithCarry(t.0, p0.low, 0)
        (u1, c) = addWithCarry(t.1, p1.low, c)
        (u2, c) = addWithCarry(t.2, p2.low, c)
        (u3, c) = addWithCarry(t.3, p3.low, c)
        var u4 = c
        (u1, c) = addWithCarry(u1, p0.high, 0)
        (u2, c) = addWithCarry(u2, p1.high, c)
        (u3, c) = addWithCarry(u3, p2.high, c)
        u4 = u4 &+ p3.high &+ c
        t = reductionStep((u0, u1, u2, u3), top: u4)
    }

    /// (u + q·m) / 2^64 for the five-limb u = top·2^256 + (u.0, u.1, u.2, u.3), with q
    /// chosen to clear the low limb: one round of Montgomery's reduction, its limb
    /// products added in two carry chains as in `montgomeryRound`. The caller keeps the
    /// result below 2^256.
    @inlinable @inline(__always)
    static func reductionStep(_ u: (UInt64, UInt64, UInt64, UInt64), top: UInt64) -> (UInt64, UInt64, UInt64, UInt64) {
        let q = u.0 &* montgomeryInverse
        let m = modulus
        let r0 = q.multipliedFullWidth(by: m.l0)
        let r1 = q.multipliedFullWidth(by: m.l1)
        let r2 = q.multipliedFullWidth(by: m.l2)
        let r3 = q.multipliedFullWidth(by: m.l3)
        var c: UInt64
        var (s1, s2, s3): (UInt64, UInt64, UInt64)
        (_, c) = addWithCarry(u.0, r0.low, 0)  // the low limb becomes zero, by the choice of q
        (s1, c) = addWithCarry(u.1, r1.low, c)
        (s2, c) = addWithCarry(u.2, r2.low, c)
        (s3, c) = addWithCarry(u.3, r3.low, c)
        let s4 = top &+ c
        var result: (UInt64, UInt64, UInt64, UInt64)
        (result.0, c) = addWithCarry(s1, r0.high, 0)
        (result.1, c) = addWithCarry(s2, r1.high, c)
        (result.2, c) = addWithCarry(s3, r2.high, c)
        result.3 = s4 &+ r3.high &+ c
        return result
    }

    /// The multiplicative inverse; nil for zero.
    ///
    /// For the Montgomery representation A = a·2^256, 2^512·A⁻¹ = a⁻¹·2^256 is the
    /// inverse's representation, so the inversion multiplies by 2^512 as it goes
    /// (see Inversion.swift).
    @inlinable
    public func inverse() -> Self? {
        if isZero { return nil }
        return Self(montgomery: Self.inverseModulus(montgomery, times: Self.montgomeryRSquared))
    }

    /// Ordering by canonical value.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.canonical < rhs.canonical }
}

// MARK: - Conversions

extension PrimeField {
    /// The element with canonical value `value`; nil if `value` ≥ m.
    @inlinable
    public init?(canonical value: UInt256) {
        guard value < Self.modulus else { return nil }
        self.init(montgomery: Self.montgomeryProduct(value, Self.montgomeryRSquared))
    }

    /// The element `value mod m` for any 256-bit value.
    @inlinable
    public init(reducing value: UInt256) {
        var reduced = value
        while !(reduced < Self.modulus) { reduced = reduced.subtractingReportingBorrow(Self.modulus).difference }
        self.init(montgomery: Self.montgomeryProduct(reduced, Self.montgomeryRSquared))
    }

    /// The element `value mod m`.
    @inlinable
    public init(_ value: UInt64) { self.init(reducing: UInt256(value)) }

    /// The canonical value in 0..<m.
    @inlinable
    public var canonical: UInt256 { Self.montgomeryProduct(montgomery, UInt256(1)) }

    /// Parses a canonical decimal string; nil if malformed or ≥ m.
    public init?(decimal text: some StringProtocol) {
        guard let value = UInt256(decimal: text) else { return nil }
        self.init(canonical: value)
    }

    /// Reads 32 big-endian bytes; nil if the length is wrong or the value ≥ m.
    public init?<Bytes: Collection>(bigEndian bytes: Bytes) where Bytes.Element == UInt8 {
        guard let value = UInt256(bigEndian: bytes) else { return nil }
        self.init(canonical: value)
    }

    /// Reads 32 little-endian bytes; nil if the length is wrong or the value ≥ m.
    public init?<Bytes: Collection>(littleEndian bytes: Bytes) where Bytes.Element == UInt8 {
        guard let value = UInt256(littleEndian: bytes) else { return nil }
        self.init(canonical: value)
    }

    /// The canonical value as 32 big-endian bytes.
    public var bigEndianBytes: [UInt8] { canonical.bigEndianBytes }
    /// The canonical value as 32 little-endian bytes.
    public var littleEndianBytes: [UInt8] { canonical.littleEndianBytes }
    /// The canonical value in decimal.
    public var decimalString: String { canonical.decimalString }
    public var description: String { decimalString }

    /// A uniformly random element drawn from `generator` (rejection sampling).
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> Self {
        let topMask = UInt64.max >> UInt64(modulus.l3.leadingZeroBitCount)
        while true {
            let candidate = UInt256(generator.next(), generator.next(), generator.next(), generator.next() & topMask)
            if let element = Self(canonical: candidate) { return element }
        }
    }
}

// MARK: - Roots and residues

extension PrimeField {
    /// The Legendre symbol: 0 for zero, 1 for a non-zero square, −1 otherwise.
    public func legendreSymbol() -> Int {
        if isZero { return 0 }
        let exponent = Self.modulus.subtractingReportingBorrow(UInt256(1)).difference.halved
        return power(exponent) == .one ? 1 : -1
    }

    /// A square root (Tonelli–Shanks), or nil if `self` is not a square.
    public func squareRoot() -> Self? {
        if isZero { return self }
        var s = Self.twoAdicity
        let minusOne = Self.modulus.subtractingReportingBorrow(UInt256(1)).difference
        var odd = minusOne
        for _ in 0..<s { odd = odd.halved }
        // x = a^((t+1)/2), b = a^t, c = a primitive 2^s-th root of unity.
        let oddPlusOneHalf = odd.addingReportingCarry(UInt256(1)).sum.halved
        var x = power(oddPlusOneHalf)
        var b = power(odd)
        var c = Self(montgomery: Self.twoAdicRootOfUnityMontgomery)
        while b != .one {
            var order = 0
            var probe = b
            while probe != .one {
                probe = probe.squared()
                order += 1
                if order == s { return nil }
            }
            var factor = c
            for _ in 0..<(s - order - 1) { factor = factor.squared() }
            s = order
            c = factor.squared()
            x = x * factor
            b = b * c
        }
        return x
    }
}
