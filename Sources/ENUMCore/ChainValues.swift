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

    /// What both conventions refuse whole: values past the chain's own size limit, and values
    /// that are not UTF-8. Nil when the value may be parsed.
    static func refusal(of value: [UInt8]) -> ParsedValue? {
        var out = ParsedValue()
        if value.count > ChainLimits.maxValueLength {
            out.problems.append("value of \(value.count) bytes is over the chain's 20 KiB limit")
        } else if String(validating: value, as: UTF8.self) == nil {
            out.problems.append("value is not UTF-8")
        } else {
            return nil
        }
        return out
    }
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
        if let refused = ParsedValue.refusal(of: value) { return refused }
        var out = ParsedValue()
        // A byte scan: every byte that matters here is ASCII, and UTF-8 continuation bytes never are.
        let v = value
        var i = 0
        var index = 0
        func skipSpaces() { while i < v.count, v[i] == 0x20 || v[i] == 0x09 || v[i] == 0x0D || v[i] == 0x0A { i += 1 } }
        while true {
            skipSpaces()
            guard i < v.count else { break }
            let entry: ArraySlice<UInt8>
            if v[i] == UInt8(ascii: "\"") {
                guard let close = v[(i + 1)...].firstIndex(of: UInt8(ascii: "\"")) else {
                    out.problems.append("entry \(index + 1): unterminated quote"); break
                }
                entry = v[(i + 1)..<close]
                i = close + 1
            } else {
                // Delimiter, three delimited fields, then flag letters.
                let start = i, delim = v[i]
                guard delim < 0x80 else { out.problems.append("entry \(index + 1): not a !regexp!uri! entry"); break }
                var seen = 0, escaped = false
                i += 1
                while i < v.count, seen < 2 {
                    if escaped { escaped = false } else if v[i] == UInt8(ascii: "\\") { escaped = true } else if v[i] == delim { seen += 1 }
                    i += 1
                }
                while i < v.count, (v[i] | 0x20) >= UInt8(ascii: "a"), (v[i] | 0x20) <= UInt8(ascii: "z") { i += 1 }
                entry = v[start..<i]
                if seen < 2 {
                    out.problems.append("entry \(index + 1): not a !regexp!uri! entry"); break
                }
            }
            index += 1
            add(String(decoding: entry, as: UTF8.self), index: index, to: &out)
            skipSpaces()
            guard i < v.count else { break }
            guard v[i] == UInt8(ascii: "|") else {
                out.problems.append("entry \(index + 1): unexpected '\(Character(Unicode.Scalar(v[i] < 0x80 ? v[i] : 0x3F)))' after an entry"); break
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
        if let refused = ParsedValue.refusal(of: value) { return refused }
        var out = ParsedValue()
        var lineNumber = 0
        for line in value.split(whereSeparator: { $0 == 0x0A || $0 == 0x0D }) {
            lineNumber += 1
            if hasPrefix(line, "E2U") {
                guard out.naptrs.count < ChainLimits.maxNAPTRsPerNumber else {
                    out.problems.append("line \(lineNumber): more than \(ChainLimits.maxNAPTRsPerNumber) E2U lines"); continue
                }
                switch e2u(line) {
                case .success(let n): out.naptrs.append(n)
                case .failure(let reason): out.problems.append("line \(lineNumber): \(reason.message)")
                }
            } else if hasPrefix(line, "TTL=") {
                let digits = line.dropFirst(4).prefix { $0 >= 0x30 && $0 <= 0x39 }
                if !digits.isEmpty, digits.count <= 10, let t = UInt64(String(decoding: digits, as: UTF8.self)) {
                    out.ttl = UInt32(min(t, 0x7FFF_FFFF))
                } else {
                    out.problems.append("line \(lineNumber): TTL is not a number")
                }
            }
            // SIG= lines (verifier signatures) and anything else are not served.
        }
        if out.naptrs.isEmpty && out.problems.isEmpty { out.problems.append("no E2U lines") }
        return out
    }

    /// EmerDNS compares the first characters without case.
    static func hasPrefix(_ line: ArraySlice<UInt8>, _ prefix: StaticString) -> Bool {
        let n = prefix.utf8CodeUnitCount
        guard line.count >= n else { return false }
        var i = line.startIndex
        for k in 0..<n {
            let c = line[i], p = prefix.utf8Start[k]
            guard c == p || (c | 0x20) == (p | 0x20) && (p | 0x20) >= 0x61 && (p | 0x20) <= 0x7A else { return false }
            i += 1
        }
        return true
    }

    struct Reason: Error { let message: String }

    /// `service=order|preference|regexp`, read like sscanf("%u | %u | %s").
    static func e2u(_ line: ArraySlice<UInt8>) -> Result<NAPTR, Reason> {
        guard let eq = line.firstIndex(of: UInt8(ascii: "=")) else { return .failure(Reason(message: "E2U line without '='")) }
        var serviceBytes = line[..<eq]
        while let last = serviceBytes.last, last == 0x20 || last == 0x09 { serviceBytes = serviceBytes.dropLast() }
        guard serviceBytes.count <= NAPTR.maxCharacterString, !serviceBytes.contains(0x20), !serviceBytes.contains(0x09) else {
            return .failure(Reason(message: "bad service field"))
        }
        var p = eq + 1
        func spaces() { while p < line.endIndex, line[p] == 0x20 || line[p] == 0x09 { p += 1 } }
        func number() -> UInt16? {
            spaces()
            var v = 0, n = 0
            while p < line.endIndex, line[p] >= 0x30, line[p] <= 0x39 {
                v = v * 10 + Int(line[p] - 0x30); n += 1; p += 1
                if v > Int(UInt16.max) { return nil }
            }
            return n == 0 ? nil : UInt16(v)
        }
        func bar() -> Bool { spaces(); guard p < line.endIndex, line[p] == UInt8(ascii: "|") else { return false }; p += 1; return true }
        guard let order = number(), bar(), let pref = number(), bar() else {
            return .failure(Reason(message: "expected service=order|preference|regexp with numbers up to 65535"))
        }
        spaces()
        let start = p
        while p < line.endIndex, line[p] != 0x20, line[p] != 0x09 { p += 1 }
        guard p > start else { return .failure(Reason(message: "no regexp")) }
        guard p - start <= NAPTR.maxCharacterString else { return .failure(Reason(message: "regexp longer than 255 bytes")) }
        let regexp = String(decoding: line[start..<p], as: UTF8.self)
        if case .failure(let e) = naptrRegexpReplacement(regexp) { return .failure(Reason(message: "\(e)")) }
        return .success(NAPTR(order: order, preference: pref, services: String(decoding: serviceBytes, as: UTF8.self), regexp: regexp))
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}
