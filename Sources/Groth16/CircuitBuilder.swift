import BN254

/// A linear combination Σ cᵢ·vᵢ of circuit variables plus a constant: what every
/// circuit operation takes and returns. Additions and scalings are free (no constraint);
/// only `CircuitBuilder.mul` and the assertions add constraints.
///
/// Terms are kept sorted by variable with no repeats and no zero coefficients, so a
/// combination built up over many steps never grows beyond its distinct variables.
public struct LinearCombination: Sendable, CustomStringConvertible {
    /// (variable, coefficient) pairs; variable 0 is the constant one.
    private(set) var terms: [(variable: Int, coefficient: Fr)]

    /// Terms already sorted, distinct and non-zero.
    init(canonicalTerms: [(variable: Int, coefficient: Fr)]) { terms = canonicalTerms }

    init(variable: Int) { terms = [(variable, .one)] }

    /// The constant c.
    public init(_ constant: Fr) { terms = constant.isZero ? [] : [(0, constant)] }

    public static var zero: LinearCombination { LinearCombination(canonicalTerms: []) }
    public static var one: LinearCombination { LinearCombination(.one) }

    /// The constant value, if the combination involves no variable.
    public var constantValue: Fr? {
        if terms.isEmpty { return .zero }
        if terms.count == 1 && terms[0].variable == 0 { return terms[0].coefficient }
        return nil
    }

    public var description: String {
        terms.map { $0.variable == 0 ? "\($0.coefficient)" : "\($0.coefficient)·v\($0.variable)" }
            .joined(separator: " + ")
    }

    /// The variables renamed by a map that keeps their order.
    func renamed(_ map: [Int]) -> [(variable: Int, coefficient: Fr)] {
        terms.map { (map[$0.variable], $0.coefficient) }.sorted { $0.variable < $1.variable }
    }

    public static func + (lhs: LinearCombination, rhs: LinearCombination) -> LinearCombination {
        var merged: [(variable: Int, coefficient: Fr)] = []
        merged.reserveCapacity(lhs.terms.count + rhs.terms.count)
        var i = 0
        var j = 0
        while i < lhs.terms.count || j < rhs.terms.count {
            if j == rhs.terms.count || (i < lhs.terms.count && lhs.terms[i].variable < rhs.terms[j].variable) {
                merged.append(lhs.terms[i])
                i += 1
            } else if i == lhs.terms.count || rhs.terms[j].variable < lhs.terms[i].variable {
                merged.append(rhs.terms[j])
                j += 1
            } else {
                let sum = lhs.terms[i].coefficient + rhs.terms[j].coefficient
                if !sum.isZero { merged.append((lhs.terms[i].variable, sum)) }
                i += 1
                j += 1
            }
        }
        return LinearCombination(canonicalTerms: merged)
    }

    public static func - (lhs: LinearCombination, rhs: LinearCombination) -> LinearCombination {
        lhs + (-rhs)
    }

    public static prefix func - (value: LinearCombination) -> LinearCombination {
        LinearCombination(canonicalTerms: value.terms.map { ($0.variable, -$0.coefficient) })
    }

    public static func * (scalar: Fr, value: LinearCombination) -> LinearCombination {
        if scalar.isZero { return .zero }
        return LinearCombination(canonicalTerms: value.terms.map { ($0.variable, scalar * $0.coefficient) })
    }

    public static func + (lhs: LinearCombination, rhs: Fr) -> LinearCombination { lhs + LinearCombination(rhs) }
    public static func - (lhs: LinearCombination, rhs: Fr) -> LinearCombination { lhs - LinearCombination(rhs) }
}

/// Builds a circuit: declare inputs, combine them, constrain them; `build()` compiles
/// the R1CS and a solver that computes every internal value from the inputs.
///
///     let builder = CircuitBuilder()
///     let root = builder.publicInput("root")
///     let leaf = builder.secretInput("leaf")
///     let square = builder.mul(leaf, leaf)
///     builder.assertEqual(square, root)
///     let circuit = try builder.build()
///
/// Values computed outside the constraints (an inverse, a bit decomposition) come from
/// hints, and must then be constrained like any other variable.
public final class CircuitBuilder {
    enum Kind {
        case constant
        case publicInput(String)
        case secretInput(String)
        case `internal`
    }

