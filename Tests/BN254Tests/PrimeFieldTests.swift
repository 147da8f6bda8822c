import TestSupport
import Testing

@testable import BN254

@Suite("Prime fields")
struct PrimeFieldTests {
    static let pDecimal = "21888242871839275222246405745257275088696311157297823662689037894645226208583"
    static let rDecimal = "21888242871839275222246405745257275088548364400416034343698204186575808495617"

    @Test("the moduli are the BN254 primes, and the Montgomery constants agree with them")
    func constants() {
        #expect(Fp.modulus.decimalString == Self.pDecimal)
        #expect(Fr.modulus.decimalString == Self.rDecimal)
        #expect(Fp.modulus.l0 &* Fp.montgomeryInverse == UInt64.max)  // m·(−m⁻¹) ≡ −1 mod 2^64
        #expect(Fr.modulus.l0 &* Fr.montgomeryInverse == UInt64.max)
        #expect(Fp.one.canonical == UInt256(1))
        #expect(Fr.one.canonical == UInt256(1))
        #expect(Fp(decimal: "2")! * Fp(decimal: "3")! == Fp(6))
        // R² converts 1 into R, the Montgomery form of one.
        #expect(Fp.montgomeryProduct(UInt256(1), Fp.montgomeryRSquared) == Fp.montgomeryOne)
        #expect(Fr.montgomeryProduct(UInt256(1), Fr.montgomeryRSquared) == Fr.montgomeryOne)
    }

