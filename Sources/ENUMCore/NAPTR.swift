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
public func naptrRegexpReplacement(_ regexp: String) -> Result<String, RegexpError> {
    guard let delim = regexp.first else { return .failure(.empty) }
    guard !delim.isNumber, delim != "i", delim != "\\" else { return .failure(.badDelimiter(delim)) }
    var parts: [String] = [""]
    var escaped = false
    for ch in regexp.dropFirst() {
        if parts.count == 3 {
            parts[2].append(ch)
            continue
        }
        if escaped { parts[parts.count - 1].append(ch); escaped = false; continue }
        if ch == "\\" { parts[parts.count - 1].append(ch); escaped = true; continue }
        if ch == delim { parts.append(""); continue }
        parts[parts.count - 1].append(ch)
    }
    guard parts.count == 3 else { return .failure(.wrongDelimiterCount) }
    guard !parts[0].isEmpty else { return .failure(.emptyPattern) }
    guard parts[2].allSatisfy({ $0 == "i" }) else { return .failure(.badFlags(parts[2])) }
    return .success(parts[1])
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