    /// How the solver computes internal variables, in order.
    enum Step {
        case product(variable: Int, LinearCombination, LinearCombination)
        case hint(outputs: [Int], inputs: [LinearCombination], function: @Sendable ([Fr]) -> [Fr])
    }

    struct PendingConstraint {
        let a: LinearCombination
        let b: LinearCombination
        let c: LinearCombination
        let label: String
    }

    var kinds: [Kind] = [.constant]
    var steps: [Step] = []
    var constraints: [PendingConstraint] = []

    public init() {}

    /// A public input: part of the statement, given to the verifier.
    public func publicInput(_ name: String) -> LinearCombination {
        kinds.append(.publicInput(name))
        return LinearCombination(variable: kinds.count - 1)
    }

    /// A secret input: known to the prover only.
    public func secretInput(_ name: String) -> LinearCombination {
        kinds.append(.secretInput(name))
        return LinearCombination(variable: kinds.count - 1)
    }

    func newInternal() -> Int {
        kinds.append(.internal)
        return kinds.count - 1
    }

    /// a · b, as a new variable with one constraint (free when either side is constant).
    public func mul(_ a: LinearCombination, _ b: LinearCombination, _ label: String = "mul") -> LinearCombination {
        if let constant = a.constantValue { return constant * b }
        if let constant = b.constantValue { return constant * a }
        let product = newInternal()
        steps.append(.product(variable: product, a, b))
        let result = LinearCombination(variable: product)
        constraints.append(PendingConstraint(a: a, b: b, c: result, label: label))
        return result
    }

    /// Adds the constraint a · b = c.
    public func assertProduct(
        _ a: LinearCombination, _ b: LinearCombination, equals c: LinearCombination, _ label: String
    ) {
        constraints.append(PendingConstraint(a: a, b: b, c: c, label: label))
    }

    /// Constrains a = b.
    public func assertEqual(_ a: LinearCombination, _ b: LinearCombination, _ label: String = "equal") {
        assertProduct(a - b, .one, equals: .zero, label)
    }

    /// Constrains a ∈ {0, 1}.
    public func assertBoolean(_ a: LinearCombination, _ label: String = "boolean") {
        assertProduct(a, a, equals: a, label)
    }

    /// condition ? ifTrue : ifFalse, for a condition constrained to be boolean elsewhere.
    public func select(
        _ condition: LinearCombination, _ ifTrue: LinearCombination, _ ifFalse: LinearCombination
    ) -> LinearCombination {
        ifFalse + mul(condition, ifTrue - ifFalse, "select")
    }

    /// 1 if a = 0, else 0 (two constraints, one hinted inverse).
    public func isZero(_ a: LinearCombination) -> LinearCombination {
        let inverse = hint(inputs: [a], outputs: 1) { values in
            [values[0].inverse() ?? .zero]
        }[0]
        // out = 1 − a·a⁻¹ is 0 for a ≠ 0 and 1 for a = 0; a·out = 0 forbids a lying inverse.
        let out = LinearCombination.one - mul(a, inverse, "isZero inverse")
        assertProduct(a, out, equals: .zero, "isZero")
        return out
    }

    /// New variables whose values `function` computes from the inputs' values. They are
    /// unconstrained until the caller constrains them.
    public func hint(
        inputs: [LinearCombination], outputs: Int, _ function: @escaping @Sendable ([Fr]) -> [Fr]
    ) -> [LinearCombination] {
        let variables = (0..<outputs).map { _ in newInternal() }
        steps.append(.hint(outputs: variables, inputs: inputs, function: function))
        return variables.map { LinearCombination(variable: $0) }
    }

