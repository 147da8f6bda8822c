/// The optimal Ate pairing e: G1 × G2 → GT ⊂ Fp12 of BN254.
///
/// The Miller loop runs over the signed binary digits of 6x + 2 (x = 4965661367192848881,
/// the curve's BN parameter) with G2 in homogeneous projective coordinates, so no
/// inversions are needed; each line is a sparse Fp12 element. Several pairs share one
/// loop (and one final exponentiation), which is how a pairing check of n pairs costs
/// far less than n pairings. A G2 point used many times is prepared once (`G2Prepared`):
/// its lines are kept normalized, and many points are prepared together in affine steps
/// that share their inversions.
///
/// The final exponentiation's hard part is the Fuentes-Castañeda–Knapp–Rodríguez-Henríquez
/// chain, which computes the result raised to 2x(6x² + 3x + 1), a constant coprime to r:
/// still a non-degenerate bilinear pairing, and "is the product one?" answers the same.
/// mcl and snarkjs (ffjavascript) use the same chain, so `pairing` gives their GT values
/// (snarkjs's `vk_alphabeta_12` among them); `standardPairing` gives py_ecc's.
public enum Pairing {
    /// The BN parameter x of BN254 (positive).
    public static let bnParameter: UInt64 = 4_965_661_367_192_848_881

    /// The signed binary digits of 6x + 2, least significant first; the top digit is 1.
    static let loopDigits: [Int8] = {
        var k = UInt128(bnParameter) * 6 + 2
        var digits: [Int8] = []
        while k != 0 {
            if k & 1 == 1 {
                let digit: Int8 = (k & 3) == 3 ? -1 : 1
                digits.append(digit)
                k = digit == 1 ? k - 1 : k + 1
            } else {
                digits.append(0)
            }
            k >>= 1
        }
        return digits
    }()

    /// e(P, Q).
    public static func pairing(_ p: G1Affine, _ q: G2Affine) -> Fp12 {
        finalExponentiation(millerLoop([(p, q)]))
    }

    /// Whether Π e(Pᵢ, Qᵢ) = 1, with a single final exponentiation.
    public static func productIsOne(_ pairs: [(G1Affine, G2Affine)]) -> Bool {
        finalExponentiation(millerLoop(pairs)) == .one
    }

    /// The product of the Miller loops f_{6x+2,Qᵢ}(Pᵢ) times the two Frobenius lines;
    /// pairs with a point at infinity contribute one.
    public static func millerLoop(_ pairs: [(G1Affine, G2Affine)]) -> Fp12 {
        millerLoop(prepared: [], unprepared: pairs)
    }

    /// Raises a Miller-loop output to (p¹² − 1)/r · 2x(6x² + 3x + 1), landing in GT.
    public static func finalExponentiation(_ f: Fp12) -> Fp12 {
        // Easy part: f^((p⁶ − 1)(p² + 1)). Afterwards the value is in the cyclotomic
        // subgroup, where inversion is conjugation and squaring has a cheaper form.
        guard let fInverse = f.inverse() else { return .zero }
        let f1 = f.conjugate() * fInverse
        let r0 = f1.frobenius(2) * f1

        // Hard part.
        @inline(__always) func powerNegX(_ a: Fp12) -> Fp12 { a.cyclotomicPower(bnParameter).conjugate() }
        let y0 = powerNegX(r0)  // r0^(−x)
        let y1 = y0.cyclotomicSquared()  // r0^(−2x)
        let y2 = y1.cyclotomicSquared()  // r0^(−4x)
        let y3 = y2 * y1  // r0^(−6x)
        let y4 = powerNegX(y3)  // r0^(6x²)
        let y5 = y4.cyclotomicSquared()  // r0^(12x²)
        let y6 = powerNegX(y5).conjugate()  // r0^(12x³)
        let y7 = y6 * y4  // r0^(12x³ + 6x²)
        let y8 = y7 * y3.conjugate()  // r0^(12x³ + 6x² + 6x)
        let y9 = y8 * y1  // r0^(12x³ + 6x² + 4x)
        let y11 = y8 * y4 * r0  // r0^(12x³ + 12x² + 6x + 1)
        let y13 = y9.frobenius(1) * y11
        let y14 = y8.frobenius(2) * y13
        let y15 = (r0.conjugate() * y9).frobenius(3)  // (12x³ + 6x² + 4x − 1)·p³
        return y15 * y14
    }
}

