import BN254

/// A sparse matrix in compressed-row form: row i's entries are
/// `wires[rowStarts[i]..<rowStarts[i+1]]` with the matching `coefficients`.
public struct SparseMatrix: Sendable, Equatable {
    public private(set) var rowStarts: [Int] = [0]
    public private(set) var wires: [Int32] = []
    public private(set) var coefficients: [Fr] = []

    public init() {}

    public var rowCount: Int { rowStarts.count - 1 }
    public var entryCount: Int { wires.count }

    /// Appends a row; entries with a zero coefficient are dropped.
    public mutating func appendRow(_ terms: some Sequence<(wire: Int, coefficient: Fr)>) {
        for term in terms where !term.coefficient.isZero {
            wires.append(Int32(term.wire))
            coefficients.append(term.coefficient)
        }
        rowStarts.append(wires.count)
    }

    /// The entries of one row.
    public func row(_ index: Int) -> [(wire: Int, coefficient: Fr)] {
        (rowStarts[index]..<rowStarts[index + 1]).map { (Int(wires[$0]), coefficients[$0]) }
    }

    /// Σ coefficient · witness[wire] over a row.
    @inlinable
    public func evaluateRow(_ index: Int, _ witness: UnsafeBufferPointer<Fr>) -> Fr {
        var sum = Fr.zero
        for entry in rowStarts[index]..<rowStarts[index + 1] {
            sum = sum + coefficients[entry] * witness[Int(wires[entry])]
        }
        return sum
    }

    /// The largest wire index referenced, or −1 for an empty matrix.
    public var largestWire: Int { Int(wires.max() ?? -1) }
}

/// A rank-1 constraint system: rows i of A, B, C say ⟨Aᵢ, w⟩ · ⟨Bᵢ, w⟩ = ⟨Cᵢ, w⟩.
///
/// Wires follow circom's numbering: wire 0 is the constant one, wires 1…publicCount
/// are the public signals (outputs first, then public inputs), the rest are private.
public struct R1CS: Sendable, Equatable {
    public let wireCount: Int
    /// Public signals, not counting the constant wire.
    public let publicCount: Int
    public let a: SparseMatrix
    public let b: SparseMatrix
    public let c: SparseMatrix

    public var constraintCount: Int { a.rowCount }

    public init(wireCount: Int, publicCount: Int, a: SparseMatrix, b: SparseMatrix, c: SparseMatrix)
        throws(Groth16Error)
    {
        guard wireCount >= 1 else { throw .malformed("an R1CS needs at least the constant wire") }
        guard publicCount >= 0, publicCount < wireCount else {
            throw .malformed("\(publicCount) public signals do not fit in \(wireCount) wires")
        }
        guard a.rowCount == b.rowCount, b.rowCount == c.rowCount else {
            throw .malformed("A, B and C have \(a.rowCount), \(b.rowCount) and \(c.rowCount) rows")
        }
        for (name, matrix) in [("A", a), ("B", b), ("C", c)] where matrix.largestWire >= wireCount {
            throw .malformed("matrix \(name) refers to wire \(matrix.largestWire) of \(wireCount)")
        }
        self.wireCount = wireCount
        self.publicCount = publicCount
        self.a = a
        self.b = b
        self.c = c
    }

    /// The index of the first constraint the witness violates, or nil if it satisfies all.
    public func firstViolation(of witness: [Fr]) -> Int? {
        precondition(witness.count == wireCount, "a witness has one value per wire")
        return witness.withUnsafeBufferPointer { w in
            for i in 0..<constraintCount where a.evaluateRow(i, w) * b.evaluateRow(i, w) != c.evaluateRow(i, w) {
                return i
            }
            return nil
        }
    }

    /// Checks that an assignment has one value per wire and the constant wire set to one.
    public func checkShape(of witness: [Fr]) throws(Groth16Error) {
        guard witness.count == wireCount else {
            throw .witnessMismatch("the witness has \(witness.count) values for \(wireCount) wires")
        }
        guard witness[0] == .one else { throw .witnessMismatch("wire 0 must be one, got \(witness[0])") }
    }

    /// Checks a full assignment: its shape and every constraint.
    public func check(witness: [Fr]) throws(Groth16Error) {
        try checkShape(of: witness)
        if let violated = firstViolation(of: witness) {
            throw .unsatisfied(constraint: violated)
        }
    }
}

/// What can go wrong in this module, each case naming the problem.
public enum Groth16Error: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case witnessMismatch(String)
    case unsatisfied(constraint: Int)
    case unsatisfiedAssertion(String)
    case keyMismatch(String)
    case invalidEncoding(String)

    public var description: String {
        switch self {
        case .malformed(let reason): "malformed constraint system: \(reason)"
        case .witnessMismatch(let reason): "witness does not fit the circuit: \(reason)"
        case .unsatisfied(let constraint): "the witness violates constraint \(constraint)"
        case .unsatisfiedAssertion(let reason): "the inputs violate an assertion: \(reason)"
        case .keyMismatch(let reason): "the key does not fit: \(reason)"
        case .invalidEncoding(let reason): "invalid encoding: \(reason)"
        }
    }
}
