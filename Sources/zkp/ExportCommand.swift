import ArgumentParser
import Foundation
import Groth16

/// `zkp export solidity|calldata`.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a Solidity verifier or the calldata of a proof.",
        subcommands: [Solidity.self, Calldata.self])

    struct Solidity: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "solidity",
            abstract: "Write a Solidity verifier contract (snarkjs's interface) for a verification key.")
        @Option(help: "verification_key.json.") var vk: String
        @Option(help: "Where to write the contract (default: standard output).") var out: String?

        func run() async throws {
            try await exitingTwoOnError {
                let key = try VerifyingKey(
                    snarkjs: Files.readJSON(SnarkjsVerificationKey.self, from: vk, what: "verification key"))
                let contract = Data(SolidityVerifier.contract(for: key).utf8)
                if let out {
                    try Files.write(contract, to: out, what: "the contract")
                } else {
                    FileHandle.standardOutput.write(contract)
                }
            }
        }
    }

    struct Calldata: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "calldata",
            abstract: "Print verifyProof's arguments for a proof, as snarkjs's soliditycalldata does.")
        @Option(help: "proof.json.") var proof: String
        @Option(name: .customLong("public"), help: "public.json.") var publicPath: String

        func run() async throws {
            try await exitingTwoOnError {
                let decoded = try Proof(snarkjs: Files.readJSON(SnarkjsProof.self, from: proof, what: "proof"))
                let inputs = try SnarkjsPublicSignals.decode(
                    Files.readJSON([String].self, from: publicPath, what: "public signals"))
                print(SolidityCalldata(proof: decoded, publicInputs: inputs).text)
            }
        }
    }
}
