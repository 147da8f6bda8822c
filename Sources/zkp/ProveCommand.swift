import ArgumentParser
import BN254
import Circom
import Circuits
import Foundation
import Groth16

/// `zkp prove`: a proof from a proving key and a witness (a .wtns, or a built-in circuit's input.json).
struct ProveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Prove, writing proof.json and public.json in snarkjs's shapes.",
        discussion: """
            The witness is a circom .wtns (--wtns) or, for a built-in circuit, its input.json \
            (--circuit merkle --hash H --depth D --input FILE). The proof is verified before it \
            is written. A witness that violates a constraint is refused (exit status 2).
            """)

    @Option(help: "The proving key (proving_key.zkpk from zkp setup).") var pk: String
    @Option(help: "A circom witness file (.wtns).") var wtns: String?
    @OptionGroup var builtin: BuiltinCircuitOptions
    @Option(help: "The built-in circuit's input.json.") var input: String?
    @Option(help: "Where to write proof.json.") var proof: String = "proof.json"
    @Option(name: .customLong("public"), help: "Where to write public.json.") var publicPath: String = "public.json"
    @OptionGroup var threading: ThreadOptions

    func run() async throws {
        try await exitingTwoOnError {
            let key = try ProvingKey(nativeBytes: Array(Files.read(pk, what: "proving key")))
            let witness: [Fr]
            switch (wtns, builtin.isGiven) {
            case (let path?, false):
                guard input == nil else { throw InputError("--input belongs to --circuit, not to --wtns") }
                witness = try CircomFiles.readWitness(Array(Files.read(path, what: "witness")))
            case (nil, true):
                guard let input else { throw InputError("--circuit needs --input input.json") }
                let (circuit, hash, depth) = try builtin.merkle()
                guard circuit.r1cs == key.r1cs else {
                    throw InputError(
                        "the proving key \(pk) was made for a different circuit than merkle/\(hash)/\(depth)")
                }
                let (path, root) = try Files.readJSON(MerkleInput.self, from: input, what: "input")
                    .resolve(depth: depth, hash: hash)
                let (publicInputs, secretInputs) = MerkleCircuit.inputs(for: path, root: root)
                witness = try circuit.solve(publicInputs: publicInputs, secretInputs: secretInputs)
            default:
                throw InputError("give exactly one of --wtns FILE and --circuit merkle")
            }
            var random = SystemRandomNumberGenerator()
            let made = try await Groth16.prove(key, witness: witness, threads: threading.threads, using: &random)
            let publicInputs = Array(witness[1...key.publicCount])
            guard try Groth16.verify(key.verifyingKey, publicInputs: publicInputs, proof: made) else {
                printError("internal error: the proof made does not verify; nothing written")
                throw ExitCode.failure
            }
            try Files.writeJSON(made.snarkjs, to: proof, what: "the proof")
            try Files.writeJSON(SnarkjsPublicSignals.encode(publicInputs), to: publicPath, what: "the public signals")
        }
    }
}
