/// A short-Weierstrass curve y² = x³ + b over a field, with a = 0.
///
/// G1 and G2 are two instances; the point arithmetic is written once, generic
/// over this protocol, and specialised for each.
public protocol CurveParameters: Sendable {
    associatedtype BaseField: FieldElement
    /// The constant b of y² = x³ + b.
    static var b: BaseField { get }
    /// The standard generator of the order-r subgroup.
    static var generator: AffinePoint<Self> { get }
    /// A human-readable name for messages ("G1", "G2").
    static var name: String { get }
}

/// The curve of G1: y² = x³ + 3 over Fp. Its order is r, so every point on it is in G1.
public enum G1Curve: CurveParameters {
    public typealias BaseField = Fp
    @inlinable public static var b: Fp { Fp(3) }
    public static let generator = AffinePoint<G1Curve>(x: Fp(1), y: Fp(2))
    public static let name = "G1"
}

/// The curve of G2: the D-type sextic twist y² = x³ + 3/(9 + u) over Fp2. Its order
/// is r times a large cofactor, so points from outside need a subgroup check.
public enum G2Curve: CurveParameters {
    public typealias BaseField = Fp2
    /// 3/(9 + u) = (27 − 3u)/82.
    public static let b = Fp2(
        Fp(decimal: "19485874751759354771024239261021720505790618469301721065564631296452457478373")!,
        Fp(decimal: "266929791119991161246907387137283842545076965332900288569378510910307636690")!)
    public static let generator = AffinePoint<G2Curve>(
        x: Fp2(
            Fp(decimal: "10857046999023057135944570762232829481370756359578518086990519993285655852781")!,
            Fp(decimal: "11559732032986387107991004021392285783925812861821192530917403151452391805634")!),
        y: Fp2(
            Fp(decimal: "8495653923123431417604973247489272438418190587263600148770280649306958101930")!,
            Fp(decimal: "4082367875863433681332203403145435568316851327593401208105741076214120093531")!))
    public static let name = "G2"
}

/// A point of G1 in Jacobian coordinates.
public typealias G1 = JacobianPoint<G1Curve>
/// A point of G1 in affine coordinates.
public typealias G1Affine = AffinePoint<G1Curve>
/// A point of G2 in Jacobian coordinates.
public typealias G2 = JacobianPoint<G2Curve>
/// A point of G2 in affine coordinates.
public typealias G2Affine = AffinePoint<G2Curve>

/// A point in affine coordinates (x, y), or the point at infinity.
@frozen
public struct AffinePoint<Curve: CurveParameters>: Hashable, Sendable {
    public var x: Curve.BaseField
    public var y: Curve.BaseField
    public var isInfinity: Bool

    @inlinable
    public init(x: Curve.BaseField, y: Curve.BaseField) {
        self.x = x
        self.y = y
        self.isInfinity = false
    }

    /// The point at infinity (the group's identity).
    @inlinable
    public static var infinity: AffinePoint {
        var point = AffinePoint(x: .zero, y: .zero)
        point.isInfinity = true
        return point
    }

    /// Whether the point satisfies the curve equation (infinity does).
    @inlinable
    public var isOnCurve: Bool {
        isInfinity || y.squared() == x.squared() * x + Curve.b
    }

    @inlinable
    public static prefix func - (point: AffinePoint) -> AffinePoint {
        point.isInfinity ? point : AffinePoint(x: point.x, y: -point.y)
    }

    /// The same point in Jacobian coordinates.
    @inlinable
    public var jacobian: JacobianPoint<Curve> {
        isInfinity ? .infinity : JacobianPoint(x: x, y: y, z: .one)
    }
}

/// A point in Jacobian coordinates: (X, Y, Z) stands for (X/Z², Y/Z³); Z = 0 is infinity.
@frozen
public struct JacobianPoint<Curve: CurveParameters>: Sendable {
    public var x: Curve.BaseField
    public var y: Curve.BaseField
    public var z: Curve.BaseField

    @inlinable @inline(__always)
    public init(x: Curve.BaseField, y: Curve.BaseField, z: Curve.BaseField) {
        self.x = x
        self.y = y
        self.z = z
    }

    @inlinable
    public static var infinity: JacobianPoint { JacobianPoint(x: .one, y: .one, z: .zero) }

    @inlinable
    public static var generator: JacobianPoint { Curve.generator.jacobian }

    @inlinable
    public var isInfinity: Bool { z.isZero }

    @inlinable
    public static prefix func - (point: JacobianPoint) -> JacobianPoint {
        JacobianPoint(x: point.x, y: -point.y, z: point.z)
    }

