import BN254
import Foundation
import TestSupport
import Testing

@testable import Groth16

/// The exported contract is checked by evaluating the pairing check it performs with the
/// precompile functions, using the constants read back out of its source text: that
/// catches any wrong value or coordinate order in the key and in the calldata.
struct ContractParseError: Error {
    let line: String
}

@Suite("Solidity verifier and calldata")
struct SolidityExportTests {
    struct FixtureCalldata: Decodable, Equatable {
        let a: [String]
        let b: [[String]]
        let c: [String]
        let input: [String]
    }

    /// `uint256 constant NAME = VALUE;` lines of a contract.
    static func constants(of contract: String) throws -> [String: UInt256] {
        var result: [String: UInt256] = [:]
        for line in contract.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 5, words[0] == "uint256", words[1] == "constant", words[3] == "=" else { continue }
            guard let value = UInt256(decimal: String(words[4].dropLast())) else {
                throw ContractParseError(line: String(line))
            }
            result[String(words[2])] = value
        }
        return result
    }

    static func word(_ hex: String) throws -> [UInt8] {
        let bytes = try #require(hexDecode(hex.dropFirst(2)))
        try #require(bytes.count == 32)
        return bytes
    }

    /// The contract's verifyProof, step for step, on the precompile functions.
    static func contractAccepts(_ contract: String, _ calldata: SolidityCalldata) throws -> Bool {
        let k = try constants(of: contract)
        func constant(_ name: String) throws -> [UInt8] { try #require(k[name], "\(name)").bigEndianBytes }
        let q = Fp.modulus
        let r = Fr.modulus
        for word in calldata.a + calldata.b.flatMap({ $0 }) + calldata.c {
            guard try #require(UInt256(bigEndian: try Self.word(word))) < q else { return false }
        }
        let aY = try #require(UInt256(bigEndian: try Self.word(calldata.a[1])))
        let negatedAY = aY.isZero ? aY : q.subtractingReportingBorrow(aY).difference
        var input = try Self.word(calldata.a[0]) + negatedAY.bigEndianBytes
        input += try calldata.b.flatMap { try $0.flatMap(Self.word) }
        input += try constant("alphax") + constant("alphay")
        input += try ["betax1", "betax2", "betay1", "betay2"].flatMap(constant)
        var vkx = try constant("IC0x") + constant("IC0y")
        for (index, signal) in calldata.input.enumerated() {
            let value = try Self.word(signal)
            guard try #require(UInt256(bigEndian: value)) < r else { return false }
            let scaled = try Precompile.multiply(
                try constant("IC\(index + 1)x") + constant("IC\(index + 1)y") + value)
            vkx = try Precompile.add(scaled + vkx)
        }
        #expect(k["IC\(calldata.input.count + 1)x"] == nil, "one public signal per IC point after IC0")
        input += vkx + (try ["gammax1", "gammax2", "gammay1", "gammay2"].flatMap(constant))
        input += try calldata.c.flatMap(Self.word)
        input += try ["deltax1", "deltax2", "deltay1", "deltay2"].flatMap(constant)
        return try Precompile.pairingCheck(input).last == 1
    }

    @Test("calldata of arkworks' proofs is exactly the fixture's", arguments: CircomFixture.allCases)
    func calldataMatchesFixture(fixture: CircomFixture) throws {
        let proof = try Proof(snarkjs: fixture.decode("proof.json", as: SnarkjsProof.self))
        let calldata = SolidityCalldata(proof: proof, publicInputs: try fixture.publicSignals())
        let expected = try fixture.decode("calldata.json", as: FixtureCalldata.self)
        #expect(FixtureCalldata(a: calldata.a, b: calldata.b, c: calldata.c, input: calldata.input) == expected)
        // The one-line form parses as the JSON array snarkjs prints.
        let parsed = try JSONSerialization.jsonObject(with: Data(("[" + calldata.text + "]").utf8)) as? [Any]
        #expect(parsed?.count == 4)
        #expect((parsed?[1] as? [[String]]) == expected.b)
    }

    @Test("the contract accepts each fixture proof and rejects tampered ones", arguments: CircomFixture.allCases)
    func contractCheck(fixture: CircomFixture) throws {
        let contract = SolidityVerifier.contract(for: try fixture.verifyingKey())
        let inputs = try fixture.publicSignals()
        #expect(contract.contains("uint[\(inputs.count)] calldata _pubSignals"))
        let proof = try Proof(snarkjs: fixture.decode("proof.json", as: SnarkjsProof.self))
        #expect(try Self.contractAccepts(contract, SolidityCalldata(proof: proof, publicInputs: inputs)))
        let tampered = try Proof(snarkjs: fixture.decode("proof_tampered.json", as: SnarkjsProof.self))
        #expect(try !Self.contractAccepts(contract, SolidityCalldata(proof: tampered, publicInputs: inputs)))
        let wrongInputs = try fixture.publicSignals("public_tampered.json")
        #expect(try !Self.contractAccepts(contract, SolidityCalldata(proof: proof, publicInputs: wrongInputs)))
        // A non-canonical A.y (y + q still fits in 256 bits) is rejected, not reduced.
        var nonCanonical = SolidityCalldata(proof: proof, publicInputs: inputs)
        let aY = try #require(UInt256(bigEndian: try Self.word(nonCanonical.a[1])))
        let shifted = aY.addingReportingCarry(Fp.modulus)
        try #require(!shifted.carry)
        nonCanonical.a[1] = "0x" + hexEncode(shifted.sum.bigEndianBytes)
        #expect(try !Self.contractAccepts(contract, nonCanonical))
    }

    @Test("a circuit without public inputs gets a verifyProof without _pubSignals")
    func noPublicInputs() throws {
        var rng = SeededRandom.forTest("solidity no public inputs")
        let key = VerifyingKey(
            alpha1: G1Curve.generator, beta2: G2Curve.generator, gamma2: G2Curve.generator, delta2: G2Curve.generator,
            ic: [(G1.generator * Fr.random(using: &rng)).affine])
        let contract = SolidityVerifier.contract(for: key)
        #expect(!contract.contains("_pubSignals"))
        #expect(contract.contains("uint[2] calldata _pC\n    ) public view returns (bool)"))
    }
}
