import BN254

/// proof.json exactly as snarkjs writes it; encode and decode it with any JSON coder.
public struct SnarkjsProof: Codable, Equatable, Sendable {
    public var piA: [String]
    public var piB: [[String]]
    public var piC: [String]
    public var `protocol`: String
    public var curve: String

    enum CodingKeys: String, CodingKey {
        case piA = "pi_a"
        case piB = "pi_b"
        case piC = "pi_c"
        case `protocol`
        case curve
    }
}

/// verification_key.json exactly as snarkjs writes it.
public struct SnarkjsVerificationKey: Codable, Equatable, Sendable {
    public var `protocol`: String
    public var curve: String
    public var nPublic: Int
    public var vkAlpha1: [String]
    public var vkBeta2: [[String]]
    public var vkGamma2: [[String]]
    public var vkDelta2: [[String]]
    /// e(α, β) in snarkjs's nesting: [Fp6 c0, Fp6 c1] of [Fp2, Fp2, Fp2] of [c0, c1].
    /// Optional on input (arkworks' exports omit it); always written.
    public var vkAlphabeta12: [[[String]]]?
    public var ic: [[String]]

    enum CodingKeys: String, CodingKey {
        case `protocol`
        case curve
        case nPublic
        case vkAlpha1 = "vk_alpha_1"
        case vkBeta2 = "vk_beta_2"
        case vkGamma2 = "vk_gamma_2"
        case vkDelta2 = "vk_delta_2"
        case vkAlphabeta12 = "vk_alphabeta_12"
        case ic = "IC"
    }
}

func checkProtocol(_ proto: String, _ curve: String, what: String) throws(Groth16Error) {
    guard proto == "groth16" else { throw .invalidEncoding("\(what): protocol is \"\(proto)\", expected \"groth16\"") }
    guard curve == "bn128" || curve == "bn254" else {
        throw .invalidEncoding("\(what): curve is \"\(curve)\", expected \"bn128\"")
    }
}

func decodePoint<Point>(_ what: @autoclosure () -> String, _ read: () throws(BN254Error) -> Point) throws(Groth16Error)
    -> Point
{
    do {
        return try read()
    } catch {
        throw .invalidEncoding("\(what()): \(error)")
    }
}

extension Proof {
    /// The snarkjs JSON shape.
    public var snarkjs: SnarkjsProof {
        SnarkjsProof(
            piA: a.snarkjsStrings, piB: b.snarkjsStrings, piC: c.snarkjsStrings, protocol: "groth16", curve: "bn128")
    }

    /// Reads snarkjs's proof.json shape, checking every point (G2 subgroup included).
    public init(snarkjs proof: SnarkjsProof) throws(Groth16Error) {
        try checkProtocol(proof.protocol, proof.curve, what: "proof")
        a = try decodePoint("proof pi_a") { () throws(BN254Error) in try G1Affine(snarkjsStrings: proof.piA) }
        b = try decodePoint("proof pi_b") { () throws(BN254Error) in try G2Affine(snarkjsStrings: proof.piB) }
        c = try decodePoint("proof pi_c") { () throws(BN254Error) in try G1Affine(snarkjsStrings: proof.piC) }
    }

    /// The 256-byte form Solidity verifiers take: A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y.
    public var ethereumBytes: [UInt8] { a.ethereumBytes + b.ethereumBytes + c.ethereumBytes }

    public init(ethereumBytes bytes: some Collection<UInt8>) throws(Groth16Error) {
        let bytes = Array(bytes)
        guard bytes.count == 256 else { throw .invalidEncoding("an Ethereum proof is 256 bytes, got \(bytes.count)") }
        a = try decodePoint("proof A") { () throws(BN254Error) in try G1Affine(ethereumBytes: bytes[0..<64]) }
        b = try decodePoint("proof B") { () throws(BN254Error) in try G2Affine(ethereumBytes: bytes[64..<192]) }
        c = try decodePoint("proof C") { () throws(BN254Error) in try G1Affine(ethereumBytes: bytes[192..<256]) }
    }
}

extension VerifyingKey {
    /// The snarkjs JSON shape, `vk_alphabeta_12` included.
    public var snarkjs: SnarkjsVerificationKey {
        let alphaBeta = alphaBeta
        func fp2(_ value: Fp2) -> [String] { [value.c0.decimalString, value.c1.decimalString] }
        func fp6(_ value: Fp6) -> [[String]] { [fp2(value.c0), fp2(value.c1), fp2(value.c2)] }
        return SnarkjsVerificationKey(
            protocol: "groth16", curve: "bn128", nPublic: publicCount, vkAlpha1: alpha1.snarkjsStrings,
            vkBeta2: beta2.snarkjsStrings, vkGamma2: gamma2.snarkjsStrings, vkDelta2: delta2.snarkjsStrings,
            vkAlphabeta12: [fp6(alphaBeta.c0), fp6(alphaBeta.c1)], ic: ic.map(\.snarkjsStrings))
    }

    /// Reads snarkjs's verification_key.json shape, checking every point.
    public init(snarkjs key: SnarkjsVerificationKey) throws(Groth16Error) {
        try checkProtocol(key.protocol, key.curve, what: "verification key")
        guard key.ic.count == key.nPublic + 1 else {
            throw .invalidEncoding("verification key: IC has \(key.ic.count) points but nPublic is \(key.nPublic)")
        }
        alpha1 = try decodePoint("vk_alpha_1") { () throws(BN254Error) in try G1Affine(snarkjsStrings: key.vkAlpha1) }
        beta2 = try decodePoint("vk_beta_2") { () throws(BN254Error) in try G2Affine(snarkjsStrings: key.vkBeta2) }
        gamma2 = try decodePoint("vk_gamma_2") { () throws(BN254Error) in try G2Affine(snarkjsStrings: key.vkGamma2) }
        delta2 = try decodePoint("vk_delta_2") { () throws(BN254Error) in try G2Affine(snarkjsStrings: key.vkDelta2) }
        var points: [G1Affine] = []
        for (index, strings) in key.ic.enumerated() {
            points.append(
                try decodePoint("IC[\(index)]") { () throws(BN254Error) in try G1Affine(snarkjsStrings: strings) })
        }
        ic = points
    }
}

/// public.json: the public signals as decimal strings.
public enum SnarkjsPublicSignals {
    public static func encode(_ values: [Fr]) -> [String] { values.map(\.decimalString) }

    /// Each string must be a canonical decimal below r.
    public static func decode(_ strings: [String]) throws(Groth16Error) -> [Fr] {
        var values: [Fr] = []
        for (index, text) in strings.enumerated() {
            guard let value = Fr(decimal: text) else {
                throw .invalidEncoding(
                    "public signal \(index) (\"\(text.prefix(80))\") is not a decimal number below r")
            }
            values.append(value)
        }
        return values
    }
}
