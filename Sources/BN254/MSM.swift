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
        let plan = Plan(count: points.count)
        let digits = await SignedDigits(scalars, skippingInfinityOf: points, plan: plan, threads: threads)
        let tasks = max(1, min(threads, plan.windowCount))
        if tasks == 1 { return combine(sumWindows(0..<plan.windowCount, points: points, digits: digits), plan: plan) }
        // Windows are handed out one at a time as tasks finish rather than dealt out in
        // advance: the top window is cheaper than the others, and on a shared machine one
        // core can run slower than another for seconds, so a fixed split leaves a core idle.
        let windows = await withTaskGroup(of: (Int, JacobianPoint<Curve>).self) { group in
            var next = 0
            func start(_ window: Int) {
                group.addTask { (window, sumWindows(window..<window + 1, points: points, digits: digits)[0]) }
            }
            while next < tasks {
                start(next)
                next += 1
            }
            var windows = [JacobianPoint<Curve>](repeating: .infinity, count: plan.windowCount)
            while let (index, sum) = await group.next() {
                windows[index] = sum
                if next < plan.windowCount {
                    start(next)
                    next += 1
                }
            }
            return windows
        }
        return combine(windows, plan: plan)
    }

    static func multiplySerialGeneric<Curve: CurveParameters>(
        points: [AffinePoint<Curve>], scalars: [Fr]
    ) -> JacobianPoint<Curve> {
        precondition(points.count == scalars.count, "MSM needs one scalar per point")
        let plan = Plan(count: points.count)
        let digits = SignedDigits(scalars, skippingInfinityOf: points, plan: plan)
        return combine(sumWindows(0..<plan.windowCount, points: points, digits: digits), plan: plan)
    }

    /// The window sums Σ digit(i)·Pᵢ of the given windows, on the calling thread.
    static func sumWindows<Curve: CurveParameters>(
        _ windows: Range<Int>, points: [AffinePoint<Curve>], digits: SignedDigits
    ) -> [JacobianPoint<Curve>] {
        let plan = digits.plan
        let accumulator = BucketAccumulator<Curve>(bucketCount: plan.bucketCount)
        return points.withUnsafeBufferPointer { points in
            digits.withDigits { digits in
                windows.map { accumulator.sumWindow($0, points: points, digits: digits, plan: plan) }
            }
        }
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
    struct Plan: Sendable {
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
}

/// Signed c-bit digits of every scalar, window-major (digit[window · n + i]), in
/// [−2^(c−1), 2^(c−1)]: only a window value above half borrows one from the next window.
/// Every digit of a point at infinity is zero, so the bucket code never needs to look at
/// a point before it adds it.
///
/// A class that owns its storage so that several tasks can fill disjoint ranges of
/// scalars at once; it is read-only once built.
final class SignedDigits: @unchecked Sendable {
    let plan: MSM.Plan
    private let storage: UnsafeMutablePointer<Int32>

    private init(plan: MSM.Plan) {
        self.plan = plan
        storage = .allocate(capacity: max(1, plan.count * plan.windowCount))
    }

    deinit { storage.deallocate() }

    /// Built on the calling thread.
    convenience init<Curve>(_ scalars: [Fr], skippingInfinityOf points: [AffinePoint<Curve>], plan: MSM.Plan) {
        self.init(plan: plan)
        fill(0..<plan.count, scalars: scalars, points: points)
    }

    /// Built by up to `threads` tasks, each over its own range of scalars.
    convenience init<Curve>(
        _ scalars: [Fr], skippingInfinityOf points: [AffinePoint<Curve>], plan: MSM.Plan, threads: Int
    ) async {
        self.init(plan: plan)
        // Below a few thousand scalars the digits take microseconds: not worth a task.
        let tasks = max(1, min(threads, plan.count / 4096))
        if tasks == 1 {
            fill(0..<plan.count, scalars: scalars, points: points)
            return
        }
        let chunk = (plan.count + tasks - 1) / tasks
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                let range = task * chunk..<min(plan.count, (task + 1) * chunk)
                group.addTask { self.fill(range, scalars: scalars, points: points) }
            }
        }
    }

    /// The digits of the scalars in `range`.
    private func fill<Curve>(_ range: Range<Int>, scalars: [Fr], points: [AffinePoint<Curve>]) {
        let n = plan.count
        let c = plan.windowBits
        let half = Int64(1) << Int64(c - 1)
        let full = Int64(1) << Int64(c)
        let mask = (UInt64(1) << UInt64(c)) &- 1
        for i in range {
            if points[i].isInfinity {
                for window in 0..<plan.windowCount { storage[window * n + i] = 0 }
                continue
            }
            let scalar = scalars[i].canonical
            var carry: Int64 = 0
            for window in 0..<plan.windowCount {
                let start = window * c
                var digit = carry
                if start < 256 {
                    let limb = start >> 6
                    let shift = UInt64(start & 63)
                    var bits = scalar[limb: limb] >> shift
                    if limb < 3 && Int(shift) + c > 64 { bits |= scalar[limb: limb + 1] << (64 - shift) }
                    digit += Int64(bits & mask)
                }
                // Branch-free: whether a window borrows is as random as the scalar's bits.
                carry = digit > half ? 1 : 0
                digit -= carry * full
                storage[window * n + i] = Int32(digit)
            }
        }
    }

    /// Calls `body` with every digit, window-major.
    func withDigits<Result>(_ body: (UnsafeBufferPointer<Int32>) -> Result) -> Result {
        body(UnsafeBufferPointer(start: storage, count: plan.count * plan.windowCount))
    }
}

