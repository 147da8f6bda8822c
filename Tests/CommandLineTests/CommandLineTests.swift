import Foundation
import TestSupport
import Testing

/// One run of the `zkp` binary.
struct CommandResult {
    let status: Int32
    let standardOutput: String
    let standardError: String
}

/// Runs the built `zkp` with `arguments` in `directory`.
func zkp(_ arguments: [String], in directory: URL) throws -> CommandResult {
    let executable = TestEnvironment.productExecutable("zkp")
    try #require(
        FileManager.default.isExecutableFile(atPath: executable.path),
        "zkp is built beside the tests: \(executable.path)")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = directory
    // Files, not pipes: a full pipe buffer could block the child while we wait for it.
    let outURL = directory.appendingPathComponent(".stdout-\(UUID().uuidString)")
    let errURL = directory.appendingPathComponent(".stderr-\(UUID().uuidString)")
    try Data().write(to: outURL)
    try Data().write(to: errURL)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    try process.run()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus, standardOutput: try String(contentsOf: outURL, encoding: .utf8),
        standardError: try String(contentsOf: errURL, encoding: .utf8))
}

/// A fresh folder for one test, removed afterwards by the caller.
func scratchFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("zkp-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func fixturePath(_ relative: String) -> String {
    TestEnvironment.repositoryRoot.appendingPathComponent("Tests/Fixtures/\(relative)").path
}

@Suite("the zkp command line")
struct CommandLineTests {
    @Test("setup, prove from a .wtns and verify a circom circuit; verify exits 0, 1 or 2")
    func circomRoundTrip() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fixture = "circom/merkle_poseidon_d20"
        let setup = try zkp(["setup", "--r1cs", fixturePath("\(fixture)/circuit.r1cs"), "--out", "keys"], in: folder)
        #expect(setup.status == 0, "\(setup.standardError)")
        #expect(setup.standardError.contains("development"))
        let prove = try zkp(
            ["prove", "--pk", "keys/proving_key.zkpk", "--wtns", fixturePath("\(fixture)/witness.wtns")], in: folder)
        #expect(prove.status == 0, "\(prove.standardError)")
        let publicSignals = try JSONDecoder().decode(
            [String].self, from: Data(contentsOf: folder.appendingPathComponent("public.json")))
        let expected = try JSONDecoder().decode(
            [String].self, from: TestEnvironment.fixture("\(fixture)/public.json"))
        #expect(publicSignals == expected)

        let valid = try zkp(
            ["verify", "--vk", "keys/verification_key.json", "--proof", "proof.json", "--public", "public.json"],
            in: folder)
        #expect(valid.status == 0)
        #expect(valid.standardOutput == "valid\n")
        // arkworks' proof is a valid proof, but under arkworks' key, not ours.
        let foreign = try zkp(
            [
                "verify", "--vk", "keys/verification_key.json", "--proof", fixturePath("\(fixture)/proof.json"),
                "--public", "public.json",
            ], in: folder)
        #expect(foreign.status == 1)
        #expect(foreign.standardOutput == "invalid\n")
        let wrongSignal = try zkp(
            [
                "verify", "--vk", "keys/verification_key.json", "--proof", "proof.json", "--public",
                fixturePath("\(fixture)/public_tampered.json"),
            ], in: folder)
        #expect(wrongSignal.status == 1)

        // Malformed inputs: exit 2 and a reason that names the problem.
        let proofText = try String(contentsOf: folder.appendingPathComponent("proof.json"), encoding: .utf8)
        try String(proofText.prefix(40)).write(
            to: folder.appendingPathComponent("truncated.json"), atomically: true, encoding: .utf8)
        let truncated = try zkp(
            ["verify", "--vk", "keys/verification_key.json", "--proof", "truncated.json", "--public", "public.json"],
            in: folder)
        #expect(truncated.status == 2)
        #expect(truncated.standardError.contains("truncated.json: not valid JSON"), "\(truncated.standardError)")
        var offCurve = try JSONDecoder().decode(
            [String: JSONValue].self, from: Data(contentsOf: folder.appendingPathComponent("proof.json")))
        offCurve["pi_a"] = .array([.string("1"), .string("3"), .string("1")])
        try JSONEncoder().encode(offCurve).write(to: folder.appendingPathComponent("off_curve.json"))
        let notOnCurve = try zkp(
            ["verify", "--vk", "keys/verification_key.json", "--proof", "off_curve.json", "--public", "public.json"],
            in: folder)
        #expect(notOnCurve.status == 2)
        #expect(notOnCurve.standardError.contains("pi_a"), "\(notOnCurve.standardError)")
        #expect(notOnCurve.standardError.contains("not on the curve"), "\(notOnCurve.standardError)")
        let missing = try zkp(
            ["verify", "--vk", "nowhere.json", "--proof", "proof.json", "--public", "public.json"], in: folder)
        #expect(missing.status == 2)
        #expect(missing.standardError.contains("nowhere.json: no such file"))

