/// Multi-scalar multiplication Σ sᵢ·Pᵢ (Pippenger's bucket method).
///
/// Scalars are cut into c-bit signed digits in [−2^(c−1), 2^(c−1)], so each window
/// needs only 2^(c−1) buckets and a point's negation is free. Within a window, points
/// are added into buckets in affine coordinates, many independent additions sharing one
/// field inversion (Montgomery's trick): about 6 multiplications per addition instead of
/// 11 for a mixed Jacobian addition. Windows are independent and run in parallel.
///
/// In G1 every scalar is first split by the endomorphism φ (GLV): sᵢ·Pᵢ = k₁·Pᵢ + k₂·φ(Pᵢ)
/// with k₁, k₂ below 2^128. Twice the points with half-length scalars make the same number
/// of bucket additions, but half the windows, so half the bucket sums to reduce.
public enum MSM {
    /// Σ scalars[i]·points[i] in G1 over `threads` tasks (the caller knows the machine).
    public static func multiply(points: [G1Affine], scalars: [Fr], threads: Int = 1) async -> G1 {
        if points.count <= Plan.strausLimit { return interleavedG1(points: points, scalars: scalars) }
        return await multiply(
            points: points, scalars: scalars, threads: threads, splitting: Plan.splitPays(count: points.count))
    }

    /// Σ scalars[i]·points[i] in G1, with or without the GLV split.
    static func multiply(points: [G1Affine], scalars: [Fr], threads: Int, splitting: Bool) async -> G1 {
        await multiplyGeneric(
            rows: rows(points, splitting: splitting), splitting: splitting, scalars: scalars, threads: threads)
    }

    /// Σ scalars[i]·points[i] in G2 over `threads` tasks (the caller knows the machine).
    public static func multiply(points: [G2Affine], scalars: [Fr], threads: Int = 1) async -> G2 {
        if points.count <= Plan.strausLimit { return interleavedG2(points: points, scalars: scalars) }
        return await multiplyGeneric(rows: points, splitting: false, scalars: scalars, threads: threads)
    }

    /// Σ scalars[i]·points[i] in G1 on the calling thread.
    public static func multiplySerial(points: [G1Affine], scalars: [Fr]) -> G1 {
        if points.count <= Plan.strausLimit { return interleavedG1(points: points, scalars: scalars) }
        return multiplySerial(points: points, scalars: scalars, splitting: Plan.splitPays(count: points.count))
    }

    /// Σ scalars[i]·points[i] in G1 on the calling thread, with or without the GLV split.
    static func multiplySerial(points: [G1Affine], scalars: [Fr], splitting: Bool) -> G1 {
        multiplySerialGeneric(rows: rows(points, splitting: splitting), splitting: splitting, scalars: scalars)
    }

    /// Σ scalars[i]·points[i] in G2 on the calling thread.
    public static func multiplySerial(points: [G2Affine], scalars: [Fr]) -> G2 {
        if points.count <= Plan.strausLimit { return interleavedG2(points: points, scalars: scalars) }
        return multiplySerialGeneric(rows: points, splitting: false, scalars: scalars)
    }

    // A few points (the public inputs, a tiny circuit's wires): buckets cost every window
    // its reduction however few points there are, 85 windows of 4 buckets at n < 32, which
    // took a shallow Merkle proof's five MSMs most of its time. Interleaved signed windows
    // (Straus) share one run of doublings among all the points instead.

    /// Σ kᵢ·Pᵢ in G1 by interleaved windows over the GLV halves: 128 shared doublings.
    static func interleavedG1(points: [G1Affine], scalars: [Fr]) -> G1 {
        precondition(points.count == scalars.count, "MSM needs one scalar per point")
        var terms: [(point: G1, parts: [ScalarPart])] = []
        terms.reserveCapacity(points.count)
        for (point, scalar) in zip(points, scalars) where !point.isInfinity && !scalar.isZero {
            let (k1, k1Negative, k2, k2Negative) = G1Endomorphism.decompose(scalar.canonical)
            terms.append((point.jacobian, [(k1, k1Negative), (k2, k2Negative)]))
        }
        return G1.interleavedSum(terms, endomorphism: \.phi)
    }

