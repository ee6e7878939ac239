/// A NAPTR record's data (RFC 3403 section 4.1):
///
///     ORDER (16 bits) | PREFERENCE (16 bits) | FLAGS <character-string> |
///     SERVICES <character-string> | REGEXP <character-string> | REPLACEMENT <domain-name>
///
/// Clients sort by ORDER, then PREFERENCE. For ENUM (RFC 6116 section 3.4) FLAGS is "u" (the
/// result is a URI), SERVICES is "E2U+<enumservice>", REPLACEMENT is the root, and REGEXP turns
/// the number into a URI. Each character-string holds at most 255 octets.
public struct NAPTR: Hashable, Sendable {
    public var order: UInt16
    public var preference: UInt16
    public var flags: String
    public var services: String
    public var regexp: String
    public var replacement: DomainName

    public init(order: UInt16, preference: UInt16, flags: String = "u", services: String, regexp: String,
                replacement: DomainName = .root) {
        self.order = order; self.preference = preference; self.flags = flags
        self.services = services; self.regexp = regexp; self.replacement = replacement
    }

    /// The most octets a character-string may hold (RFC 1035 section 3.3).
    public static let maxCharacterString = 255
}

/// An ENUM REGEXP field checked against RFC 3402 section 3.2:
/// `delim-char ere delim-char repl delim-char *flags`, where the delimiter is any character but
/// a digit, a flag or a backslash, escaped inside the fields with a backslash, and the only flag
/// is "i". Returns the `repl` part (the URI template), or why the field is not valid.
/// Delimiters outside ASCII are refused (no ENUM deployment uses one, and it keeps this a byte scan).
public func naptrRegexpReplacement(_ regexp: String) -> Result<String, RegexpError> {
    let first = regexp.first
    var text = regexp
    return text.withUTF8 { u -> Result<String, RegexpError> in
        guard let d = u.first, let first else { return .failure(.empty) }
        guard d < 0x80 else { return .failure(.badDelimiter(first)) }
        guard !(0x30...0x39).contains(d), d != UInt8(ascii: "i"), d != UInt8(ascii: "\\") else {
            return .failure(.badDelimiter(Character(Unicode.Scalar(d))))
        }
        var bounds: [Int] = []
        var escaped = false
        var i = 1
        while i < u.count, bounds.count < 2 {
            let c = u[i]
            if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == d { bounds.append(i) }
            i += 1
        }
        guard bounds.count == 2 else { return .failure(.wrongDelimiterCount) }
        guard bounds[0] > 1 else { return .failure(.emptyPattern) }
        let flags = UnsafeBufferPointer(rebasing: u[(bounds[1] + 1)...])
        guard flags.allSatisfy({ $0 == UInt8(ascii: "i") }) else {
            return .failure(.badFlags(String(decoding: flags, as: UTF8.self)))
        }
        return .success(String(decoding: UnsafeBufferPointer(rebasing: u[(bounds[0] + 1)..<bounds[1]]), as: UTF8.self))
    }
}

public enum RegexpError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty, badDelimiter(Character), wrongDelimiterCount, emptyPattern, badFlags(String)
    public var description: String {
        switch self {
        case .empty: return "empty regexp"
        case .badDelimiter(let c): return "'\(c)' cannot delimit a regexp"
        case .wrongDelimiterCount: return "a regexp needs three delimiters (!pattern!replacement!)"
        case .emptyPattern: return "empty pattern"
        case .badFlags(let f): return "unknown regexp flags '\(f)'"
        }
    }
}