/// The running point T of a Miller loop over Q, which accumulates multiples of Q.
struct MillerState {
    var tx: Fp2
    var ty: Fp2
    var tz: Fp2

    init(q: G2Affine) {
        tx = q.x
        ty = q.y
        tz = .one
    }

    /// T ← 2T; returns the tangent line's coefficients.
    @inline(__always)
    mutating func doubleLine() -> LineCoefficients {
        // Homogeneous projective doubling with the tangent line (Costello–Lange–Naehrig).
        let a = (tx * ty).scaled(by: MillerState.half)
        let b = ty.squared()
        let c = tz.squared()
        let e = G2Curve.b * (c.doubled() + c)
        let f3 = e.doubled() + e
        let g = (b + f3).scaled(by: MillerState.half)
        let h = (ty + tz).squared() - (b + c)
        let i = e - b
        let j = tx.squared()
        let eSquared = e.squared()
        tx = a * (b - f3)
        ty = g.squared() - (eSquared.doubled() + eSquared)
        tz = b * h
        return LineCoefficients(yCoefficient: -h, xCoefficient: j.doubled() + j, constant: i)
    }

    /// T ← T + R for an affine R; returns the chord's coefficients.
    @inline(__always)
    mutating func addLine(_ r: G2Affine) -> LineCoefficients {
        let theta = ty - r.y * tz
        let lambda = tx - r.x * tz
        let c = theta.squared()
        let d = lambda.squared()
        let e = lambda * d
        let ff = tz * c
        let g = tx * d
        let h = e + ff - g.doubled()
        tx = lambda * h
        ty = theta * (g - h) - e * ty
        tz = tz * e
        let j = theta * r.x - lambda * r.y
        return LineCoefficients(yCoefficient: lambda, xCoefficient: -theta, constant: j)
    }

    /// Whether Q, whose every Miller step this state has taken, lies in G2. A step without
    /// a defined result (T = ±R, or y = 0) leaves Z = 0, and so does every step after it.
    func endsInSubgroup(q: G2Affine) -> Bool {
        Pairing.stepsEndInSubgroup(x: tx, y: ty, z: tz, q: q)
    }

    static let half = Fp(2).inverse()!
}

/// A Miller-loop line on the twist: at P it is the sparse Fp12 element with
/// coefficients (yCoefficient·P.y, xCoefficient·P.x, constant).
struct LineCoefficients: Sendable {
    var yCoefficient: Fp2
    var xCoefficient: Fp2
    var constant: Fp2

    @inline(__always)
    func evaluated(at p: G1Affine, into f: Fp12) -> Fp12 {
        f.multipliedByLine(yCoefficient.scaled(by: p.y), xCoefficient.scaled(by: p.x), constant)
    }
}

/// What each line of a Miller loop comes from, in loop order: a doubling of T for every
/// digit of 6x + 2 below the top, an addition after each non-zero digit, then the two
/// Frobenius additions. An addition names its addend by its place in `Pairing.addends(of:)`.
enum MillerStep: Equatable {
    case doubling
    case addition(Int)
}

/// A Miller-loop line divided by its coefficient of P.y, so that at P = (x, y) it is the
/// sparse element 1 + (xCoefficient·(x/y) + constant·(1/y)·v)·w. The factor dropped lies
/// in Fp2, which the final exponentiation sends to one, and the leading 1 spares three of
/// the thirteen Fp2 products of every evaluation.
///
/// For a line of slope λ through T = (x_T, y_T) on the twist the coefficients are −λ and
/// λ·x_T − y_T, whichever way the line was found.
struct NormalizedLine: Sendable, Equatable {
    var xCoefficient: Fp2
    var constant: Fp2
}

