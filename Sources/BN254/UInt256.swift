/// A 256-bit unsigned integer as four little-endian 64-bit limbs.
///
/// The canonical (non-Montgomery) value of a field element, a scalar, or a
/// modulus. Arithmetic here is the plain integer kind with explicit carries;
/// modular arithmetic lives in the field types.
@frozen
public struct UInt256: Hashable, Sendable {
    public var l0: UInt64
    public var l1: UInt64
    public var l2: UInt64
    public var l3: UInt64

    @inlinable @inline(__always)
    public init(_ l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64) {
        self.l0 = l0
        self.l1 = l1
        self.l2 = l2
        self.l3 = l3
    }

    @inlinable
    public init(_ value: UInt64) { self.init(value, 0, 0, 0) }

    public static let zero = UInt256(0, 0, 0, 0)

    @inlinable
    public var isZero: Bool { (l0 | l1 | l2 | l3) == 0 }

    /// The limb at `index` (0 = least significant).
    @inlinable
    public subscript(limb index: Int) -> UInt64 {
        switch index {
        case 0: return l0
        case 1: return l1
        case 2: return l2
        default: return l3
        }
    }

    /// Bit `index` (0 = least significant), for `index` in 0..<256.
    @inlinable
    public func bit(_ index: Int) -> Bool {
        (self[limb: index >> 6] >> UInt64(index & 63)) & 1 == 1
    }

    /// The number of significant bits (0 for zero).
    @inlinable
    public var bitWidth: Int {
        if l3 != 0 { return 256 - l3.leadingZeroBitCount }
        if l2 != 0 { return 192 - l2.leadingZeroBitCount }
        if l1 != 0 { return 128 - l1.leadingZeroBitCount }
        return 64 - l0.leadingZeroBitCount
    }

    /// `count` bits starting at bit `start`, as an integer (`count` ≤ 64).
    @inlinable
    public func bits(from start: Int, count: Int) -> UInt64 {
        let limb = start >> 6
        let shift = UInt64(start & 63)
        var value = self[limb: limb] >> shift
        if shift != 0 && limb < 3 && Int(shift) + count > 64 {
            value |= self[limb: limb + 1] << (64 - shift)
        }
        return count == 64 ? value : value & ((1 << UInt64(count)) &- 1)
    }
}

// MARK: - Carry arithmetic

// The carry helpers below take the two overflow flags of a pair of 64-bit additions
// (or subtractions) and join them with a bitwise or: LLVM folds exactly that shape into
// one `adc`/`sbb` a limb. The 128-bit form (a + b + carry in UInt128) compiled to four or
// five instructions a limb, and a `flag ? 1 : 0` conversion puts branches into the SIL,
// which made the inliner give up on large callers such as Fp2's product.

/// 0 or 1, without a branch: Bool is one byte holding 0 or 1.
@inlinable @inline(__always)
func carryBit(_ flag: Bool) -> UInt64 { UInt64(unsafeBitCast(flag, to: UInt8.self)) }

/// `a + b + carry` → (sum, carry out); carries are 0 or 1.
@inlinable @inline(__always)
func addWithCarry(_ a: UInt64, _ b: UInt64, _ carry: UInt64) -> (UInt64, UInt64) {
    let (partial, overflow) = a.addingReportingOverflow(b)
    let (sum, carried) = partial.addingReportingOverflow(carry)
    return (sum, carryBit(overflow) | carryBit(carried))
}

/// `a - b - borrow` → (difference, borrow out); borrows are 0 or 1.
@inlinable @inline(__always)
func subtractWithBorrow(_ a: UInt64, _ b: UInt64, _ borrow: UInt64) -> (UInt64, UInt64) {
    let (partial, underflow) = a.subtractingReportingOverflow(b)
    let (difference, borrowed) = partial.subtractingReportingOverflow(borrow)
    return (difference, carryBit(underflow) | carryBit(borrowed))
}

