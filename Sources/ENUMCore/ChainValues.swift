/// Parsers for the two ways ENUM records are written on the Emercoin chain (DESIGN.md "Records on
/// the chain"). Pure functions of the name and value bytes; hostile input is bounded and reported,
/// never fatal.

/// What one NVS name is, for ENUM.
public enum ENUMName: Hashable, Sendable {
    /// `enum:0.9.8.7.6.5.4.3.2.1.e164.arpa` (the Flask backend's seed convention).
    case seed(E164Number)
    /// `enum:1234567890:0` (Emercoin's ENUMER convention, what EmerDNS serves).
    case enumer(E164Number, index: Int)

    public var number: E164Number {
        switch self { case .seed(let n), .enumer(let n, _): return n }
    }

    /// Classifies a raw NVS name; nil for anything that is not an ENUM name of either
    /// convention (`dns:...`, `dns:enum:x`, `enum:abc`, `enum:123:01`, ...).
    public init?(_ name: [UInt8]) {
        let prefix = Array("enum:".utf8)
        guard name.count > prefix.count, name.count <= 512, Array(name.prefix(5)) == prefix else { return nil }
        let rest = Array(name.dropFirst(5))
        let suffix = Array(".e164.arpa".utf8)
        if rest.count > suffix.count, rest.suffix(suffix.count).map(asciiLower) == suffix {
            // Single digits separated by dots, reversed.
            let body = rest.dropLast(suffix.count)
            var digits: [UInt8] = []
            for (i, b) in body.enumerated() {
                if i % 2 == 0 {
                    guard b >= 0x30, b <= 0x39 else { return nil }
                    digits.append(b)
                } else {
                    guard b == UInt8(ascii: ".") else { return nil }
                }
            }
            guard body.count % 2 == 1,
                  let n = try? E164Number(digits: String(decoding: digits.reversed(), as: UTF8.self)) else { return nil }
            self = .seed(n)
            return
        }
        guard let colon = rest.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let digitPart = rest[..<colon], indexPart = rest[(colon + 1)...]
        guard !indexPart.isEmpty, indexPart.count <= 5,
              indexPart.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              indexPart.count == 1 || indexPart.first != 0x30,  // EmerDNS asks for "%u": no leading zeros
              let index = Int(String(decoding: indexPart, as: UTF8.self)), index <= Int(Int16.max),
              let n = try? E164Number(digits: String(decoding: digitPart, as: UTF8.self)) else { return nil }
        self = .enumer(n, index: index)
    }
}

/// The records one NVS value yields, and what was dropped from it and why.
public struct ParsedValue: Sendable, Equatable {
    public var naptrs: [NAPTR] = []
    /// From a `TTL=` line (ENUMER convention only).
    public var ttl: UInt32? = nil
    /// One reason per dropped entry or line (or one for the whole value).
    public var problems: [String] = []
    public init() {}
}

/// Bounds on what one value, and one number, may publish. An answer must fit a TCP message
/// (65,535 octets) with room to spare, whatever is on the chain.
public enum ChainLimits {
    /// NAPTR records one number publishes, across every name for it; the rest are dropped.
    public static let maxNAPTRsPerNumber = 32
    /// Octets of NAPTR RDATA one number publishes (32 records of the largest size would not fit
    /// a TCP message otherwise).
    public static let maxRDATAPerNumber = 16 * 1024
    /// The chain's own value limit (MAX_VALUE_LENGTH, 20 KiB); longer values are refused whole.
    public static let maxValueLength = 20 * 1024
    /// ENUMER indices tried per number (`:0`, `:1`, ...), EmerDNS stops at the first gap anyway.
    public static let maxIndex = 64
}

