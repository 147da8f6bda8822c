import ArgumentParser
import BN254

/// `zkp bn254 add|mul|pairing HEX`: Ethereum's BN254 precompiles from the command line.
struct BN254Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bn254",
        abstract: "Run Ethereum's BN254 precompiles (0x06 add, 0x07 mul, 0x08 pairing) on hex input.",
        discussion: """
            Input is hex exactly as the precompile takes it (an optional 0x prefix); the output is \
            printed as hex. A malformed input prints the reason and exits with status 2.
            """,
        subcommands: [Add.self, Multiply.self, PairingCheck.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "0x06: add two G1 points (x1 y1 x2 y2, 32 bytes each).")
        @Argument(help: "The precompile input as hex.") var input: String
        func run() throws { try runPrecompile(input) { input throws(Precompile.Failure) in try Precompile.add(input) } }
    }

    struct Multiply: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mul", abstract: "0x07: multiply a G1 point by a scalar (x y s, 32 bytes each).")
        @Argument(help: "The precompile input as hex.") var input: String
        func run() throws {
            try runPrecompile(input) { input throws(Precompile.Failure) in try Precompile.multiply(input) }
        }
    }

    struct PairingCheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pairing",
            abstract: "0x08: check that the product of pairings of (G1, G2) pairs (192 bytes each) is one.")
        @Argument(help: "The precompile input as hex.") var input: String
        func run() throws {
            try runPrecompile(input) { input throws(Precompile.Failure) in try Precompile.pairingCheck(input) }
        }
    }
}

/// Decodes `hex`, runs `precompile`, prints the result; malformed input exits with status 2.
private func runPrecompile(
    _ hex: String, _ precompile: ([UInt8]) throws(Precompile.Failure) -> [UInt8]
) throws {
    guard let bytes = hexDecode(hex.trimmingWhitespace()) else {
        printError("input is not hexadecimal with an even number of digits")
        throw ExitCode(2)
    }
    do {
        print(hexEncode(try precompile(bytes)))
    } catch {
        printError("invalid input: \(error)")
        throw ExitCode(2)
    }
}
