import ArgumentParser
import BN254
import Foundation
import Groth16

/// `zkp verify`: exit 0 for a valid proof, 1 for an invalid one, 2 for malformed input.
/// The key, proof and public signals come from files, or from a gateway: `--circuit ID`
/// takes the circuit's served verification key, `--job ID` takes all three of a
/// completed job. Either way the check runs here, with this program's verifier.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a proof: exit 0 if valid, 1 if invalid, 2 if an input is malformed (with the reason).",
        discussion: """
            From files: --vk, --proof, --public. From a gateway: --job ID (its proof, public \
            signals and circuit's key), or --circuit ID with --proof and --public (the circuit's \
            served key). A gateway that cannot be reached exits 3.
            """)

    @Option(help: "verification_key.json (snarkjs shape).") var vk: String?
    @Option(help: "proof.json (snarkjs shape).") var proof: String?
    @Option(name: .customLong("public"), help: "public.json (snarkjs shape).") var publicPath: String?
    @Option(help: "Take the verification key of this circuit from the gateway.") var circuit: String?
    @Option(help: "Take a completed job's proof, public signals and key from the gateway.") var job: String?
    @OptionGroup var gateway: GatewayOptions

    func run() async throws {
        var valid = false
        try await exitingTwoOnError {
            let keyData: Data
            let proofData: Data
            let publicData: Data
            if let job {
                guard vk == nil, proof == nil, publicPath == nil, circuit == nil else {
                    throw InputError("--job takes the key, proof and public signals from the gateway; give no files")
                }
                let record = try await gateway.object("GET", "/api/v1/jobs/\(job)")["job"] as? [String: Any]
                guard let circuitID = record?["circuit_id"] as? String else {
                    throw InputError("the gateway's answer for job \(job) names no circuit")
                }
                proofData = try await gateway.call("GET", "/api/v1/jobs/\(job)/proof")
                publicData = try await gateway.call("GET", "/api/v1/jobs/\(job)/public")
                keyData = try await gateway.call("GET", "/api/v1/circuits/\(circuitID)/verification_key")
            } else {
                guard let proof, let publicPath else { throw InputError("give --proof and --public, or --job") }
                proofData = try Files.read(proof, what: "proof")
                publicData = try Files.read(publicPath, what: "public signals")
                switch (vk, circuit) {
                case (let path?, nil): keyData = try Files.read(path, what: "verification key")
                case (nil, let id?): keyData = try await gateway.call("GET", "/api/v1/circuits/\(id)/verification_key")
                default: throw InputError("give exactly one of --vk and --circuit")
                }
            }
            let decoder = JSONDecoder()
            let key: VerifyingKey
            let decoded: Proof
            let inputs: [Fr]
            do {
                key = try VerifyingKey(snarkjs: decoder.decode(SnarkjsVerificationKey.self, from: keyData))
            } catch {
                throw InputError("verification key: \(error)")
            }
            do {
                decoded = try Proof(snarkjs: decoder.decode(SnarkjsProof.self, from: proofData))
            } catch {
                throw InputError("proof: \(error)")
            }
            do {
                inputs = try SnarkjsPublicSignals.decode(decoder.decode([String].self, from: publicData))
            } catch {
                throw InputError("public signals: \(error)")
            }
            valid = try Groth16.verify(key, publicInputs: inputs, proof: decoded)
        }
        print(valid ? "valid" : "invalid")
        if !valid { throw ExitCode.failure }
    }
}
