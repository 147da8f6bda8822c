import BN254
import Groth16

/// The two-to-one hash of a Merkle tree, natively and as a gadget.
public enum MerkleHash: String, CaseIterable, Sendable {
    /// gnark's MiMC_BN254 of the two children, the original system's tree.
    case mimc
    /// circomlib's Poseidon(2) of the two children, the tree of circom and Semaphore.
    case poseidon

    public func parent(_ left: Fr, _ right: Fr) -> Fr {
        switch self {
        case .mimc: MiMC.hash([left, right])
        case .poseidon: Self.poseidonPair([left, right])
        }
    }

    public func parent(_ left: LinearCombination, _ right: LinearCombination, in builder: CircuitBuilder)
        -> LinearCombination
    {
        switch self {
        case .mimc: return MiMC.hash([left, right], in: builder)
        case .poseidon:
            do {
                return try Poseidon.hash([left, right], in: builder)
            } catch {
                preconditionFailure("Poseidon takes two inputs: \(error)")
            }
        }
    }

    private static func poseidonPair(_ children: [Fr]) -> Fr {
        do {
            return try Poseidon.hash(children)
        } catch {
            preconditionFailure("Poseidon takes two inputs: \(error)")
        }
    }
}

/// What is wrong with a tree request, named precisely.
public enum MerkleError: Error, Equatable, CustomStringConvertible {
    case noLeaves
    case leafIndexOutOfRange(index: Int, count: Int)
    case invalidLeaf(index: Int, reason: String)
    case depthOutOfRange(Int)
    case invalidInput(String)

    public var description: String {
        switch self {
        case .noLeaves: "a Merkle tree needs at least one leaf"
        case .leafIndexOutOfRange(let index, let count): "leaf index \(index) is outside 0...\(count - 1)"
        case .invalidLeaf(let index, let reason): "leaf \(index): \(reason)"
        case .depthOutOfRange(let depth): "depth \(depth) is outside 0...\(MerkleCircuit.maximumDepth)"
        case .invalidInput(let reason): "input: \(reason)"
        }
    }
}

/// A Merkle tree over raw field-element leaves (leaves are not hashed first). Each level
/// pairs nodes (0, 1), (2, 3), …; an odd last node is paired with itself. The depth is
/// the number of halvings down to the root: 0 for one leaf.
public struct MerkleTree: Sendable {
    public let hash: MerkleHash
    /// levels[0] are the leaves; the last level holds the root alone.
    public let levels: [[Fr]]

    public init(leaves: [Fr], hash: MerkleHash) throws(MerkleError) {
        guard !leaves.isEmpty else { throw .noLeaves }
        self.hash = hash
        var levels = [leaves]
        while levels[levels.count - 1].count > 1 {
            let level = levels[levels.count - 1]
            levels.append(
                stride(from: 0, to: level.count, by: 2).map { i in
                    hash.parent(level[i], i + 1 < level.count ? level[i + 1] : level[i])
                })
        }
        self.levels = levels
    }

    /// Leaves given as hex strings (optional 0x, at most 32 bytes, big-endian, below r).
    public init(hexLeaves: [String], hash: MerkleHash) throws(MerkleError) {
        var leaves: [Fr] = []
        for (index, text) in hexLeaves.enumerated() { leaves.append(try MerkleTree.leaf(fromHex: text, index: index)) }
        try self.init(leaves: leaves, hash: hash)
    }

    /// One leaf from hex: a canonical field element, or an error naming what is wrong.
    public static func leaf(fromHex text: String, index: Int) throws(MerkleError) -> Fr {
        let digits = text.hasPrefix("0x") || text.hasPrefix("0X") ? String(text.dropFirst(2)) : text
        guard !digits.isEmpty else { throw .invalidLeaf(index: index, reason: "empty hex string") }
        guard digits.count % 2 == 0 else { throw .invalidLeaf(index: index, reason: "odd number of hex digits") }
        guard let bytes = hexDecode(digits) else { throw .invalidLeaf(index: index, reason: "not hexadecimal") }
        guard bytes.count <= 32 else {
            throw .invalidLeaf(index: index, reason: "\(bytes.count) bytes, at most 32 allowed")
        }
        let padded = [UInt8](repeating: 0, count: 32 - bytes.count) + bytes
        guard let value = UInt256(bigEndian: padded), let element = Fr(canonical: value) else {
            throw .invalidLeaf(index: index, reason: "not below the field modulus r")
        }
        return element
    }