/// A G2 point with its Miller-loop lines computed once and normalized. Pairings with a
/// fixed G2 point (a verifying key's β, γ and δ) then skip all G2 arithmetic, and each of
/// their lines costs fewer products where it is evaluated.
public struct G2Prepared: Sendable {
    public let point: G2Affine
    /// One line per Miller step (`Pairing.millerSteps`); empty for the point at infinity.
    let lines: [NormalizedLine]
    /// Whether the point (which must be on the twist) lies in the order-r subgroup G2,
    /// read from the last point of its Miller steps (`Pairing.stepsEndInSubgroup`) at the
    /// cost of a comparison: preparing a point from outside replaces its separate subgroup check.
    public let isInSubgroup: Bool

    /// Lines from projective steps, which need no inversion, normalized together with one.
    public init(_ q: G2Affine) {
        point = q
        guard !q.isInfinity else {
            lines = []
            isInSubgroup = true
            return
        }
        var state = MillerState(q: q)
        let addends = Pairing.addends(of: q)
        let projective = Pairing.millerSteps.map { step in
            switch step {
            case .doubling: state.doubleLine()
            case .addition(let addend): state.addLine(addends[addend])
            }
        }
        isInSubgroup = state.endsInSubgroup(q: q)
        var yInverses = projective.map(\.yCoefficient)
        Fp2.batchInverse(&yInverses)
        lines = zip(projective, yInverses).map { line, yInverse in
            NormalizedLine(xCoefficient: line.xCoefficient * yInverse, constant: line.constant * yInverse)
        }
    }

    init(point: G2Affine, lines: [NormalizedLine], isInSubgroup: Bool) {
        self.point = point
        self.lines = lines
        self.isInSubgroup = isInSubgroup
    }

    /// Below this many points a batch is prepared point by point: the inversion each
    /// affine step shares costs more than the affine formulas save.
    static let affineBatchMinimum = 8

    /// The prepared forms of many points (a batch of proofs' B). All points take each Miller
    /// step together, in affine coordinates, sharing one inversion (Montgomery's trick):
    /// a doubling then costs 3M + 2S and an addition 3M + S, plus the trick's 3M, against
    /// 4M + 6S and 11M + 2S in projective form, and its line comes out normalized.
    public static func batch(_ points: [G2Affine]) -> [G2Prepared] {
        let active = points.indices.filter { !points[$0].isInfinity }
        guard active.count >= affineBatchMinimum else { return points.map(G2Prepared.init) }
        let addends = active.map { Pairing.addends(of: points[$0]) }
        var xs = active.map { points[$0].x }
        var ys = active.map { points[$0].y }
        var lines = [[NormalizedLine]](repeating: [], count: active.count)
        for j in lines.indices { lines[j].reserveCapacity(Pairing.millerSteps.count) }
        var inverses = [Fp2](repeating: .zero, count: active.count)
        // Whether a step of the point had no defined result; its later steps are meaningless.
        var undefined = [Bool](repeating: false, count: active.count)
        for step in Pairing.millerSteps {
            for j in inverses.indices {
                switch step {
                case .doubling: inverses[j] = ys[j].doubled()
                case .addition(let addend): inverses[j] = addends[j][addend].x - xs[j]
                }
                if inverses[j].isZero { undefined[j] = true }
            }
            // Zero only for points outside G2 (2-torsion, or T = ±R); they stay zero and
            // give meaningless lines, as any pairing of such points is.
            Fp2.batchInverse(&inverses)
            for j in inverses.indices {
                let (x, y) = (xs[j], ys[j])
                let slope: Fp2
                let otherX: Fp2
                switch step {
                case .doubling:
                    let xSquared = x.squared()
                    slope = (xSquared.doubled() + xSquared) * inverses[j]
                    otherX = x
                case .addition(let addend):
                    let r = addends[j][addend]
                    slope = (r.y - y) * inverses[j]
                    otherX = r.x
                }
                (xs[j], ys[j]) = chordSum(x, y, otherX, slope: slope)
                lines[j].append(NormalizedLine(xCoefficient: -slope, constant: slope * x - y))
            }
        }
        var prepared = points.map { G2Prepared(point: $0, lines: [], isInSubgroup: true) }
        for (j, index) in active.enumerated() {
            // An undefined step leaves the affine point meaningless: Z = 0 says so.
            let inSubgroup = Pairing.stepsEndInSubgroup(
                x: xs[j], y: ys[j], z: undefined[j] ? .zero : .one, q: points[index])
            prepared[index] = G2Prepared(point: points[index], lines: lines[j], isInSubgroup: inSubgroup)
        }
        return prepared
    }
}