/// A bucket's state: the low two bits say empty, filled, or filled with an addition
/// queued in the current batch; `overflowBit` says whether its overflow sum is set.
enum BucketOccupancy {
    static let empty: UInt8 = 0
    static let filled: UInt8 = 1
    static let queued: UInt8 = 2
    static let stateMask: UInt8 = 3
    static let overflowBit: UInt8 = 4
}

/// The buckets of one window and the scratch space of batched affine additions,
/// reused from window to window so that no addition allocates.
///
/// The layout is chosen for the cache: at c ≥ 14 the buckets outgrow L2, and every
/// point lands in a random one. Each bucket's coordinates fill whole 64-byte lines
/// (no flag byte pushing them across a boundary), occupancy lives in a byte array
/// that stays in L1, and queuing an addition touches neither the point nor the
/// bucket. The flush then loads all of a batch's buckets in one loop of independent
/// iterations, so the processor overlaps those misses instead of waiting on each.
final class BucketAccumulator<Curve: CurveParameters> {
    typealias Field = Curve.BaseField

    /// An affine point without the infinity flag; `occupancy` says whether it is set.
    struct Coordinates {
        var x: Field
        var y: Field
    }

    let bucketCount: Int
    let buckets: UnsafeMutablePointer<Coordinates>
    let occupancy: UnsafeMutablePointer<UInt8>
    /// Points whose bucket already had an addition queued are added here instead, in
    /// Jacobian form: waiting for the batch would make windows with few distinct digits
    /// (the top one) quadratic.
    let overflow: UnsafeMutablePointer<JacobianPoint<Curve>>

    let batchCapacity: Int
    var batchCount = 0
    let batchBuckets: UnsafeMutablePointer<Int32>
    /// Point index times two, plus one if the point enters negated.
    let batchEntries: UnsafeMutablePointer<Int>
    let denominators: UnsafeMutablePointer<Field>
    let prefixProducts: UnsafeMutablePointer<Field>