    public var root: Fr { levels[levels.count - 1][0] }
    public var depth: Int { levels.count - 1 }
    public var leafCount: Int { levels[0].count }

    /// The siblings and directions from leaf `index` up to the root. Positions are taken
    /// level by level (the sibling of node i is i ^ 1, or i itself when i is the odd last).
    public func path(forLeaf index: Int) throws(MerkleError) -> MerklePath {
        guard index >= 0 && index < leafCount else { throw .leafIndexOutOfRange(index: index, count: leafCount) }
        var siblings: [Fr] = []
        var isRight: [Bool] = []
        var position = index
        for level in levels.dropLast() {
            let sibling = position ^ 1
            siblings.append(sibling < level.count ? level[sibling] : level[position])
            isRight.append(position & 1 == 1)
            position >>= 1
        }
        return MerklePath(leaf: levels[0][index], siblings: siblings, isRight: isRight)
    }
}

/// A leaf's way to the root: at level i the current node is the right child when
/// isRight[i], and siblings[i] is the other child.
public struct MerklePath: Sendable, Equatable {
    public let leaf: Fr
    public let siblings: [Fr]
    public let isRight: [Bool]

    public init(leaf: Fr, siblings: [Fr], isRight: [Bool]) {
        precondition(siblings.count == isRight.count, "one direction per sibling")
        self.leaf = leaf
        self.siblings = siblings
        self.isRight = isRight
    }

    public var depth: Int { siblings.count }

    /// The root this path leads to.
    public func root(hash: MerkleHash) -> Fr {
        var current = leaf
        for (sibling, right) in zip(siblings, isRight) {
            current = right ? hash.parent(sibling, current) : hash.parent(current, sibling)
        }
        return current
    }
}

/// The Merkle membership statement: "I know a leaf and a path of `depth` levels whose
/// root is the public `root`". The leaf, the siblings and the directions stay secret.
public enum MerkleCircuit {
    public static let maximumDepth = 32

    /// The circuit for one depth and hash. Public input: root. Secret inputs: leaf, the
    /// siblings bottom-up, then the direction bits bottom-up.
    public static func build(depth: Int, hash: MerkleHash) throws(MerkleError) -> Circuit {
        guard (0...maximumDepth).contains(depth) else { throw .depthOutOfRange(depth) }
        let builder = CircuitBuilder()
        let root = builder.publicInput("root")
        let leaf = builder.secretInput("leaf")
        let siblings = (0..<depth).map { builder.secretInput("path[\($0)]") }
        let bits = (0..<depth).map { builder.secretInput("pathIndices[\($0)]") }
        var current = leaf
        for level in 0..<depth {
            builder.assertBoolean(bits[level], "path bit \(level)")
            // One product serves both selections: left = cur + b·(sib − cur), right = sib + cur − left.
            let left = builder.select(bits[level], siblings[level], current)
            let right = siblings[level] + current - left
            current = hash.parent(left, right, in: builder)
        }
        builder.assertEqual(current, root, "root")
        do {
            return try builder.build()
        } catch {
            preconditionFailure("the Merkle circuit is well formed: \(error)")
        }
    }

    /// The circuit's inputs for a path: (public, secret).
    public static func inputs(for path: MerklePath, root: Fr) -> (publicInputs: [Fr], secretInputs: [Fr]) {
        ([root], [path.leaf] + path.siblings + path.isRight.map { $0 ? Fr.one : Fr.zero })
    }
}