extension Pairing {
    /// The steps of the loop, one per line.
    static let millerSteps: [MillerStep] = {
        let digits = loopDigits
        var steps: [MillerStep] = []
        for index in stride(from: digits.count - 2, through: 0, by: -1) {
            steps.append(.doubling)
            switch digits[index] {
            case 1: steps.append(.addition(0))
            case -1: steps.append(.addition(1))
            default: break
            }
        }
        return steps + [.addition(2), .addition(3)]
    }()

    /// The points a Miller loop over Q adds: Q, −Q, π(Q) and −π²(Q), where π is the
    /// p-power Frobenius carried to the twist.
    static func addends(of q: G2Affine) -> [G2Affine] {
        let q1 = q.psi
        return [q, -q, q1, -q1.psi]
    }

    /// −π³(Q): where the loop's point T ends, T = [6x + 2]Q + π(Q) − π²(Q), exactly when
    /// Q is in G2. So comparing T with it is a subgroup check that costs no scalar
    /// multiplication of its own. Why it is exact, for any Q on the twist:
    /// - π satisfies π² − tπ + p = 0 on the twist (t the trace, 6x² + 1), so on a part of
    ///   prime order ℓ it acts as a root μ of X² − tX + p mod ℓ, and the steps' endomorphism
    ///   as Φ(μ) = 6x + 2 + μ − μ² + μ³ mod ℓ.
    /// - On G2, μ = p and Φ(p) ≡ 0 mod r: the loop's defining relation.
    /// - The twist group has the square-free order r·10069·5864401·1875725156269·
    ///   197620364512881247228717050342013327560683201906968909, so it is cyclic, each
    ///   part has prime order, and π acts on a part as one root μ. For each of these four ℓ,
    ///   neither root gives Φ(μ) ≡ 0 mod ℓ (the tests confirm it on a point of each order ℓ),
    ///   so Φ sends no point with a component outside G2 to O: T = −π³(Q) only for Q in G2.
    /// The comparison needs each step of T to be an exact group operation; a point in G2
    /// never meets an undefined step (T = ±R, or y = 0), so one that did is outside G2.
    static func loopEnd(of q: G2Affine) -> G2Affine {
        -(q.psi.psi.psi)
    }

    /// Whether Q lies in G2, given where its Miller steps left T = (x : y : z) in
    /// homogeneous coordinates, with z = 0 when a step was undefined: T = `loopEnd(of: Q)`.
    static func stepsEndInSubgroup(x: Fp2, y: Fp2, z: Fp2, q: G2Affine) -> Bool {
        let end = loopEnd(of: q)
        return !z.isZero && x == end.x * z && y == end.y * z
    }

    /// The product of the Miller loops of every pair. Pairs with a prepared G2 point
    /// evaluate its normalized lines; the others compute projective lines as the loop
    /// goes, one point sharing no inversion. The result equals `millerLoop` of the same
    /// pairs up to a factor in Fp2, which the final exponentiation removes.
    public static func millerLoop(
        prepared: [(G1Affine, G2Prepared)], unprepared: [(G1Affine, G2Affine)] = []
    ) -> Fp12 {
        let plainPairs = unprepared.filter { !$0.0.isInfinity && !$0.1.isInfinity }
        return millerLoop(prepared: prepared, plain: plainPairs).value
    }

