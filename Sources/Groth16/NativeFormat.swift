import BN254

/// The native binary forms of proofs, verifying keys and proving keys: a 4-byte magic
/// ("ZKPF", "ZKVK", "ZKPK"), a little-endian u32 version, then the fields in order.
/// Points use the Ethereum encodings (G1 64 bytes, G2 128 bytes), counts are u32, field
/// elements 32 bytes little-endian canonical. Readers check every length and point;
/// G2 points of a proving key are checked on the curve only (the key is the service's own
/// artifact, and a proof made from a corrupted key fails verification before it is used).
public enum NativeFormat {
    public static let version: UInt32 = 1
    static let proofMagic = "ZKPF"
    static let verifyingKeyMagic = "ZKVK"
    static let provingKeyMagic = "ZKPK"
}

struct BinaryWriter {
    var bytes: [UInt8] = []

    init(magic: String) {
        bytes.append(contentsOf: magic.utf8)
        u32(NativeFormat.version)
    }

    mutating func u32(_ value: UInt32) {
        for shift in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * shift))) }
    }
    mutating func count(_ value: Int) { u32(UInt32(value)) }
    mutating func g1(_ point: G1Affine) { bytes.append(contentsOf: point.ethereumBytes) }
    mutating func g2(_ point: G2Affine) { bytes.append(contentsOf: point.ethereumBytes) }
    mutating func fr(_ value: Fr) { bytes.append(contentsOf: value.canonical.littleEndianBytes) }

    mutating func matrix(_ matrix: SparseMatrix) {
        count(matrix.rowCount)
        for row in 0..<matrix.rowCount { count(matrix.rowStarts[row + 1] - matrix.rowStarts[row]) }
        for entry in 0..<matrix.entryCount {
            u32(UInt32(matrix.wires[entry]))
            fr(matrix.coefficients[entry])
        }
    }
}

struct BinaryReader {
    let bytes: [UInt8]
    let what: String
    var position = 0

    init(_ bytes: [UInt8], magic: String, what: String) throws(Groth16Error) {
        self.bytes = bytes
        self.what = what
        let found = try take(4, "magic")
        guard found.elementsEqual(magic.utf8) else {
            throw .invalidEncoding("\(what): wrong magic \(hexEncode(found)), expected \"\(magic)\"")
        }
        let version = try u32("version")
        guard version == NativeFormat.version else {
            throw .invalidEncoding("\(what): version \(version) is not supported (expected \(NativeFormat.version))")
        }
    }

    // Field names are autoclosures: they are only built for an error message, never in
    // the loops that read millions of elements.
    mutating func take(_ count: Int, _ field: @autoclosure () -> String) throws(Groth16Error) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else {
            throw .invalidEncoding("\(what): truncated at \(field()) (byte \(position) of \(bytes.count))")
        }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func u32(_ field: @autoclosure () -> String) throws(Groth16Error) -> UInt32 {
        let raw = try take(4, field())
        let start = raw.startIndex
        return UInt32(raw[start]) | UInt32(raw[start + 1]) << 8 | UInt32(raw[start + 2]) << 16
            | UInt32(raw[start + 3]) << 24
    }

    /// A count, bounded by what the remaining bytes could hold at `elementSize` each.
    mutating func count(_ field: @autoclosure () -> String, elementSize: Int) throws(Groth16Error) -> Int {
        let value = Int(try u32(field()))
        guard value <= (bytes.count - position) / max(1, elementSize) else {
            throw .invalidEncoding("\(what): \(field()) is \(value), more than the file can hold")
        }
        return value
    }

    mutating func g1(_ field: @autoclosure () -> String) throws(Groth16Error) -> G1Affine {
        let raw = try take(64, field())
        return try decodePoint("\(what) \(field())") { () throws(BN254Error) in try G1Affine(ethereumBytes: raw) }
    }

    mutating func g2(_ field: @autoclosure () -> String, checkingSubgroup: Bool = true) throws(Groth16Error)
        -> G2Affine
    {
        let raw = try take(128, field())
        return try decodePoint("\(what) \(field())") { () throws(BN254Error) in
            try G2Affine(ethereumBytes: raw, checkingSubgroup: checkingSubgroup)
        }
    }

    mutating func fr(_ field: @autoclosure () -> String) throws(Groth16Error) -> Fr {
        let raw = try take(32, field())
        guard let value = UInt256(littleEndian: raw), let element = Fr(canonical: value) else {
            throw .invalidEncoding("\(what): \(field()) is not below r")
        }
        return element
    }

    mutating func matrix(_ name: String, wireCount: Int) throws(Groth16Error) -> SparseMatrix {
        let rows = try count("row count of \(name)", elementSize: 4)
        var lengths: [Int] = []
        for row in 0..<rows { lengths.append(try count("length of \(name) row \(row)", elementSize: 36)) }
        var matrix = SparseMatrix()
        for (row, length) in lengths.enumerated() {
            var terms: [(wire: Int, coefficient: Fr)] = []
            for _ in 0..<length {
                let wire = Int(try u32("wire in \(name) row \(row)"))
                guard wire < wireCount else {
                    throw .invalidEncoding("\(what): \(name) row \(row) refers to wire \(wire)")
                }
                terms.append((wire, try fr("coefficient in \(name) row \(row)")))
            }
            matrix.appendRow(terms)
        }
        return matrix
    }

