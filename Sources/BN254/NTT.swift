/// A multiplicative subgroup H = {ω⁰, ω¹, …, ω^(n−1)} of Fr of power-of-two order n,
/// with the number-theoretic transform between coefficients and evaluations on H
/// (or on a coset g·H).
///
/// r − 1 is divisible by 2^28, so n can be any power of two up to 2^28. The
/// twiddle table holds ω⁰ … ω^(n/2 − 1) once; inverse twiddles come from the same
/// table, since ω^(−k) = −ω^(n/2 − k).
public struct EvaluationDomain: Sendable {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case sizeNotPowerOfTwo(Int)
        case sizeTooLarge(Int)
        case lengthMismatch(expected: Int, actual: Int)

        public var description: String {
            switch self {
            case .sizeNotPowerOfTwo(let size): return "domain size \(size) is not a power of two"
            case .sizeTooLarge(let size): return "domain size \(size) exceeds 2^28, the largest Fr supports"
            case .lengthMismatch(let expected, let actual):
                return "expected \(expected) values for this domain, got \(actual)"
            }
        }
    }

    public let size: Int
    public let logSize: Int
    /// ω, a primitive n-th root of unity.
    public let generator: Fr
    public let generatorInverse: Fr
    /// 1/n.
    public let sizeInverse: Fr
    /// ωᵏ for k in 0..<n/2.
    let twiddles: [Fr]

    /// The domain of size `size` (a power of two from 1 to 2^28).
    public init(size: Int) throws(Failure) {
        guard size > 0, size & (size - 1) == 0 else { throw .sizeNotPowerOfTwo(size) }
        let logSize = size.trailingZeroBitCount
        guard logSize <= Fr.twoAdicity else { throw .sizeTooLarge(size) }
        self.size = size
        self.logSize = logSize
        var omega = Fr(montgomery: Fr.twoAdicRootOfUnityMontgomery)
        for _ in logSize..<Fr.twoAdicity { omega = omega.squared() }
        generator = omega
        generatorInverse = omega.inverse()!
        sizeInverse = Fr(UInt64(size)).inverse()!
        var table = [Fr](repeating: .one, count: max(1, size / 2))
        for k in table.indices.dropFirst() { table[k] = table[k - 1] * omega }
        twiddles = table
    }

    /// The smallest domain with at least `count` points.
    public init(atLeast count: Int) throws(Failure) {
        var size = 1
        while size < count { size <<= 1 }
        try self.init(size: size)
    }

    /// Coefficients → evaluations at ω⁰ … ω^(n−1), in place.
    public func forward(_ values: inout [Fr], threads: Int = 1) async throws(Failure) {
        try check(values)
        await transform(&values, inverse: false, threads: threads)
    }

    /// Evaluations at ω⁰ … ω^(n−1) → coefficients, in place.
    public func inverse(_ values: inout [Fr], threads: Int = 1) async throws(Failure) {
        try check(values)
        await transform(&values, inverse: true, threads: threads)
        scale(&values, by: sizeInverse)
    }

    /// Coefficients → evaluations at g·ω⁰ … g·ω^(n−1), in place.
    public func cosetForward(_ values: inout [Fr], shift: Fr, threads: Int = 1) async throws(Failure) {
        try check(values)
        multiplyByPowers(&values, of: shift, initial: .one)
        await transform(&values, inverse: false, threads: threads)
    }

    /// Evaluations at g·ω⁰ … g·ω^(n−1) → coefficients, in place.
    public func cosetInverse(_ values: inout [Fr], shift: Fr, threads: Int = 1) async throws(Failure) {
        try check(values)
        await transform(&values, inverse: true, threads: threads)
        multiplyByPowers(&values, of: shift.inverse()!, initial: sizeInverse)
    }

    /// The evaluation of the polynomial with `coefficients` at `point` (Horner), for checks.
    public static func evaluate(_ coefficients: [Fr], at point: Fr) -> Fr {
        coefficients.reversed().reduce(Fr.zero) { $0 * point + $1 }
    }

    func check(_ values: [Fr]) throws(Failure) {
        guard values.count == size else { throw .lengthMismatch(expected: size, actual: values.count) }
    }

    func scale(_ values: inout [Fr], by factor: Fr) {
        values.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] = buffer[i] * factor }
        }
    }

    /// values[i] ← values[i] · initial · shiftⁱ.
    func multiplyByPowers(_ values: inout [Fr], of shift: Fr, initial: Fr) {
        values.withUnsafeMutableBufferPointer { buffer in
            var power = initial
            for i in buffer.indices {
                buffer[i] = buffer[i] * power
                power = power * shift
            }
        }
    }

    /// Iterative radix-2 decimation in time: bit-reversal permutation, then log n stages of butterflies.
    /// Each stage's n/2 butterflies are independent, so a stage is split across tasks.
    func transform(_ values: inout [Fr], inverse: Bool, threads: Int) async {
        let n = size
        if n == 1 { return }
        let logSize = self.logSize
        values.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<n {
                let j = Int(UInt32(i).bitReversedWithin(bits: logSize))
                if i < j { buffer.swapAt(i, j) }
            }
        }
        let tasks = n >= 1 << 12 ? max(1, threads) : 1
        let butterflies = n / 2
        // The stages run on storage owned here for the transform's duration, because an
        // array's buffer pointer cannot be held across suspension points.
        let storage = UnsafeMutableBufferPointer<Fr>.allocate(capacity: n)
        defer { storage.deallocate() }
        _ = storage.initialize(from: values)
        // Each stage reads its twiddles from a contiguous table gathered once per stage:
        // reading them in place, strided across the whole table, misses the cache on
        // every butterfly of the middle stages.
        let stageTwiddles = UnsafeMutableBufferPointer<Fr>.allocate(capacity: max(1, n / 2))
        defer { stageTwiddles.deallocate() }
        let shared = SharedBuffer(base: storage.baseAddress!)
        let sharedTwiddles = SharedTable(base: UnsafePointer(stageTwiddles.baseAddress!))
        var half = 1
        while half < n {
            let stride = butterflies / half
            twiddles.withUnsafeBufferPointer { table in
                for j in 0..<half {
                    let index = j * stride
                    // ω^(−k) = −ω^(n/2 − k)
                    stageTwiddles[j] = !inverse || index == 0 ? table[index] : -table[butterflies - index]
                }
            }
            let stageHalf = half
            let blocks = n / (2 * half)
            if tasks == 1 {
                butterflyBlocks(shared, sharedTwiddles, blocks: 0..<blocks, columns: 0..<stageHalf, half: stageHalf)
            } else {
                await withTaskGroup(of: Void.self) { group in
                    for task in 0..<tasks {
                        // Split whole blocks while there are enough of them, else columns within every block.
                        if blocks >= tasks {
                            let size = (blocks + tasks - 1) / tasks
                            let range = (task * size)..<min(blocks, (task + 1) * size)
                            group.addTask {
                                butterflyBlocks(
                                    shared, sharedTwiddles, blocks: range, columns: 0..<stageHalf, half: stageHalf)
                            }
                        } else {
                            let size = (stageHalf + tasks - 1) / tasks
                            let range = (task * size)..<min(stageHalf, (task + 1) * size)
                            group.addTask {
                                butterflyBlocks(
                                    shared, sharedTwiddles, blocks: 0..<blocks, columns: range, half: stageHalf)
                            }
                        }
                    }
                }
            }
            half <<= 1
        }
        values.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<n { buffer[i] = storage[i] }
        }
    }
}

