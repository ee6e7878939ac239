/// The NVS name and value that publish a number's URIs on the chain, in either convention.
public enum Registration {
    public enum Convention: String, Sendable, CaseIterable { case seed, enumer }

    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case noService(String)
        case badURI(String)
        case tooLong(Int)
        public var description: String {
            switch self {
            case .noService(let u): return "no Enumservice for the URI scheme of '\(u)' (sip, sips, tel, mailto, http, https, ftp, h323, im, pres, xmpp, iax)"
            case .badURI(let u): return "'\(u)' cannot be put in a NAPTR regexp (it must be one token without '!' and at most 240 bytes)"
            case .tooLong(let n): return "the value would be \(n) bytes; the chain allows 20 KiB"
            }
        }
    }

    /// `uris[0]` is the primary, the rest fallbacks in order. The seed convention writes
    /// `"!^.*$!uri!"` entries joined by `|`; ENUMER writes one `E2U+svc=100|pref|!^.*$!uri!`
    /// line per URI with preferences 10, 20, ...
    public static func nameAndValue(for number: E164Number, uris: [String], convention: Convention) throws(Problem) -> (name: String, value: String) {
        var entries: [String] = []
        for (i, uri) in uris.enumerated() {
            guard !uri.isEmpty, uri.utf8.count <= 240, !uri.contains("!"), !uri.contains(where: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "|" || $0 == "\"" }) else {
                throw .badURI(uri)
            }
            guard let service = SeedValue.service(forURI: uri) else { throw .noService(uri) }
            switch convention {
            case .seed: entries.append("\"!^.*$!\(uri)!\"")
            case .enumer: entries.append("\(service)=100|\(10 * (i + 1))|!^.*$!\(uri)!")
            }
        }
        let value = convention == .seed ? entries.joined(separator: "|") : entries.joined(separator: "\n")
        guard value.utf8.count <= ChainLimits.maxValueLength else { throw .tooLong(value.utf8.count) }
        let name = convention == .seed ? number.seedNVSName : number.enumerNVSName(index: 0)
        return (name, value)
    }
}