/// `a + b * c + carry` → (high, low); never overflows 128 bits.
@inlinable @inline(__always)
func multiplyAdd(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ carry: UInt64) -> (UInt64, UInt64) {
    let product = UInt128(b) &* UInt128(c) &+ UInt128(a) &+ UInt128(carry)
    return (UInt64(truncatingIfNeeded: product >> 64), UInt64(truncatingIfNeeded: product))
}

extension UInt256 {
    /// The 512-bit product, schoolbook, one row per limb of `other`, in registers. Each
    /// row adds its four low halves in one carry chain and its four high halves, a limb
    /// up, in another: the compiler makes each an `add` and three `adc`s, where a 128-bit
    /// multiply-add per limb took about twice as many instructions.
    @inlinable @inline(__always)
    public func multipliedFullWidth(by other: UInt256) -> (high: UInt256, low: UInt256) {
        // Each row's lowest limb is final; the four above it are added to the next row.
        let r0 = Self.row(self, other.l0)
        let r1 = Self.addRow((r0.1, r0.2, r0.3, r0.4), Self.row(self, other.l1))
        let r2 = Self.addRow((r1.1, r1.2, r1.3, r1.4), Self.row(self, other.l2))
        let r3 = Self.addRow((r2.1, r2.2, r2.3, r2.4), Self.row(self, other.l3))
        return (UInt256(r3.1, r3.2, r3.3, r3.4), UInt256(r0.0, r1.0, r2.0, r3.0))
    }

    /// partial + row, five limbs, for a sum below 2^320.
    @inlinable @inline(__always)
    static func addRow(
        _ partial: (UInt64, UInt64, UInt64, UInt64), _ row: (UInt64, UInt64, UInt64, UInt64, UInt64)
    ) -> (UInt64, UInt64, UInt64, UInt64, UInt64) {
        var c: UInt64
        var (s0, s1, s2, s3): (UInt64, UInt64, UInt64, UInt64)
        (s0, c) = addWithCarry(partial.0, row.0, 0)
        (s1, c) = addWithCarry(partial.1, row.1, c)
        (s2, c) = addWithCarry(partial.2, row.2, c)
        (s3, c) = addWithCarry(partial.3, row.3, c)
        return (s0, s1, s2, s3, row.4 &+ c)
    }

    /// a·b for a 64-bit b, as five limbs: the low halves of the four limb products, then
    /// their high halves a limb up, each in one carry chain.
    @inlinable @inline(__always)
    static func row(_ a: UInt256, _ b: UInt64) -> (UInt64, UInt64, UInt64, UInt64, UInt64) {
        let p0 = a.l0.multipliedFullWidth(by: b)
        let p1 = a.l1.multipliedFullWidth(by: b)
        let p2 = a.l2.multipliedFullWidth(by: b)
        let p3 = a.l3.multipliedFullWidth(by: b)
        var c: UInt64
        var (s1, s2, s3): (UInt64, UInt64, UInt64)
        (s1, c) = addWithCarry(p1.low, p0.high, 0)
        (s2, c) = addWithCarry(p2.low, p1.high, c)
        (s3, c) = addWithCarry(p3.low, p2.high, c)
        return (p0.low, s1, s2, s3, p3.high &+ c)
    }

    /// `self + other` and the carry out of bit 255.
    @inlinable @inline(__always)
    public func addingReportingCarry(_ other: UInt256) -> (sum: UInt256, carry: Bool) {
        let (s0, c0) = addWithCarry(l0, other.l0, 0)
        let (s1, c1) = addWithCarry(l1, other.l1, c0)
        let (s2, c2) = addWithCarry(l2, other.l2, c1)
        let (s3, c3) = addWithCarry(l3, other.l3, c2)
        return (UInt256(s0, s1, s2, s3), c3 != 0)
    }

    /// `self - other` and whether it borrowed (that is, `self < other`).
    @inlinable @inline(__always)
    public func subtractingReportingBorrow(_ other: UInt256) -> (difference: UInt256, borrow: Bool) {
        let (d0, b0) = subtractWithBorrow(l0, other.l0, 0)
        let (d1, b1) = subtractWithBorrow(l1, other.l1, b0)
        let (d2, b2) = subtractWithBorrow(l2, other.l2, b1)
        let (d3, b3) = subtractWithBorrow(l3, other.l3, b2)
        return (UInt256(d0, d1, d2, d3), b3 != 0)
    }