/// The butterflies of one stage for the given blocks and columns: block b, column j pairs
/// a[2hb + j] with a[2hb + j + h] under the stage twiddle j.
@inline(__always)
private func butterflyBlocks(
    _ values: SharedBuffer, _ twiddles: SharedTable, blocks: Range<Int>, columns: Range<Int>, half: Int
) {
    let a = values.base
    let w = twiddles.base
    for block in blocks {
        let base = block * 2 * half
        for j in columns {
            let top = base + j
            let bottom = top + half
            let u = a[top]
            let v = a[bottom] * w[j]
            a[top] = u + v
            a[bottom] = u - v
        }
    }
}

/// A pointer to the values being transformed, shared by the tasks of one stage.
/// Safe because the tasks of a stage touch disjoint butterflies and the stage waits for all of them.
private struct SharedBuffer: @unchecked Sendable {
    let base: UnsafeMutablePointer<Fr>
}

/// A pointer to the read-only twiddle table, shared by the tasks of one stage.
private struct SharedTable: @unchecked Sendable {
    let base: UnsafePointer<Fr>
}

extension UInt32 {
    /// The low `bits` bits in reverse order.
    @inlinable
    func bitReversedWithin(bits: Int) -> UInt32 {
        bits == 0 ? 0 : bitSwapped >> UInt32(32 - bits)
    }

    @inlinable
    var bitSwapped: UInt32 {
        var x = self
        x = ((x >> 1) & 0x5555_5555) | ((x & 0x5555_5555) << 1)
        x = ((x >> 2) & 0x3333_3333) | ((x & 0x3333_3333) << 2)
        x = ((x >> 4) & 0x0f0f_0f0f) | ((x & 0x0f0f_0f0f) << 4)
        x = ((x >> 8) & 0x00ff_00ff) | ((x & 0x00ff_00ff) << 8)
        return (x >> 16) | (x << 16)
    }
}
