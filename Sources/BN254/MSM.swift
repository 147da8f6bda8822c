/// Multi-scalar multiplication Σ sᵢ·Pᵢ (Pippenger's bucket method).
///
/// Scalars are cut into c-bit signed digits in [−2^(c−1), 2^(c−1)], so each window
/// needs only 2^(c−1) buckets and a point's negation is free. Within a window, points
/// are added into buckets in affine coordinates, many independent additions sharing one
/// field inversion (Montgomery's trick): about 6 multiplications per addition instead of
/// 11 for a mixed Jacobian addition. Windows are independent and run in parallel.
public enum MSM {
    /// Σ scalars[i]·points[i] in G1 over `threads` tasks (the caller knows the machine).
    public static func multiply(points: [G1Affine], scalars: [Fr], threads: Int = 1) async -> G1 {
        await multiplyGeneric(points: points, scalars: scalars, threads: threads)
    }

    /// Σ scalars[i]·points[i] in G2 over `threads` tasks (the caller knows the machine).
    public static func multiply(points: [G2Affine], scalars: [Fr], threads: Int = 1) async -> G2 {
        await multiplyGeneric(points: points, scalars: scalars, threads: threads)
    }

    /// Σ scalars[i]·points[i] in G1 on the calling thread.
    public static func multiplySerial(points: [G1Affine], scalars: [Fr]) -> G1 {
        multiplySerialGeneric(points: points, scalars: scalars)
    }

    /// Σ scalars[i]·points[i] in G2 on the calling thread.
    public static func multiplySerial(points: [G2Affine], scalars: [Fr]) -> G2 {
        multiplySerialGeneric(points: points, scalars: scalars)
    }

    // The public entry points are concrete so that the generic code below is specialised
    // for each curve inside this module; called generically it would run through
    // protocol witnesses, several times slower.

    static func multiplyGeneric<Curve: CurveParameters>(
        points: [AffinePoint<Curve>], scalars: [Fr], threads: Int = 1
    ) async -> JacobianPoint<Curve> {
        precondition(points.count == scalars.count, "MSM needs one scalar per point")
        let canonical = scalars.map(\.canonical)
        return await multiply(points: points, canonicalScalars: canonical, threads: threads)
    }

    static func multiplySerialGeneric<Curve: CurveParameters>(
        points: [AffinePoint<Curve>], scalars: [Fr]
    ) -> JacobianPoint<Curve> {
        precondition(points.count == scalars.count, "MSM needs one scalar per point")
        let plan = Plan(count: points.count)
        let digits = signedDigits(scalars.map(\.canonical), plan: plan)
        var windows: [JacobianPoint<Curve>] = []
        points.withUnsafeBufferPointer { points in
            digits.withUnsafeBufferPointer { digits in
                var accumulator = BucketAccumulator<Curve>(bucketCount: plan.bucketCount)
                for window in 0..<plan.windowCount {
                    windows.append(accumulator.sumWindow(window, points: points, digits: digits, plan: plan))
                }
            }
        }
        return combine(windows, plan: plan)
    }

    /// Σ scalars[i]·points[i] for scalars already in canonical form (each below r).
    static func multiply<Curve: CurveParameters>(
        points: [AffinePoint<Curve>], canonicalScalars: [UInt256], threads: Int
    ) async -> JacobianPoint<Curve> {
        precondition(points.count == canonicalScalars.count, "MSM needs one scalar per point")
        let plan = Plan(count: points.count)
        let digits = signedDigits(canonicalScalars, plan: plan)
        let tasks = max(1, min(threads, plan.windowCount))
        let windows = await withTaskGroup(of: [(Int, JacobianPoint<Curve>)].self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var results: [(Int, JacobianPoint<Curve>)] = []
                    points.withUnsafeBufferPointer { points in
                        digits.withUnsafeBufferPointer { digits in
                            var accumulator = BucketAccumulator<Curve>(bucketCount: plan.bucketCount)
                            for window in stride(from: task, to: plan.windowCount, by: tasks) {
                                results.append(
                                    (window, accumulator.sumWindow(window, points: points, digits: digits, plan: plan)))
                            }
                        }
                    }
                    return results
                }
            }
            var windows = [JacobianPoint<Curve>](repeating: .infinity, count: plan.windowCount)
            for await results in group {
                for (index, sum) in results { windows[index] = sum }
            }
            return windows
        }
        return combine(windows, plan: plan)
    }

    /// Σ 2^(c·j)·windows[j], by Horner's rule from the top window down.
    static func combine<Curve>(_ windows: [JacobianPoint<Curve>], plan: Plan) -> JacobianPoint<Curve> {
        var result = JacobianPoint<Curve>.infinity
        for window in windows.reversed() {
            for _ in 0..<plan.windowBits { result = result.doubled() }
            result = result + window
        }
        return result
    }

    /// The window size and derived counts for an MSM of `count` points.
    struct Plan {
        let count: Int
        let windowBits: Int
        let windowCount: Int
        var bucketCount: Int { 1 << (windowBits - 1) }

        init(count: Int) {
            self.count = count
            windowBits = Plan.bestWindowBits(count)
            // Scalars are below r < 2^254; 255 bits leave room for the top window's carry.
            windowCount = (255 + windowBits - 1) / windowBits
        }

        /// The c minimising (windows) × (one addition per point + two per bucket to reduce).
        static func bestWindowBits(_ count: Int) -> Int {
            if count < 32 { return 3 }
            var best = 3
            var bestCost = Double.infinity
            for c in 3...20 {
                let windows = Double((255 + c - 1) / c)
                let cost = windows * (Double(count) * 6 + Double(1 << (c - 1)) * 2 * 11)
                if cost < bestCost {
                    bestCost = cost
                    best = c
                }
            }
            return best
        }
    }

    /// Signed c-bit digits of every scalar, window-major: digits[window · n + i].
    static func signedDigits(_ scalars: [UInt256], plan: Plan) -> [Int32] {
        let n = scalars.count
        let c = plan.windowBits
        let half = Int64(1) << Int64(c - 1)
        let full = Int64(1) << Int64(c)
        var digits = [Int32](repeating: 0, count: n * plan.windowCount)
        digits.withUnsafeMutableBufferPointer { digits in
            for (i, scalar) in scalars.enumerated() {
                var carry: Int64 = 0
                for window in 0..<plan.windowCount {
                    let start = window * c
                    var digit = carry
                    if start < 256 { digit += Int64(scalar.bits(from: start, count: min(c, 256 - start))) }
                    // Digits stay in [−2^(c−1), 2^(c−1)]: only values above half borrow from the next window.
                    if digit > half {
                        digit -= full
                        carry = 1
                    } else {
                        carry = 0
                    }
                    digits[window * n + i] = Int32(digit)
                }
            }
        }
        return digits
    }
}

