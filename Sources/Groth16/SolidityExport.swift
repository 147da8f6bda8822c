import BN254

/// A Solidity verifier contract for one verifying key, with the interface of the one
/// snarkjs generates (`contract Groth16Verifier`, `verifyProof(_pA, _pB, _pC,
/// _pubSignals) view returns (bool)`), so that tooling written for snarkjs contracts
/// calls it unchanged. It checks e(−A, B)·e(α, β)·e(vk_x, γ)·e(C, δ) = 1 with the
/// precompiles 0x06, 0x07 and 0x08.
///
/// Unlike snarkjs's contract it also rejects proof coordinates ≥ q: negating A.y mod q
/// would otherwise accept a non-canonical A.y, a second encoding of the same proof.
public enum SolidityVerifier {
    /// The contract's source text.
    public static func contract(for key: VerifyingKey) -> String {
        var constants: [(String, String)] = [
            ("alphax", key.alpha1.x.decimalString), ("alphay", key.alpha1.y.decimalString),
        ]
        for (name, point) in [("beta", key.beta2), ("gamma", key.gamma2), ("delta", key.delta2)] {
            // The precompile takes each Fp2 coordinate imaginary part first.
            constants += [
                ("\(name)x1", point.x.c1.decimalString), ("\(name)x2", point.x.c0.decimalString),
                ("\(name)y1", point.y.c1.decimalString), ("\(name)y2", point.y.c0.decimalString),
            ]
        }
        for (index, point) in key.ic.enumerated() {
            let (x, y) = point.isInfinity ? ("0", "0") : (point.x.decimalString, point.y.decimalString)
            constants += [("IC\(index)x", x), ("IC\(index)y", y)]
        }
        let publicCount = key.publicCount
        var lines: [String] = []
        lines += [
            "// SPDX-License-Identifier: GPL-3.0",
            "// Groth16 verifier on BN254 (alt_bn128) for one verifying key, written by `zkp export solidity`.",
            "pragma solidity >=0.7.0 <0.9.0;",
            "",
            "contract Groth16Verifier {",
            "    // Scalar field size",
            "    uint256 constant r = \(Fr.modulus.decimalString);",
            "    // Base field size",
            "    uint256 constant q = \(Fp.modulus.decimalString);",
            "",
            "    // Verification key",
        ]
        lines += constants.map { "    uint256 constant \($0.0) = \($0.1);" }
        lines += [
            "",
            "    // Memory: the pairing input (4 pairs of 192 bytes), then 128 bytes of scratch.",
            "    uint16 constant pPairing = 0;",
            "    uint16 constant pScratch = 768;",
            "",
        ]
        let signalsParameter = publicCount > 0 ? ",\n        uint[\(publicCount)] calldata _pubSignals" : ""
        lines += [
            "    function verifyProof(",
            "        uint[2] calldata _pA,",
            "        uint[2][2] calldata _pB,",
            "        uint[2] calldata _pC\(signalsParameter)",
            "    ) public view returns (bool) {",
            "        assembly {",
            "            function reject() {",
            "                mstore(0, 0)",
            "                return(0, 0x20)",
            "            }",
            "",
            "            function requireBelow(value, bound) {",
            "                if iszero(lt(value, bound)) { reject() }",
            "            }",
            "",
            "            // (accX, accY) at pAcc becomes acc + s·(x, y).",
            "            function addScaled(pAcc, scratch, x, y, s) {",
            "                mstore(scratch, x)",
            "                mstore(add(scratch, 32), y)",
            "                mstore(add(scratch, 64), s)",
            "                if iszero(staticcall(gas(), 7, scratch, 96, scratch, 64)) { reject() }",
            "                mstore(add(scratch, 64), mload(pAcc))",
            "                mstore(add(scratch, 96), mload(add(pAcc, 32)))",
            "                if iszero(staticcall(gas(), 6, scratch, 128, pAcc, 64)) { reject() }",
            "            }",
            "",
            "            let base := mload(0x40)",
            "            let pairing := add(base, pPairing)",
            "            let scratch := add(base, pScratch)",
            "",
            "            // Every proof coordinate must be a canonical element of Fp.",
            "            for { let i := 0 } lt(i, 2) { i := add(i, 1) } {",
            "                requireBelow(calldataload(add(_pA, mul(i, 32))), q)",
            "                requireBelow(calldataload(add(_pC, mul(i, 32))), q)",
            "            }",
            "            for { let i := 0 } lt(i, 4) { i := add(i, 1) } {",
            "                requireBelow(calldataload(add(_pB, mul(i, 32))), q)",
            "            }",
            "",
            "            // Pair 0: (−A, B). _pB is already in the precompile's order.",
            "            mstore(pairing, calldataload(_pA))",
            "            mstore(add(pairing, 32), mod(sub(q, calldataload(add(_pA, 32))), q))",
            "            calldatacopy(add(pairing, 64), _pB, 128)",
            "",
            "            // Pair 1: (α, β).",
            "            mstore(add(pairing, 192), alphax)",
            "            mstore(add(pairing, 224), alphay)",
            "            mstore(add(pairing, 256), betax1)",
            "            mstore(add(pairing, 288), betax2)",
            "            mstore(add(pairing, 320), betay1)",
            "            mstore(add(pairing, 352), betay2)",
            "",
            "            // Pair 2: (vk_x, γ) with vk_x = IC0 + Σ pubSignals[i]·IC(i+1).",
            "            let vkx := add(pairing, 384)",
            "            mstore(vkx, IC0x)",
            "            mstore(add(vkx, 32), IC0y)",
        ]
        for index in 0..<publicCount {
            let offset = index * 32
            lines += [
                "            requireBelow(calldataload(add(_pubSignals, \(offset))), r)",
                "            addScaled(vkx, scratch, IC\(index + 1)x, IC\(index + 1)y, calldataload(add(_pubSignals, \(offset))))",
            ]
        }
        lines += [
            "            mstore(add(pairing, 448), gammax1)",
            "            mstore(add(pairing, 480), gammax2)",
            "            mstore(add(pairing, 512), gammay1)",
            "            mstore(add(pairing, 544), gammay2)",
            "",
            "            // Pair 3: (C, δ).",
            "            calldatacopy(add(pairing, 576), _pC, 64)",
            "            mstore(add(pairing, 640), deltax1)",
            "            mstore(add(pairing, 672), deltax2)",
            "            mstore(add(pairing, 704), deltay1)",
            "            mstore(add(pairing, 736), deltay2)",
            "",
            "            let success := staticcall(gas(), 8, pairing, 768, pairing, 32)",
            "            mstore(0, and(success, mload(pairing)))",
            "            return(0, 0x20)",
            "        }",
            "    }",
            "}",
            "",
        ]
        return lines.joined(separator: "\n")
    }
}

