/// A domain name in uncompressed wire form (RFC 1035 section 3.1): length-prefixed labels ending
/// with the root label. Case is kept as given; comparisons that matter for DNS are case-insensitive
/// (RFC 4343) and go through `lowercased` or `canonicalKey`.
public struct DomainName: Hashable, Sendable, CustomStringConvertible {
    /// The wire bytes, including the final zero octet.
    public let wire: [UInt8]

    public static let root = DomainName(uncheckedWire: [0])
    public static let e164Arpa = try! DomainName(parsing: "e164.arpa.")

    /// RFC 1035 section 2.3.4: 63 octets a label, 255 a name.
    public static let maxLabelLength = 63
    public static let maxWireLength = 255

    init(uncheckedWire: [UInt8]) { self.wire = uncheckedWire }

    /// Validates wire bytes (no compression pointers).
    public init(wire: [UInt8]) throws(DomainNameError) {
        guard wire.count <= Self.maxWireLength else { throw .tooLong }
        var i = 0
        while true {
            guard i < wire.count else { throw .truncated }
            let len = Int(wire[i])
            if len == 0 { break }
            guard len <= Self.maxLabelLength else { throw .labelTooLong }
            i += 1 + len
        }
        guard i == wire.count - 1 else { throw .trailingBytes }
        self.wire = wire
    }

    public init(labels: [[UInt8]]) throws(DomainNameError) {
        var w: [UInt8] = []
        for l in labels {
            guard !l.isEmpty else { throw .emptyLabel }
            guard l.count <= Self.maxLabelLength else { throw .labelTooLong }
            w.append(UInt8(l.count))
            w.append(contentsOf: l)
        }
        w.append(0)
        guard w.count <= Self.maxWireLength else { throw .tooLong }
        self.wire = w
    }

    /// Parses presentation format (`a.b.c.` or `a.b.c`, always taken as fully qualified),
    /// with RFC 1035 section 5.1 escapes `\.` and `\DDD`.
    public init(parsing text: String) throws(DomainNameError) {
        if text == "." || text.isEmpty { self = .root; return }
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: ".") {
                guard !label.isEmpty else { throw .emptyLabel }
                labels.append(label); label = []
            } else if b == UInt8(ascii: "\\") {
                guard let n = bytes.popFirst() else { throw .badEscape }
                if n >= UInt8(ascii: "0"), n <= UInt8(ascii: "9") {
                    guard let n2 = bytes.popFirst(), let n3 = bytes.popFirst(),
                          (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(n2),
                          (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(n3) else { throw .badEscape }
                    let v = Int(n - 48) * 100 + Int(n2 - 48) * 10 + Int(n3 - 48)
                    guard v <= 255 else { throw .badEscape }
                    label.append(UInt8(v))
                } else {
                    label.append(n)
                }
            } else {
                label.append(b)
            }
        }
        if !label.isEmpty { labels.append(label) }
        try self.init(labels: labels)
    }

    /// The labels from the leftmost (most specific) to the rightmost, without the root.
    public var labels: [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while wire[i] != 0 {
            let len = Int(wire[i])
            out.append(Array(wire[(i + 1)...(i + len)]))
            i += 1 + len
        }
        return out
    }

    public var labelCount: Int {
        var n = 0, i = 0
        while wire[i] != 0 { n += 1; i += 1 + Int(wire[i]) }
        return n
    }

    /// ASCII letters folded to lower case (RFC 4343).
    public var lowercased: DomainName {
        DomainName(uncheckedWire: wire.map(asciiLower))
    }

    /// True when `self` equals `other` or lies below it (case-insensitive).
    public func isSubdomain(of other: DomainName) -> Bool {
        guard wire.count >= other.wire.count else { return false }
        let start = wire.count - other.wire.count
        // The suffix must start on a label boundary.
        var i = 0
        while i < start { i += 1 + Int(wire[i]) }
        guard i == start else { return false }
        for k in 0..<other.wire.count where asciiLower(wire[start + k]) != asciiLower(other.wire[k]) {
            return false
        }
        return true
    }

    /// The name with its leftmost label removed; nil for the root.
    public var parent: DomainName? {
        guard wire[0] != 0 else { return nil }
        return DomainName(uncheckedWire: Array(wire[(1 + Int(wire[0]))...]))
    }

    /// Presentation format with a trailing dot, escaping as RFC 1035 section 5.1 does.
    public var description: String {
        if wire == [0] { return "." }
        var s = ""
        for label in labels {
            for b in label {
                switch b {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "("),
                     UInt8(ascii: ")"), UInt8(ascii: ";"), UInt8(ascii: "$"), UInt8(ascii: "@"):
                    s.append("\\"); s.append(Character(Unicode.Scalar(b)))
                case 0x21...0x7e:
                    s.append(Character(Unicode.Scalar(b)))
                default:
                    let d = String(b)
                    s.append("\\" + String(repeating: "0", count: 3 - d.count) + d)
                }
            }
            s.append(".")
        }
        return s
    }
}

public enum DomainNameError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyLabel, labelTooLong, tooLong, truncated, trailingBytes, badEscape
    public var description: String {
        switch self {
        case .emptyLabel: return "empty label in domain name"
        case .labelTooLong: return "label longer than 63 octets"
        case .tooLong: return "domain name longer than 255 octets"
        case .truncated: return "domain name truncated"
        case .trailingBytes: return "bytes after the root label"
        case .badEscape: return "bad escape in domain name"
        }
    }
}

@inline(__always)
public func asciiLower(_ b: UInt8) -> UInt8 {
    (b &- 0x41) < 26 ? b | 0x20 : b
}
