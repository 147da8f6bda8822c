import ArgumentParser
import Foundation
import Groth16

/// `zkp verify`: exit 0 for a valid proof, 1 for an invalid one, 2 for malformed input.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a proof: exit 0 if valid, 1 if invalid, 2 if an input is malformed (with the reason).")

    @Option(help: "verification_key.json (snarkjs shape).") var vk: String
    @Option(help: "proof.json (snarkjs shape).") var proof: String
    @Option(name: .customLong("public"), help: "public.json (snarkjs shape).") var publicPath: String

    func run() async throws {
        var valid = false
        try await exitingTwoOnError {
            let key = try VerifyingKey(
                snarkjs: Files.readJSON(SnarkjsVerificationKey.self, from: vk, what: "verification key"))
            let decoded = try Proof(snarkjs: Files.readJSON(SnarkjsProof.self, from: proof, what: "proof"))
            let inputs = try SnarkjsPublicSignals.decode(
                Files.readJSON([String].self, from: publicPath, what: "public signals"))
            valid = try Groth16.verify(key, publicInputs: inputs, proof: decoded)
        }
        print(valid ? "valid" : "invalid")
        if !valid { throw ExitCode.failure }
    }
}
