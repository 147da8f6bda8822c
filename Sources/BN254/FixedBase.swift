/// Many multiples [k₁]G, [k₂]G, … of one fixed point G (a trusted setup needs millions).
///
/// The table holds j·2^(w·i)·G in affine form for every w-bit window i and digit j, so
/// one multiple costs about 256/w mixed additions and no doubling. The results come back
/// affine, normalised together with one shared inversion per batch.
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

    /// [k]G for a canonical scalar k.
    func multiply(canonical scalar: UInt256) -> JacobianPoint<Curve> {
        var result = JacobianPoint<Curve>.infinity
        let width = 1 << windowBits
        for window in 0..<windowCount {
            let start = window * windowBits
            let digit = Int(scalar.bits(from: start, count: min(windowBits, 256 - start)))
            if digit != 0 { result = result + rows[window * width + digit] }
        }
        return result
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
                group.addTask {
                    var jacobian: [JacobianPoint<Curve>] = []
                    jacobian.reserveCapacity(end - start)
                    for i in start..<end { jacobian.append(table.multiply(canonical: scalars[i].canonical)) }
                    return (start, JacobianPoint.batchAffine(jacobian))
                }
            }
            var results = [AffinePoint<Curve>](repeating: .infinity, count: count)
            for await (start, points) in group {
                for (offset, point) in points.enumerated() { results[start + offset] = point }
            }
            return results
        }
    }
}
