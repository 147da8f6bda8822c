import BN254
import Groth16

/// Readers for the files the circom compiler and its witness calculator write.
public enum CircomFiles {
    /// Reads an iden3 `.r1cs` (version 1): the header and the constraints. Labels and
    /// custom-gate sections are not needed for Groth16 and are skipped.
    public static func readR1CS(_ bytes: [UInt8]) throws(CircomFileError) -> R1CS {
        let file = try SectionedFile(bytes: bytes, magic: "r1cs", kind: "r1cs", versions: 1...1)
        var header = try file.section(1, "header")
        try header.checkScalarField()
        let wires = Int(try header.u32("wire count"))
        let outputs = Int(try header.u32("public output count"))
        let publicInputs = Int(try header.u32("public input count"))
        let privateInputs = Int(try header.u32("private input count"))
        _ = try header.u64("label count")
        let constraintCount = Int(try header.u32("constraint count"))
        guard outputs + publicInputs + privateInputs < wires else {
            throw CircomFileError(
                file: "r1cs", reason: "\(outputs + publicInputs + privateInputs) inputs and outputs in \(wires) wires")
        }
        var body = try file.section(2, "constraints")
        var matrices = [SparseMatrix(), SparseMatrix(), SparseMatrix()]
        for constraint in 0..<constraintCount {
            for (m, name) in ["A", "B", "C"].enumerated() {
                let terms = Int(try body.u32("term count of \(name) in constraint \(constraint)"))
                guard terms <= body.remaining / 36 else {
                    throw CircomFileError(
                        file: "r1cs",
                        reason: "constraint \(constraint) claims \(terms) terms in \(name), the file is shorter")
                }
                var row: [(wire: Int, coefficient: Fr)] = []
                row.reserveCapacity(terms)
                for _ in 0..<terms {
                    let wire = Int(try body.u32("wire id in constraint \(constraint)"))
                    guard wire < wires else {
                        throw CircomFileError(
                            file: "r1cs", reason: "constraint \(constraint) refers to wire \(wire) of \(wires)")
                    }
                    row.append((wire, try body.fr("coefficient in constraint \(constraint)")))
                }
                matrices[m].appendRow(row)
            }
        }
        guard body.remaining == 0 else {
            throw CircomFileError(file: "r1cs", reason: "\(body.remaining) bytes after the last constraint")
        }
        do {
            return try R1CS(
                wireCount: wires, publicCount: outputs + publicInputs, a: matrices[0], b: matrices[1], c: matrices[2])
        } catch {
            throw CircomFileError(file: "r1cs", reason: "\(error)")
        }
    }

    /// Reads an iden3 `.wtns` (version 1 or 2): one field element per wire.
    public static func readWitness(_ bytes: [UInt8]) throws(CircomFileError) -> [Fr] {
        let file = try SectionedFile(bytes: bytes, magic: "wtns", kind: "wtns", versions: 1...2)
        var header = try file.section(1, "header")
        try header.checkScalarField()
        let count = Int(try header.u32("witness count"))
        var body = try file.section(2, "witness values")
        guard body.remaining == count * 32 else {
            throw CircomFileError(
                file: "wtns", reason: "\(count) values need \(count * 32) bytes, the section has \(body.remaining)")
        }
        var values: [Fr] = []
        values.reserveCapacity(count)
        for index in 0..<count { values.append(try body.fr("witness value \(index)")) }
        return values
    }
}
