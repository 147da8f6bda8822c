/// Why bytes or text could not be read as a BN254 value. Each case names the
/// offending part so that a caller several layers up can say exactly what was wrong.
public enum BN254Error: Error, Equatable, CustomStringConvertible {
    /// The input has the wrong number of bytes.
    case invalidLength(what: String, expected: Int, actual: Int)
    /// A coordinate or scalar is not below its modulus.
    case notInField(what: String)
    /// A coordinate is not a decimal integer.
    case notDecimal(what: String, text: String)
    /// The coordinates do not satisfy the curve equation.
    case notOnCurve(group: String)
    /// A G2 point on the twist that is not in the order-r subgroup.
    case notInSubgroup(group: String)
    /// The flag bits of a compressed point are not a valid combination.
    case invalidFlags(group: String, byte: UInt8)
    /// A compressed x-coordinate with no point on the curve.
    case noPointWithX(group: String)
    /// Text that is not hexadecimal.
    case notHex(what: String)
    /// A snarkjs point whose shape is not the expected array of arrays.
    case malformedPoint(group: String, reason: String)

    public var description: String {
        switch self {
        case .invalidLength(let what, let expected, let actual):
            return "\(what): expected \(expected) bytes, got \(actual)"
        case .notInField(let what):
            return "\(what) is not below the field modulus"
        case .notDecimal(let what, let text):
            return "\(what) is not a decimal integer: \"\(text.prefix(80))\""
        case .notOnCurve(let group):
            return "\(group) point is not on the curve"
        case .notInSubgroup(let group):
            return "\(group) point is not in the order-r subgroup"
        case .invalidFlags(let group, let byte):
            return "compressed \(group) point has invalid flag bits in its first byte 0x\(hexEncode([byte]))"
        case .noPointWithX(let group):
            return "compressed \(group) point: no point on the curve has this x"
        case .notHex(let what):
            return "\(what) is not hexadecimal with an even number of digits"
        case .malformedPoint(let group, let reason):
            return "\(group) point: \(reason)"
        }
    }
}

// MARK: - Field elements

extension Fp {
    /// Reads 32 big-endian bytes, naming `what` in the error.
    static func read(_ bytes: ArraySlice<UInt8>, what: String) throws(BN254Error) -> Fp {
        guard bytes.count == 32 else { throw .invalidLength(what: what, expected: 32, actual: bytes.count) }
        guard let value = Fp(bigEndian: bytes) else { throw .notInField(what: what) }
        return value
    }

    /// Parses a canonical decimal string, naming `what` in the error.
    static func parse(_ text: String, what: String) throws(BN254Error) -> Fp {
        guard let value = UInt256(decimal: text) else { throw .notDecimal(what: what, text: text) }
        guard let element = Fp(canonical: value) else { throw .notInField(what: what) }
        return element
    }
}

// MARK: - Ethereum precompile form (EIP-196/197)

extension AffinePoint where Curve == G1Curve {
    /// 64 bytes: x ‖ y, each 32 bytes big-endian; infinity is all zeros.
    public var ethereumBytes: [UInt8] {
        isInfinity ? [UInt8](repeating: 0, count: 64) : x.bigEndianBytes + y.bigEndianBytes
    }

    /// Reads the 64-byte Ethereum form, checking the field and the curve equation.
    public init(ethereumBytes bytes: some Collection<UInt8>) throws(BN254Error) {
        let bytes = Array(bytes)
        guard bytes.count == 64 else { throw .invalidLength(what: "G1 point", expected: 64, actual: bytes.count) }
        let x = try Fp.read(bytes[0..<32], what: "G1 x")
        let y = try Fp.read(bytes[32..<64], what: "G1 y")
        if x.isZero && y.isZero {
            self = .infinity
            return
        }
        self.init(x: x, y: y)
        guard isOnCurve else { throw .notOnCurve(group: "G1") }
    }
}

extension AffinePoint where Curve == G2Curve {
    /// 128 bytes: x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0 (imaginary part first, as EIP-197 has it); infinity is all zeros.
    public var ethereumBytes: [UInt8] {
        if isInfinity { return [UInt8](repeating: 0, count: 128) }
        return x.c1.bigEndianBytes + x.c0.bigEndianBytes + y.c1.bigEndianBytes + y.c0.bigEndianBytes
    }