/// The arguments of `verifyProof` for one proof, as `snarkjs zkey export soliditycalldata`
/// prints them: 32-byte hex words, B's coordinates imaginary part first.
public struct SolidityCalldata: Equatable, Sendable {
    public var a: [String]
    public var b: [[String]]
    public var c: [String]
    public var input: [String]

    public init(proof: Proof, publicInputs: [Fr]) {
        func word(_ bytes: ArraySlice<UInt8>) -> String { "0x" + hexEncode(bytes) }
        let bytes = proof.ethereumBytes
        a = [word(bytes[0..<32]), word(bytes[32..<64])]
        b = [[word(bytes[64..<96]), word(bytes[96..<128])], [word(bytes[128..<160]), word(bytes[160..<192])]]
        c = [word(bytes[192..<224]), word(bytes[224..<256])]
        input = publicInputs.map { "0x" + hexEncode($0.canonical.bigEndianBytes) }
    }

    /// The single line snarkjs prints: `[a0, a1],[[b00, b01],[b10, b11]],[c0, c1],[inputs…]`.
    public var text: String {
        func list(_ words: [String]) -> String { "[" + words.map { "\"\($0)\"" }.joined(separator: ",") + "]" }
        return list(a) + ",[" + b.map(list).joined(separator: ",") + "]," + list(c) + "," + list(input)
    }
}
