/// The operations every field here offers: the prime fields `Fp` and `Fr` and
/// the extensions `Fp2`, `Fp6`, `Fp12`. Curve arithmetic is written once over
/// this protocol and specialised for each coordinate field.
public protocol FieldElement: Hashable, Sendable, CustomStringConvertible {
    static var zero: Self { get }
    static var one: Self { get }

    var isZero: Bool { get }

    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Self, rhs: Self) -> Self
    static prefix func - (value: Self) -> Self

    /// `self * self`, often cheaper than a general product.
    func squared() -> Self
    /// `self + self`.
    func doubled() -> Self
    /// The multiplicative inverse, or nil for zero.
    func inverse() -> Self?

    /// A product inside a chain of products, where the last reduction step can wait: in a
    /// prime field, for operands below twice the modulus it is congruent to `lhs * rhs`
    /// and below twice the modulus, but not always reduced. Such a value is fit only to
    /// be an operand of another product (or of `reduced()`): comparisons, sums and
    /// encodings need reduced elements.
    static func chainedProduct(_ lhs: Self, _ rhs: Self) -> Self
    /// The reduced element of a `chainedProduct` result.
    func reduced() -> Self
}

extension FieldElement {
    /// Every product of an extension field is reduced.
    @inlinable @inline(__always)
    public static func chainedProduct(_ lhs: Self, _ rhs: Self) -> Self { lhs * rhs }
    @inlinable @inline(__always)
    public func reduced() -> Self { self }

    @inlinable @inline(__always)
    public static func += (lhs: inout Self, rhs: Self) { lhs = lhs + rhs }
    @inlinable @inline(__always)
    public static func -= (lhs: inout Self, rhs: Self) { lhs = lhs - rhs }
    @inlinable @inline(__always)
    public static func *= (lhs: inout Self, rhs: Self) { lhs = lhs * rhs }

    /// `self` raised to `exponent` (little-endian 64-bit limbs), by square-and-multiply.
    @inlinable
    public func power(_ exponent: [UInt64]) -> Self {
        var result = Self.one
        for limb in exponent.reversed() {
            for bit in stride(from: 63, through: 0, by: -1) {
                result = result.squared()
                if (limb >> UInt64(bit)) & 1 == 1 { result = result * self }
            }
        }
        return result
    }

    /// `self` raised to `exponent`.
    @inlinable
    public func power(_ exponent: UInt256) -> Self { power([exponent.l0, exponent.l1, exponent.l2, exponent.l3]) }

    /// Inverts every element of `values` with one inversion (Montgomery's trick).
    /// Zeros stay zero.
    @inlinable
    public static func batchInverse(_ values: inout [Self]) {
        values.withUnsafeMutableBufferPointer { batchInverse($0) }
    }

    /// Inverts every element of `values` in place with one inversion; zeros stay zero.
    @inlinable
    public static func batchInverse(_ values: UnsafeMutableBufferPointer<Self>) {
        guard !values.isEmpty else { return }
        var prefix = [Self](repeating: .one, count: values.count)
        var accumulator = Self.one
        for i in values.indices {
            prefix[i] = accumulator
            if !values[i].isZero { accumulator = accumulator * values[i] }
        }
        var inverse = accumulator.inverse()!  // a product of non-zero elements is non-zero
        for i in values.indices.reversed() where !values[i].isZero {
            let next = inverse * values[i]
            values[i] = inverse * prefix[i]
            inverse = next
        }
    }
}

/// Montgomery's trick for a batch of affine additions: the inverses of `count` non-zero
/// denominators with one field inversion, taken from the last to the first
/// (`next()` gives 1/denominators[j] for j = count − 1, count − 2, …, 0).
///
/// The running products, and the inverses it gives, only ever enter further products, so
/// they skip the final reduction step (`chainedProduct`). An iterator rather than a
/// function taking the additions as a closure: the compiler left such a closure out of
/// line, a call per addition in the MSM.
struct BatchInverses<Field: FieldElement> {
    let denominators: UnsafePointer<Field>
    let prefixProducts: UnsafeMutablePointer<Field>
    /// The inverse of the product of the denominators not yet taken.
    var inverse: Field
    /// The index of the next inverse.
    private(set) var index: Int

    /// `prefixProducts` is scratch space for `count` elements.
    @inline(__always)
    init(of denominators: UnsafePointer<Field>, count: Int, prefixProducts: UnsafeMutablePointer<Field>) {
        self.denominators = denominators
        self.prefixProducts = prefixProducts
        var accumulator = Field.one
        for j in 0..<count {
            prefixProducts[j] = accumulator
            accumulator = Field.chainedProduct(accumulator, denominators[j])
        }
        inverse = accumulator.reduced().inverse()!  // a product of non-zero denominators
        index = count - 1
    }

    /// 1/denominators[index], unreduced; then `index` moves down by one.
    @inline(__always)
    mutating func next() -> Field {
        let denominatorInverse = Field.chainedProduct(inverse, prefixProducts[index])
        inverse = Field.chainedProduct(inverse, denominators[index])
        index -= 1
        return denominatorInverse
    }
}
