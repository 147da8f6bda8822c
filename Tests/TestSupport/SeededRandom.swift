import Foundation

/// A deterministic generator for randomised tests (xoshiro256**, seeded by SplitMix64).
///
/// Every randomised test makes one with `SeededRandom.forTest(_:)`, which prints the seed;
/// setting `ZKP_TEST_SEED` replays a failing run exactly.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public let seed: UInt64
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        self.seed = seed
        var mix = seed
        func splitMix() -> UInt64 {
            mix &+= 0x9e37_79b9_7f4a_7c15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }

    /// A generator for the named test, seeded from `ZKP_TEST_SEED` or at random; prints the seed.
    public static func forTest(_ name: String) -> SeededRandom {
        let seed: UInt64
        if let text = ProcessInfo.processInfo.environment["ZKP_TEST_SEED"], let value = UInt64(text) {
            seed = value
        } else {
            seed = UInt64.random(in: 0...UInt64.max)
        }
        print("[\(name)] seed \(seed) (replay with ZKP_TEST_SEED=\(seed))")
        return SeededRandom(seed: seed)
    }
}