    @Test("the Montgomery product is a·b·2^−256 mod m for factors below 2m, checked by digit arithmetic")
    func montgomeryProductMatchesDigitArithmetic() {
        var rng = SeededRandom.forTest("Montgomery product vs digit arithmetic")
        func check<F: PrimeField>(_: F.Type, using rng: inout SeededRandom) {
            let m = F.modulus
            let minusOne = m.subtractingReportingBorrow(UInt256(1)).difference
            let twoM = m.addingReportingCarry(m).sum
            // Edge values: 0, 1, m − 1, m − 2, R mod m, limbs at their extremes; and the
            // unreduced values a chained product may leave, m to 2m − 1.
            var values: [UInt256] = [
                .zero, UInt256(1), minusOne, m.subtractingReportingBorrow(UInt256(2)).difference,
                F.montgomeryOne, F.montgomeryRSquared, UInt256(UInt64.max, UInt64.max, UInt64.max, 0),
                UInt256(0, 0, 0, m.l3 - 1), UInt256(UInt64.max, 0, UInt64.max, m.l3 - 1),
                m, twoM.subtractingReportingBorrow(UInt256(1)).difference,
                UInt256(UInt64.max, UInt64.max, UInt64.max, 2 * m.l3),
            ]
            for _ in 0..<150 { values.append(F.random(using: &rng).montgomery) }
            for _ in 0..<50 { values.append(F.random(using: &rng).montgomery.addingReportingCarry(m).sum) }
            for a in values {
                for b in values {
                    let unreduced = F.montgomeryProductBelowTwiceModulus(a, b)
                    let product = F.montgomeryProduct(a, b)
                    #expect(unreduced < twoM, "\(a) · \(b)")
                    #expect(product < m, "\(a) · \(b)")
                    #expect(product == (unreduced < m ? unreduced : unreduced.subtractingReportingBorrow(m).difference))
                    // product·2^256 ≡ a·b (mod m)
                    #expect(
                        DigitArithmetic.remainder(UInt512(low: .zero, high: product), m)
                            == DigitArithmetic.remainder(DigitArithmetic.product(a, b), m), "\(a) · \(b)")
                }
            }
            // Chained products of elements, reduced at the end, are the field's products.
            let elements = (0..<8).map { _ in F.random(using: &rng) }
            var chained = F.one
            var product = F.one
            for element in elements {
                chained = F.chainedProduct(chained, element)
                product = product * element
                #expect(chained.reduced() == product)
            }
        }
        check(Fp.self, using: &rng)
        check(Fr.self, using: &rng)
    }

    @Test("the wide product and the reduction agree with digit arithmetic, over their whole domains")
    func wideProductAndReductionMatchDigitArithmetic() {
        var rng = SeededRandom.forTest("wide product and reduction vs digit arithmetic")
        func check<F: PrimeField>(_: F.Type, using rng: inout SeededRandom) {
            let m = F.modulus
            let twoM = m.addingReportingCarry(m).sum
            let max = UInt256(UInt64.max, UInt64.max, UInt64.max, UInt64.max)
            // Factors up to 2m − 1 (lazily reduced sums), and every limb at its extremes.
            var values: [UInt256] = [
                .zero, UInt256(1), m.subtractingReportingBorrow(UInt256(1)).difference, m,
                twoM.subtractingReportingBorrow(UInt256(1)).difference, max, UInt256(0, 0, 0, UInt64.max),
                UInt256(UInt64.max, 0, UInt64.max, 0),
            ]
            for _ in 0..<100 {
                let a = F.random(using: &rng).montgomery
                values.append(a)
                values.append(a.addingReportingCarry(F.random(using: &rng).montgomery).sum)
            }
            for a in values {
                for b in values {
                    let product = F.wideProduct(a, b)
                    #expect(product == DigitArithmetic.product(a, b), "\(a) · \(b)")
                    // The reduction's domain is t < m·2^256: products of factors below 2m
                    // qualify when 4m < 2^256, as for both moduli.
                    guard a < twoM, b < twoM else { continue }
                    let reduced = F.montgomeryReduce(product)
                    #expect(reduced < m)
                    #expect(
                        DigitArithmetic.remainder(UInt512(low: .zero, high: reduced), m)
                            == DigitArithmetic.remainder(product, m), "\(a) · \(b)")
                    if a < m, b < m { #expect(reduced == F.montgomeryProduct(a, b)) }
                }
            }
            // The extremes of the domain: m·2^256 − 1, and high halves of m − 1 with any low half.
            let mMinusOne = m.subtractingReportingBorrow(UInt256(1)).difference
            for low in [UInt256.zero, UInt256(1), max, F.random(using: &rng).montgomery] {
                let t = UInt512(low: low, high: mMinusOne)
                let reduced = F.montgomeryReduce(t)
                #expect(reduced < m)
                #expect(
                    DigitArithmetic.remainder(UInt512(low: .zero, high: reduced), m)
                        == DigitArithmetic.remainder(t, m))
            }
        }
        check(Fp.self, using: &rng)
        check(Fr.self, using: &rng)
    }

    @Test("the divsteps inverse equals Fermat's a^(m−2), on random, short and edge representations")
    func inverseMatchesFermat() {
        var rng = SeededRandom.forTest("inverse vs Fermat")
        func check<F: PrimeField>(_ value: F) {
            let exponent = F.modulus.subtractingReportingBorrow(UInt256(2)).difference
            #expect(value.inverse() == value.power(exponent), "\(value.montgomery)")
        }
        func edges<F: PrimeField>(_: F.Type, using rng: inout SeededRandom) {
            let m = F.modulus
            var representations = [
                UInt256(1), UInt256(2), UInt256(3), m.subtractingReportingBorrow(UInt256(1)).difference,
            ]
            // Every power of two below m, m less each, and numbers of every length: powers
            // of two are the longest runs of halvings, short values end in fewer rounds.
            for bit in 0..<(m.bitWidth - 1) {
                var power: [UInt64] = [0, 0, 0, 0]
                power[bit >> 6] = 1 << UInt64(bit & 63)
                let powerOfTwo = UInt256(power[0], power[1], power[2], power[3])
                representations.append(powerOfTwo)
                representations.append(m.subtractingReportingBorrow(powerOfTwo).difference)
                let random = F.random(using: &rng).montgomery
                var short = [random.l0, random.l1, random.l2, random.l3]
                for high in (bit + 1)..<256 { short[high >> 6] &= ~(1 << UInt64(high & 63)) }
                let value = UInt256(short[0], short[1], short[2], short[3])
                if !value.isZero { representations.append(value) }
            }
            for representation in representations { check(F(montgomery: representation)) }
        }
        for _ in 0..<1_000 {
            check(Fp.random(using: &rng))
            check(Fr.random(using: &rng))
        }
        edges(Fp.self, using: &rng)
        edges(Fr.self, using: &rng)
        for small in [UInt64(1), 2, 3, 1 << 63] {
            check(Fp(small))
            check(Fr(small))
        }
        check(-Fp.one)
        check(-Fr.one)
    }

    @Test("axioms hold on random elements of Fp and Fr")
    func axioms() {
        var rng = SeededRandom.forTest("field axioms")
        checkAxioms(Fp.self, using: &rng)
        checkAxioms(Fr.self, using: &rng)
    }

    func checkAxioms<F: PrimeField>(_: F.Type, using rng: inout SeededRandom) {
        for _ in 0..<200 {
            let a = F.random(using: &rng)
            let b = F.random(using: &rng)
            let c = F.random(using: &rng)
            #expect(a + b == b + a)
            #expect(a * b == b * a)
            #expect((a + b) + c == a + (b + c))
            #expect((a * b) * c == a * (b * c))
            #expect(a * (b + c) == a * b + a * c)
            #expect(a - b + b == a)
            #expect(a + (-a) == .zero)
            #expect(a.squared() == a * a)
            #expect(a.doubled() == a + a)
            if let inverse = a.inverse() { #expect(a * inverse == .one) }
        }
        #expect(F.zero.inverse() == nil)
        #expect(-F.zero == .zero)
    }

    @Test("the largest element behaves as −1, and values ≥ the modulus are rejected")
    func boundaries() {
        let pMinusOne = Fp.modulus.subtractingReportingBorrow(UInt256(1)).difference
        let minusOne = Fp(canonical: pMinusOne)!
        #expect(minusOne + .one == .zero)
        #expect(minusOne * minusOne == .one)
        #expect(Fp(canonical: Fp.modulus) == nil)
        #expect(Fr(canonical: Fr.modulus) == nil)
        #expect(Fp(decimal: Self.pDecimal) == nil)
        #expect(Fr(decimal: Self.rDecimal) == nil)
        #expect(Fr(canonical: Fp.modulus.subtractingReportingBorrow(UInt256(1)).difference) == nil)  // r < p
        #expect(Fp(decimal: "12a") == nil)
        #expect(Fp(decimal: "") == nil)
        #expect(Fp(decimal: "-1") == nil)
        #expect(Fp(bigEndian: [UInt8](repeating: 0xff, count: 32)) == nil)
        #expect(Fp(bigEndian: [UInt8](repeating: 0, count: 31)) == nil)
    }

    @Test("decimal, hex and byte encodings round-trip")
    func encodings() {
        var rng = SeededRandom.forTest("field encodings")
        for _ in 0..<100 {
            let a = Fp.random(using: &rng)
            #expect(Fp(decimal: a.decimalString) == a)
            #expect(Fp(bigEndian: a.bigEndianBytes) == a)
            #expect(Fp(littleEndian: a.littleEndianBytes) == a)
            #expect(UInt256(hex: a.canonical.hexString) == a.canonical)
            let s = Fr.random(using: &rng)
            #expect(Fr(decimal: s.decimalString) == s)
        }
        #expect(UInt256(decimal: "0")!.decimalString == "0")
        #expect(UInt256(decimal: "10000000000000000000")!.decimalString == "10000000000000000000")
        let maximum = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        #expect(UInt256(decimal: maximum)!.decimalString == maximum)
        #expect(
            UInt256(decimal: "115792089237316195423570985008687907853269984665640564039457584007913129639936") == nil)
        #expect(hexDecode("0xzz") == nil)
        #expect(hexDecode("abc") == nil)
        #expect(hexDecode("00ff") == [0, 255])
    }

    @Test("square roots, Legendre symbols and batch inversion")
    func rootsAndInverses() {
        var rng = SeededRandom.forTest("field roots")
        for _ in 0..<50 {
            let a = Fp.random(using: &rng)
            let square = a.squared()
            #expect(square.legendreSymbol() == (a.isZero ? 0 : 1))
            let root = square.squareRoot()!
            #expect(root == a || root == -a)
            let s = Fr.random(using: &rng).squared()
            #expect(s.squareRoot()!.squared() == s)
        }
        // 3 and 5 are the smallest non-residues of Fp and Fr.
        #expect(Fp(3).legendreSymbol() == -1)
        #expect(Fp(3).squareRoot() == nil)
        #expect(Fr(5).legendreSymbol() == -1)
        #expect(Fr(5).squareRoot() == nil)
        // The 2-adic root of unity has order exactly 2^28.
        let omega = Fr(montgomery: Fr.twoAdicRootOfUnityMontgomery)
        var power = omega
        for _ in 0..<27 { power = power.squared() }
        #expect(power == -Fr.one)
        #expect(power.squared() == .one)

        var values = (0..<20).map { i in i == 7 ? Fr.zero : Fr.random(using: &rng) }
        let original = values
        Fr.batchInverse(&values)
        for (value, inverse) in zip(original, values) {
            #expect(value.isZero ? inverse.isZero : value * inverse == .one)
        }
    }

    @Test("the batched additions' inverses, unreduced, are the denominators' inverses, last first")
    func batchInverses() {
        var rng = SeededRandom.forTest("batch inverses")
        for count in [1, 2, 3, 17, 64] {
            // Non-zero denominators, with −1 and 1 among them.
            let denominators = UnsafeMutablePointer<Fp>.allocate(capacity: count)
            let scratch = UnsafeMutablePointer<Fp>.allocate(capacity: count)
            defer {
                denominators.deallocate()
                scratch.deallocate()
            }
            for j in 0..<count {
                let value = Fp.random(using: &rng)
                denominators[j] = value.isZero ? .one : value
            }
            denominators[0] = -Fp.one
            if count > 1 { denominators[count - 1] = .one }
            var taken: [Int] = []
            var inverses = BatchInverses(of: denominators, count: count, prefixProducts: scratch)
            while inverses.index >= 0 {
                let j = inverses.index
                let inverse = inverses.next()
                #expect(inverse.montgomery < Fp.modulus.addingReportingCarry(Fp.modulus).sum)
                #expect(inverse.reduced() == denominators[j].inverse()!, "count \(count), index \(j)")
                taken.append(j)
            }
            #expect(taken == Array((0..<count).reversed()))
        }
    }
}