    /// Reads the 128-byte Ethereum form, checking the field, the curve equation and (unless
    /// the caller vouches for the point, as for its own stored keys) the subgroup.
    public init(ethereumBytes bytes: some Collection<UInt8>, checkingSubgroup: Bool = true) throws(BN254Error) {
        let bytes = Array(bytes)
        guard bytes.count == 128 else { throw .invalidLength(what: "G2 point", expected: 128, actual: bytes.count) }
        let x1 = try Fp.read(bytes[0..<32], what: "G2 x (imaginary part)")
        let x0 = try Fp.read(bytes[32..<64], what: "G2 x (real part)")
        let y1 = try Fp.read(bytes[64..<96], what: "G2 y (imaginary part)")
        let y0 = try Fp.read(bytes[96..<128], what: "G2 y (real part)")
        let x = Fp2(x0, x1)
        let y = Fp2(y0, y1)
        if x.isZero && y.isZero {
            self = .infinity
            return
        }
        self.init(x: x, y: y)
        guard isOnCurve else { throw .notOnCurve(group: "G2") }
        guard !checkingSubgroup || isInSubgroup else { throw .notInSubgroup(group: "G2") }
    }
}

// MARK: - snarkjs JSON form (decimal strings, projective with z = 1)

extension AffinePoint where Curve == G1Curve {
    /// ["x", "y", "1"], or ["0", "1", "0"] for infinity, as snarkjs writes G1 points.
    public var snarkjsStrings: [String] {
        isInfinity ? ["0", "1", "0"] : [x.decimalString, y.decimalString, "1"]
    }

    /// Reads snarkjs's [x, y, z] with z "1" (or z "0" for infinity), or the two-element affine form.
    public init(snarkjsStrings strings: [String]) throws(BN254Error) {
        guard strings.count == 3 || strings.count == 2 else {
            throw .malformedPoint(group: "G1", reason: "expected [x, y, z] decimal strings, got \(strings.count) items")
        }
        let z = strings.count == 3 ? try Fp.parse(strings[2], what: "G1 z") : Fp.one
        if z.isZero {
            self = .infinity
            return
        }
        let x = try Fp.parse(strings[0], what: "G1 x")
        let y = try Fp.parse(strings[1], what: "G1 y")
        guard z == .one else { throw .malformedPoint(group: "G1", reason: "z must be \"1\" or \"0\"") }
        self.init(x: x, y: y)
        guard isOnCurve else { throw .notOnCurve(group: "G1") }
    }
}

extension AffinePoint where Curve == G2Curve {
    /// [[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]], as snarkjs writes G2 points.
    public var snarkjsStrings: [[String]] {
        if isInfinity { return [["0", "0"], ["1", "0"], ["0", "0"]] }
        return [[x.c0.decimalString, x.c1.decimalString], [y.c0.decimalString, y.c1.decimalString], ["1", "0"]]
    }

    /// Reads snarkjs's G2 form, checking the curve and the subgroup.
    public init(snarkjsStrings strings: [[String]]) throws(BN254Error) {
        guard strings.count == 3 || strings.count == 2, strings.allSatisfy({ $0.count == 2 }) else {
            throw .malformedPoint(group: "G2", reason: "expected [[x.c0, x.c1], [y.c0, y.c1], [z.c0, z.c1]]")
        }
        let z =
            strings.count == 3
            ? Fp2(try Fp.parse(strings[2][0], what: "G2 z.c0"), try Fp.parse(strings[2][1], what: "G2 z.c1"))
            : Fp2.one
        if z.isZero {
            self = .infinity
            return
        }
        let x = Fp2(try Fp.parse(strings[0][0], what: "G2 x.c0"), try Fp.parse(strings[0][1], what: "G2 x.c1"))
        let y = Fp2(try Fp.parse(strings[1][0], what: "G2 y.c0"), try Fp.parse(strings[1][1], what: "G2 y.c1"))
        guard z == .one else { throw .malformedPoint(group: "G2", reason: "z must be [\"1\", \"0\"] or zero") }
        self.init(x: x, y: y)
        guard isOnCurve else { throw .notOnCurve(group: "G2") }
        guard isInSubgroup else { throw .notInSubgroup(group: "G2") }
    }
}

