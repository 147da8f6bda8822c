import BN254

/// One named measurement.
struct Benchmark {
    let name: String
    let run: (Context, Int?) async throws -> Measurement
}

/// A deterministic generator so that every run measures the same inputs.
struct BenchRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Distinct points P₀ + i·D, as a proving key's bases are: cheap to make, not structured for the MSM.
func pointSequence<Curve>(_ count: Int, start: JacobianPoint<Curve>, step: JacobianPoint<Curve>) -> [AffinePoint<Curve>]
{
    var points: [JacobianPoint<Curve>] = []
    points.reserveCapacity(count)
    var current = start
    for _ in 0..<count {
        points.append(current)
        current = current + step
    }
    return JacobianPoint.batchAffine(points)
}

enum BenchmarkCatalog {
    static var all: [Benchmark] {
        micro + msm + ntt + SmallProofBench.all
    }

    static func nttBenchmark(_ name: String, logSize: Int, threads: Int?) -> Benchmark {
        Benchmark(name: name) { context, runs in
            var rng = BenchRandom(state: 7)
            let domain = try EvaluationDomain(size: 1 << logSize)
            let input = (0..<domain.size).map { _ in Fr.random(using: &rng) }
            let threadCount = threads ?? context.threads
            var values = input
            let seconds = await measure(runs: runs ?? 5) {
                values = input
                try! await domain.forward(&values, threads: threadCount)
            }
            consume(values)
            return Measurement(
                name: name, parameters: ["log_n": logSize, "n": domain.size], seconds: seconds, threads: threadCount,
                revision: context.revision)
        }
    }

    static var ntt: [Benchmark] {
        [
            nttBenchmark("ntt_2^20_1t", logSize: 20, threads: 1),
            nttBenchmark("ntt_2^20", logSize: 20, threads: nil),
        ]
    }

    static func micro(_ name: String, batch: Int, defaultRuns: Int = 7, _ body: @escaping () -> Void) -> Benchmark {
        Benchmark(name: name) { context, runs in
            let seconds = await measure(runs: runs ?? defaultRuns, batch: batch) { body() }
            return Measurement(
                name: name, parameters: ["batch": batch], seconds: seconds, threads: 1, revision: context.revision)
        }
    }

    static var micro: [Benchmark] {
        var rng = BenchRandom(state: 1)
        let a = Fp.random(using: &rng)
        let b = Fp.random(using: &rng)
        let g1 = G1.generator * Fr.random(using: &rng)
        let g1Affine = (G1.generator * Fr.random(using: &rng)).affine
        let g2 = G2.generator * Fr.random(using: &rng)
        let scalars = (0..<64).map { _ in Fr.random(using: &rng) }
        let pairs = (0..<4).map { _ in
            ((G1.generator * Fr.random(using: &rng)).affine, (G2.generator * Fr.random(using: &rng)).affine)
        }
        // Computed here, once, so that the timed loops below hold only the operation timed.
        let loop = Pairing.millerLoop([pairs[0]])
        let gt = Pairing.finalExponentiation(loop)
        let preparedPairs = pairs.map { ($0.0, G2Prepared($0.1)) }
        let batchPoints = (0..<64).map { _ in (G2.generator * Fr.random(using: &rng)).affine }
        return [
            micro("fp_mul", batch: 1_000_000) {
                var x = a
                for _ in 0..<1_000_000 { x = x * b }
                consume(x)
            },
            // Four independent chains: the cost of a product when the processor can
            // overlap several, against fp_mul's latency of one dependent chain.
            micro("fp_mul_throughput", batch: 1_000_000) {
                var (w, x, y, z) = (a, b, a + b, a - b)
                for _ in 0..<250_000 {
                    w = w * b
                    x = x * a
                    y = y * b
                    z = z * a
                }
                consume(w + x + y + z)
            },
            micro("fp_inverse", batch: 10_000) {
                var x = a
                for _ in 0..<10_000 { x = x.inverse()! + b }
                consume(x)
            },
            micro("g1_add_mixed", batch: 100_000) {
                var p = g1
                for _ in 0..<100_000 { p = p + g1Affine }
                consume(p)
            },
            micro("g1_add", batch: 100_000) {
                var p = g1
                for _ in 0..<100_000 { p = p + g1 }
                consume(p)
            },
            micro("g1_double", batch: 100_000) {
                var p = g1
                for _ in 0..<100_000 { p = p.doubled() }
                consume(p)
            },
            micro("g1_scalar_mul", batch: 1_000) {
                for i in 0..<1_000 { consume(g1 * scalars[i & 63]) }
            },
            micro("g2_scalar_mul", batch: 300) {
                for i in 0..<300 { consume(g2 * scalars[i & 63]) }
            },
            micro("pairing", batch: 50) {
                for i in 0..<50 { consume(Pairing.pairing(pairs[i & 3].0, pairs[i & 3].1)) }
            },
            micro("multi_pairing_4", batch: 20) {
                for _ in 0..<20 { consume(Pairing.productIsOne(pairs)) }
            },
            // The pairing's two halves and the tower products they are made of, to see
            // where the pairing's time goes.
            micro("miller_loop", batch: 50) {
                for i in 0..<50 { consume(Pairing.millerLoop([pairs[i & 3]])) }
            },
            // What a batch verification pays for each proof's B beyond its share of the
            // Miller loop: the subgroup check and the line preparation.
            micro("g2_subgroup_check", batch: 200) {
                for i in 0..<200 { consume(pairs[i & 3].1.isInSubgroup) }
            },
            micro("g2_line_preparation", batch: 200) {
                for i in 0..<200 { consume(G2Prepared(pairs[i & 3].1)) }
            },
            // A batch verification's B points, prepared together (the figure is per point).
            micro("g2_line_preparation_batch_64", batch: 64 * 5) {
                for _ in 0..<5 { consume(G2Prepared.batch(batchPoints)) }
            },
            micro("miller_loop_prepared_4", batch: 20) {
                for _ in 0..<20 { consume(Pairing.millerLoop(prepared: preparedPairs)) }
            },
            micro("final_exponentiation", batch: 50) {
                for _ in 0..<50 { consume(Pairing.finalExponentiation(loop)) }
            },
            micro("fp2_mul", batch: 100_000) {
                var x = Fp2(a, b)
                let y = Fp2(b, a)
                for _ in 0..<100_000 { x = x * y }
                consume(x)
            },
            micro("fp12_mul", batch: 10_000) {
                var x = gt
                for _ in 0..<10_000 { x = x * gt }
                consume(x)
            },
            micro("fp12_cyclotomic_square", batch: 10_000) {
                var x = gt
                for _ in 0..<10_000 { x = x.cyclotomicSquared() }
                consume(x)
            },
        ]
    }

