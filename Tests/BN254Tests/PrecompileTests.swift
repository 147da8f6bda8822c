import Foundation
import TestSupport
import Testing

@testable import BN254

struct PrecompileVector: Decodable, CustomTestStringConvertible {
    let Input: String
    let Expected: String
    let Name: String
    var testDescription: String { Name }

    static func load(_ file: String) throws -> [PrecompileVector] {
        try JSONDecoder().decode([PrecompileVector].self, from: TestEnvironment.fixture("ethereum-precompiles/\(file)"))
    }
}

@Suite("Ethereum precompiles")
struct PrecompileTests {
    @Test("0x06 ecAdd matches go-ethereum's vectors", arguments: try PrecompileVector.load("bn256Add.json"))
    func add(_ vector: PrecompileVector) throws {
        #expect(hexEncode(try Precompile.add(hexDecode(vector.Input)!)) == vector.Expected)
    }

    @Test("0x07 ecMul matches go-ethereum's vectors", arguments: try PrecompileVector.load("bn256ScalarMul.json"))
    func multiply(_ vector: PrecompileVector) throws {
        #expect(hexEncode(try Precompile.multiply(hexDecode(vector.Input)!)) == vector.Expected)
    }

    @Test("0x08 ecPairing matches go-ethereum's vectors", arguments: try PrecompileVector.load("bn256Pairing.json"))
    func pairing(_ vector: PrecompileVector) throws {
        #expect(hexEncode(try Precompile.pairingCheck(hexDecode(vector.Input)!)) == vector.Expected)
    }

    static let pBytes = Fp.modulus.bigEndianBytes
    static let generatorG1 = G1Curve.generator.ethereumBytes
    static let generatorG2 = G2Curve.generator.ethereumBytes

    @Test("malformed inputs are errors that name the cause")
    func malformed() {
        let one = UInt256(1).bigEndianBytes
        let two = UInt256(2).bigEndianBytes
        // A coordinate equal to p.
        #expect(throws: Precompile.Failure.invalidPoint(index: 0, .notInField(what: "G1 x"))) {
            try Precompile.add(Self.pBytes + two + Self.generatorG1)
        }
        // (1, 3) is not on y² = x³ + 3.
        let three = UInt256(3).bigEndianBytes
        #expect(throws: Precompile.Failure.invalidPoint(index: 1, .notOnCurve(group: "G1"))) {
            try Precompile.add(Self.generatorG1 + one + three)
        }
        #expect(throws: Precompile.Failure.invalidPoint(index: 0, .notOnCurve(group: "G1"))) {
            try Precompile.multiply(one + three + one)
        }
        // Pairing input lengths.
        #expect(throws: Precompile.Failure.pairingInputLength(191)) {
            try Precompile.pairingCheck([UInt8](repeating: 0, count: 191))
        }
        #expect(throws: Precompile.Failure.pairingInputLength(193)) {
            try Precompile.pairingCheck(Self.generatorG1 + Self.generatorG2 + [0])
        }
        // A G2 coordinate ≥ p, a G2 point off the twist, a G2 point outside the subgroup.
        var badX = Self.generatorG2
        badX.replaceSubrange(0..<32, with: Self.pBytes)
        #expect(throws: Precompile.Failure.invalidPoint(index: 1, .notInField(what: "G2 x (imaginary part)"))) {
            try Precompile.pairingCheck(Self.generatorG1 + badX)
        }
        var offCurve = Self.generatorG2
        offCurve[127] ^= 1
        #expect(throws: Precompile.Failure.invalidPoint(index: 1, .notOnCurve(group: "G2"))) {
            try Precompile.pairingCheck(Self.generatorG1 + offCurve)
        }
        #expect(throws: Precompile.Failure.invalidPoint(index: 3, .notInSubgroup(group: "G2"))) {
            try Precompile.pairingCheck(Self.generatorG1 + Self.generatorG2 + Self.generatorG1 + Self.pointOutsideG2())
        }
    }

    @Test("short inputs are padded with zeros and long ones truncated")
    func padding() throws {
        // The empty input is two points at infinity: their sum is infinity.
        #expect(try Precompile.add([]) == [UInt8](repeating: 0, count: 64))
        // G + (0, 0) = G, with the second point given only partly.
        #expect(try Precompile.add(Self.generatorG1 + [0, 0, 0]) == Self.generatorG1)
        #expect(try Precompile.add(Self.generatorG1 + [UInt8](repeating: 0, count: 64) + [0xff]) == Self.generatorG1)
        // A scalar cut short: [2^8]G when only the first 31 bytes of a scalar "…01 00" arrive.
        let shortScalar = [UInt8](repeating: 0, count: 30) + [1]
        let expected = G1.generator.multiplied(by: UInt256(256)).affine.ethereumBytes
        #expect(try Precompile.multiply(Self.generatorG1 + shortScalar) == expected)
        #expect(try Precompile.pairingCheck([]) == UInt256(1).bigEndianBytes)
    }

    /// A point on the twist outside G2 (the twist's cofactor is about p, so almost every point is).
    static func pointOutsideG2() -> [UInt8] {
        var x = Fp2(Fp(1), .zero)
        while true {
            if let y = (x.squared() * x + G2Curve.b).squareRoot() {
                let point = G2Affine(x: x, y: y)
                if !point.isInSubgroup { return point.ethereumBytes }
            }
            x = x + .one
        }
    }
}
