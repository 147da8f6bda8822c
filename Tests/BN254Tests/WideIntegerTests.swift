import TestSupport
import Testing

@testable import BN254

/// The carry chains under every field addition, checked against 32-bit digit arithmetic
/// written independently here.
@Suite("Wide integers")
struct WideIntegerTests {
    /// Little-endian 32-bit digits.
    static func digits(_ value: UInt256) -> [UInt64] {
        [value.l0, value.l1, value.l2, value.l3].flatMap { [$0 & 0xffff_ffff, $0 >> 32] }
    }

    static func value(_ digits: [UInt64]) -> UInt256 {
        func limb(_ i: Int) -> UInt64 { digits[2 * i] | (digits[2 * i + 1] << 32) }
        return UInt256(limb(0), limb(1), limb(2), limb(3))
    }

    /// a + b by digits: (sum mod 2^256, carry out).
    static func digitSum(_ a: UInt256, _ b: UInt256) -> (UInt256, Bool) {
        let (x, y) = (digits(a), digits(b))
        var carry: UInt64 = 0
        var out: [UInt64] = []
        for i in 0..<8 {
            let s = x[i] + y[i] + carry
            out.append(s & 0xffff_ffff)
            carry = s >> 32
        }
        return (value(out), carry == 1)
    }

    /// a − b by digits: (difference mod 2^256, borrow out).
    static func digitDifference(_ a: UInt256, _ b: UInt256) -> (UInt256, Bool) {
        let (x, y) = (digits(a), digits(b))
        var borrow: UInt64 = 0
        var out: [UInt64] = []
        for i in 0..<8 {
            let subtrahend = y[i] + borrow
            if x[i] >= subtrahend {
                out.append(x[i] - subtrahend)
                borrow = 0
            } else {
                out.append(x[i] + (1 << 32) - subtrahend)
                borrow = 1
            }
        }
        return (value(out), borrow == 1)
    }

    /// Values whose limbs sit at the edges where a carry starts, runs through or stops.
    static func values(using rng: inout SeededRandom) -> [UInt256] {
        let limbs: [UInt64] = [0, 1, UInt64.max, UInt64.max - 1, 1 << 63, (1 << 63) - 1]
        var values: [UInt256] = []
        for _ in 0..<120 {
            func pick() -> UInt64 {
                rng.next() % 3 == 0 ? rng.next() : limbs[Int(rng.next() % UInt64(limbs.count))]
            }
            values.append(UInt256(pick(), pick(), pick(), pick()))
        }
        return values + [.zero, UInt256(UInt64.max, UInt64.max, UInt64.max, UInt64.max), UInt256(1)]
    }

    @Test("256-bit sums and differences, with their carries, equal digit arithmetic")
    func sumsAndDifferences() {
        var rng = SeededRandom.forTest("256-bit carries")
        let values = Self.values(using: &rng)
        for a in values {
            for b in values {
                let (sum, carry) = a.addingReportingCarry(b)
                #expect((sum, carry) == Self.digitSum(a, b), "\(a) + \(b)")
                let (difference, borrow) = a.subtractingReportingBorrow(b)
                #expect((difference, borrow) == Self.digitDifference(a, b), "\(a) − \(b)")
                #expect(a.isLess(than: b) == borrow)
            }
        }
    }

    @Test("512-bit differences borrow across the halves exactly as digit arithmetic does")
    func wideDifferences() {
        var rng = SeededRandom.forTest("512-bit borrows")
        let values = Self.values(using: &rng)
        for _ in 0..<4_000 {
            let pick = { (rng: inout SeededRandom) in values[Int(rng.next() % UInt64(values.count))] }
            let a = UInt512(low: pick(&rng), high: pick(&rng))
            let b = UInt512(low: pick(&rng), high: pick(&rng))
            let (difference, borrow) = a.subtractingReportingBorrow(b)
            let (low, lowBorrow) = Self.digitDifference(a.low, b.low)
            var (high, highBorrow) = Self.digitDifference(a.high, b.high)
            if lowBorrow {
                let (adjusted, extraBorrow) = Self.digitDifference(high, UInt256(1))
                high = adjusted
                highBorrow = highBorrow || extraBorrow
            }
            #expect(difference == UInt512(low: low, high: high), "\(a) − \(b)")
            #expect(borrow == highBorrow)
        }
    }
}
