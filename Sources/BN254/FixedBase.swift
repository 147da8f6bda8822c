/// Many multiples [k₁]G, [k₂]G, … of one fixed point G (a trusted setup needs millions).
///
/// The table holds j·2^(w·i)·G in affine form for every w-bit window i and digit j, so
/// one multiple is a sum of about 256/w table points and needs no doubling. Many multiples
/// are summed in step, window by window, in affine coordinates: each window's additions
/// share one inversion (Montgomery's trick), about 6 products each against 7M + 4S for a
/// mixed Jacobian addition, and the results come out affine.
public struct FixedBaseTable<Curve: CurveParameters>: Sendable {
    let windowBits: Int
    let windowCount: Int
    /// rows[i · 2^w + j] = j·2^(w·i)·G (j = 0 is infinity and never read).
    let rows: [AffinePoint<Curve>]

    /// A table for `base`; `windowBits` trades table size (256/w · 2^w points) for speed.
    public init(base: JacobianPoint<Curve>, windowBits: Int = 8) {
        precondition((1...16).contains(windowBits), "window bits must be 1...16")
        self.windowBits = windowBits
        windowCount = (256 + windowBits - 1) / windowBits
        let width = 1 << windowBits
        var jacobianRows = [JacobianPoint<Curve>](repeating: .infinity, count: windowCount * width)
        var windowBase = base
        for window in 0..<windowCount {
            var multiple = JacobianPoint<Curve>.infinity
            for digit in 0..<width {
                jacobianRows[window * width + digit] = multiple
                multiple = multiple + windowBase
            }
            windowBase = multiple  // 2^w · windowBase
        }
        rows = JacobianPoint.batchAffine(jacobianRows)
    }
}

extension FixedBaseTable where Curve == G1Curve {
    /// [kᵢ]G for every scalar, affine, over `threads` tasks.
    public func multiply(_ scalars: [Fr], threads: Int = 1) async -> [G1Affine] {
        await multiplyAll(scalars, threads: threads)
    }
}

extension FixedBaseTable where Curve == G2Curve {
    /// [kᵢ]G for every scalar, affine, over `threads` tasks.
    public func multiply(_ scalars: [Fr], threads: Int = 1) async -> [G2Affine] {
        await multiplyAll(scalars, threads: threads)
    }
}

extension FixedBaseTable {
    func multiplyAll(_ scalars: [Fr], threads: Int) async -> [AffinePoint<Curve>] {
        let count = scalars.count
        if count == 0 { return [] }
        let chunks = max(1, min(threads, count))
        let chunkSize = (count + chunks - 1) / chunks
        let table = self
        return await withTaskGroup(of: (Int, [AffinePoint<Curve>]).self) { group in
            for chunk in 0..<chunks {
                let start = chunk * chunkSize
                let end = min(count, start + chunkSize)
                if start >= end { continue }
                group.addTask { (start, table.multiplySerial(scalars[start..<end])) }
            }
            var results = [AffinePoint<Curve>](repeating: .infinity, count: count)
            for await (start, points) in group {
                for (offset, point) in points.enumerated() { results[start + offset] = point }
            }
            return results
        }
    }

    /// Below this many sums in step a window's shared inversion would start to show; above
    /// it the sums' points would no longer stay in cache while their window's rows are added.
    static var blockSize: Int { 1024 }

    /// [kᵢ]G for every scalar, on the calling thread: blocks of sums, each taken window by
    /// window with one batch of affine additions a window.
    func multiplySerial(_ scalars: ArraySlice<Fr>) -> [AffinePoint<Curve>] {
        let canonical = scalars.map(\.canonical)
        var sums = [AffinePoint<Curve>](repeating: .infinity, count: canonical.count)
        var batch = AffineBatch<Curve>(capacity: Self.blockSize)
        let width = 1 << windowBits
        sums.withUnsafeMutableBufferPointer { sums in
            for blockStart in stride(from: 0, to: canonical.count, by: Self.blockSize) {
                let block = blockStart..<min(canonical.count, blockStart + Self.blockSize)
                for window in 0..<windowCount {
                    let bitStart = window * windowBits
                    let bitCount = min(windowBits, 256 - bitStart)
                    for i in block {
                        let digit = Int(canonical[i].bits(from: bitStart, count: bitCount))
                        if digit != 0 { batch.queue(sums.baseAddress! + i, rows[window * width + digit]) }
                    }
                    batch.complete()
                }
            }
        }
        return sums
    }
}