    /// `millerLoop(prepared:unprepared:)`, and whether each unprepared G2 point (which must
    /// be on the twist) lies in G2, read from where its steps end as for a prepared point
    /// (`G2Prepared.isInSubgroup`): the loop then replaces a separate subgroup check. A
    /// pair with a point at infinity takes no steps; its G2 point is checked on its own.
    public static func millerLoopCheckingSubgroup(
        prepared: [(G1Affine, G2Prepared)], unprepared: [(G1Affine, G2Affine)]
    ) -> (value: Fp12, unpreparedInSubgroup: [Bool]) {
        let stepped = unprepared.indices.filter { !unprepared[$0].0.isInfinity && !unprepared[$0].1.isInfinity }
        let (value, states) = millerLoop(prepared: prepared, plain: stepped.map { unprepared[$0] })
        // The pairs that took steps are filled in below.
        var inSubgroup = unprepared.map { pair in pair.1.isInfinity || (pair.0.isInfinity && pair.1.isInSubgroup) }
        for (index, state) in zip(stepped, states) { inSubgroup[index] = state.endsInSubgroup(q: unprepared[index].1) }
        return (value, inSubgroup)
    }

    /// The loop over prepared pairs and plain pairs without points at infinity, with the
    /// plain pairs' final states.
    static func millerLoop(
        prepared: [(G1Affine, G2Prepared)], plain plainPairs: [(G1Affine, G2Affine)]
    ) -> (value: Fp12, states: [MillerState]) {
        let preparedPairs = prepared.filter { !$0.0.isInfinity && !$0.1.point.isInfinity }
        if preparedPairs.isEmpty && plainPairs.isEmpty { return (.one, []) }
        // x/y and 1/y of each prepared pair's G1 point, with one inversion. A G1 point has
        // y ≠ 0 (the group has odd order); a point off the curve with y = 0 keeps a zero.
        var yInverses = preparedPairs.map(\.0.y)
        Fp.batchInverse(&yInverses)
        let scales = zip(preparedPairs, yInverses).map { pair, yInverse in (x: pair.0.x * yInverse, yInverse: yInverse)
        }
        var states = plainPairs.map { MillerState(q: $0.1) }
        let plainAddends = plainPairs.map { Pairing.addends(of: $0.1) }
        var f = Fp12.one
        for (index, step) in millerSteps.enumerated() {
            if step == .doubling && index > 0 { f = f.squared() }
            for (j, pair) in preparedPairs.enumerated() {
                let line = pair.1.lines[index]
                f = f.multipliedByNormalizedLine(
                    line.xCoefficient.scaled(by: scales[j].x), line.constant.scaled(by: scales[j].yInverse))
            }
            for j in states.indices {
                let line: LineCoefficients
                switch step {
                case .doubling: line = states[j].doubleLine()
                case .addition(let addend): line = states[j].addLine(plainAddends[j][addend])
                }
                f = line.evaluated(at: plainPairs[j].0, into: f)
            }
        }
        return (f, states)
    }
}

extension Pairing {
    /// 2x(6x² + 3x + 1) mod r: `pairing` returns the standard pairing to this power.
    static let hardPartExtraExponent: Fr = {
        let x = Fr(bnParameter)
        return Fr(2) * x * (Fr(6) * x * x + Fr(3) * x + .one)
    }()

    /// The inverse of that exponent modulo r, which undoes it on GT (of order r).
    static let standardCorrection: UInt256 = hardPartExtraExponent.inverse()!.canonical

    /// e(P, Q) with the standard final exponent (p¹² − 1)/r, the GT value py_ecc writes.
    /// Costs one extra exponentiation in GT over `pairing`; pairing checks do not need it.
    public static func standardPairing(_ p: G1Affine, _ q: G2Affine) -> Fp12 {
        pairing(p, q).power(standardCorrection)
    }
}
