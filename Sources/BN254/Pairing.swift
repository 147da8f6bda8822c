/// The optimal Ate pairing e: G1 × G2 → GT ⊂ Fp12 of BN254.
///
/// The Miller loop runs over the signed binary digits of 6x + 2 (x = 4965661367192848881,
/// the curve's BN parameter) with G2 in homogeneous projective coordinates, so no
/// inversions are needed; each line is a sparse Fp12 element. Several pairs share one
/// loop (and one final exponentiation), which is how a pairing check of n pairs costs
/// far less than n pairings.
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
    /// pairs with a point at infinity contribute one. The lines of each Q are computed
    /// first, then evaluated: the same arithmetic as interleaving them.
    public static func millerLoop(_ pairs: [(G1Affine, G2Affine)]) -> Fp12 {
        millerLoop(prepared: pairs.filter { !$0.0.isInfinity && !$0.1.isInfinity }.map { ($0.0, G2Prepared($0.1)) })
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

/// A G2 point with its Miller-loop lines computed once. Pairings with a fixed G2 point
/// (a verifying key's β, γ and δ) then skip all G2 arithmetic, roughly halving their
/// Miller loops.
public struct G2Prepared: Sendable {
    public let point: G2Affine
    /// Every line in loop order: one per doubling, one per non-zero digit, two Frobenius lines.
    let lines: [LineCoefficients]

    public init(_ q: G2Affine) {
        point = q
        guard !q.isInfinity else {
            lines = []
            return
        }
        var state = MillerState(q: q)
        var lines: [LineCoefficients] = []
        let digits = Pairing.loopDigits
        for index in stride(from: digits.count - 2, through: 0, by: -1) {
            lines.append(state.doubleLine())
            switch digits[index] {
            case 1: lines.append(state.addLine(q))
            case -1: lines.append(state.addLine(-q))
            default: break
            }
        }
        let (q1, q2) = Pairing.frobeniusPoints(q)
        lines.append(state.addLine(q1))
        lines.append(state.addLine(q2))
        self.lines = lines
    }
}

extension Pairing {
    /// π(Q) and −π²(Q), where π is the p-power Frobenius carried to the twist.
    static func frobeniusPoints(_ q: G2Affine) -> (G2Affine, G2Affine) {
        let frobenius = FrobeniusCoefficients.shared
        let q1 = G2Affine(x: q.x.conjugate() * frobenius.twistX, y: q.y.conjugate() * frobenius.twistY)
        let q2 = G2Affine(x: q1.x.conjugate() * frobenius.twistX, y: -(q1.y.conjugate() * frobenius.twistY))
        return (q1, q2)
    }

    /// The product of the Miller loops of pairs whose G2 points are prepared; equal to
    /// `millerLoop` of the same pairs.
    public static func millerLoop(prepared pairs: [(G1Affine, G2Prepared)]) -> Fp12 {
        let active = pairs.filter { !$0.0.isInfinity && !$0.1.point.isInfinity }
        if active.isEmpty { return .one }
        var f = Fp12.one
        var cursor = 0
        let digits = loopDigits
        for index in stride(from: digits.count - 2, through: 0, by: -1) {
            if index != digits.count - 2 { f = f.squared() }
            for (p, q) in active { f = q.lines[cursor].evaluated(at: p, into: f) }
            cursor += 1
            if digits[index] != 0 {
                for (p, q) in active { f = q.lines[cursor].evaluated(at: p, into: f) }
                cursor += 1
            }
        }
        for (p, q) in active {
            f = q.lines[cursor].evaluated(at: p, into: f)
            f = q.lines[cursor + 1].evaluated(at: p, into: f)
        }
        return f
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
