import TestSupport
import Testing

@testable import BN254

@Suite("Multi-scalar multiplication")
struct MSMTests {
    func naive<C>(_ points: [AffinePoint<C>], _ scalars: [Fr]) -> JacobianPoint<C> {
        zip(points, scalars).reduce(JacobianPoint<C>.infinity) { $0 + $1.0 * $1.1 }
    }

    func randomInputs<C>(
        _ count: Int, generator: JacobianPoint<C>, using rng: inout SeededRandom
    ) -> ([AffinePoint<C>], [Fr]) {
        let points = JacobianPoint.batchAffine((0..<count).map { _ in generator * Fr.random(using: &rng) })
        return (points, (0..<count).map { _ in Fr.random(using: &rng) })
    }

    @Test(
        "G1 MSM equals the naive sum for many sizes, serial and parallel",
        arguments: [0, 1, 2, 3, 31, 32, 100, 700, 9000])
    func g1(count: Int) async {
        var rng = SeededRandom.forTest("msm g1 n=\(count)")
        let (points, scalars) = randomInputs(count, generator: G1.generator, using: &rng)
        let expected = naive(points, scalars)
        #expect(MSM.multiplySerial(points: points, scalars: scalars) == expected)
        #expect(await MSM.multiply(points: points, scalars: scalars, threads: 2) == expected)
        #expect(await MSM.multiply(points: points, scalars: scalars, threads: 5) == expected)
        // Both strategies, whichever the size picks.
        for splitting in [false, true] {
            #expect(MSM.multiplySerial(points: points, scalars: scalars, splitting: splitting) == expected)
            #expect(await MSM.multiply(points: points, scalars: scalars, threads: 2, splitting: splitting) == expected)
        }
    }

    @Test("a handful of points: interleaved windows agree with the buckets and the naive sum")
    func fewPoints() async {
        var rng = SeededRandom.forTest("msm few points")
        for count in 1...(MSM.Plan.strausLimit + 1) {
            var (points, scalars) = randomInputs(count, generator: G1.generator, using: &rng)
            // Edges the windows must take: a repeated and an opposite point, infinity, zero and r − 1.
            if count >= 5 {
                points[1] = points[0]
                points[2] = -points[0]
                points[3] = .infinity
                scalars[4] = .zero
                scalars[0] = -Fr.one
            }
            let expected = naive(points, scalars)
            #expect(MSM.interleavedG1(points: points, scalars: scalars) == expected, "G1, \(count) points")
            #expect(MSM.multiplySerial(points: points, scalars: scalars, splitting: false) == expected)
            #expect(await MSM.multiply(points: points, scalars: scalars) == expected)
        }
        var (points, scalars) = randomInputs(MSM.Plan.strausLimit, generator: G2.generator, using: &rng)
        points[1] = -points[0]
        scalars[2] = .zero
        let expected = naive(points, scalars)
        #expect(MSM.interleavedG2(points: points, scalars: scalars) == expected)
        #expect(MSM.multiplySerialGeneric(rows: points, splitting: false, scalars: scalars) == expected)
        #expect(await MSM.multiply(points: points, scalars: scalars) == expected)
    }

    @Test("a few G2 points outside the subgroup: the sum is exact, as the buckets' is")
    func fewPointsOutsideG2() {
        var rng = SeededRandom.forTest("msm outside G2")
        var x = Fp2(Fp(5), .one)
        var points: [G2Affine] = []
        while points.count < 3 {
            if let y = (x.squared() * x + G2Curve.b).squareRoot(), !G2Affine(x: x, y: y).isInSubgroup {
                points.append(G2Affine(x: x, y: y))
            }
            x = x + .one
        }
        let scalars = (0..<3).map { _ in Fr.random(using: &rng) }
        let exact = zip(points, scalars).reduce(G2.infinity) { $0 + $1.0.jacobian.multiplied(by: $1.1.canonical) }
        #expect(MSM.multiplySerial(points: points, scalars: scalars) == exact)
        #expect(MSM.multiplySerialGeneric(rows: points, splitting: false, scalars: scalars) == exact)
    }

    @Test("G2 MSM equals the naive sum")
    func g2() async {
        var rng = SeededRandom.forTest("msm g2")
        let (points, scalars) = randomInputs(150, generator: G2.generator, using: &rng)
        #expect(await MSM.multiply(points: points, scalars: scalars, threads: 2) == naive(points, scalars))
    }