/// Multiplication and remainder the slow way, independent of the arithmetic under test:
/// 32-bit digits whose products and sums fit in a UInt64, and a remainder one bit at a time.
enum DigitArithmetic {
    static func digits(_ value: UInt256) -> [UInt64] {
        [value.l0, value.l1, value.l2, value.l3].flatMap { [$0 & 0xFFFF_FFFF, $0 >> 32] }
    }

    /// a·b, schoolbook over 32-bit digits.
    static func product(_ a: UInt256, _ b: UInt256) -> UInt512 {
        let x = digits(a)
        let y = digits(b)
        var result = [UInt64](repeating: 0, count: 16)
        for i in 0..<8 {
            var carry: UInt64 = 0
            for j in 0..<8 {
                // (2^32 − 1)² + 2·(2^32 − 1) = 2^64 − 1: never overflows.
                let t = x[i] * y[j] + result[i + j] + carry
                result[i + j] = t & 0xFFFF_FFFF
                carry = t >> 32
            }
            result[i + 8] = carry
        }
        func limb(_ k: Int) -> UInt64 { result[2 * k] | result[2 * k + 1] << 32 }
        return UInt512(
            low: UInt256(limb(0), limb(1), limb(2), limb(3)), high: UInt256(limb(4), limb(5), limb(6), limb(7)))
    }

    /// t mod m for m < 2^255, from the top bit down: r ← 2r + bit, less m when it reaches m.
    static func remainder(_ t: UInt512, _ m: UInt256) -> UInt256 {
        var r = UInt256.zero
        for index in stride(from: 511, through: 0, by: -1) {
            let bit = index >= 256 ? t.high.bit(index - 256) : t.low.bit(index)
            r = r.addingReportingCarry(r).sum.addingReportingCarry(UInt256(bit ? 1 : 0)).sum
            if !(r < m) { r = r.subtractingReportingBorrow(m).difference }
        }
        return r
    }
}
