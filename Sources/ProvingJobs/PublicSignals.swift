import Foundation

/// Public inputs travel as a JSON array of decimal strings (snarkjs `public.json`); the
/// strings are checked as field elements by `SnarkjsPublicSignals.decode`.
public enum PublicSignals {
    public static func encode(_ values: [String]) -> [UInt8] {
        // Encoding an array of strings cannot fail.
        Array(try! JSONEncoder().encode(values))
    }

    public static func decode(_ bytes: [UInt8]) throws(JobInputError) -> [String] {
        do {
            return try JSONDecoder().decode([String].self, from: Data(bytes))
        } catch {
            throw JobInputError("public inputs are not a JSON array of decimal strings")
        }
    }
}