    /// 2P, by the a = 0 formulas dbl-2009-l (2M + 5S).
    @inlinable
    public func doubled() -> JacobianPoint {
        if isInfinity { return self }
        let a = x.squared()
        let b = y.squared()
        let c = b.squared()
        let d = ((x + b).squared() - a - c).doubled()
        let e = a.doubled() + a
        let f = e.squared()
        let x3 = f - d.doubled()
        let eightC = c.doubled().doubled().doubled()
        let y3 = e * (d - x3) - eightC
        let z3 = (y * z).doubled()
        return JacobianPoint(x: x3, y: y3, z: z3)
    }

    /// P + Q, by add-2007-bl (11M + 5S); handles equal points, opposite points and infinity.
    @inlinable
    public static func + (p: JacobianPoint, q: JacobianPoint) -> JacobianPoint {
        if p.isInfinity { return q }
        if q.isInfinity { return p }
        let z1z1 = p.z.squared()
        let z2z2 = q.z.squared()
        let u1 = p.x * z2z2
        let u2 = q.x * z1z1
        let s1 = p.y * q.z * z2z2
        let s2 = q.y * p.z * z1z1
        let h = u2 - u1
        let r = (s2 - s1).doubled()
        if h.isZero {
            return r.isZero ? p.doubled() : .infinity
        }
        let i = h.doubled().squared()
        let j = h * i
        let v = u1 * i
        let x3 = r.squared() - j - v.doubled()
        let y3 = r * (v - x3) - (s1 * j).doubled()
        let z3 = ((p.z + q.z).squared() - z1z1 - z2z2) * h
        return JacobianPoint(x: x3, y: y3, z: z3)
    }

    /// P + Q for an affine Q, by madd-2007-bl (7M + 4S).
    @inlinable
    public static func + (p: JacobianPoint, q: AffinePoint<Curve>) -> JacobianPoint {
        if q.isInfinity { return p }
        if p.isInfinity { return q.jacobian }
        let z1z1 = p.z.squared()
        let u2 = q.x * z1z1
        let s2 = q.y * p.z * z1z1
        let h = u2 - p.x
        let r = (s2 - p.y).doubled()
        if h.isZero {
            return r.isZero ? p.doubled() : .infinity
        }
        let hh = h.squared()
        let i = hh.doubled().doubled()
        let j = h * i
        let v = p.x * i
        let x3 = r.squared() - j - v.doubled()
        let y3 = r * (v - x3) - (p.y * j).doubled()
        let z3 = (p.z + h).squared() - z1z1 - hh
        return JacobianPoint(x: x3, y: y3, z: z3)
    }

    @inlinable
    public static func - (p: JacobianPoint, q: JacobianPoint) -> JacobianPoint { p + (-q) }

    @inlinable
    public static func += (p: inout JacobianPoint, q: JacobianPoint) { p = p + q }

    @inlinable
    public static func += (p: inout JacobianPoint, q: AffinePoint<Curve>) { p = p + q }

    /// The affine form (one inversion).
    @inlinable
    public var affine: AffinePoint<Curve> {
        guard let zInverse = z.inverse() else { return .infinity }
        let zInverse2 = zInverse.squared()
        return AffinePoint(x: x * zInverse2, y: y * zInverse2 * zInverse)
    }

    /// The affine forms of many points with one inversion.
    public static func batchAffine(_ points: [JacobianPoint]) -> [AffinePoint<Curve>] {
        var zs = points.map(\.z)
        Curve.BaseField.batchInverse(&zs)
        return zip(points, zs).map { point, zInverse in
            if point.isInfinity { return .infinity }
            let zInverse2 = zInverse.squared()
            return AffinePoint(x: point.x * zInverse2, y: point.y * zInverse2 * zInverse)
        }
    }

    /// Whether the point satisfies the curve equation: Y² = X³ + b·Z⁶.
    @inlinable
    public var isOnCurve: Bool {
        if isInfinity { return true }
        let z2 = z.squared()
        let z6 = z2.squared() * z2
        return y.squared() == x.squared() * x + Curve.b * z6
    }
}

extension JacobianPoint: Equatable {
    /// Equality of the points represented, whatever their Z.
    @inlinable
    public static func == (p: JacobianPoint, q: JacobianPoint) -> Bool {
        if p.isInfinity || q.isInfinity { return p.isInfinity && q.isInfinity }
        let z1z1 = p.z.squared()
        let z2z2 = q.z.squared()
        return p.x * z2z2 == q.x * z1z1 && p.y * z2z2 * q.z == q.y * z1z1 * p.z
    }
}

extension JacobianPoint: Hashable {
    public func hash(into hasher: inout Hasher) { hasher.combine(affine) }
}

extension JacobianPoint: CustomStringConvertible {
    public var description: String {
        let point = affine
        return point.isInfinity ? "\(Curve.name)(infinity)" : "\(Curve.name)(\(point.x), \(point.y))"
    }
}
