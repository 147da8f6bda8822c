import BN254
import Groth16

/// MiMC on BN254 exactly as gnark-crypto's `MIMC_BN254` (the original system's hash):
/// the block cipher E_k(m) of 110 rounds m ← (m + k + cᵢ)⁵ with a final + k, chained by
/// Miyaguchi–Preneel, h ← E_h(x) + h + x, from h = 0 over field-element blocks.
/// The round constants are c₀ = keccak256(keccak256("seed")), cᵢ₊₁ = keccak256(cᵢ),
/// each read big-endian and reduced modulo r.
public enum MiMC {
    public static let rounds = 110

    public static let roundConstants: [Fr] = {
        var digest = Keccak256.hash(Array("seed".utf8))
        var constants: [Fr] = []
        for _ in 0..<rounds {
            digest = Keccak256.hash(digest)
            constants.append(Fr(reducing: UInt256(bigEndian: digest[...])!))
        }
        return constants
    }()

    /// E_key(message).
    public static func encrypt(_ message: Fr, key: Fr) -> Fr {
        var m = message
        for constant in roundConstants {
            let t = m + key + constant
            let t2 = t.squared()
            m = t2.squared() * t
        }
        return m + key
    }

    /// The hash of a sequence of field elements (gnark's `Write` of their 32-byte
    /// big-endian forms, then `Sum`).
    public static func hash(_ blocks: [Fr]) -> Fr {
        var h = Fr.zero
        for block in blocks { h = encrypt(block, key: h) + h + block }
        return h
    }

    /// The same hash inside a circuit: 3 constraints a round, 330 a block.
    public static func hash(_ blocks: [LinearCombination], in builder: CircuitBuilder) -> LinearCombination {
        var h = LinearCombination.zero
        for block in blocks {
            var m = block
            for constant in roundConstants {
                let t = m + h + constant
                let t2 = builder.mul(t, t, "mimc square")
                let t4 = builder.mul(t2, t2, "mimc fourth power")
                m = builder.mul(t4, t, "mimc fifth power")
            }
            h = m + h + h + block
        }
        return h
    }
}