        let key = try Data(contentsOf: folder.appendingPathComponent("keys/proving_key.zkpk"))
        try key.prefix(1000).write(to: folder.appendingPathComponent("short.zkpk"))
        let shortKey = try zkp(
            ["prove", "--pk", "short.zkpk", "--wtns", fixturePath("\(fixture)/witness.wtns")], in: folder)
        #expect(shortKey.status == 2)
        #expect(shortKey.standardError.contains("proving key"), "\(shortKey.standardError)")
        var wrongMagic = key
        wrongMagic[0] ^= 0xff
        try wrongMagic.write(to: folder.appendingPathComponent("magic.zkpk"))
        let badMagic = try zkp(
            ["prove", "--pk", "magic.zkpk", "--wtns", fixturePath("\(fixture)/witness.wtns")], in: folder)
        #expect(badMagic.status == 2)
        #expect(badMagic.standardError.contains("magic"), "\(badMagic.standardError)")
    }

    @Test("merkle path → prove --circuit merkle → verify, for both hashes; wrong inputs exit 2")
    func builtinMerkle() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let leaves = ["01", "0x02", "03", "04", "05"]
        for hash in ["mimc", "poseidon"] {
            let root = try zkp(["merkle", "root", "--hash", hash] + leaves, in: folder)
            #expect(root.status == 0)
            let path = try zkp(["merkle", "path", "--hash", hash, "--index", "4"] + leaves, in: folder)
            #expect(path.status == 0, "\(path.standardError)")
            try Data(path.standardOutput.utf8).write(to: folder.appendingPathComponent("input-\(hash).json"))
            let circuit = ["--circuit", "merkle", "--hash", hash, "--depth", "3"]
            let setup = try zkp(["setup"] + circuit + ["--out", "keys-\(hash)"], in: folder)
            #expect(setup.status == 0, "\(setup.standardError)")
            let prove = try zkp(
                ["prove", "--pk", "keys-\(hash)/proving_key.zkpk"] + circuit
                    + [
                        "--input", "input-\(hash).json", "--proof", "proof-\(hash).json", "--public",
                        "public-\(hash).json",
                    ],
                in: folder)
            #expect(prove.status == 0, "\(prove.standardError)")
            let publicSignals = try JSONDecoder().decode(
                [String].self, from: Data(contentsOf: folder.appendingPathComponent("public-\(hash).json")))
            #expect(publicSignals == [root.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)])
            let verify = try zkp(
                [
                    "verify", "--vk", "keys-\(hash)/verification_key.json", "--proof", "proof-\(hash).json", "--public",
                    "public-\(hash).json",
                ], in: folder)
            #expect(verify.status == 0)
        }
        // The poseidon key with the mimc circuit's parameters: refused before proving.
        let mismatch = try zkp(
            [
                "prove", "--pk", "keys-poseidon/proving_key.zkpk", "--circuit", "merkle", "--hash", "mimc", "--depth",
                "3",
                "--input", "input-mimc.json",
            ], in: folder)
        #expect(mismatch.status == 2)
        #expect(mismatch.standardError.contains("different circuit"))
        try Data(#"{"leaf": 5, "pathElements": [1, 2, 3], "pathIndices": [0, 2, 1]}"#.utf8)
            .write(to: folder.appendingPathComponent("bad.json"))
        let badBit = try zkp(
            [
                "prove", "--pk", "keys-poseidon/proving_key.zkpk", "--circuit", "merkle", "--hash", "poseidon",
                "--depth",
                "3", "--input", "bad.json",
            ], in: folder)
        #expect(badBit.status == 2)
        #expect(badBit.standardError.contains("pathIndices[1]"))
        let badLeaf = try zkp(["merkle", "root", "01", "0x" + String(repeating: "ff", count: 32)], in: folder)
        #expect(badLeaf.status == 2)
        #expect(badLeaf.standardError.contains("leaf 1: not below the field modulus r"))
        let badIndex = try zkp(["merkle", "path", "--index", "7", "01", "02"], in: folder)
        #expect(badIndex.status == 2)
        #expect(badIndex.standardError.contains("leaf index 7"))
    }

    @Test("export calldata reproduces the fixture's; export solidity writes the contract")
    func exports() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fixture = "circom/poseidon_chain_272"
        let calldata = try zkp(
            [
                "export", "calldata", "--proof", fixturePath("\(fixture)/proof.json"), "--public",
                fixturePath("\(fixture)/public.json"),
            ], in: folder)
        #expect(calldata.status == 0)
        let parsed = try #require(
            try JSONSerialization.jsonObject(with: Data(("[" + calldata.standardOutput + "]").utf8)) as? [Any])
        let expected = try #require(
            try JSONSerialization.jsonObject(with: TestEnvironment.fixture("\(fixture)/calldata.json"))
                as? [String: Any])
        #expect(parsed[0] as? [String] == expected["a"] as? [String])
        #expect(parsed[1] as? [[String]] == expected["b"] as? [[String]])
        #expect(parsed[2] as? [String] == expected["c"] as? [String])
        #expect(parsed[3] as? [String] == expected["input"] as? [String])

        let solidity = try zkp(
            ["export", "solidity", "--vk", fixturePath("\(fixture)/verification_key.json"), "--out", "Verifier.sol"],
            in: folder)
        #expect(solidity.status == 0)
        let contract = try String(contentsOf: folder.appendingPathComponent("Verifier.sol"), encoding: .utf8)
        #expect(contract.contains("contract Groth16Verifier"))
        #expect(contract.contains("uint[2] calldata _pubSignals"))
    }
}
