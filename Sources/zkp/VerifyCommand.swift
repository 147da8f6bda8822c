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
            // Each input with the words that name it in a message.
            let keyInput: (data: Data, label: String)
            let proofInput: (data: Data, label: String)
            let publicInput: (data: Data, label: String)
            if let job {
                guard vk == nil, proof == nil, publicPath == nil, circuit == nil else {
                    throw InputError("--job takes the key, proof and public signals from the gateway; give no files")
                }
                let record = try await gateway.object("GET", "/api/v1/jobs/\(job)")["job"] as? [String: Any]
                guard let circuitID = record?["circuit_id"] as? String else {
                    throw InputError("the gateway's answer for job \(job) names no circuit")
                }
                proofInput = (try await gateway.call("GET", "/api/v1/jobs/\(job)/proof"), "job \(job)'s proof")
                publicInput = (
                    try await gateway.call("GET", "/api/v1/jobs/\(job)/public"), "job \(job)'s public signals"
                )
                keyInput = (
                    try await gateway.call("GET", "/api/v1/circuits/\(circuitID)/verification_key"),
                    "circuit \(circuitID)'s verification key"
                )
            } else {
                guard let proof, let publicPath else { throw InputError("give --proof and --public, or --job") }
                proofInput = (try Files.read(proof, what: "proof"), "proof \(proof)")
                publicInput = (try Files.read(publicPath, what: "public signals"), "public signals \(publicPath)")
                switch (vk, circuit) {
                case (let path?, nil):
                    keyInput = (try Files.read(path, what: "verification key"), "verification key \(path)")
                case (nil, let id?):
                    keyInput = (
                        try await gateway.call("GET", "/api/v1/circuits/\(id)/verification_key"),
                        "circuit \(id)'s verification key"
                    )
                default: throw InputError("give exactly one of --vk and --circuit")
                }
            }
            func decode<Value: Decodable>(_ type: Value.Type, _ input: (data: Data, label: String)) throws -> Value {
                try Files.decodeJSON(type, from: input.data, named: input.label)
            }
            let key = try VerifyingKey(snarkjs: decode(SnarkjsVerificationKey.self, keyInput))
            let decoded = try Proof(snarkjs: decode(SnarkjsProof.self, proofInput))
            let inputs = try SnarkjsPublicSignals.decode(decode([String].self, publicInput))
            valid = try Groth16.verify(key, publicInputs: inputs, proof: decoded)
        }
        print(valid ? "valid" : "invalid")
        if !valid { throw ExitCode.failure }
    }
}