/// Seed convention values: one or more `"!regexp!uri!flags"` entries joined by `|`, quotes
/// optional, e.g. `"!^.*$!sip:primary@example.com!"|"!^.*$!sip:backup@example.com!"`.
///
/// An unquoted entry is read by its structure (a delimiter, then three delimited fields, then
/// flags), so a `|` inside the pattern or the URI does not split it. Entry i becomes a NAPTR with
/// ORDER 100, PREFERENCE 10 × (i + 1) (the entry order, first = primary), FLAGS "u",
/// REPLACEMENT "." and SERVICES derived from the URI scheme (`SeedValue.service`).
public enum SeedValue {
    /// URI scheme -> Enumservice, from the IANA Enumservice registry: sip (RFC 3764), tel as
    /// pstn:tel (RFC 4769), mailto as email:mailto (RFC 4355), http(s) as web (RFC 4002),
    /// ftp as ft:ftp (RFC 4002), h323 (RFC 3762), im and pres (RFC 3953), xmpp (RFC 4979),
    /// iax (RFC 4415).
    public static let services: [String: String] = [
        "sip": "E2U+sip", "sips": "E2U+sip", "tel": "E2U+pstn:tel", "mailto": "E2U+email:mailto",
        "http": "E2U+web:http", "https": "E2U+web:https", "ftp": "E2U+ft:ftp", "h323": "E2U+h323",
        "im": "E2U+im", "pres": "E2U+pres", "xmpp": "E2U+xmpp", "iax": "E2U+iax",
    ]

    public static func service(forURI uri: String) -> String? {
        guard let colon = uri.firstIndex(of: ":") else { return nil }
        return services[uri[..<colon].lowercased()]
    }

    public static func parse(_ value: [UInt8]) -> ParsedValue {
        var out = ParsedValue()
        guard value.count <= ChainLimits.maxValueLength else {
            out.problems.append("value of \(value.count) bytes is over the chain's 20 KiB limit"); return out
        }
        guard let text = String(validating: value, as: UTF8.self) else {
            out.problems.append("value is not UTF-8"); return out
        }
        let chars = Array(text)
        var i = 0
        var index = 0
        func skipSpaces() { while i < chars.count, chars[i] == " " || chars[i] == "\t" || chars[i] == "\r" || chars[i] == "\n" { i += 1 } }
        while true {
            skipSpaces()
            guard i < chars.count else { break }
            let entry: String
            if chars[i] == "\"" {
                guard let close = chars[(i + 1)...].firstIndex(of: "\"") else {
                    out.problems.append("entry \(index + 1): unterminated quote"); break
                }
                entry = String(chars[(i + 1)..<close])
                i = close + 1
            } else {
                // Delimiter, three delimited fields, then flag letters.
                let start = i, delim = chars[i]
                var seen = 0, escaped = false
                i += 1
                while i < chars.count, seen < 2 {
                    if escaped { escaped = false } else if chars[i] == "\\" { escaped = true } else if chars[i] == delim { seen += 1 }
                    i += 1
                }
                while i < chars.count, chars[i].isLetter { i += 1 }
                entry = String(chars[start..<i])
                if seen < 2 {
                    out.problems.append("entry \(index + 1): not a !regexp!uri! entry"); break
                }
            }
            index += 1
            add(entry, index: index, to: &out)
            skipSpaces()
            guard i < chars.count else { break }
            guard chars[i] == "|" else {
                out.problems.append("entry \(index + 1): unexpected '\(chars[i])' after an entry"); break
            }
            i += 1
        }
        if out.naptrs.isEmpty && out.problems.isEmpty { out.problems.append("no entries") }
        return out
    }

    private static func add(_ entry: String, index: Int, to out: inout ParsedValue) {
        guard out.naptrs.count < ChainLimits.maxNAPTRsPerNumber else {
            out.problems.append("entry \(index): more than \(ChainLimits.maxNAPTRsPerNumber) entries"); return
        }
        guard entry.utf8.count <= NAPTR.maxCharacterString else {
            out.problems.append("entry \(index): longer than 255 bytes"); return
        }
        switch naptrRegexpReplacement(entry) {
        case .failure(let e):
            out.problems.append("entry \(index): \(e)")
        case .success(let uri):
            guard let service = service(forURI: uri) else {
                out.problems.append("entry \(index): no Enumservice for the URI scheme of '\(uri.prefix(40))'"); return
            }
            let preference = UInt16(min(10 * index, Int(UInt16.max)))
            out.naptrs.append(NAPTR(order: 100, preference: preference, services: service, regexp: entry))
        }
    }
}

