import BN254
import Groth16
import Synchronization

/// Poseidon exactly as circomlib's `Poseidon(n)` for n = 1…16 inputs: width t = n + 1,
/// the capacity element 0 first, x⁵ S-boxes, 8 full rounds split around the partial
/// ones (56–70 depending on t), and the output is the first state element.
///
/// The round constants and the MDS matrix are derived here rather than stored: they are
/// the output of the Grain LFSR that the Poseidon paper (eprint 2019/458, appendix F)
/// specifies and circomlib's tables were produced with, seeded by (prime field, x⁵,
/// 254 bits, t, 8, R_P). The permutation is the textbook one; circomlib's circuit uses an
/// algebraically equal rewriting with sparse matrices, which costs the same number of
/// constraints in R1CS, so the plain form is kept.
public enum Poseidon {
    public static let maximumInputs = 16
    static let fullRounds = 8
    /// R_P for t = 2…17, the values circomlib uses.
    static let partialRounds = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68]

    /// The hash of 1…16 field elements.
    public static func hash(_ inputs: [Fr]) throws(PoseidonError) -> Fr {
        let parameters = try Parameters.forInputs(inputs.count)
        var state = [Fr.zero] + inputs
        for round in 0..<parameters.roundCount {
            for i in 0..<state.count { state[i] += parameters.roundConstants[round][i] }
            if parameters.isFullRound(round) {
                for i in 0..<state.count { state[i] = fifthPower(state[i]) }
            } else {
                state[0] = fifthPower(state[0])
            }
            state = parameters.mix(state)
        }
        return state[0]
    }

    /// The same hash inside a circuit: 3 constraints an S-box, so (8t + R_P)·3, less
    /// the S-boxes whose input is a constant (the capacity element in the first round).
    public static func hash(_ inputs: [LinearCombination], in builder: CircuitBuilder) throws(PoseidonError)
        -> LinearCombination
    {
        let parameters = try Parameters.forInputs(inputs.count)
        var state = [LinearCombination.zero] + inputs
        for round in 0..<parameters.roundCount {
            for i in 0..<state.count { state[i] = state[i] + parameters.roundConstants[round][i] }
            if parameters.isFullRound(round) {
                for i in 0..<state.count { state[i] = fifthPower(state[i], in: builder) }
            } else {
                state[0] = fifthPower(state[0], in: builder)
            }
            state = parameters.mix(state)
        }
        return state[0]
    }

    static func fifthPower(_ x: Fr) -> Fr {
        let square = x.squared()
        return square.squared() * x
    }

    static func fifthPower(_ x: LinearCombination, in builder: CircuitBuilder) -> LinearCombination {
        if let constant = x.constantValue { return LinearCombination(fifthPower(constant)) }
        let square = builder.mul(x, x, "poseidon square")
        let fourth = builder.mul(square, square, "poseidon fourth power")
        return builder.mul(fourth, x, "poseidon fifth power")
    }

    /// Round constants and MDS matrix of one width.
    struct Parameters: Sendable {
        let width: Int
        let partialRoundCount: Int
        /// roundConstants[round][i] is added to state element i at the start of the round.
        let roundConstants: [[Fr]]
        /// The Cauchy matrix mds[i][j] = 1 / (xᵢ + yⱼ); the linear layer is
        /// stateᵢ ← Σⱼ mds[i][j] · stateⱼ (circomlib stores the transpose and sums over
        /// its first index, which is the same map).
        let mds: [[Fr]]

        var roundCount: Int { Poseidon.fullRounds + partialRoundCount }

        func isFullRound(_ round: Int) -> Bool {
            round < Poseidon.fullRounds / 2 || round >= Poseidon.fullRounds / 2 + partialRoundCount
        }

        func mix(_ state: [Fr]) -> [Fr] {
            (0..<width).map { i in
                var sum = Fr.zero
                for j in 0..<width { sum += mds[i][j] * state[j] }
                return sum
            }
        }

        func mix(_ state: [LinearCombination]) -> [LinearCombination] {
            (0..<width).map { i in
                var sum = LinearCombination.zero
                for j in 0..<width { sum = sum + mds[i][j] * state[j] }
                return sum
            }
        }

        private static let cache = Mutex<[Int: Parameters]>([:])

        static func forInputs(_ count: Int) throws(PoseidonError) -> Parameters {
            guard (1...Poseidon.maximumInputs).contains(count) else { throw .inputCount(count) }
            let width = count + 1
            if let cached = cache.withLock({ $0[width] }) { return cached }
            let parameters = derive(width: width)
            cache.withLock { $0[width] = parameters }
            return parameters
        }

        static func derive(width: Int) -> Parameters {
            let partial = Poseidon.partialRounds[width - 2]
            var grain = GrainLFSR(
                fieldBits: Fr.modulus.bitWidth, width: width, fullRounds: Poseidon.fullRounds,
                partialRounds: partial)
            let constants = (0..<(Poseidon.fullRounds + partial)).map { _ in
                (0..<width).map { _ in grain.nextElementBelowModulus() }
            }
            let xs = (0..<width).map { _ in grain.nextElementReduced() }
            let ys = (0..<width).map { _ in grain.nextElementReduced() }
            let mds = xs.map { x in
                ys.map { y in
                    // Distinct sums are part of the published parameters; a zero here would
                    // mean the derivation itself is wrong.
                    (x + y).inverse()!
                }
            }
            return Parameters(width: width, partialRoundCount: partial, roundConstants: constants, mds: mds)
        }
    }
}

