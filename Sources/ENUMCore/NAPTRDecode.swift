#if canImport(Glibc)
import Glibc
#endif

extension NAPTR {
    /// Reads NAPTR RDATA (RFC 3403 section 4.1) back into fields; nil if it is not well formed.
    public init?(rdata: [UInt8]) {
        var p = 4
        guard rdata.count >= 8 else { return nil }
        func string() -> String? {
            guard p < rdata.count else { return nil }
            let n = Int(rdata[p])
            guard p + 1 + n <= rdata.count else { return nil }
            defer { p += 1 + n }
            return String(decoding: rdata[(p + 1)..<(p + 1 + n)], as: UTF8.self)
        }
        guard let flags = string(), let services = string(), let regexp = string(),
              p < rdata.count, let replacement = try? DomainName(wire: Array(rdata[p...])) else { return nil }
        self.init(order: UInt16(rdata[0]) << 8 | UInt16(rdata[1]), preference: UInt16(rdata[2]) << 8 | UInt16(rdata[3]),
                  flags: flags, services: services, regexp: regexp, replacement: replacement)
    }

    /// The pattern (ERE) and replacement parts of REGEXP, and whether it ignores case.
    public var regexpParts: (pattern: String, replacement: String, ignoreCase: Bool)? {
        guard case .success(let repl) = naptrRegexpReplacement(regexp), let d = regexp.utf8.first else { return nil }
        let bytes = Array(regexp.utf8)
        var end = 1, escaped = false
        while end < bytes.count {
            if escaped { escaped = false } else if bytes[end] == UInt8(ascii: "\\") { escaped = true } else if bytes[end] == d { break }
            end += 1
        }
        return (String(decoding: bytes[1..<end], as: UTF8.self), repl, regexp.hasSuffix("i") && bytes.last != d)
    }

    /// The URI this record yields for `number` (RFC 3402 section 3.2; RFC 6116 section 3.2: the
    /// Application Unique String is the number with its leading '+'): the POSIX extended regular
    /// expression is matched against "+digits" and `\1`...`\9` in the replacement are filled with
    /// the groups. Nil when the pattern does not compile or does not match.
    public func uri(for number: E164Number) -> String? {
        guard let parts = regexpParts else { return nil }
        // The common case needs no regex engine: a pattern that matches every number and a
        // replacement without backreferences (glibc's regcomp costs far more than the rest).
        if parts.pattern == "^.*$" || parts.pattern == ".*" || parts.pattern == "^.*" || parts.pattern == ".*$",
           !parts.replacement.contains("\\") {
            return parts.replacement
        }
        var re = regex_t()
        guard regcomp(&re, parts.pattern, REG_EXTENDED | (parts.ignoreCase ? REG_ICASE : 0)) == 0 else { return nil }
        defer { regfree(&re) }
        let aus = "+" + number.digits
        var matches = [regmatch_t](repeating: regmatch_t(), count: 10)
        guard regexec(&re, aus, 10, &matches, 0) == 0 else { return nil }
        let s = Array(aus.utf8)
        var out: [UInt8] = []
        let r = Array(parts.replacement.utf8)
        var i = 0
        while i < r.count {
            if r[i] == UInt8(ascii: "\\"), i + 1 < r.count {
                let n = r[i + 1]
                if n >= UInt8(ascii: "1") && n <= UInt8(ascii: "9") {
                    let m = matches[Int(n - 48)]
                    if m.rm_so >= 0 { out += s[Int(m.rm_so)..<Int(m.rm_eo)] }
                    i += 2; continue
                }
                out.append(n); i += 2; continue  // an escaped character stands for itself
            }
            out.append(r[i]); i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