    /// Whether `self < other`.
    @inlinable @inline(__always)
    public func isLess(than other: UInt256) -> Bool {
        subtractingReportingBorrow(other).borrow
    }

    /// `self >> 1`.
    @inlinable
    public var halved: UInt256 {
        UInt256(
            (l0 >> 1) | (l1 << 63), (l1 >> 1) | (l2 << 63), (l2 >> 1) | (l3 << 63), l3 >> 1)
    }

    /// The quotient and remainder of division by a small divisor.
    @inlinable
    public func dividedReportingRemainder(by divisor: UInt64) -> (quotient: UInt256, remainder: UInt64) {
        precondition(divisor != 0, "division by zero")
        var remainder: UInt64 = 0
        var limbs = [l3, l2, l1, l0]
        for i in 0..<4 {
            let (q, r) = divisor.dividingFullWidth((high: remainder, low: limbs[i]))
            limbs[i] = q
            remainder = r
        }
        return (UInt256(limbs[3], limbs[2], limbs[1], limbs[0]), remainder)
    }

    /// `self * factor + addend`, or nil if the result does not fit in 256 bits.
    @inlinable
    public func multipliedReportingOverflow(by factor: UInt64, adding addend: UInt64) -> UInt256? {
        let (c0, r0) = multiplyAdd(addend, l0, factor, 0)
        let (c1, r1) = multiplyAdd(0, l1, factor, c0)
        let (c2, r2) = multiplyAdd(0, l2, factor, c1)
        let (c3, r3) = multiplyAdd(0, l3, factor, c2)
        return c3 == 0 ? UInt256(r0, r1, r2, r3) : nil
    }
}

extension UInt256: Comparable {
    @inlinable
    public static func < (lhs: UInt256, rhs: UInt256) -> Bool { lhs.isLess(than: rhs) }
}

// MARK: - Bytes and text

extension UInt256 {
    /// The 32-byte big-endian encoding.
    public var bigEndianBytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in 0..<4 {
            let limb = self[limb: 3 - i]
            for j in 0..<8 { bytes[i * 8 + j] = UInt8(truncatingIfNeeded: limb >> UInt64(56 - 8 * j)) }
        }
        return bytes
    }

    /// The 32-byte little-endian encoding.
    public var littleEndianBytes: [UInt8] { Array(bigEndianBytes.reversed()) }

    /// Reads exactly 32 big-endian bytes. Inlinable so that callers get it specialised
    /// to their collection type: key files are read millions of elements at a time.
    @inlinable
    public init?<Bytes: Collection>(bigEndian bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == 32 else { return nil }
        var limbs: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var offset = 0
        for byte in bytes {
            switch offset >> 3 {
            case 0: limbs.3 = limbs.3 << 8 | UInt64(byte)
            case 1: limbs.2 = limbs.2 << 8 | UInt64(byte)
            case 2: limbs.1 = limbs.1 << 8 | UInt64(byte)
            default: limbs.0 = limbs.0 << 8 | UInt64(byte)
            }
            offset += 1
        }
        self.init(limbs.0, limbs.1, limbs.2, limbs.3)
    }

    /// Reads exactly 32 little-endian bytes.
    @inlinable
    public init?<Bytes: Collection>(littleEndian bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == 32 else { return nil }
        var limbs: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var offset = 0
        for byte in bytes {
            let shifted = UInt64(byte) << UInt64(8 * (offset & 7))
            switch offset >> 3 {
            case 0: limbs.0 |= shifted
            case 1: limbs.1 |= shifted
            case 2: limbs.2 |= shifted
            default: limbs.3 |= shifted
            }
            offset += 1
        }
        self.init(limbs.0, limbs.1, limbs.2, limbs.3)
    }

    /// Parses a decimal string of digits only (no sign, no spaces); nil if it is not one or exceeds 2^256 − 1.
    public init?(decimal text: some StringProtocol) {
        guard !text.isEmpty else { return nil }
        var value = UInt256.zero
        for scalar in text.utf8 {
            guard scalar >= UInt8(ascii: "0") && scalar <= UInt8(ascii: "9") else { return nil }
            guard let next = value.multipliedReportingOverflow(by: 10, adding: UInt64(scalar - UInt8(ascii: "0")))
            else { return nil }
            value = next
        }
        self = value
    }

    /// Parses hexadecimal digits with an optional `0x` prefix, at most 64 digits.
    public init?(hex text: some StringProtocol) {
        var digits = Substring(text)
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, digits.count <= 64 else { return nil }
        var value = UInt256.zero
        for scalar in digits.utf8 {
            guard let nibble = hexValue(scalar) else { return nil }
            guard let next = value.multipliedReportingOverflow(by: 16, adding: UInt64(nibble)) else { return nil }
            value = next
        }
        self = value
    }

    /// The decimal representation, without leading zeros.
    public var decimalString: String {
        if isZero { return "0" }
        var chunks: [UInt64] = []
        var value = self
        let base: UInt64 = 10_000_000_000_000_000_000  // 10^19, the largest power of ten below 2^64
        while !value.isZero {
            let (quotient, remainder) = value.dividedReportingRemainder(by: base)
            chunks.append(remainder)
            value = quotient
        }
        var text = String(chunks.removeLast())
        for chunk in chunks.reversed() {
            let digits = String(chunk)
            text += String(repeating: "0", count: 19 - digits.count) + digits
        }
        return text
    }

    /// The 64-digit lower-case hexadecimal representation.
    public var hexString: String { hexEncode(bigEndianBytes) }
}

