import TestSupport
import Testing

@testable import BN254

@Suite("Number-theoretic transform")
struct NTTTests {
    @Test("forward evaluates at the powers of ω; inverse undoes it", arguments: [1, 2, 4, 16, 64])
    func smallDomains(size: Int) async throws {
        var rng = SeededRandom.forTest("ntt n=\(size)")
        let domain = try EvaluationDomain(size: size)
        let coefficients = (0..<size).map { _ in Fr.random(using: &rng) }
        var values = coefficients
        try await domain.forward(&values)
        var point = Fr.one
        for i in 0..<size {
            #expect(values[i] == EvaluationDomain.evaluate(coefficients, at: point))
            point = point * domain.generator
        }
        try await domain.inverse(&values)
        #expect(values == coefficients)
    }

    @Test("coset forms agree with direct evaluation on g·H")
    func coset() async throws {
        var rng = SeededRandom.forTest("ntt coset")
        let domain = try EvaluationDomain(size: 32)
        let shift = Fr(5)
        let coefficients = (0..<32).map { _ in Fr.random(using: &rng) }
        var values = coefficients
        try await domain.cosetForward(&values, shift: shift)
        var point = shift
        for i in 0..<32 {
            #expect(values[i] == EvaluationDomain.evaluate(coefficients, at: point))
            point = point * domain.generator
        }
        try await domain.cosetInverse(&values, shift: shift)
        #expect(values == coefficients)
    }

    @Test("large transforms round-trip, in parallel, and match the serial result")
    func largeParallel() async throws {
        var rng = SeededRandom.forTest("ntt large")
        let domain = try EvaluationDomain(size: 1 << 14)
        let coefficients = (0..<domain.size).map { _ in Fr.random(using: &rng) }
        var serial = coefficients
        var parallel = coefficients
        try await domain.forward(&serial, threads: 1)
        try await domain.forward(&parallel, threads: 3)
        #expect(serial == parallel)
        // Spot-check one evaluation against Horner.
        let point = domain.generator.power(UInt256(777))
        #expect(serial[777] == EvaluationDomain.evaluate(coefficients, at: point))
        try await domain.inverse(&parallel, threads: 2)
        #expect(parallel == coefficients)
    }

    @Test("ω has order exactly n, and bad sizes are refused with the reason")
    func domainParameters() throws {
        let domain = try EvaluationDomain(size: 1 << 10)
        #expect(domain.generator.power(UInt256(1 << 10)) == .one)
        #expect(domain.generator.power(UInt256(1 << 9)) == -Fr.one)
        #expect(try EvaluationDomain(size: 1 << 20).generator.power(UInt256(1 << 19)) == -Fr.one)
        #expect(throws: EvaluationDomain.Failure.sizeNotPowerOfTwo(12)) { try EvaluationDomain(size: 12) }
        #expect(throws: EvaluationDomain.Failure.sizeTooLarge(1 << 29)) { try EvaluationDomain(size: 1 << 29) }
        #expect(try EvaluationDomain(atLeast: 1000).size == 1024)
    }
}
