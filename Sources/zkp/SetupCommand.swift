import ArgumentParser
import Circom
import Circuits
import Foundation
import Groth16

/// `zkp setup`: a single-party Groth16 setup, for development.
struct SetupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Make a proving key and verification_key.json (single-party: for development only).",
        discussion: """
            The setup draws its secret values (τ, α, β, γ, δ) from the system's CSPRNG and \
            forgets them, but whoever runs it could have kept them and forged proofs. Use it for \
            development and tests; production keys come from a multi-party ceremony (a .zkey).
            Writes DIR/proving_key.zkpk (native binary form) and DIR/verification_key.json.
            """)

    @Option(help: "A circom .r1cs file.") var r1cs: String?
    @OptionGroup var builtin: BuiltinCircuitOptions
    @Option(help: "The folder to write the keys to.") var out: String
    @OptionGroup var threading: ThreadOptions

    func run() async throws {
        try await exitingTwoOnError {
            let system: R1CS
            switch (r1cs, builtin.isGiven) {
            case (let path?, false):
                system = try CircomFiles.readR1CS(Array(Files.read(path, what: "r1cs")))
            case (nil, true):
                system = try builtin.merkle().circuit.r1cs
            default:
                throw InputError("give exactly one of --r1cs FILE and --circuit merkle")
            }
            printError("development setup: single-party, not for production keys")
            var random = SystemRandomNumberGenerator()
            let key = try await Groth16.developmentSetup(system, threads: threading.threads, using: &random)
            let keyPath = (out as NSString).appendingPathComponent("proving_key.zkpk")
            let vkPath = (out as NSString).appendingPathComponent("verification_key.json")
            try Files.write(Data(key.nativeBytes), to: keyPath, what: "the proving key")
            try Files.writeJSON(key.verifyingKey.snarkjs, to: vkPath, what: "the verification key")
            print(
                "\(system.constraintCount) constraints, \(system.publicCount) public inputs: wrote \(keyPath) and \(vkPath)"
            )
        }
    }
}