    static func msmBenchmark<Curve>(
        _ name: String, logSize: Int, threads: Int?, generator: JacobianPoint<Curve>, defaultRuns: Int,
        multiply: @escaping ([AffinePoint<Curve>], [Fr], Int) async -> JacobianPoint<Curve>
    ) -> Benchmark {
        Benchmark(name: name) { context, runs in
            var rng = BenchRandom(state: UInt64(logSize))
            let count = 1 << logSize
            let points = pointSequence(
                count, start: generator * Fr.random(using: &rng), step: generator * Fr.random(using: &rng))
            let scalars = (0..<count).map { _ in Fr.random(using: &rng) }
            let threadCount = threads ?? context.threads
            let seconds = await measure(runs: runs ?? defaultRuns) {
                consume(await multiply(points, scalars, threadCount))
            }
            return Measurement(
                name: name, parameters: ["log_n": logSize, "n": count], seconds: seconds, threads: threadCount,
                revision: context.revision)
        }
    }

    static let g1MSM: @Sendable ([G1Affine], [Fr], Int) async -> G1 = {
        await MSM.multiply(points: $0, scalars: $1, threads: $2)
    }
    static let g2MSM: @Sendable ([G2Affine], [Fr], Int) async -> G2 = {
        await MSM.multiply(points: $0, scalars: $1, threads: $2)
    }

    /// An MSM size to time: log₂ of the point count, the default number of runs, and
    /// whether to time it on all threads as well as on one.
    struct MSMSize {
        let logSize: Int
        let runs: Int
        let allThreads: Bool
    }

    /// `g1_msm_2^k_1t` and, where asked, `g1_msm_2^k` on all threads; likewise for G2.
    static func msmBenchmarks<Curve>(
        _ prefix: String, _ sizes: [MSMSize], generator: JacobianPoint<Curve>,
        multiply: @escaping ([AffinePoint<Curve>], [Fr], Int) async -> JacobianPoint<Curve>
    ) -> [Benchmark] {
        sizes.flatMap { size in
            let name = "\(prefix)_msm_2^\(size.logSize)"
            let variants: [(name: String, threads: Int?)] = [(name + "_1t", 1)] + (size.allThreads ? [(name, nil)] : [])
            return variants.map { variant in
                msmBenchmark(
                    variant.name, logSize: size.logSize, threads: variant.threads, generator: generator,
                    defaultRuns: size.runs, multiply: multiply)
            }
        }
    }

    static var msm: [Benchmark] {
        // A handful of points (public inputs, the smallest circuits), the size of a shallow
        // Merkle proof's MSMs, where the fixed costs dominate, and a small circuit's.
        msmBenchmarks(
            "g1",
            [
                MSMSize(logSize: 3, runs: 200, allThreads: false), MSMSize(logSize: 10, runs: 50, allThreads: false),
                MSMSize(logSize: 12, runs: 20, allThreads: true), MSMSize(logSize: 16, runs: 5, allThreads: true),
                MSMSize(logSize: 20, runs: 3, allThreads: true),
            ], generator: G1.generator, multiply: g1MSM)
            + msmBenchmarks(
                "g2",
                [
                    MSMSize(logSize: 3, runs: 200, allThreads: false),
                    MSMSize(logSize: 10, runs: 50, allThreads: false),
                    MSMSize(logSize: 12, runs: 10, allThreads: true), MSMSize(logSize: 16, runs: 3, allThreads: false),
                ], generator: G2.generator, multiply: g2MSM)
    }
}
