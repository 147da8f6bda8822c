import TestSupport
import Testing

/// The harness's own check: the peer venv answers, and answers correctly.
@Suite("Peer venv")
struct PeerHarnessTests {
    struct Facts: Decodable {
        let g1_generator_on_curve: Bool
        let pairing_of_generators_is_one: Bool
        let field_modulus: String
        let curve_order: String
    }
    struct Answer<T: Decodable>: Decodable { let results: [T] }
    struct Request: Encodable {
        let op: String
        let cases: [Int?]
    }

    @Test(
        "py_ecc knows BN254: G1 = (1, 2) is on y² = x³ + 3 and e(G1, G2) ≠ 1",
        .enabled(if: TestEnvironment.runsPeerTests, "peer venv missing: run scripts/test")
    )
    func pyEccKnowsBN254() throws {
        let answer = try PeerProcess.call("pyecc_driver.py", Request(op: "facts", cases: [nil]), as: Answer<Facts>.self)
        let facts = try #require(answer.results.first)
        #expect(facts.g1_generator_on_curve)
        #expect(!facts.pairing_of_generators_is_one)
        #expect(facts.field_modulus == "21888242871839275222246405745257275088696311157297823662689037894645226208583")
        #expect(facts.curve_order == "21888242871839275222246405745257275088548364400416034343698204186575808495617")
    }
}
