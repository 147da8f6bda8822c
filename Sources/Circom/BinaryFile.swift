import BN254

/// What is wrong with a circom binary file, named precisely.
public struct CircomFileError: Error, Equatable, CustomStringConvertible {
    public let file: String
    public let reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

/// The iden3 container shared by `.r1cs`, `.wtns` and `.zkey`: a 4-byte magic, a u32
/// version, a u32 section count, then sections of (u32 type, u64 size, bytes), all
/// little-endian.
struct SectionedFile {
    let kind: String
    let bytes: [UInt8]
    let version: UInt32
    /// Section type → byte ranges (a type may repeat; the readers here want it once).
    let sections: [UInt32: [Range<Int>]]

    init(bytes: [UInt8], magic: String, kind: String, versions: ClosedRange<UInt32>) throws(CircomFileError) {
        self.kind = kind
        self.bytes = bytes
        var reader = ByteReader(bytes: bytes[...], file: kind)
        let found = try reader.bytes(4, what: "magic")
        guard found.elementsEqual(magic.utf8) else {
            throw CircomFileError(file: kind, reason: "wrong magic \(hexEncode(found)), expected \"\(magic)\"")
        }
        version = try reader.u32("version")
        guard versions.contains(version) else {
            throw CircomFileError(file: kind, reason: "unsupported version \(version), expected \(versions)")
        }
        let count = try reader.u32("section count")
        var sections: [UInt32: [Range<Int>]] = [:]
        for index in 0..<count {
            let type = try reader.u32("type of section \(index)")
            let size = try reader.u64("size of section \(index)")
            guard size <= UInt64(reader.remaining) else {
                throw CircomFileError(
                    file: kind,
                    reason: "section \(index) (type \(type)) claims \(size) bytes, \(reader.remaining) remain")
            }
            let start = reader.position
            reader.position += Int(size)
            sections[type, default: []].append(start..<reader.position)
        }
        self.sections = sections
    }

    /// A reader over the one section of `type`.
    func section(_ type: UInt32, _ name: String) throws(CircomFileError) -> ByteReader {
        guard let ranges = sections[type], !ranges.isEmpty else {
            throw CircomFileError(file: kind, reason: "missing \(name) section (type \(type))")
        }
        guard ranges.count == 1 else {
            throw CircomFileError(file: kind, reason: "\(ranges.count) \(name) sections (type \(type)), expected one")
        }
        return ByteReader(bytes: bytes[ranges[0]], file: kind)
    }
}

/// Little-endian reads with bounds checks that name what was being read.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    let file: String
    var position: Int

    init(bytes: ArraySlice<UInt8>, file: String) {
        self.bytes = bytes
        self.file = file
        position = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - position }

    mutating func bytes(_ count: Int, what: String) throws(CircomFileError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw CircomFileError(
                file: file, reason: "truncated while reading \(what) (\(count) bytes, \(remaining) left)")
        }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func u32(_ what: String) throws(CircomFileError) -> UInt32 {
        let raw = try bytes(4, what: what)
        return raw.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64(_ what: String) throws(CircomFileError) -> UInt64 {
        let raw = try bytes(8, what: what)
        return raw.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A 32-byte little-endian integer.
    mutating func u256(_ what: String) throws(CircomFileError) -> UInt256 {
        let raw = try bytes(32, what: what)
        var limbs = [UInt64](repeating: 0, count: 4)
        for (offset, byte) in raw.enumerated() { limbs[offset / 8] |= UInt64(byte) << UInt64(8 * (offset % 8)) }
        return UInt256(limbs[0], limbs[1], limbs[2], limbs[3])
    }

    /// A field element in canonical (not Montgomery) little-endian form, below r.
    mutating func fr(_ what: String) throws(CircomFileError) -> Fr {
        let value = try u256(what)
        guard let element = Fr(canonical: value) else {
            throw CircomFileError(file: file, reason: "\(what) is not below the field modulus r")
        }
        return element
    }

    /// The field header both formats start with: element size 32 and the prime r.
    mutating func checkScalarField() throws(CircomFileError) {
        let size = try u32("field element size")
        guard size == 32 else {
            throw CircomFileError(file: file, reason: "field elements of \(size) bytes; BN254 needs 32")
        }
        let prime = try u256("field prime")
        guard prime == Fr.modulus else {
            throw CircomFileError(file: file, reason: "field prime \(prime.decimalString) is not BN254's scalar field")
        }
    }
}
