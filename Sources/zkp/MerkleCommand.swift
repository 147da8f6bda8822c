import ArgumentParser
import Circuits
import Foundation

/// `zkp merkle root|path`: the native Merkle tree of the built-in circuit.
struct MerkleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merkle",
        abstract: "Merkle roots and paths over raw field-element leaves (an odd node pairs with itself).",
        subcommands: [Root.self, Path.self])

    struct Leaves: ParsableArguments {
        @Option(help: "The tree's hash: mimc or poseidon.") var hash: MerkleHash = .mimc
        @Option(help: "A JSON file holding an array of leaves (hex strings, optional 0x).") var leavesFile: String?
        @Argument(help: "Leaves as hex strings (optional 0x, at most 32 bytes, below r).") var leaves: [String] = []

        func tree() throws -> MerkleTree {
            var all = leaves
            if let leavesFile {
                all += try Files.readJSON([String].self, from: leavesFile, what: "leaves file")
            }
            return try MerkleTree(hexLeaves: all, hash: hash)
        }
    }

    struct Root: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "root", abstract: "Print the root in decimal (the form of public.json).")
        @OptionGroup var leaves: Leaves

        func run() async throws {
            try await exitingTwoOnError { print(try leaves.tree().root.decimalString) }
        }
    }

    struct Path: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "path",
            abstract: "Print the input.json proving that one leaf is in the tree.",
            discussion: "Feed it to `zkp prove --circuit merkle --hash H --depth D --input FILE`, D the tree's depth.")
        @OptionGroup var leaves: Leaves
        @Option(help: "The leaf's index, from 0.") var index: Int

        func run() async throws {
            try await exitingTwoOnError {
                let tree = try leaves.tree()
                let path = try tree.path(forLeaf: index)
                let json = try Files.encodeJSON(MerkleInput(path: path, root: tree.root))
                FileHandle.standardOutput.write(json)
            }
        }
    }
}