/// A Poseidon call outside the supported shapes.
public enum PoseidonError: Error, Equatable, CustomStringConvertible {
    case inputCount(Int)

    public var description: String {
        switch self {
        case .inputCount(let count): "Poseidon takes 1...\(Poseidon.maximumInputs) inputs, not \(count)"
        }
    }
}

/// The 80-bit Grain LFSR of the Poseidon paper's parameter generation, used in
/// self-shrinking mode: bits come in pairs and the second is kept when the first is 1.
struct GrainLFSR {
    /// Bit i of the register is the i-th oldest bit.
    private var register: UInt128 = 0
    private let fieldBits: Int

    init(fieldBits: Int, width: Int, fullRounds: Int, partialRounds: Int) {
        self.fieldBits = fieldBits
        var position = 0
        func append(_ value: Int, bits: Int) {
            for i in stride(from: bits - 1, through: 0, by: -1) where (value >> i) & 1 == 1 {
                register |= UInt128(1) << (position + bits - 1 - i)
            }
            position += bits
        }
        append(1, bits: 2)  // a prime field
        append(0, bits: 4)  // the x^α S-box
        append(fieldBits, bits: 12)
        append(width, bits: 12)
        append(fullRounds, bits: 10)
        append(partialRounds, bits: 10)
        append((1 << 30) - 1, bits: 30)
        for _ in 0..<160 { _ = step() }
    }

    private mutating func step() -> Bool {
        let r = register
        var taps: UInt128 = r ^ (r &>> 13)
        taps ^= (r &>> 23) ^ (r &>> 38)
        taps ^= (r &>> 51) ^ (r &>> 62)
        let bit: UInt128 = taps & 1
        register = (r &>> 1) | (bit &<< 79)
        return bit == 1
    }

    mutating func nextBit() -> Bool {
        while true {
            let keep = step()
            let bit = step()
            if keep { return bit }
        }
    }

    /// `fieldBits` bits read most significant first.
    mutating func nextInteger() -> UInt256 {
        var limbs: [UInt64] = [0, 0, 0, 0]
        for i in stride(from: fieldBits - 1, through: 0, by: -1) where nextBit() {
            limbs[i / 64] |= 1 << UInt64(i % 64)
        }
        return UInt256(limbs[0], limbs[1], limbs[2], limbs[3])
    }

    /// Rejection sampling, as the round constants are drawn.
    mutating func nextElementBelowModulus() -> Fr {
        while true {
            if let element = Fr(canonical: nextInteger()) { return element }
        }
    }

    /// Reduction modulo r, as the MDS points are drawn.
    mutating func nextElementReduced() -> Fr { Fr(reducing: nextInteger()) }
}