    /// Compiles the circuit: variables renumbered to circom's wire order (one, public
    /// inputs in declaration order, then the rest).
    public func build() throws(Groth16Error) -> Circuit {
        var wireOf = [Int](repeating: 0, count: kinds.count)
        var publicNames: [String] = []
        var secretNames: [String] = []
        var next = 1
        for (variable, kind) in kinds.enumerated() {
            if case .publicInput(let name) = kind {
                wireOf[variable] = next
                next += 1
                publicNames.append(name)
            }
        }
        var secretWires: [Int] = []
        for (variable, kind) in kinds.enumerated() {
            switch kind {
            case .constant, .publicInput: continue
            case .secretInput(let name):
                secretNames.append(name)
                secretWires.append(next)
                fallthrough
            case .internal:
                wireOf[variable] = next
                next += 1
            }
        }
        func renumber(_ combination: LinearCombination) -> [(variable: Int, coefficient: Fr)] {
            combination.renamed(wireOf)
        }
        var a = SparseMatrix()
        var b = SparseMatrix()
        var c = SparseMatrix()
        var labels: [String] = []
        for constraint in constraints {
            a.appendRow(renumber(constraint.a).lazy.map { ($0.variable, $0.coefficient) })
            b.appendRow(renumber(constraint.b).lazy.map { ($0.variable, $0.coefficient) })
            c.appendRow(renumber(constraint.c).lazy.map { ($0.variable, $0.coefficient) })
            labels.append(constraint.label)
        }
        let r1cs = try R1CS(wireCount: next, publicCount: publicNames.count, a: a, b: b, c: c)
        let solverSteps: [Circuit.SolverStep] = steps.map { step in
            switch step {
            case .product(let variable, let left, let right):
                .product(wire: wireOf[variable], renumber(left), renumber(right))
            case .hint(let outputs, let inputs, let function):
                .hint(outputs: outputs.map { wireOf[$0] }, inputs: inputs.map(renumber), function)
            }
        }
        return Circuit(
            r1cs: r1cs, publicInputNames: publicNames, secretInputNames: secretNames, secretInputWires: secretWires,
            steps: solverSteps, constraintLabels: labels)
    }
}

/// A compiled circuit: its R1CS and the solver that fills in a witness from the inputs.
public struct Circuit: Sendable {
    enum SolverStep: Sendable {
        case product(wire: Int, [(variable: Int, coefficient: Fr)], [(variable: Int, coefficient: Fr)])
        case hint(outputs: [Int], inputs: [[(variable: Int, coefficient: Fr)]], @Sendable ([Fr]) -> [Fr])
    }

    public let r1cs: R1CS
    public let publicInputNames: [String]
    public let secretInputNames: [String]
    let secretInputWires: [Int]
    let steps: [SolverStep]
    let constraintLabels: [String]

    /// The full witness (one value per wire) for the given inputs, checked against every
    /// constraint; a violated one is reported by its label.
    public func solve(publicInputs: [Fr], secretInputs: [Fr]) throws(Groth16Error) -> [Fr] {
        guard publicInputs.count == publicInputNames.count else {
            throw .witnessMismatch(
                "\(publicInputs.count) public inputs given, the circuit has \(publicInputNames.count)")
        }
        guard secretInputs.count == secretInputNames.count else {
            throw .witnessMismatch(
                "\(secretInputs.count) secret inputs given, the circuit has \(secretInputNames.count)")
        }
        var witness = [Fr](repeating: .zero, count: r1cs.wireCount)
        witness[0] = .one
        for (index, value) in publicInputs.enumerated() { witness[index + 1] = value }
        for (wire, value) in zip(secretInputWires, secretInputs) { witness[wire] = value }
        func evaluate(_ terms: [(variable: Int, coefficient: Fr)]) -> Fr {
            terms.reduce(Fr.zero) { $0 + $1.coefficient * witness[$1.variable] }
        }
        for step in steps {
            switch step {
            case .product(let wire, let left, let right):
                witness[wire] = evaluate(left) * evaluate(right)
            case .hint(let outputs, let inputs, let function):
                let values = function(inputs.map(evaluate))
                precondition(values.count == outputs.count, "a hint returned the wrong number of values")
                for (wire, value) in zip(outputs, values) { witness[wire] = value }
            }
        }
        if let violated = r1cs.firstViolation(of: witness) {
            throw .unsatisfiedAssertion("constraint \(violated) (\(constraintLabels[violated]))")
        }
        return witness
    }
}