// MARK: - Compressed points

/// Flag bits of a compressed point, in the two top bits of its first (big-endian) byte.
/// Both moduli are below 2^254, so those bits of a coordinate are always free.
///
/// - `0x80`: y is the larger of the two roots ±y (its canonical value exceeds (p − 1)/2;
///   for Fp2, compare the imaginary part first, then the real part);
/// - `0x40`: the point at infinity (every other bit must then be zero);
/// - neither: y is the smaller root.
public enum CompressionFlag {
    public static let largerY: UInt8 = 0x80
    public static let infinity: UInt8 = 0x40
    static let mask: UInt8 = 0xc0
}

extension AffinePoint where Curve == G1Curve {
    /// 32 bytes: x big-endian with the flags of `CompressionFlag`.
    public var compressedBytes: [UInt8] {
        if isInfinity { return [CompressionFlag.infinity] + [UInt8](repeating: 0, count: 31) }
        var bytes = x.bigEndianBytes
        if y.isLexicographicallyLargest { bytes[0] |= CompressionFlag.largerY }
        return bytes
    }

    /// Reads the 32-byte compressed form.
    public init(compressedBytes bytes: some Collection<UInt8>) throws(BN254Error) {
        var bytes = Array(bytes)
        guard bytes.count == 32 else {
            throw .invalidLength(what: "compressed G1 point", expected: 32, actual: bytes.count)
        }
        let flags = bytes[0] & CompressionFlag.mask
        bytes[0] &= ~CompressionFlag.mask
        if flags == CompressionFlag.infinity {
            guard bytes.allSatisfy({ $0 == 0 }) else { throw .invalidFlags(group: "G1", byte: flags | bytes[0]) }
            self = .infinity
            return
        }
        guard flags & CompressionFlag.infinity == 0 else { throw .invalidFlags(group: "G1", byte: flags | bytes[0]) }
        let x = try Fp.read(bytes[0..<32], what: "compressed G1 x")
        guard var y = (x.squared() * x + G1Curve.b).squareRoot() else { throw .noPointWithX(group: "G1") }
        if y.isLexicographicallyLargest != (flags == CompressionFlag.largerY) { y = -y }
        self.init(x: x, y: y)
    }
}

extension AffinePoint where Curve == G2Curve {
    /// 64 bytes: x.c1 ‖ x.c0 big-endian (imaginary part first, as in the Ethereum form),
    /// with the flags of `CompressionFlag` in the first byte.
    public var compressedBytes: [UInt8] {
        if isInfinity { return [CompressionFlag.infinity] + [UInt8](repeating: 0, count: 63) }
        var bytes = x.c1.bigEndianBytes + x.c0.bigEndianBytes
        if y.isLexicographicallyLargest { bytes[0] |= CompressionFlag.largerY }
        return bytes
    }

    /// Reads the 64-byte compressed form, checking the subgroup.
    public init(compressedBytes bytes: some Collection<UInt8>) throws(BN254Error) {
        var bytes = Array(bytes)
        guard bytes.count == 64 else {
            throw .invalidLength(what: "compressed G2 point", expected: 64, actual: bytes.count)
        }
        let flags = bytes[0] & CompressionFlag.mask
        bytes[0] &= ~CompressionFlag.mask
        if flags == CompressionFlag.infinity {
            guard bytes.allSatisfy({ $0 == 0 }) else { throw .invalidFlags(group: "G2", byte: flags | bytes[0]) }
            self = .infinity
            return
        }
        guard flags & CompressionFlag.infinity == 0 else { throw .invalidFlags(group: "G2", byte: flags | bytes[0]) }
        let x1 = try Fp.read(bytes[0..<32], what: "compressed G2 x (imaginary part)")
        let x0 = try Fp.read(bytes[32..<64], what: "compressed G2 x (real part)")
        let x = Fp2(x0, x1)
        guard var y = (x.squared() * x + G2Curve.b).squareRoot() else { throw .noPointWithX(group: "G2") }
        if y.isLexicographicallyLargest != (flags == CompressionFlag.largerY) { y = -y }
        self.init(x: x, y: y)
        guard isInSubgroup else { throw .notInSubgroup(group: "G2") }
    }
}