    /// Σ kᵢ·Pᵢ in G2 by interleaved windows over the whole scalars: exact for any point on
    /// the twist, as the bucket method is (a proving key's points are not assumed in G2).
    static func interleavedG2(points: [G2Affine], scalars: [Fr]) -> G2 {
        precondition(points.count == scalars.count, "MSM needs one scalar per point")
        var terms: [(point: G2, parts: [ScalarPart])] = []
        terms.reserveCapacity(points.count)
        for (point, scalar) in zip(points, scalars) where !point.isInfinity && !scalar.isZero {
            terms.append((point.jacobian, [(scalar.canonical, false)]))
        }
        // One part a point: the endomorphism is never applied.
        return G2.interleavedSum(terms, endomorphism: { $0 })
    }

    /// The points the buckets add: the points themselves, followed by their images φ(Pᵢ)
    /// when each scalar is split by GLV. Written into one array in one pass: at 2^20 points
    /// the images alone are 75 MB, and appending them to the points copied them again.
    static func rows(_ points: [G1Affine], splitting: Bool) -> [G1Affine] {
        guard splitting else { return points }
        let n = points.count
        return [G1Affine](unsafeUninitializedCapacity: 2 * n) { rows, count in
            points.withUnsafeBufferPointer { points in
                for i in 0..<n {
                    (rows.baseAddress! + i).initialize(to: points[i])
                    (rows.baseAddress! + n + i).initialize(to: points[i].phi)
                }
            }
            count = 2 * n
        }
    }

    /// Σ scalars[i]·rows[i], or with `splitting` Σ (k₁ᵢ·rows[i] + k₂ᵢ·rows[n + i]) where
    /// scalars[i] = k₁ᵢ + k₂ᵢ·λ and rows[n + i] = φ(rows[i]).
    static func multiplyGeneric<Curve: CurveParameters>(
        rows: [AffinePoint<Curve>], splitting: Bool, scalars: [Fr], threads: Int
    ) async -> JacobianPoint<Curve> {
        let plan = Plan(scalarCount: scalars.count, splitting: splitting)
        precondition(rows.count == plan.count, "MSM needs one scalar per point")
        let digits = await SignedDigits(scalars, skippingInfinityOf: rows, plan: plan, threads: threads)
        return await sum(points: rows, digits: digits, threads: threads)
    }

    /// The same on the calling thread.
    static func multiplySerialGeneric<Curve: CurveParameters>(
        rows: [AffinePoint<Curve>], splitting: Bool, scalars: [Fr]
    ) -> JacobianPoint<Curve> {
        let plan = Plan(scalarCount: scalars.count, splitting: splitting)
        precondition(rows.count == plan.count, "MSM needs one scalar per point")
        let digits = SignedDigits(scalars, skippingInfinityOf: rows, plan: plan)
        return sumSerial(points: rows, digits: digits)
    }

    // The public entry points are concrete so that the generic code below is specialised
    // for each curve inside this module; called generically it would run through
    // protocol witnesses, several times slower.

    /// Σ digit(i)·points[i] over all windows, by `threads` tasks.
    static func sum<Curve: CurveParameters>(
        points: [AffinePoint<Curve>], digits: SignedDigits, threads: Int
    ) async -> JacobianPoint<Curve> {
        let plan = digits.plan
        // The top group first: its window's digits take few distinct values, so its
        // batches meet many collisions and finish them in Jacobian form. At 2^16 G1 points
        // it took 26–34 ms against 23 for the others, and handed out last it left the
        // other core idle meanwhile.
        let groups = Array(plan.windowGroups(tasks: threads).reversed())
        if threads <= 1 || groups.count == 1 { return sumSerial(points: points, digits: digits) }
        // Groups are handed out one at a time as tasks finish rather than dealt out in
        // advance: windows differ in cost, and on a shared machine one core can run slower
        // than another for seconds, so a fixed split leaves a core idle.
        let windows = await withTaskGroup(of: (Range<Int>, [JacobianPoint<Curve>]).self) { taskGroup in
            var next = 0
            func start(_ windows: Range<Int>) {
                taskGroup.addTask { (windows, sumWindows(windows, points: points, digits: digits)) }
            }
            while next < min(threads, groups.count) {
                start(groups[next])
                next += 1
            }
            var windows = [JacobianPoint<Curve>](repeating: .infinity, count: plan.windowCount)
            while let (range, sums) = await taskGroup.next() {
                for (window, sum) in zip(range, sums) { windows[window] = sum }
                if next < groups.count {
                    start(groups[next])
                    next += 1
                }
            }
            return windows
        }
        return combine(windows, plan: plan)
    }

