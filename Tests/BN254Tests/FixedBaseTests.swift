import TestSupport
import Testing

@testable import BN254

@Suite("Fixed-base multiplication")
struct FixedBaseTests {
    /// Scalars at the edges of the windows and of the field, repeats, and random ones:
    /// more than a block, so that the sums go in several blocks.
    static func scalars(using rng: inout SeededRandom) -> [Fr] {
        var scalars: [Fr] = [.zero, .one, -Fr.one, Fr(255), Fr(256), Fr(257), Fr(UInt64.max), -Fr(256)]
        scalars += (0..<32).map { Fr(256).power(UInt256(UInt64($0))) }  // 2^(8j): one digit in window j
        scalars += (0..<(FixedBaseTable<G1Curve>.blockSize + 100)).map { _ in Fr.random(using: &rng) }
        scalars += [scalars[40], scalars[40], .zero]
        return scalars
    }

    @Test("every multiple equals the generator times the scalar, across blocks and threads")
    func multiples() async {
        var rng = SeededRandom.forTest("fixed base")
        let scalars = Self.scalars(using: &rng)
        let g1 = FixedBaseTable(base: G1.generator)
        let expected1 = G1.batchAffine(scalars.map { G1.generator * $0 })
        #expect(await g1.multiply(scalars, threads: 1) == expected1)
        #expect(await g1.multiply(scalars, threads: 3) == expected1)
        #expect(await g1.multiply([], threads: 2).isEmpty)
        let g2 = FixedBaseTable(base: G2.generator, windowBits: 5)
        let few = Array(scalars.prefix(60))
        #expect(await g2.multiply(few, threads: 2) == G2.batchAffine(few.map { G2.generator * $0 }))
    }
}