extension UInt256: CustomStringConvertible {
    public var description: String { decimalString }
}

@inlinable
func hexValue(_ character: UInt8) -> UInt8? {
    switch character {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// Lower-case hexadecimal of `bytes`, two digits a byte.
public func hexEncode(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Decodes hexadecimal text (an optional `0x` prefix, an even number of digits); nil if malformed.
public func hexDecode(_ text: some StringProtocol) -> [UInt8]? {
    var digits = Substring(text)
    if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
    let scalars = Array(digits.utf8)
    guard scalars.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(scalars.count / 2)
    var index = 0
    while index < scalars.count {
        guard let high = hexValue(scalars[index]), let low = hexValue(scalars[index + 1]) else { return nil }
        bytes.append(high << 4 | low)
        index += 2
    }
    return bytes
}

// MARK: - Double width

/// A 512-bit unsigned integer: a product of two field elements before its Montgomery
/// reduction, so that sums of products can be reduced once (see `Fp2`).
@frozen
public struct UInt512: Hashable, Sendable {
    public var low: UInt256
    public var high: UInt256

    @inlinable @inline(__always)
    public init(low: UInt256, high: UInt256) {
        self.low = low
        self.high = high
    }

    /// `self − other` and whether it borrowed (that is, `self < other`).
    @inlinable @inline(__always)
    public func subtractingReportingBorrow(_ other: UInt512) -> (difference: UInt512, borrow: Bool) {
        let (d0, b0) = subtractWithBorrow(low.l0, other.low.l0, 0)
        let (d1, b1) = subtractWithBorrow(low.l1, other.low.l1, b0)
        let (d2, b2) = subtractWithBorrow(low.l2, other.low.l2, b1)
        let (d3, b3) = subtractWithBorrow(low.l3, other.low.l3, b2)
        let (d4, b4) = subtractWithBorrow(high.l0, other.high.l0, b3)
        let (d5, b5) = subtractWithBorrow(high.l1, other.high.l1, b4)
        let (d6, b6) = subtractWithBorrow(high.l2, other.high.l2, b5)
        let (d7, b7) = subtractWithBorrow(high.l3, other.high.l3, b6)
        return (UInt512(low: UInt256(d0, d1, d2, d3), high: UInt256(d4, d5, d6, d7)), b7 != 0)
    }
}