    /// Σ digit(i)·points[i] over all windows, on the calling thread.
    static func sumSerial<Curve: CurveParameters>(points: [AffinePoint<Curve>], digits: SignedDigits)
        -> JacobianPoint<Curve>
    {
        let groups = digits.plan.windowGroups(tasks: 1)
        return combine(groups.flatMap { sumWindows($0, points: points, digits: digits) }, plan: digits.plan)
    }

    /// The window sums Σ digit(i)·Pᵢ of a group of windows, accumulated together on the
    /// calling thread.
    static func sumWindows<Curve: CurveParameters>(
        _ windows: Range<Int>, points: [AffinePoint<Curve>], digits: SignedDigits
    ) -> [JacobianPoint<Curve>] {
        let plan = digits.plan
        precondition(points.count == plan.count, "one digit row per point")
        let accumulator = BucketAccumulator<Curve>(bucketCount: plan.bucketCount * windows.count)
        return points.withUnsafeBufferPointer { points in
            digits.withDigits { digits in
                accumulator.sumWindows(windows, points: points, digits: digits, plan: plan)
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
        /// Scalars below r < 2^254, with a bit to spare for the top window's carry.
        static let fullScalarBits = 255
        /// GLV halves below 2^128 in magnitude, with a bit to spare for the carry.
        static let splitScalarBits = 129
        /// Up to this many points, interleaved windows beat buckets (see `interleavedG1`).
        static let strausLimit = 16

        /// Whether each scalar is split by GLV into two rows of digits, for Pᵢ and φ(Pᵢ).
        let splitting: Bool
        /// The rows of digits, one per point the buckets add (twice the scalars when split).
        let count: Int
        let windowBits: Int
        let windowCount: Int
        var bucketCount: Int { 1 << (windowBits - 1) }

        init(scalarCount: Int, splitting: Bool) {
            let rows = Plan.rowCount(scalarCount: scalarCount, splitting: splitting)
            self.init(
                scalarCount: scalarCount, splitting: splitting,
                windowBits: Plan.bestWindowBits(rows, scalarBits: Plan.scalarBits(splitting: splitting)))
        }

        /// A plan with c-bit windows, 3 ≤ c ≤ `maximumWindowBits`.
        init(scalarCount: Int, splitting: Bool, windowBits: Int) {
            precondition((3...Plan.maximumWindowBits).contains(windowBits), "window size out of range")
            self.splitting = splitting
            count = Plan.rowCount(scalarCount: scalarCount, splitting: splitting)
            self.windowBits = windowBits
            windowCount = (Plan.scalarBits(splitting: splitting) + windowBits - 1) / windowBits
        }

        /// The rows the buckets add: each point, and its image φ(P) too when splitting.
        static func rowCount(scalarCount: Int, splitting: Bool) -> Int { splitting ? 2 * scalarCount : scalarCount }

        /// The bits the digits of a row must cover.
        static func scalarBits(splitting: Bool) -> Int { splitting ? splitScalarBits : fullScalarBits }

        /// The windows split into consecutive groups that are accumulated together, in one
        /// set of buckets. With few buckets per window, one window alone would allow only
        /// small batches (collisions grow with the batch), and each batch pays a field
        /// inversion: at 4,860 points and 512 buckets a batch of 64 doubled the cost of an
        /// addition. A group of windows shares its batches, so they grow with the group's
        /// buckets. Groups stop at 4,096 buckets (256 KiB, well inside L2), and there are at
        /// least two per task so that finishing tasks can balance.
        ///
        /// The windows are dealt evenly, and the number of groups is a multiple of the tasks
        /// where the windows allow: tasks take groups as they finish, so five equal groups
        /// on two tasks would leave one task alone with the last. At 4,096 G1 points, the
        /// two-thread MSM's median speedup over one thread went from 1.43 to 1.74 (five
        /// rounds alternating the builds), and a proof of 4,860 constraints on two threads
        /// took 0.90 of the time.
        func windowGroups(tasks: Int) -> [Range<Int>] {
            let tasks = max(1, tasks)
            let cacheBound = (windowCount * bucketCount + 4095) / 4096
            let wanted = max(cacheBound, 2 * tasks)
            let count = min(windowCount, (wanted + tasks - 1) / tasks * tasks)
            var groups: [Range<Int>] = []
            var start = 0
            for index in 0..<count {
                let size = windowCount / count + (index < windowCount % count ? 1 : 0)
                groups.append(start..<start + size)
                start += size
            }
            return groups
        }

        /// The c minimising the estimated cost.
        static func bestWindowBits(_ count: Int, scalarBits: Int) -> Int {
            if count < 32 { return 3 }
            return (3...maximumWindowBits).min { cost(count, scalarBits, $0) < cost(count, scalarBits, $1) }!
        }

        // At 2^15 buckets (2 MiB of coordinates, twice `cacheBytes`) the bucket loads
        // already miss, and above it that costs more than a larger window saves: at 2^20
        // G1 points split by GLV, c = 17 ran 11–17% slower than the unsplit MSM (c = 16),
        // and c = 16 only 4–11% slower, in runs alternating the builds.
        static let maximumWindowBits = 16

        /// A core's L2 cache on the machines we measure on (AMD EPYC, 1 MiB).
        static let cacheBytes = 1 << 20

        /// The estimated cost in field products of an MSM with c-bit windows.
        static func cost(_ count: Int, _ scalarBits: Int, _ c: Int) -> Double {
            // The spare carry bit costs no window of its own: a window holding only carries
            // has almost no non-zero digit to add.
            let windows = Double(scalarBits - 1) / Double(c)
            // An affine bucket addition is about 6 products; reducing a bucket takes a mixed
            // and a Jacobian addition, about 27.
            return windows * (Double(count) * 6 + Double(1 << (c - 1)) * 27)
        }

        /// Whether splitting the scalars of `count` G1 points by GLV is expected to be faster:
        /// it halves the bucket reductions, at the price of the split, the φ images and twice
        /// the points to stream through memory. That price, 6 products a point, is
        /// calibrated by measurement: at 2^16 points the split was about 14% faster, at 2^20
        /// (where the reductions are a small share) the two were even.
        static func splitPays(count: Int) -> Bool {
            if count < 32 { return false }
            let plain = cost(count, fullScalarBits, bestWindowBits(count, scalarBits: fullScalarBits))
            let split =
                cost(2 * count, splitScalarBits, bestWindowBits(2 * count, scalarBits: splitScalarBits))
                + 6 * Double(count)
            return split < plain
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
        fill(0..<scalars.count, scalars: scalars, points: points)
    }

    /// Built by up to `threads` tasks, each over its own range of scalars.
    convenience init<Curve>(
        _ scalars: [Fr], skippingInfinityOf points: [AffinePoint<Curve>], plan: MSM.Plan, threads: Int
    ) async {
        self.init(plan: plan)
        // Below a few thousand scalars the digits take microseconds: not worth a task.
        let count = scalars.count
        let tasks = max(1, min(threads, count / 4096))
        if tasks == 1 {
            fill(0..<count, scalars: scalars, points: points)
            return
        }
        let chunk = (count + tasks - 1) / tasks
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                let range = task * chunk..<min(count, (task + 1) * chunk)
                group.addTask { self.fill(range, scalars: scalars, points: points) }
            }
        }
    }

    /// The rows of the scalars in `range`: row i, or rows i and n + i (the digits of k₁
    /// for Pᵢ and of k₂ for φ(Pᵢ)) when the plan splits.
    private func fill<Curve>(_ range: Range<Int>, scalars: [Fr], points: [AffinePoint<Curve>]) {
        let n = scalars.count
        precondition(plan.count == (plan.splitting ? 2 * n : n), "the plan is for another number of scalars")
        for i in range {
            if points[i].isInfinity {
                writeZeros(row: i)
                if plan.splitting { writeZeros(row: n + i) }
            } else if plan.splitting {
                let (k1, k1Negative, k2, k2Negative) = G1Endomorphism.decompose(scalars[i].canonical)
                write(k1, negated: k1Negative, row: i)
                write(k2, negated: k2Negative, row: n + i)
            } else {
                write(scalars[i].canonical, negated: false, row: i)
            }
        }
    }

    private func writeZeros(row: Int) {
        for window in 0..<plan.windowCount { storage[window * plan.count + row] = 0 }
    }

    /// The digits of ±magnitude into one row; the magnitude must fit in the plan's windows.
    @inline(__always)
    private func write(_ magnitude: UInt256, negated: Bool, row: Int) {
        let n = plan.count
        let c = plan.windowBits
        let mask = (UInt64(1) << UInt64(c)) &- 1
        let half = Int64(1) << Int64(c - 1)
        let full = Int64(1) << Int64(c)
        // Negating every digit negates the value; it costs no branch on the data.
        let sign: Int64 = negated ? -1 : 1
        var carry: Int64 = 0
        // A window's bits come from one unaligned load at its first byte, shifted by at
        // most 7: 57 bits, more than any window. The limbs are little-endian in memory on
        // every platform Swift runs on, and the zero word keeps the last loads in bounds
        // (windows start below bit 255).
        var words = (magnitude.l0, magnitude.l1, magnitude.l2, magnitude.l3, UInt64(0))
        withUnsafeBytes(of: &words) { bytes in
            for window in 0..<plan.windowCount {
                let start = window &* c
                let bits = bytes.loadUnaligned(fromByteOffset: start >> 3, as: UInt64.self) >> UInt64(start & 7)
                var digit = carry &+ Int64(bitPattern: bits & mask)
                // Branch-free: whether a window borrows is as random as the scalar's bits.
                carry = digit > half ? 1 : 0
                digit &-= carry &* full
                storage[window &* n &+ row] = Int32(truncatingIfNeeded: digit &* sign)
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
/// The layout is chosen for the cache: at c = 16 the G1 buckets outgrow L2 (at 15 they
/// fill it), and every point lands in a random one. Each bucket's coordinates fill whole
/// 64-byte lines (no flag byte pushing them across a boundary), occupancy lives in a
/// byte array that stays in L1, and queuing an addition touches neither the point nor
/// the bucket. When the buckets outgrow L2, the flush first loads all of a batch's
/// buckets in a tight loop of independent iterations (`touchBuckets`), so the processor
/// overlaps those misses instead of waiting on each.
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
    /// Points whose bucket already has an addition queued wait here for the next batch,
    /// as long as there is room: at 4,096 buckets a window and batches of 512, some 6% of
    /// the points meet such a bucket. Bucket indices, and entries as in `batchEntries`.
    let deferredCapacity: Int
    var deferredCount = 0
    let deferredBuckets: UnsafeMutablePointer<Int32>
    let deferredEntries: UnsafeMutablePointer<Int>
    /// When the deferred room is full (windows with few distinct digits, like the top one,
    /// would otherwise wait batch after batch), such a point is added here instead, in
    /// Jacobian form, at about twice the cost of a batched addition.
    let overflow: UnsafeMutablePointer<JacobianPoint<Curve>>

    /// Whether the buckets are larger than a core's L2 cache (`MSM.Plan.cacheBytes`), so
    /// that a batch's bucket loads miss and are worth touching first
    /// (`touchBuckets`): at 2^20 G1 points (2 MiB of buckets) that took 0.91–0.96 of the
    /// time, while with buckets that fit (G2 at 2^16 points) it took 0.99–1.08.
    let bucketsOutgrowCache: Bool
    /// The last value `touchBuckets` read.
    var touchedWords: UInt64 = 0
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
        bucketsOutgrowCache = bucketCount * MemoryLayout<Coordinates>.stride > MSM.Plan.cacheBytes
        occupancy = .allocate(capacity: bucketCount)
        occupancy.initialize(repeating: BucketOccupancy.empty, count: bucketCount)
        // Left uninitialised (the type is trivial): a bucket's overflow is written
        // before its bit is set, and read only when the bit is set.
        overflow = .allocate(capacity: bucketCount)
        // Large enough to amortise the inversion, small next to the bucket count to keep
        // collisions rare, and small enough that a batch's buckets stay in L2 until used.
        // Below 64 the inversion (some 400 multiplications by Fermat's theorem when this was
        // measured, about 85 by divsteps now) outweighs the collisions a larger batch brings
        // when there are few buckets; window groups (`windowGroups`)
        // keep the bucket count, and so the batch, large for small MSMs. Above 512 the
        // inversion is already negligible, while collisions, and the Jacobian overflow sums
        // they leave for the reduction, grow with the batch: at 2^15 buckets (2^20 points)
        // a cap of 512 instead of 2,048 took 7% off the MSM, and 256 gained nothing more.
        batchCapacity = max(64, min(512, bucketCount / 8))
        deferredCapacity = batchCapacity / 4
        deferredBuckets = .allocate(capacity: deferredCapacity)
        deferredEntries = .allocate(capacity: deferredCapacity)
        batchBuckets = .allocate(capacity: batchCapacity)
        batchEntries = .allocate(capacity: batchCapacity)
        denominators = .allocate(capacity: batchCapacity)
        prefixProducts = .allocate(capacity: batchCapacity)
    }

    deinit {
        UnsafeMutableRawPointer(buckets).deallocate()
        occupancy.deallocate()
        overflow.deallocate()
        deferredBuckets.deallocate()
        deferredEntries.deallocate()
        batchBuckets.deallocate()
        batchEntries.deallocate()
        denominators.deallocate()
        prefixProducts.deallocate()
    }

    /// Σ digit(i)·Pᵢ for each window of a group; window j of the group uses buckets
    /// j·(buckets per window) onwards. Digits of points at infinity must be zero.
    func sumWindows(
        _ windows: Range<Int>, points: UnsafeBufferPointer<AffinePoint<Curve>>, digits: UnsafeBufferPointer<Int32>,
        plan: MSM.Plan
    ) -> [JacobianPoint<Curve>] {
        let perWindow = plan.bucketCount
        precondition(windows.count * perWindow <= bucketCount, "too few buckets for the group")
        occupancy.update(repeating: BucketOccupancy.empty, count: windows.count * perWindow)
        let n = plan.count
        for i in 0..<n {
            var bucketBase = 0
            for window in windows {
                let digit = digits[window * n + i]
                if digit != 0 {
                    // Signs are random, so a branch on them would be mispredicted half the time.
                    let signMask = digit >> 31
                    let magnitude = Int((digit ^ signMask) &- signMask)
                    accumulate(entry: i << 1 | Int(signMask & 1), into: bucketBase + magnitude - 1, points: points)
                }
                bucketBase += perWindow
            }
        }
        finish(points: points)
        return reduce(windows: windows.count, bucketsPerWindow: perWindow)
    }

    /// Σ (k + 1)·B_k over each window's buckets, for the first `count` windows: in affine
    /// lanes that step together across the windows when there are enough of them.
    func reduce(windows count: Int, bucketsPerWindow perWindow: Int) -> [JacobianPoint<Curve>] {
        let ranges = (0..<count).map { $0 * perWindow..<($0 + 1) * perWindow }
        guard let lanes = AffineLanes<Curve>(bucketsPerWindow: perWindow, windows: count) else {
            return ranges.map { reduceInJacobian(buckets: $0) }
        }
        return lanes.reduce(ranges.map { window($0) })
    }

    /// One window's buckets as affine points, each overflow sum folded into its bucket
    /// (made affine together, then added in one batch).
    func window(_ range: Range<Int>) -> [AffinePoint<Curve>] {
        var sums = [AffinePoint<Curve>](repeating: .infinity, count: range.count)
        var overflowed: [Int] = []
        for (index, k) in range.enumerated() {
            let state = occupancy[k]
            if state & BucketOccupancy.stateMask != BucketOccupancy.empty {
                sums[index] = AffinePoint(x: buckets[k].x, y: buckets[k].y)
            }
            if state & BucketOccupancy.overflowBit != 0 { overflowed.append(index) }
        }
        if !overflowed.isEmpty {
            let addends = JacobianPoint.batchAffine(overflowed.map { overflow[range.lowerBound + $0] })
            var batch = AffineBatch<Curve>(capacity: overflowed.count)
            sums.withUnsafeMutableBufferPointer { sums in
                for (index, addend) in zip(overflowed, addends) { batch.queue(sums.baseAddress! + index, addend) }
                batch.complete()
            }
        }
        return sums
    }

    /// Σ (k + 1)·B_k as a running sum from the top bucket down, in Jacobian coordinates:
    /// for windows too small for affine lanes.
    func reduceInJacobian(buckets range: Range<Int>) -> JacobianPoint<Curve> {
        var running = JacobianPoint<Curve>.infinity
        var total = JacobianPoint<Curve>.infinity
        for k in range.reversed() {
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
            if batchCount == batchCapacity { flushBatch(points: points) }
        default:
            if deferredCount < deferredCapacity {
                deferredBuckets[deferredCount] = Int32(k)
                deferredEntries[deferredCount] = entry
                deferredCount += 1
                return
            }
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

    /// Completes every queued and deferred addition.
    func finish(points: UnsafeBufferPointer<AffinePoint<Curve>>) {
        // A flush queues the points it deferred again, so it may leave a batch behind.
        while batchCount > 0 { flushBatch(points: points) }
    }

    /// Loads one word of every cache line of the batch's buckets, in a loop that does
    /// nothing else: its iterations are a few instructions each, so the processor keeps
    /// many of the misses in flight at once, where the subtractions of the flush's first
    /// loop left room for only a few. The words are kept so that the loads stay.
    func touchBuckets(count: Int) {
        var touched: UInt64 = 0
        for j in 0..<count {
            let bucket = UnsafeRawPointer(buckets + Int(batchBuckets[j]))
            for offset in stride(from: 0, to: MemoryLayout<Coordinates>.stride, by: 64) {
                touched |= bucket.load(fromByteOffset: offset, as: UInt64.self)
            }
        }
        touchedWords = touched
    }

    /// Completes every queued addition with one inversion, then queues the deferred points
    /// for the next batch.
    func flushBatch(points: UnsafeBufferPointer<AffinePoint<Curve>>) {
        let count = batchCount
        if count == 0 { return }
        if bucketsOutgrowCache { touchBuckets(count: count) }
        // Independent iterations: the bucket loads overlap. A zero denominator (the point
        // equals the bucket or its negation) is rare and finished below on its own; a one
        // stands in for it in the shared inversion.
        for j in 0..<count {
            let difference = points[batchEntries[j] >> 1].x - buckets[Int(batchBuckets[j])].x
            denominators[j] = difference.isZero ? .one : difference
        }
        // The slope stays unreduced like the inverse it is made of; the slope's square and
        // the new y, which are stored and compared, are reduced.
        var inverses = BatchInverses(of: denominators, count: count, prefixProducts: prefixProducts)
        while inverses.index >= 0 {
            let j = inverses.index
            let denominatorInverse = inverses.next()
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
            let slope = Field.chainedProduct(point.y - bucket.y, denominatorInverse)
            let (x3, y3) = chordSum(bucket.x, bucket.y, point.x, slope: slope)
            buckets[k] = Coordinates(x: x3, y: y3)
            occupancy[k] = occupancy[k] & BucketOccupancy.overflowBit | BucketOccupancy.filled
        }
        batchCount = 0
        // The deferred points go into the batch just emptied; fewer than its capacity, so
        // this cannot flush again. One may be deferred anew (two for one bucket), written
        // at an index already read.
        let deferred = deferredCount
        deferredCount = 0
        for d in 0..<deferred {
            accumulate(entry: deferredEntries[d], into: Int(deferredBuckets[d]), points: points)
        }
    }
}

/// (x₁, y₁) + (x₂, y₂) in affine coordinates, given the slope λ of the line through them
/// (or of the tangent, for a doubling): the one formula every batched addition ends in.
@inline(__always)
func chordSum<Field: FieldElement>(_ x1: Field, _ y1: Field, _ x2: Field, slope: Field) -> (x: Field, y: Field) {
    let x3 = slope.squared() - x1 - x2
    return (x3, slope * (x1 - x3) - y1)
}

/// Independent affine additions target += addend, completed together with one field
/// inversion (Montgomery's trick), whatever the operands: infinity on either side, equal
/// points (a doubling) and opposite points (infinity) included. Targets must be distinct.
struct AffineBatch<Curve: CurveParameters> {
    typealias Field = Curve.BaseField

    private var targets: [UnsafeMutablePointer<AffinePoint<Curve>>] = []
    private var addends: [AffinePoint<Curve>] = []
    private var numerators: [Field] = []
    private var denominators: [Field] = []
    /// Scratch space for the inversion, grown to the largest batch.
    private var prefixProducts: [Field] = []

    init(capacity: Int) {
        targets.reserveCapacity(capacity)
        addends.reserveCapacity(capacity)
        numerators.reserveCapacity(capacity)
        denominators.reserveCapacity(capacity)
        prefixProducts = [Field](repeating: .one, count: capacity)
    }

    /// Queues target += addend; additions that need no inversion happen at once.
    @inline(__always)
    mutating func queue(_ target: UnsafeMutablePointer<AffinePoint<Curve>>, _ addend: AffinePoint<Curve>) {
        if addend.isInfinity { return }
        let point = target.pointee
        if point.isInfinity {
            target.pointee = addend
            return
        }
        if point.x == addend.x {
            // Opposite points (or a point of order two, which neither group has) sum to infinity.
            if point.y != addend.y || point.y.isZero {
                target.pointee = .infinity
                return
            }
            let xSquared = point.x.squared()
            numerators.append(xSquared.doubled() + xSquared)  // a doubling: λ = 3x² / 2y
            denominators.append(point.y.doubled())
        } else {
            numerators.append(addend.y - point.y)
            denominators.append(addend.x - point.x)
        }
        targets.append(target)
        addends.append(addend)
    }

    /// Completes every queued addition and empties the batch.
    mutating func complete() {
        let count = targets.count
        if count == 0 { return }
        if prefixProducts.count < count { prefixProducts = [Field](repeating: .one, count: count) }
        denominators.withUnsafeBufferPointer { denominators in
            prefixProducts.withUnsafeMutableBufferPointer { prefixProducts in
                var inverses = BatchInverses(
                    of: denominators.baseAddress!, count: count, prefixProducts: prefixProducts.baseAddress!)
                while inverses.index >= 0 {
                    let j = inverses.index
                    let point = targets[j].pointee
                    let slope = Field.chainedProduct(numerators[j], inverses.next())
                    let (x3, y3) = chordSum(point.x, point.y, addends[j].x, slope: slope)
                    targets[j].pointee = AffinePoint(x: x3, y: y3)
                }
            }
        }
        targets.removeAll(keepingCapacity: true)
        addends.removeAll(keepingCapacity: true)
        numerators.removeAll(keepingCapacity: true)
        denominators.removeAll(keepingCapacity: true)
    }
}

/// Σ (k + 1)·B_k over each window's buckets in affine coordinates.
///
/// The running-sum reduction is sequential, one bucket after another, so its additions
/// cannot share an inversion, and in Jacobian form they cost 7M + 4S and 11M + 5S. Cut
/// into L lanes of s consecutive buckets, a window reduces lane by lane in step: lane j
/// keeps Rⱼ = Σᵢ B_{js+i} and Tⱼ = Σᵢ (i + 1)·B_{js+i}, and each step's additions share
/// one inversion, about 6 products each. Then
/// Σₖ (k + 1)·B_k = Σⱼ Tⱼ + s·Σⱼ j·Rⱼ, which takes some 3L Jacobian additions and log₂ s
/// doublings. The windows of a group step together, so that small windows (a few
/// thousand points have 512 buckets a window) share their inversions too.
struct AffineLanes<Curve: CurveParameters> {
    /// Fewer lanes in all would share each step's inversion among too few additions. 64 is
    /// what one window of 1,024 buckets gives (64 lanes of 16), where lanes were first
    /// measured to beat the Jacobian sums; groups of smaller windows reach it together.
    static var minimumLanes: Int { 64 }

    let laneCount: Int
    let laneLength: Int
    let windowCount: Int

    /// Lanes of at least 16 buckets, at most 256 a window; nil where Jacobian sums are
    /// cheaper. The bucket count of a window must be a power of two.
    init?(bucketsPerWindow: Int, windows: Int) {
        precondition(bucketsPerWindow > 0 && bucketsPerWindow & (bucketsPerWindow - 1) == 0)
        laneCount = min(256, bucketsPerWindow / 16)
        guard laneCount * windows >= Self.minimumLanes else { return nil }
        laneLength = bucketsPerWindow / laneCount
        windowCount = windows
    }

    /// Each window's sum; `windows` holds every window's buckets.
    func reduce(_ windows: [[AffinePoint<Curve>]]) -> [JacobianPoint<Curve>] {
        precondition(
            windows.count == windowCount && windows.allSatisfy { $0.count == laneCount * laneLength },
            "the windows the lanes were made for")
        let lanes = windowCount * laneCount
        var running = [AffinePoint<Curve>](repeating: .infinity, count: lanes)
        var totals = running
        var batch = AffineBatch<Curve>(capacity: lanes)
        running.withUnsafeMutableBufferPointer { running in
            totals.withUnsafeMutableBufferPointer { totals in
                for i in stride(from: laneLength - 1, through: 0, by: -1) {
                    for (w, buckets) in windows.enumerated() {
                        for j in 0..<laneCount {
                            batch.queue(running.baseAddress! + (w * laneCount + j), buckets[j * laneLength + i])
                        }
                    }
                    batch.complete()
                    for lane in 0..<lanes { batch.queue(totals.baseAddress! + lane, running[lane]) }
                    batch.complete()
                }
            }
        }
        return (0..<windowCount).map { w in
            let range = (w * laneCount)..<((w + 1) * laneCount)
            return combine(running: running[range], totals: totals[range])
        }
    }

    /// Σⱼ Tⱼ + s·Σⱼ j·Rⱼ for one window's lanes.
    private func combine(
        running: ArraySlice<AffinePoint<Curve>>, totals: ArraySlice<AffinePoint<Curve>>
    ) -> JacobianPoint<Curve> {
        // Σⱼ j·Rⱼ as a running sum from the top lane down.
        var runningSum = JacobianPoint<Curve>.infinity
        var weighted = JacobianPoint<Curve>.infinity
        for j in stride(from: laneCount - 1, through: 1, by: -1) {
            runningSum = runningSum + running[running.startIndex + j]
            weighted = weighted + runningSum
        }
        var length = laneLength
        while length > 1 {
            weighted = weighted.doubled()
            length >>= 1
        }
        return totals.reduce(weighted) { $0 + $1 }
    }
}