    init(bucketCount: Int) {
        self.bucketCount = bucketCount
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: bucketCount * MemoryLayout<Coordinates>.stride, alignment: 64)
        buckets = raw.bindMemory(to: Coordinates.self, capacity: bucketCount)
        occupancy = .allocate(capacity: bucketCount)
        occupancy.initialize(repeating: BucketOccupancy.empty, count: bucketCount)
        // Left uninitialised (the type is trivial): a bucket's overflow is written
        // before its bit is set, and read only when the bit is set.
        overflow = .allocate(capacity: bucketCount)
        // Large enough to amortise the inversion, small next to the bucket count to keep
        // collisions rare, and small enough that a batch's buckets stay in L2 until used.
        // Below 64 the inversion (about 200 multiplications) outweighs the collisions a
        // larger batch brings when there are few buckets: at 4,860 constraints a floor of
        // 64 instead of 16 proved 10–15% faster on one thread.
        batchCapacity = max(64, min(2048, bucketCount / 8))
        batchBuckets = .allocate(capacity: batchCapacity)
        batchEntries = .allocate(capacity: batchCapacity)
        denominators = .allocate(capacity: batchCapacity)
        prefixProducts = .allocate(capacity: batchCapacity)
    }

    deinit {
        UnsafeMutableRawPointer(buckets).deallocate()
        occupancy.deallocate()
        overflow.deallocate()
        batchBuckets.deallocate()
        batchEntries.deallocate()
        denominators.deallocate()
        prefixProducts.deallocate()
    }

    /// Σ digit(i)·Pᵢ for one window. Digits of points at infinity must be zero.
    func sumWindow(
        _ window: Int, points: UnsafeBufferPointer<AffinePoint<Curve>>, digits: UnsafeBufferPointer<Int32>,
        plan: MSM.Plan
    ) -> JacobianPoint<Curve> {
        occupancy.update(repeating: BucketOccupancy.empty, count: bucketCount)
        let base = window * plan.count
        for i in 0..<plan.count {
            let digit = digits[base + i]
            if digit == 0 { continue }
            // Signs are random, so a branch on them would be mispredicted half the time.
            let signMask = digit >> 31
            let magnitude = Int((digit ^ signMask) &- signMask)
            accumulate(entry: i << 1 | Int(signMask & 1), into: magnitude - 1, points: points)
        }
        flush(points: points)
        // Σ k·B_k as a running sum from the top bucket down.
        var running = JacobianPoint<Curve>.infinity
        var total = JacobianPoint<Curve>.infinity
        for k in stride(from: bucketCount - 1, through: 0, by: -1) {
            let state = occupancy[k]
            if state & BucketOccupancy.stateMask != BucketOccupancy.empty {
                running = running + AffinePoint(x: buckets[k].x, y: buckets[k].y)
            }
            if state & BucketOccupancy.overflowBit != 0 { running = running + overflow[k] }
            total = total + running
        }
        return total
    }

    @inline(__always)
    func signedPoint(_ entry: Int, _ points: UnsafeBufferPointer<AffinePoint<Curve>>) -> Coordinates {
        let point = points[entry >> 1]
        return Coordinates(x: point.x, y: entry & 1 == 0 ? point.y : -point.y)
    }

    @inline(__always)
    func accumulate(entry: Int, into k: Int, points: UnsafeBufferPointer<AffinePoint<Curve>>) {
        let state = occupancy[k]
        switch state & BucketOccupancy.stateMask {
        case BucketOccupancy.empty:
            buckets[k] = signedPoint(entry, points)
            occupancy[k] = state | BucketOccupancy.filled
        case BucketOccupancy.filled:
            occupancy[k] = state ^ BucketOccupancy.filled ^ BucketOccupancy.queued
            batchBuckets[batchCount] = Int32(k)
            batchEntries[batchCount] = entry
            batchCount += 1
            if batchCount == batchCapacity { flush(points: points) }
        default:
            let point = signedPoint(entry, points)
            let affine = AffinePoint<Curve>(x: point.x, y: point.y)
            if state & BucketOccupancy.overflowBit == 0 {
                overflow[k] = affine.jacobian
                occupancy[k] = state | BucketOccupancy.overflowBit
            } else {
                overflow[k] = overflow[k] + affine
            }
        }
    }

    /// Completes every queued addition with one inversion.
    func flush(points: UnsafeBufferPointer<AffinePoint<Curve>>) {
        let count = batchCount
        if count == 0 { return }
        // Independent iterations: the bucket loads overlap. A zero denominator (the point
        // equals the bucket or its negation) is rare and finished below on its own; a one
        // stands in for it in the shared inversion.
        for j in 0..<count {
            let difference = points[batchEntries[j] >> 1].x - buckets[Int(batchBuckets[j])].x
            denominators[j] = difference.isZero ? .one : difference
        }
        var accumulator = Field.one
        for j in 0..<count {
            prefixProducts[j] = accumulator
            accumulator = accumulator * denominators[j]
        }
        var inverse = accumulator.inverse()!  // a product of non-zero denominators
        for j in stride(from: count - 1, through: 0, by: -1) {
            let denominatorInverse = inverse * prefixProducts[j]
            inverse = inverse * denominators[j]
            let k = Int(batchBuckets[j])
            let bucket = buckets[k]
            let point = signedPoint(batchEntries[j], points)
            if point.x == bucket.x {
                if point.y == bucket.y {
                    let doubled = AffinePoint<Curve>(x: bucket.x, y: bucket.y).jacobian.doubled().affine
                    buckets[k] = Coordinates(x: doubled.x, y: doubled.y)
                    occupancy[k] = occupancy[k] & BucketOccupancy.overflowBit | BucketOccupancy.filled
                } else {
                    occupancy[k] = occupancy[k] & BucketOccupancy.overflowBit | BucketOccupancy.empty
                }
                continue
            }
            let slope = (point.y - bucket.y) * denominatorInverse
            let x3 = slope.squared() - bucket.x - point.x
            let y3 = slope * (bucket.x - x3) - bucket.y
            buckets[k] = Coordinates(x: x3, y: y3)
            occupancy[k] = occupancy[k] & BucketOccupancy.overflowBit | BucketOccupancy.filled
        }
        batchCount = 0
    }
}
