import TestSupport
import Testing

@testable import BN254

/// Our results against two independent implementations, py_ecc (Ethereum's pure-Python
/// alt_bn128) and mcl (herumi's C++), on random inputs from a printed seed.
@Suite(
    "Differential: py_ecc and mcl", .enabled(if: TestEnvironment.runsPeerTests, "peer venv missing: run scripts/test"))
struct DifferentialTests {
    enum Peer: String, CaseIterable, CustomTestStringConvertible {
        case pyEcc = "pyecc_driver.py"
        case mcl = "mcl_driver.py"
        var testDescription: String { self == .pyEcc ? "py_ecc" : "mcl" }
    }

    enum Operation: String, CaseIterable {
        case fpMul = "fp_mul"
        case fpInverse = "fp_inv"
        case frMul = "fr_mul"
        case g1Add = "g1_add"
        case g1Mul = "g1_mul"
        case g2Add = "g2_add"
        case g2Mul = "g2_mul"
        case pairingCheck = "pairing_check"
    }

    static let casesPerOperation = 100

    @Test("agree on random inputs", arguments: Peer.allCases, Operation.allCases)
    func agree(peer: Peer, operation: Operation) throws {
        var rng = SeededRandom.forTest("differential \(peer.testDescription) \(operation.rawValue)")
        var cases: [JSONValue] = []
        var expected: [JSONValue] = []
        for index in 0..<Self.casesPerOperation {
            let (input, output) = Self.makeCase(operation, index: index, using: &rng)
            cases.append(input)
            expected.append(output)
        }
        let answer = try PeerProcess.call(
            peer.rawValue, PeerRequest(op: operation.rawValue, cases: cases), as: PeerAnswer.self)
        try #require(answer.results.count == cases.count)
        for (i, (ours, theirs)) in zip(expected, answer.results).enumerated() {
            #expect(ours == theirs, "case \(i): input \(cases[i])")
        }
    }

    /// GT values written as 12 decimal strings in tower order.
    static func json(_ value: Fp12) -> JSONValue {
        let coefficients = [value.c0, value.c1].flatMap { [$0.c0, $0.c1, $0.c2] }.flatMap { [$0.c0, $0.c1] }
        return .array(coefficients.map(string))
    }

    /// mcl's final exponentiation has the same hard part as ours (the standard exponent
    /// times 2x(6x² + 3x + 1)); py_ecc's is the standard one.
    @Test("GT values: `pairing` equals mcl's, `standardPairing` equals py_ecc's", arguments: Peer.allCases)
    func pairingValues(peer: Peer) throws {
        var rng = SeededRandom.forTest("differential \(peer.testDescription) pairing values")
        var cases: [JSONValue] = []
        var expected: [JSONValue] = []
        // py_ecc takes about a second a pairing.
        for _ in 0..<(peer == .mcl ? 20 : 4) {
            let p = (G1.generator * Fr.random(using: &rng)).affine
            let q = (G2.generator * Fr.random(using: &rng)).affine
            cases.append(.array([Self.json(p), Self.json(q)]))
            expected.append(Self.json(peer == .mcl ? Pairing.pairing(p, q) : Pairing.standardPairing(p, q)))
        }
        let answer = try PeerProcess.call(peer.rawValue, PeerRequest(op: "pairing", cases: cases), as: PeerAnswer.self)
        try #require(answer.results.count == cases.count)
        for (i, (ours, theirs)) in zip(expected, answer.results).enumerated() {
            #expect(ours == theirs, "case \(i): input \(cases[i])")
        }
    }

    // MARK: Cases

    static func string(_ value: some PrimeField) -> JSONValue { .string(value.decimalString) }

    static func json(_ point: G1Affine) -> JSONValue {
        point.isInfinity ? .null : .array([string(point.x), string(point.y)])
    }

    static func json(_ point: G2Affine) -> JSONValue {
        point.isInfinity
            ? .null : .array([string(point.x.c0), string(point.x.c1), string(point.y.c0), string(point.y.c1)])
    }

    /// Scalars: mostly random, with the edges (0, 1, r − 1) first.
    static func scalar(_ index: Int, using rng: inout SeededRandom) -> Fr {
        switch index {
        case 0: return .zero
        case 1: return .one
        case 2: return -Fr.one
        default: return Fr.random(using: &rng)
        }
    }

    /// (input, our output) for case `index` of `operation`.
    static func makeCase(_ operation: Operation, index: Int, using rng: inout SeededRandom) -> (JSONValue, JSONValue) {
        switch operation {
        case .fpMul:
            let (a, b) = (Fp.random(using: &rng), Fp.random(using: &rng))
            return (.array([string(a), string(b)]), string(a * b))
        case .fpInverse:
            let a = index == 0 ? Fp.one : Fp.random(using: &rng)
            return (.array([string(a)]), string(a.inverse()!))
        case .frMul:
            let (a, b) = (Fr.random(using: &rng), Fr.random(using: &rng))
            return (.array([string(a), string(b)]), string(a * b))
        case .g1Add:
            let p = (G1.generator * scalar(index + 3, using: &rng)).affine
            // Edges: P + O, P + P, P + (−P); then random pairs.
            let q: G1Affine
            switch index {
            case 0: q = .infinity
            case 1: q = p
            case 2: q = -p
            default: q = (G1.generator * Fr.random(using: &rng)).affine
            }
            return (.array([json(p), json(q)]), json((p.jacobian + q).affine))
        case .g1Mul:
            let p = (G1.generator * Fr.random(using: &rng)).affine
            let k = scalar(index, using: &rng)
            return (.array([json(p), string(k)]), json((p * k).affine))
        case .g2Add:
            let p = (G2.generator * scalar(index + 3, using: &rng)).affine
            let q: G2Affine
            switch index {
            case 0: q = .infinity
            case 1: q = p
            case 2: q = -p
            default: q = (G2.generator * Fr.random(using: &rng)).affine
            }
            return (.array([json(p), json(q)]), json((p.jacobian + q).affine))
        case .g2Mul:
            let p = (G2.generator * Fr.random(using: &rng)).affine
            let k = scalar(index, using: &rng)
            return (.array([json(p), string(k)]), json((p * k).affine))
        case .pairingCheck:
            // e(aP, bQ) · e(cP, Q) is one exactly when c = −ab; every other case perturbs c.
            let (a, b) = (Fr.random(using: &rng), Fr.random(using: &rng))
            let c = index % 2 == 0 ? -(a * b) : -(a * b) + Fr.random(using: &rng)
            let p = G1.generator * Fr.random(using: &rng)
            let q = G2.generator * Fr.random(using: &rng)
            let pairs = [((p * a).affine, (q * b).affine), ((p * c).affine, q.affine)]
            let input = JSONValue.array(pairs.map { .array([json($0.0), json($0.1)]) })
            return (input, .bool(Pairing.productIsOne(pairs)))
        }
    }
}
