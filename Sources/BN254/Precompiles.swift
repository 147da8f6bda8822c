/// Ethereum's BN254 precompiled contracts, with exactly their input rules
/// (EIP-196 for 0x06 and 0x07, EIP-197 for 0x08), so that anything we compute can be
/// checked on-chain and the precompile test vectors check us.
public enum Precompile {
    /// Why a precompile call fails (on Ethereum: the call reverts and consumes its gas).
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// A point could not be read: its coordinate, curve or subgroup check failed.
        case invalidPoint(index: Int, BN254Error)
        /// The pairing input is not a whole number of 192-byte (G1, G2) pairs.
        case pairingInputLength(Int)

        public var description: String {
            switch self {
            case .invalidPoint(let index, let error): return "point \(index): \(error)"
            case .pairingInputLength(let length):
                return "pairing input is \(length) bytes, not a multiple of 192"
            }
        }
    }

    /// 0x06, ecAdd: two G1 points (64 bytes each) → their sum (64 bytes).
    /// Input shorter than 128 bytes is padded with zeros on the right; bytes beyond 128 are ignored.
    public static func add(_ input: [UInt8]) throws(Failure) -> [UInt8] {
        let data = padded(input, to: 128)
        let a = try readG1(data[0..<64], index: 0)
        let b = try readG1(data[64..<128], index: 1)
        return (a.jacobian + b).affine.ethereumBytes
    }

    /// 0x07, ecMul: a G1 point (64 bytes) and a 256-bit big-endian scalar (32 bytes) → the product.
    /// The scalar may be any 256-bit integer (not only below r). Padding as for `add`.
    public static func multiply(_ input: [UInt8]) throws(Failure) -> [UInt8] {
        let data = padded(input, to: 96)
        let point = try readG1(data[0..<64], index: 0)
        let scalar = UInt256(bigEndian: data[64..<96])!
        // G1 has prime order r (cofactor one), so [k]P = [k mod r]P for every valid point.
        return (point.jacobian * Fr(reducing: scalar)).affine.ethereumBytes
    }

    /// 0x08, ecPairing: k pairs of (G1 point, G2 point), 192 bytes each → 32 bytes, one if the
    /// product of their pairings is one, else zero. The empty input gives one.
    /// Every G2 point must be in the order-r subgroup.
    public static func pairingCheck(_ input: [UInt8]) throws(Failure) -> [UInt8] {
        guard input.count % 192 == 0 else { throw .pairingInputLength(input.count) }
        var pairs: [(G1Affine, G2Affine)] = []
        pairs.reserveCapacity(input.count / 192)
        for pairIndex in 0..<(input.count / 192) {
            let start = pairIndex * 192
            let p = try readG1(input[start..<(start + 64)], index: 2 * pairIndex)
            let q: G2Affine
            do {
                q = try G2Affine(ethereumBytes: input[(start + 64)..<(start + 192)])
            } catch {
                throw .invalidPoint(index: 2 * pairIndex + 1, error)
            }
            pairs.append((p, q))
        }
        var output = [UInt8](repeating: 0, count: 32)
        if Pairing.productIsOne(pairs) { output[31] = 1 }
        return output
    }

    static func padded(_ input: [UInt8], to length: Int) -> [UInt8] {
        input.count >= length ? Array(input[0..<length]) : input + [UInt8](repeating: 0, count: length - input.count)
    }

    static func readG1(_ bytes: ArraySlice<UInt8>, index: Int) throws(Failure) -> G1Affine {
        do {
            return try G1Affine(ethereumBytes: bytes)
        } catch {
            throw .invalidPoint(index: index, error)
        }
    }
}
