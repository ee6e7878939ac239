/// A telephone number in E.164 form (ITU-T E.164): a country code and subscriber number,
/// at most 15 digits, the first digit 1-9 (no country code starts with 0).
///
/// RFC 6116 section 2.4 turns a number into its ENUM domain:
/// 1. remove every character but the digits (`+1 234-567-890` -> `1234567890`);
/// 2. put dots between the digits;
/// 3. reverse the order;
/// 4. append the apex (`e164.arpa`): `0.9.8.7.6.5.4.3.2.1.e164.arpa`.
///
/// Two Emercoin NVS conventions name the same number on the chain (see DESIGN.md):
/// the seed convention `enum:` + the ENUM domain, and Emercoin's ENUMER convention
/// `enum:<digits>:<n>` for n = 0, 1, 2, ...
public struct E164Number: Hashable, Sendable, CustomStringConvertible {
    /// The digits without `+`, e.g. `1234567890`.
    public let digits: String

    /// The most digits an E.164 number may have (ITU-T E.164 section 6.1).
    public static let maxDigits = 15

    /// Characters people put between digits; dropped when normalizing.
    static let separators: Set<Character> = [" ", "-", ".", "(", ")", "/", "\t"]

    /// Parses what a person or a client typed: an optional leading `+` (or a space where a URL
    /// decoder turned an unencoded `+` into one), then digits with optional separators.
    public init(parsing text: String) throws(E164Error) {
        // ASCII input (all real input) by bytes: Character.wholeNumberValue looks Unicode
        // properties up, which was a visible part of an HTTP lookup's cost.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            var digits: [UInt8] = []
            digits.reserveCapacity(16)
            var sawPlus = false
            for (offset, b) in text.utf8.enumerated() {
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(b)
                case UInt8(ascii: "+"):
                    if sawPlus || !digits.isEmpty { throw .unexpectedCharacter("+", offset: offset) }
                    sawPlus = true
                case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"),
                     UInt8(ascii: "/"), UInt8(ascii: "\t"):
                    continue
                default: throw .unexpectedCharacter(Character(Unicode.Scalar(b)), offset: offset)
                }
            }
            try self.init(digits: String(decoding: digits, as: UTF8.self))
            return
        }
        var digits = ""
        var sawPlus = false
        var offset = 0
        for ch in text {
            defer { offset += 1 }
            if ch.isASCII, let d = ch.wholeNumberValue {
                digits.append(Character(String(d)))
            } else if ch == "+" {
                if sawPlus || !digits.isEmpty { throw .unexpectedCharacter(ch, offset: offset) }
                sawPlus = true
            } else if Self.separators.contains(ch) {
                continue
            } else {
                throw .unexpectedCharacter(ch, offset: offset)
            }
        }
        try self.init(digits: digits)
    }

    /// Validates a bare digit string.
    public init(digits: String) throws(E164Error) {
        guard !digits.isEmpty else { throw .noDigits }
        guard digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .notDigits(digits)
        }
        guard digits.utf8.count <= Self.maxDigits else { throw .tooLong(digits.utf8.count) }
        guard digits.utf8.first != UInt8(ascii: "0") else { throw .leadingZero }
        self.digits = digits
    }

    /// Recovers the number from an ENUM domain such as `0.9.8.7.6.5.4.3.2.1.e164.arpa`:
    /// every label below the apex must be one digit. Returns nil otherwise.
    public init?(domain: DomainName, apex: DomainName) {
        guard domain.isSubdomain(of: apex), domain.labelCount > apex.labelCount else { return nil }
        var digits: [UInt8] = []
        for label in domain.labels.prefix(domain.labelCount - apex.labelCount) {
            guard label.count == 1, let d = label.first, d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else {
                return nil
            }
            digits.append(d)
        }
        guard let n = try? E164Number(digits: String(decoding: digits.reversed(), as: UTF8.self)) else {
            return nil
        }
        self = n
    }

    /// `+1234567890`
    public var description: String { "+" + digits }

    /// The reversed, dot-separated digits, e.g. `0.9.8.7.6.5.4.3.2.1` (no apex, no trailing dot).
    public var reversedDottedDigits: String {
        digits.reversed().map(String.init).joined(separator: ".")
    }

    /// The ENUM domain under `apex` (RFC 6116 section 2.4), as a fully qualified name.
    public func domain(apex: DomainName = .e164Arpa) -> DomainName {
        var labels = digits.utf8.reversed().map { [$0] }
        labels.append(contentsOf: apex.labels)
        // Digits are always valid labels and at most 15 + apex labels: cannot exceed 255 octets
        // for any apex that is itself a valid name shorter than 225 octets.
        return try! DomainName(labels: labels)
    }

    /// The seed convention's NVS name: `enum:0.9.8.7.6.5.4.3.2.1.e164.arpa`.
    public var seedNVSName: String { "enum:" + reversedDottedDigits + ".e164.arpa" }

    /// Emercoin ENUMER's NVS name for index `n`: `enum:1234567890:0`.
    public func enumerNVSName(index: Int) -> String { "enum:\(digits):\(index)" }
}

/// Why a text is not an E.164 number.
public enum E164Error: Error, Equatable, Sendable, CustomStringConvertible {
    case noDigits
    case unexpectedCharacter(Character, offset: Int)
    case notDigits(String)
    case tooLong(Int)
    case leadingZero

    public var description: String {
        switch self {
        case .noDigits: return "not an E.164 number: it has no digits"
        case .unexpectedCharacter(let c, let offset):
            return "not an E.164 number: unexpected character '\(c)' at position \(offset + 1) (only digits, an optional leading '+', spaces, '-', '.', '/' and parentheses are allowed)"
        case .notDigits: return "not an E.164 number: only digits are allowed"
        case .tooLong(let n): return "not an E.164 number: \(n) digits, at most \(E164Number.maxDigits) are allowed"
        case .leadingZero: return "not an E.164 number: a country code never starts with 0"
        }
    }
}
