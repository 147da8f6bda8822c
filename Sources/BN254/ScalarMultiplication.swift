/// One part of a split scalar: its magnitude, and whether it is taken negatively.
@usableFromInline typealias ScalarPart = (magnitude: UInt256, negative: Bool)

/// Scalar multiplication.
extension JacobianPoint {
    /// [k]P for any 256-bit integer k, exactly (no reduction modulo the group
    /// order, so it is also right for points outside the order-r subgroup).
    ///
    /// Width-5 signed windows (wNAF): about 256 doublings and 256/6 additions.
    @inlinable
    public func multiplied(by scalar: UInt256) -> JacobianPoint {
        if isInfinity || scalar.isZero { return .infinity }
        let width = 5
        let digits = wnafDigits(scalar, width: width)
        let table = oddMultiples(width: width)
        var result = JacobianPoint.infinity
        for digit in digits.reversed() {
            result = result.doubled().adding(digit: digit, from: table)
        }
        return result
    }

    /// table[i] = (2i + 1)·P for i below 2^(width − 2): the multiples a width-w wNAF digit selects.
    @inlinable
    func oddMultiples(width: Int) -> [JacobianPoint] {
        var table = [JacobianPoint](repeating: self, count: 1 << (width - 2))
        let twice = doubled()
        for i in 1..<table.count { table[i] = table[i - 1] + twice }
        return table
    }

    /// Σ ±[kⱼ]φʲ(P) for an endomorphism φ, by interleaved width-5 wNAF: one run of
    /// doublings as long as the longest part, the parts' additions sharing it.
    @inlinable
    func multiplied(
        byParts parts: [ScalarPart],
        endomorphism: (AffinePoint<Curve>) -> AffinePoint<Curve>
    ) -> JacobianPoint {
        JacobianPoint.interleavedSum([(self, parts)], endomorphism: endomorphism)
    }

    /// Σᵢ Σⱼ ±[mᵢⱼ]φʲ(Pᵢ) by interleaved width-5 wNAF (Straus): one run of doublings as
    /// long as the longest part, shared by every part's additions.
    ///
    /// Each point's odd multiples are computed once and made affine together with every
    /// other point's, with one inversion; the endomorphism then carries them to φʲ(Pᵢ)'s
    /// at one product an entry. Affine entries make every addition a mixed one (7M + 4S
    /// against 11M + 5S), which repays the inversion many times over.
    @inlinable
    static func interleavedSum(
        _ terms: [(point: JacobianPoint, parts: [ScalarPart])],
        endomorphism: (AffinePoint<Curve>) -> AffinePoint<Curve>
    ) -> JacobianPoint {
        let width = 5
        let entries = 1 << (width - 2)
        let multiples = batchAffine(terms.flatMap { $0.point.oddMultiples(width: width) })
        var digits: [[Int8]] = []
        var tables: [[AffinePoint<Curve>]] = []
        for (index, term) in terms.enumerated() {
            var image = Array(multiples[(index * entries)..<((index + 1) * entries)])
            for (j, part) in term.parts.enumerated() {
                if j > 0 { image = image.map(endomorphism) }
                digits.append(wnafDigits(part.magnitude, width: width))
                tables.append(part.negative ? image.map { -$0 } : image)
            }
        }
        var result = JacobianPoint.infinity
        let length = digits.map(\.count).max() ?? 0
        for index in stride(from: length - 1, through: 0, by: -1) {
            result = result.doubled()
            for (partDigits, table) in zip(digits, tables) where index < partDigits.count {
                result = result.adding(digit: partDigits[index], from: table)
            }
        }
        return result
    }

    /// self + digit·P for an odd wNAF digit, where table[i] = (2i + 1)·P.
    @inlinable @inline(__always)
    func adding(digit: Int8, from table: [JacobianPoint]) -> JacobianPoint {
        if digit > 0 { return self + table[Int(digit) >> 1] }
        if digit < 0 { return self - table[Int(-digit) >> 1] }
        return self
    }

    /// The same for an affine table.
    @inlinable @inline(__always)
    func adding(digit: Int8, from table: [AffinePoint<Curve>]) -> JacobianPoint {
        if digit > 0 { return self + table[Int(digit) >> 1] }
        if digit < 0 { return self + -table[Int(-digit) >> 1] }
        return self
    }

    @inlinable
    public static func * (point: JacobianPoint, scalar: Fr) -> JacobianPoint {
        point.multiplied(by: scalar.canonical)
    }

    @inlinable
    public static func * (scalar: Fr, point: JacobianPoint) -> JacobianPoint {
        point.multiplied(by: scalar.canonical)
    }
}

extension AffinePoint {
    @inlinable
    public static func * (point: AffinePoint, scalar: Fr) -> JacobianPoint<Curve> {
        point.jacobian.multiplied(by: scalar.canonical)
    }
}

/// The width-w non-adjacent form of `scalar`: digits in (−2^(w−1), 2^(w−1)), odd or zero,
/// least significant first, with at least w − 1 zeros after every non-zero digit.
@inlinable
func wnafDigits(_ scalar: UInt256, width: Int) -> [Int8] {
    var digits: [Int8] = []
    digits.reserveCapacity(258)
    var k = scalar
    var high = false  // bit 256, set when adding a negative digit's magnitude carries out
    let window = UInt64(1) << UInt64(width)
    while !k.isZero || high {
        var digit: Int64 = 0
        if k.l0 & 1 == 1 {
            digit = Int64(k.l0 & (window - 1))
            if digit >= Int64(window >> 1) { digit -= Int64(window) }
            if digit > 0 {
                k = k.subtractingReportingBorrow(UInt256(UInt64(digit))).difference
            } else {
                let (sum, carry) = k.addingReportingCarry(UInt256(UInt64(-digit)))
                k = sum
                high = high || carry
            }
        }
        digits.append(Int8(digit))
        k = k.halved
        if high {
            k.l3 |= 1 << 63
            high = false
        }
    }
    return digits
}

extension JacobianPoint where Curve == G2Curve {
    /// Whether the point lies in the order-r subgroup G2 (the twist has a large cofactor,
    /// so every G2 point that comes from outside must pass this).
    ///
    /// The test of El Housni, Guillevic and Piellard for BN curves, with x the BN parameter:
    /// Q ∈ G2 exactly when [x + 1]Q + ψ([x]Q) + ψ²([x]Q) = ψ³([2x]Q). One 63-bit
    /// multiplication instead of the 254-bit [r]Q = O; the tests check the two agree,
    /// small-order torsion included. The point must be on the twist.
    public var isInSubgroup: Bool {
        let xQ = multiplied(by: UInt256(Pairing.bnParameter))
        let psiXQ = xQ.psi
        let left = xQ + self + psiXQ + psiXQ.psi
        let right = xQ.doubled().psi.psi.psi
        return left == right
    }

    /// The definition, [r]Q = O: the oracle for the fast test.
    var isInSubgroupByOrder: Bool {
        multiplied(by: Fr.modulus).isInfinity
    }
}

extension AffinePoint where Curve == G2Curve {
    /// Whether the point lies in the order-r subgroup G2.
    public var isInSubgroup: Bool { jacobian.isInSubgroup }
}
