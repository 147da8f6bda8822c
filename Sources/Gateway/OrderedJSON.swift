/// JSON with members in a fixed order. The original API's bodies are read by scripts
/// that expect their field order, and building text directly avoids an encoder pass on
/// every response.
public indirect enum OrderedJSON: Sendable, Equatable {
    case object([(String, OrderedJSON)])
    case array([OrderedJSON])
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null
    /// Text that is already JSON (a stored proof.json), inserted as it is.
    case raw(String)

    public static func == (a: OrderedJSON, b: OrderedJSON) -> Bool { a.text == b.text }

    /// Compact text: no spaces, as Go's encoder wrote it.
    public var text: String {
        var out = ""
        write(into: &out, lines: false)
        return out
    }

    /// One `"key":value` per line with no space after the colon, so that line-oriented
    /// scripts (`grep`, `findstr`) find each pair on a line of its own.
    public var lineText: String {
        var out = ""
        write(into: &out, lines: true)
        return out
    }

    /// An object's members as compact text without the braces (`"a":1,"b":2`), so that a
    /// body rendered once can be completed per request.
    public static func membersText(_ members: [(String, OrderedJSON)]) -> String {
        var out = ""
        writeMembers(members, into: &out, lines: false)
        return out
    }

    private static func writeMembers(_ members: [(String, OrderedJSON)], into out: inout String, lines: Bool) {
        for (index, (key, value)) in members.enumerated() {
            if index > 0 { out += "," }
            if lines { out += "\n" }
            quote(key, into: &out)
            out += ":"
            value.write(into: &out, lines: lines)
        }
    }

    private func write(into out: inout String, lines: Bool) {
        switch self {
        case .object(let members):
            out += "{"
            Self.writeMembers(members, into: &out, lines: lines)
            if lines && !members.isEmpty { out += "\n" }
            out += "}"
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(into: &out, lines: lines)
            }
            out += "]"
        case .string(let value): Self.quote(value, into: &out)
        case .integer(let value): out += String(value)
        case .number(let value): out += value.isFinite ? "\(value)" : "null"
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        case .raw(let text): out += text
        }
    }

    /// Writes a JSON string literal (RFC 8259 §7): quotes, backslashes and control
    /// characters escaped, everything else as it is.
    static func quote(_ text: String, into out: inout String) {
        out += "\""
        // Most strings (ids, hex, decimal numbers) need no escape: copy them whole.
        var text = text
        let plain = text.withUTF8 { bytes in !bytes.contains { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 } }
        if plain {
            out += text
            out += "\""
            return
        }
        var plainStart = text.unicodeScalars.startIndex
        var index = plainStart
        let scalars = text.unicodeScalars
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let escape: String?
            switch scalar {
            case "\"": escape = "\\\""
            case "\\": escape = "\\\\"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                escape = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escape = nil
            }
            if let escape {
                out.unicodeScalars.append(contentsOf: scalars[plainStart..<index])
                out += escape
                plainStart = scalars.index(after: index)
            }
            index = scalars.index(after: index)
        }
        out.unicodeScalars.append(contentsOf: scalars[plainStart..<scalars.endIndex])
        out += "\""
    }
}