/// The Merkle circuit's input.json, with circom's names so one file serves this circuit
/// and a circom Merkle circuit alike: `root` (optional: computed from the path when
/// absent), `leaf`, `pathElements` (siblings, bottom-up) and `pathIndices` (1 where the
/// current node is the right child). Values are decimal strings, 0x-hex strings or
/// JSON integers.
public struct MerkleInput: Codable, Equatable, Sendable {
    public var root: String?
    public var leaf: String
    public var pathElements: [String]
    public var pathIndices: [String]

    public init(root: String?, leaf: String, pathElements: [String], pathIndices: [String]) {
        self.root = root
        self.leaf = leaf
        self.pathElements = pathElements
        self.pathIndices = pathIndices
    }

    /// The input of `path`, values in decimal.
    public init(path: MerklePath, root: Fr) {
        self.init(
            root: root.decimalString, leaf: path.leaf.decimalString, pathElements: path.siblings.map(\.decimalString),
            pathIndices: path.isRight.map { $0 ? "1" : "0" })
    }

    enum CodingKeys: String, CodingKey {
        case root, leaf, pathElements, pathIndices
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        root = try container.decodeIfPresent(FlexibleValue.self, forKey: .root)?.text
        leaf = try container.decode(FlexibleValue.self, forKey: .leaf).text
        pathElements = try container.decode([FlexibleValue].self, forKey: .pathElements).map(\.text)
        pathIndices = try container.decode([FlexibleValue].self, forKey: .pathIndices).map(\.text)
    }

    /// A JSON string or non-negative integer, as text.
    private struct FlexibleValue: Decodable {
        let text: String
        init(from decoder: any Decoder) throws {
            let single = try decoder.singleValueContainer()
            if let integer = try? single.decode(UInt64.self) {
                text = String(integer)
            } else {
                text = try single.decode(String.self)
            }
        }
    }

    /// The path and root the input states, every value checked; the root is computed
    /// with `hash` when the input has none, and must match it when it has one.
    public func resolve(depth: Int, hash: MerkleHash) throws(MerkleError) -> (path: MerklePath, root: Fr) {
        guard pathElements.count == depth else {
            throw .invalidInput("pathElements has \(pathElements.count) entries, the circuit's depth is \(depth)")
        }
        guard pathIndices.count == depth else {
            throw .invalidInput("pathIndices has \(pathIndices.count) entries, the circuit's depth is \(depth)")
        }
        let leafValue = try Self.element(leaf, field: "leaf")
        var siblings: [Fr] = []
        for (index, text) in pathElements.enumerated() {
            siblings.append(try Self.element(text, field: "pathElements[\(index)]"))
        }
        var isRight: [Bool] = []
        for (index, text) in pathIndices.enumerated() {
            switch text {
            case "0": isRight.append(false)
            case "1": isRight.append(true)
            default: throw .invalidInput("pathIndices[\(index)] is \"\(text)\", not 0 or 1")
            }
        }
        let path = MerklePath(leaf: leafValue, siblings: siblings, isRight: isRight)
        let computed = path.root(hash: hash)
        if let root {
            let stated = try Self.element(root, field: "root")
            guard stated == computed else {
                throw .invalidInput("root does not match the \(hash) root of the leaf and path (\(computed))")
            }
        }
        return (path, computed)
    }

    /// A canonical field element from decimal or 0x-hex text.
    static func element(_ text: String, field: String) throws(MerkleError) -> Fr {
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            do {
                return try MerkleTree.leaf(fromHex: text, index: 0)
            } catch .invalidLeaf(_, let reason) {
                throw .invalidInput("\(field): \(reason)")
            } catch {
                throw .invalidInput("\(field): \(error)")
            }
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw .invalidInput("\(field): \"\(text)\" is neither a decimal nor a 0x-hex number")
        }
        guard let value = Fr(decimal: text) else { throw .invalidInput("\(field): not below the field modulus r") }
        return value
    }
}