    func finish() throws(Groth16Error) {
        guard position == bytes.count else {
            throw .invalidEncoding("\(what): \(bytes.count - position) unexpected bytes after the end")
        }
    }
}

extension Proof {
    public var nativeBytes: [UInt8] {
        var writer = BinaryWriter(magic: NativeFormat.proofMagic)
        writer.bytes.append(contentsOf: ethereumBytes)
        return writer.bytes
    }

    public init(nativeBytes bytes: [UInt8]) throws(Groth16Error) {
        var reader = try BinaryReader(bytes, magic: NativeFormat.proofMagic, what: "proof")
        a = try reader.g1("A")
        b = try reader.g2("B")
        c = try reader.g1("C")
        try reader.finish()
    }
}

extension VerifyingKey {
    func write(to writer: inout BinaryWriter) {
        writer.g1(alpha1)
        writer.g2(beta2)
        writer.g2(gamma2)
        writer.g2(delta2)
        writer.count(ic.count)
        for point in ic { writer.g1(point) }
    }

    init(reading reader: inout BinaryReader) throws(Groth16Error) {
        alpha1 = try reader.g1("alpha")
        beta2 = try reader.g2("beta")
        gamma2 = try reader.g2("gamma")
        delta2 = try reader.g2("delta")
        let count = try reader.count("IC count", elementSize: 64)
        guard count >= 1 else { throw .invalidEncoding("\(reader.what): IC is empty") }
        var points: [G1Affine] = []
        for index in 0..<count { points.append(try reader.g1("IC[\(index)]")) }
        ic = points
    }

    public var nativeBytes: [UInt8] {
        var writer = BinaryWriter(magic: NativeFormat.verifyingKeyMagic)
        write(to: &writer)
        return writer.bytes
    }

    public init(nativeBytes bytes: [UInt8]) throws(Groth16Error) {
        var reader = try BinaryReader(bytes, magic: NativeFormat.verifyingKeyMagic, what: "verifying key")
        try self.init(reading: &reader)
        try reader.finish()
    }
}

extension ProvingKey {
    public var nativeBytes: [UInt8] {
        var writer = BinaryWriter(magic: NativeFormat.provingKeyMagic)
        writer.count(domainSize)
        writer.count(wireCount)
        writer.count(publicCount)
        writer.g1(alpha1)
        writer.g1(beta1)
        writer.g2(beta2)
        writer.g1(delta1)
        writer.g2(delta2)
        for point in a { writer.g1(point) }
        for point in b1 { writer.g1(point) }
        for point in b2 { writer.g2(point) }
        for point in c { writer.g1(point) }
        for point in h { writer.g1(point) }
        writer.matrix(r1cs.a)
        writer.matrix(r1cs.b)
        writer.matrix(r1cs.c)
        verifyingKey.write(to: &writer)
        return writer.bytes
    }

    public init(nativeBytes bytes: [UInt8]) throws(Groth16Error) {
        var reader = try BinaryReader(bytes, magic: NativeFormat.provingKeyMagic, what: "proving key")
        let domainSize = try reader.count("domain size", elementSize: 64)
        let wires = try reader.count("wire count", elementSize: 64 * 3)
        let publicCount = try reader.count("public count", elementSize: 0)
        guard publicCount < wires else {
            throw .invalidEncoding("proving key: \(publicCount) public of \(wires) wires")
        }
        let alpha1 = try reader.g1("alpha")
        let beta1 = try reader.g1("beta (G1)")
        let beta2 = try reader.g2("beta (G2)")
        let delta1 = try reader.g1("delta (G1)")
        let delta2 = try reader.g2("delta (G2)")
        func points1(_ count: Int, _ name: String) throws(Groth16Error) -> [G1Affine] {
            var points: [G1Affine] = []
            points.reserveCapacity(count)
            for index in 0..<count { points.append(try reader.g1("\(name)[\(index)]")) }
            return points
        }
        let a = try points1(wires, "A")
        let b1 = try points1(wires, "B1")
        var b2: [G2Affine] = []
        b2.reserveCapacity(wires)
        for index in 0..<wires { b2.append(try reader.g2("B2[\(index)]", checkingSubgroup: false)) }
        let c = try points1(wires - publicCount - 1, "C")
        let h = try points1(domainSize, "H")
        let matrixA = try reader.matrix("A", wireCount: wires)
        let matrixB = try reader.matrix("B", wireCount: wires)
        let matrixC = try reader.matrix("C", wireCount: wires)
        let verifyingKey = try VerifyingKey(reading: &reader)
        try reader.finish()
        let r1cs = try R1CS(wireCount: wires, publicCount: publicCount, a: matrixA, b: matrixB, c: matrixC)
        try self.init(
            domainSize: domainSize, alpha1: alpha1, beta1: beta1, beta2: beta2, delta1: delta1, delta2: delta2, a: a,
            b1: b1, b2: b2, c: c, h: h, r1cs: r1cs, verifyingKey: verifyingKey)
    }
}