/// ENUMER convention values, as EmerDNS reads them (emcdns.cpp `Answer_ENUM`/`HandleE2U`): lines
/// split on CR or LF; the first three characters compared without case: `E2U...` lines are
/// `service=order|preference|regexp` (spaces allowed around `|`, the regexp one token without
/// spaces), `TTL=<seconds>`, `SIG=<verifier>|<signature>`; other lines are ignored.
/// Each E2U line becomes one NAPTR with FLAGS "u" and REPLACEMENT ".".
public enum EnumerValue {
    public static func parse(_ value: [UInt8]) -> ParsedValue {
        var out = ParsedValue()
        guard value.count <= ChainLimits.maxValueLength else {
            out.problems.append("value of \(value.count) bytes is over the chain's 20 KiB limit"); return out
        }
        guard let text = String(validating: value, as: UTF8.self) else {
            out.problems.append("value is not UTF-8"); return out
        }
        var lineNumber = 0
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            lineNumber += 1
            let head = line.prefix(4).uppercased()
            if head.hasPrefix("E2U") {
                guard out.naptrs.count < ChainLimits.maxNAPTRsPerNumber else {
                    out.problems.append("line \(lineNumber): more than \(ChainLimits.maxNAPTRsPerNumber) E2U lines"); continue
                }
                switch e2u(line) {
                case .success(let n): out.naptrs.append(n)
                case .failure(let reason): out.problems.append("line \(lineNumber): \(reason.message)")
                }
            } else if head.hasPrefix("TTL=") {
                let digits = line.dropFirst(4).prefix { $0.isASCII && $0.isNumber }
                if let t = UInt32(digits), !digits.isEmpty { out.ttl = min(t, 0x7FFF_FFFF) } else {
                    out.problems.append("line \(lineNumber): TTL is not a number")
                }
            }
            // SIG= lines (verifier signatures) and anything else are not served.
        }
        if out.naptrs.isEmpty && out.problems.isEmpty { out.problems.append("no E2U lines") }
        return out
    }

    struct Reason: Error { let message: String }

    static func e2u(_ line: Substring) -> Result<NAPTR, Reason> {
        guard let eq = line.firstIndex(of: "=") else { return .failure(Reason(message: "E2U line without '='")) }
        let service = String(line[..<eq]).trimmingTrailingSpaces()
        guard service.utf8.count <= NAPTR.maxCharacterString, !service.contains(" ") else {
            return .failure(Reason(message: "bad service field"))
        }
        var rest = line[line.index(after: eq)...]
        func spaces() { rest = rest.drop { $0 == " " || $0 == "\t" } }
        func number() -> UInt16? {
            spaces()
            let d = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(d.count)
            return d.isEmpty ? nil : UInt16(d)
        }
        func bar() -> Bool { spaces(); guard rest.first == "|" else { return false }; rest = rest.dropFirst(); return true }
        guard let order = number(), bar(), let pref = number(), bar() else {
            return .failure(Reason(message: "expected service=order|preference|regexp with numbers up to 65535"))
        }
        spaces()
        let regexp = String(rest.prefix { $0 != " " && $0 != "\t" })
        guard !regexp.isEmpty else { return .failure(Reason(message: "no regexp")) }
        guard regexp.utf8.count <= NAPTR.maxCharacterString else { return .failure(Reason(message: "regexp longer than 255 bytes")) }
        if case .failure(let e) = naptrRegexpReplacement(regexp) { return .failure(Reason(message: "\(e)")) }
        return .success(NAPTR(order: order, preference: pref, services: service, regexp: regexp))
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}