/// The buckets of one window and the scratch space of batched affine additions,
/// reused from window to window so that no addition allocates.
struct BucketAccumulator<Curve: CurveParameters> {
    typealias Field = Curve.BaseField

    var buckets: [AffinePoint<Curve>]
    /// Whether a bucket has an addition waiting in the current batch.
    var pending: [Bool]
    var batchBuckets: [Int32] = []
    var batchPoints: [AffinePoint<Curve>] = []
    var denominators: [Field] = []
    var prefixProducts: [Field] = []
    /// Points whose bucket already had an addition in flight are added here instead, in
    /// Jacobian form: waiting for the batch would make windows with few distinct digits
    /// (the top one) quadratic.
    var overflow: [JacobianPoint<Curve>]
    var overflowUsed: [Int32] = []
    let batchCapacity: Int

    init(bucketCount: Int) {
        buckets = [AffinePoint<Curve>](repeating: .infinity, count: bucketCount)
        pending = [Bool](repeating: false, count: bucketCount)
        overflow = [JacobianPoint<Curve>](repeating: .infinity, count: bucketCount)
        // Large enough to amortise the inversion, small next to the bucket count to keep collisions rare.
        batchCapacity = max(16, min(2048, bucketCount / 8))
        batchBuckets.reserveCapacity(batchCapacity)
        batchPoints.reserveCapacity(batchCapacity)
        denominators.reserveCapacity(batchCapacity)
        prefixProducts.reserveCapacity(batchCapacity)
    }

    /// Σ digit(i)·Pᵢ for one window.
    mutating func sumWindow(
        _ window: Int, points: UnsafeBufferPointer<AffinePoint<Curve>>, digits: UnsafeBufferPointer<Int32>,
        plan: MSM.Plan
    ) -> JacobianPoint<Curve> {
        for k in buckets.indices { buckets[k] = .infinity }
        let base = window * plan.count
        for i in 0..<plan.count {
            let digit = digits[base + i]
            if digit == 0 { continue }
            let point = points[i]
            if point.isInfinity { continue }
            if digit > 0 {
                accumulate(point, into: Int32(digit - 1))
            } else {
                accumulate(-point, into: Int32(-digit - 1))
            }
        }
        flush()
        // Σ k·B_k as a running sum from the top bucket down.
        var running = JacobianPoint<Curve>.infinity
        var total = JacobianPoint<Curve>.infinity
        for k in buckets.indices.reversed() {
            running = running + buckets[k]
            if !overflow[k].isInfinity { running = running + overflow[k] }
            total = total + running
        }
        for k in overflowUsed { overflow[Int(k)] = .infinity }
        overflowUsed.removeAll(keepingCapacity: true)
        return total
    }

    @inline(__always)
    mutating func accumulate(_ point: AffinePoint<Curve>, into bucket: Int32) {
        let k = Int(bucket)
        if pending[k] {
            if overflow[k].isInfinity { overflowUsed.append(bucket) }
            overflow[k] = overflow[k] + point
            return
        }
        let current = buckets[k]
        if current.isInfinity {
            buckets[k] = point
            return
        }
        if current.x == point.x {
            // Doubling or cancellation: rare, so done on its own.
            buckets[k] = current.y == point.y ? current.jacobian.doubled().affine : .infinity
            return
        }
        pending[k] = true
        batchBuckets.append(bucket)
        batchPoints.append(point)
        denominators.append(point.x - current.x)
        if batchBuckets.count == batchCapacity { flush() }
    }

    /// Completes every addition in the batch with one inversion.
    mutating func flush() {
        let count = batchBuckets.count
        if count == 0 { return }
        prefixProducts.removeAll(keepingCapacity: true)
        var accumulator = Field.one
        for j in 0..<count {
            prefixProducts.append(accumulator)
            accumulator = accumulator * denominators[j]
        }
        var inverse = accumulator.inverse()!  // every denominator is non-zero
        for j in stride(from: count - 1, through: 0, by: -1) {
            let denominatorInverse = inverse * prefixProducts[j]
            inverse = inverse * denominators[j]
            let k = Int(batchBuckets[j])
            let bucket = buckets[k]
            let point = batchPoints[j]
            let slope = (point.y - bucket.y) * denominatorInverse
            let x3 = slope.squared() - bucket.x - point.x
            let y3 = slope * (bucket.x - x3) - bucket.y
            buckets[k] = AffinePoint(x: x3, y: y3)
            pending[k] = false
        }
        batchBuckets.removeAll(keepingCapacity: true)
        batchPoints.removeAll(keepingCapacity: true)
        denominators.removeAll(keepingCapacity: true)
    }
}