    /// Σ (k + 1)·B_k, one bucket at a time.
    static func windowSum<C>(_ buckets: [AffinePoint<C>]) -> JacobianPoint<C> {
        var sum = JacobianPoint<C>.infinity
        for (k, bucket) in buckets.enumerated() where !bucket.isInfinity {
            sum = sum + bucket.jacobian.multiplied(by: UInt256(UInt64(k + 1)))
        }
        return sum
    }

    /// ±(i + 1)·G for a few i, so that equal and opposite points meet often.
    static func fewPoints<C>(_ generator: JacobianPoint<C>, count: Int) -> [AffinePoint<C>] {
        var multiples = [generator]
        while multiples.count < count { multiples.append(multiples.last! + generator) }
        let affine = JacobianPoint.batchAffine(multiples)
        return affine + affine.map { -$0 }
    }

    @Test("affine lanes reduce a window as the running sum does, through empty, equal and opposite buckets")
    func affineLanes() {
        var rng = SeededRandom.forTest("affine lanes")
        func check<C>(_ generator: JacobianPoint<C>, bucketCounts: [Int], using rng: inout SeededRandom) {
            let few = Self.fewPoints(generator, count: 3)
            for bucketCount in bucketCounts {
                let lanes = AffineLanes<C>(bucketsPerWindow: bucketCount, windows: 1)!
                let p = few[0]
                let patterns: [(String, [AffinePoint<C>])] = [
                    ("empty", Array(repeating: .infinity, count: bucketCount)),
                    ("all equal", Array(repeating: p, count: bucketCount)),
                    ("alternating P, −P", (0..<bucketCount).map { $0 % 2 == 0 ? p : -p }),
                    ("only the top bucket", (0..<bucketCount).map { $0 == bucketCount - 1 ? p : .infinity }),
                    ("only the bottom bucket", (0..<bucketCount).map { $0 == 0 ? p : .infinity }),
                    (
                        "a few points, a third empty",
                        (0..<bucketCount).map { _ in
                            Int.random(in: 0..<3, using: &rng) == 0 ? .infinity : few.randomElement(using: &rng)!
                        }
                    ),
                ]
                for (name, buckets) in patterns {
                    #expect(
                        lanes.reduce([buckets]) == [Self.windowSum(buckets)],
                        "\(C.name), \(bucketCount) buckets, \(name)")
                }
            }
        }
        check(G1.generator, bucketCounts: [1024, 4096], using: &rng)
        check(G2.generator, bucketCounts: [1024], using: &rng)
    }

    @Test("the windows of a group reduce in lanes together, each to its own sum; too few lanes are refused")
    func groupedLanes() {
        var rng = SeededRandom.forTest("grouped lanes")
        #expect(AffineLanes<G1Curve>(bucketsPerWindow: 512, windows: 1) == nil)
        #expect(AffineLanes<G1Curve>(bucketsPerWindow: 16, windows: 63) == nil)
        #expect(AffineLanes<G1Curve>(bucketsPerWindow: 8, windows: 512) == nil)
        func check<C>(_ generator: JacobianPoint<C>, bucketsPerWindow: Int, windows: Int, using rng: inout SeededRandom)
        {
            let few = Self.fewPoints(generator, count: 3)
            let lanes = AffineLanes<C>(bucketsPerWindow: bucketsPerWindow, windows: windows)!
            // Every window different: empty, one point everywhere, alternating, sparse random, dense random.
            let buckets: [[AffinePoint<C>]] = (0..<windows).map { w in
                (0..<bucketsPerWindow).map { k in
                    switch w % 5 {
                    case 0: return .infinity
                    case 1: return few[0]
                    case 2: return k % 2 == 0 ? few[1] : -few[1]
                    case 3: return Int.random(in: 0..<8, using: &rng) == 0 ? few.randomElement(using: &rng)! : .infinity
                    default: return few.randomElement(using: &rng)!
                    }
                }
            }
            #expect(lanes.reduce(buckets) == buckets.map(Self.windowSum), "\(C.name), \(windows) × \(bucketsPerWindow)")
        }
        check(G1.generator, bucketsPerWindow: 512, windows: 5, using: &rng)
        check(G1.generator, bucketsPerWindow: 16, windows: 64, using: &rng)
        check(G2.generator, bucketsPerWindow: 256, windows: 6, using: &rng)
    }

    /// 2,048 buckets fit a core's cache; 2^15 do not, and their batches are touched first.
    @Test(
        "buckets with overflow sums reduce the same in affine lanes and in Jacobian coordinates",
        arguments: [2048, 1 << 15])
    func overflowFolding(bucketCount: Int) {
        var rng = SeededRandom.forTest("overflow folding \(bucketCount)")
        let points = Self.fewPoints(G1.generator, count: 5)
        let accumulator = BucketAccumulator<G1Curve>(bucketCount: bucketCount)
        #expect(accumulator.bucketsOutgrowCache == (bucketCount > 2048))
        accumulator.occupancy.update(repeating: BucketOccupancy.empty, count: bucketCount)
        var expected = [JacobianPoint<G1Curve>](repeating: .infinity, count: bucketCount)
        points.withUnsafeBufferPointer { points in
            // A hundred hot buckets take most additions, so batches collide and overflow.
            for _ in 0..<20_000 {
                let k =
                    Int.random(in: 0..<8, using: &rng) == 0
                    ? Int.random(in: 0..<bucketCount, using: &rng)
                    : Int.random(in: 0..<100, using: &rng) * 20
                let entry = Int.random(in: 0..<points.count, using: &rng)
                let negated = Bool.random(using: &rng)
                accumulator.accumulate(entry: entry << 1 | (negated ? 1 : 0), into: k, points: points)
                expected[k] = expected[k] + (negated ? -points[entry] : points[entry])
            }
            accumulator.finish(points: points)
        }
        let overflowed = (0..<bucketCount).filter { accumulator.occupancy[$0] & BucketOccupancy.overflowBit != 0 }
        #expect(!overflowed.isEmpty, "the test must exercise overflow sums")
        #expect(accumulator.batchCount == 0 && accumulator.deferredCount == 0)
        let window = accumulator.window(0..<bucketCount)
        #expect(zip(window, expected).allSatisfy { $0.jacobian == $1 })
        let sum = accumulator.reduce(windows: 1, bucketsPerWindow: bucketCount)[0]
        #expect(sum == accumulator.reduceInJacobian(buckets: 0..<bucketCount))
        #expect(sum == Self.windowSum(JacobianPoint.batchAffine(expected)))
    }

    @Test("duplicates, opposite points, infinity, zero and extreme scalars")
    func edgeCases() async {
        var rng = SeededRandom.forTest("msm edge cases")
        let p = (G1.generator * Fr.random(using: &rng)).affine
        let q = (G1.generator * Fr.random(using: &rng)).affine
        let minusOne = -Fr.one
        // Many copies of the same points force doublings and cancellations inside buckets.
        var points: [G1Affine] = []
        var scalars: [Fr] = []
        for i in 0..<600 {
            switch i % 6 {
            case 0:
                points.append(p)
                scalars.append(Fr(7))
            case 1:
                points.append(-p)
                scalars.append(Fr(7))
            case 2:
                points.append(q)
                scalars.append(minusOne)
            case 3:
                points.append(.infinity)
                scalars.append(Fr.random(using: &rng))
            case 4:
                points.append(p)
                scalars.append(.zero)
            default:
                points.append(q)
                scalars.append(Fr.random(using: &rng))
            }
        }
        let expected = naive(points, scalars)
        for splitting in [false, true] {
            #expect(MSM.multiplySerial(points: points, scalars: scalars, splitting: splitting) == expected)
            #expect(await MSM.multiply(points: points, scalars: scalars, threads: 2, splitting: splitting) == expected)
        }
        // All-zero scalars and a single point with scalar r − 1.
        #expect(await MSM.multiply(points: [p, q], scalars: [.zero, .zero]).isInfinity)
        #expect(await MSM.multiply(points: [p], scalars: [minusOne]) == -p.jacobian)
    }

    /// Σ digit_j · 2^(c·j) for one row, computed in Fr; every digit checked to be in range.
    static func value(ofRow row: Int, _ digits: [Int32], plan: MSM.Plan) -> Fr {
        var value = Fr.zero
        for window in (0..<plan.windowCount).reversed() {
            value = value * Fr(UInt64(1) << UInt64(plan.windowBits))
            let digit = digits[window * plan.count + row]
            #expect(abs(Int(digit)) <= plan.bucketCount)
            value = value + (digit >= 0 ? Fr(UInt64(digit)) : -Fr(UInt64(-digit)))
        }
        return value
    }

    static let digitScalars: [Fr] = {
        var rng = SeededRandom.forTest("signed digits")
        return (0..<40).map { _ in Fr.random(using: &rng) } + [
            -Fr.one, .zero, .one, Fr(reducing: UInt256(0, 0, 0, 1 << 61)), G1Endomorphism.lambda,
            -G1Endomorphism.lambda,
        ]
    }()

    @Test("the window plan covers every scalar bit and keeps digits in range, for every window size")
    func signedDigitsReconstruct() {
        for count in [1, 40, 5000, 1 << 20] {
            for splitting in [false, true] {
                let plan = MSM.Plan(scalarCount: count, splitting: splitting)
                let bits = MSM.Plan.scalarBits(splitting: splitting)
                #expect(plan.windowBits * plan.windowCount >= bits)
            }
        }
        let scalars = Self.digitScalars
        var points = [AffinePoint<G1Curve>](repeating: G1.generator.affine, count: scalars.count)
        points[1] = .infinity  // its digits must all be zero
        for windowBits in 3...MSM.Plan.maximumWindowBits {
            let plan = MSM.Plan(scalarCount: scalars.count, splitting: false, windowBits: windowBits)
            let digits = SignedDigits(scalars, skippingInfinityOf: points, plan: plan).withDigits { Array($0) }
            for (i, scalar) in scalars.enumerated() {
                #expect(
                    Self.value(ofRow: i, digits, plan: plan) == (i == 1 ? .zero : scalar),
                    "scalar \(i), c = \(windowBits)")
            }
        }
    }

    @Test("window groups cover every window once, in order, within the bucket limit, dealt evenly among the tasks")
    func windowGroups() {
        for count in [1, 40, 700, 4096, 4860, 9720, 1 << 16, 1 << 21] {
            for splitting in [false, true] {
                let plan = MSM.Plan(scalarCount: count, splitting: splitting)
                for tasks in [1, 2, 3, 8] {
                    let groups = plan.windowGroups(tasks: tasks)
                    #expect(groups.flatMap { Array($0) } == Array(0..<plan.windowCount))
                    #expect(groups.allSatisfy { !$0.isEmpty && ($0.count == 1 || $0.count * plan.bucketCount <= 4096) })
                    let sizes = groups.map(\.count)
                    #expect(sizes.max()! - sizes.min()! <= 1, "\(sizes)")
                    // Every task gets as many groups (two at least), unless there are too few windows.
                    #expect(groups.count == plan.windowCount || groups.count % tasks == 0, "\(sizes) for \(tasks)")
                    #expect(groups.count >= min(plan.windowCount, 2 * tasks))
                }
            }
        }
    }

    @Test("the GLV halves' digits give every scalar back as k₁ + λ·k₂, for every window size")
    func splitDigitsReconstruct() {
        let scalars = Self.digitScalars
        let n = scalars.count
        var points = [AffinePoint<G1Curve>](repeating: G1.generator.affine, count: n)
        points[1] = .infinity  // its digits must all be zero
        for windowBits in 3...MSM.Plan.maximumWindowBits {
            let plan = MSM.Plan(scalarCount: n, splitting: true, windowBits: windowBits)
            let digits = SignedDigits(scalars, skippingInfinityOf: points, plan: plan).withDigits { Array($0) }
            for (i, scalar) in scalars.enumerated() {
                let k1 = Self.value(ofRow: i, digits, plan: plan)
                let k2 = Self.value(ofRow: n + i, digits, plan: plan)
                #expect(
                    k1 + G1Endomorphism.lambda * k2 == (i == 1 ? .zero : scalar), "scalar \(i), c = \(windowBits)")
            }
        }
    }

    @Test("digits built by several tasks equal those built on one thread")
    func signedDigitsInParallel() async {
        var rng = SeededRandom.forTest("signed digits in parallel")
        let count = 20_001
        let scalars = (0..<count).map { _ in Fr.random(using: &rng) }
        var points = [AffinePoint<G1Curve>](repeating: G1.generator.affine, count: count)
        for i in stride(from: 0, to: count, by: 997) { points[i] = .infinity }
        let plan = MSM.Plan(scalarCount: count, splitting: false)
        let serial = SignedDigits(scalars, skippingInfinityOf: points, plan: plan).withDigits { Array($0) }
        let splitPlan = MSM.Plan(scalarCount: count, splitting: true)
        let splitSerial = SignedDigits(scalars, skippingInfinityOf: points, plan: splitPlan).withDigits { Array($0) }
        for threads in [2, 3] {
            let parallel = await SignedDigits(scalars, skippingInfinityOf: points, plan: plan, threads: threads)
            #expect(parallel.withDigits { Array($0) } == serial, "threads = \(threads)")
            let splitParallel = await SignedDigits(
                scalars, skippingInfinityOf: points, plan: splitPlan, threads: threads)
            #expect(splitParallel.withDigits { Array($0) } == splitSerial, "threads = \(threads)")
        }
    }
}
