/// A resource record type (RFC 1035 section 3.2.2 and later RFCs). Only the values the server
/// treats specially are named; every other type is carried as opaque data.
public struct RRType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ v: UInt16) { rawValue = v }

    public static let a = RRType(1)
    public static let ns = RRType(2)
    public static let cname = RRType(5)
    public static let soa = RRType(6)
    public static let mx = RRType(15)
    public static let txt = RRType(16)
    public static let aaaa = RRType(28)
    public static let srv = RRType(33)
    public static let naptr = RRType(35)
    public static let opt = RRType(41)
    public static let ds = RRType(43)
    public static let rrsig = RRType(46)
    public static let ixfr = RRType(251)
    public static let axfr = RRType(252)
    public static let any = RRType(255)

    public var description: String {
        switch self {
        case .a: "A"; case .ns: "NS"; case .cname: "CNAME"; case .soa: "SOA"; case .mx: "MX"
        case .txt: "TXT"; case .aaaa: "AAAA"; case .srv: "SRV"; case .naptr: "NAPTR"; case .opt: "OPT"
        case .ds: "DS"; case .rrsig: "RRSIG"; case .ixfr: "IXFR"; case .axfr: "AXFR"; case .any: "ANY"
        default: "TYPE\(rawValue)"
        }
    }
}

/// DNS class IN (RFC 1035 section 3.2.4); the only class served.
public let dnsClassIN: UInt16 = 1

/// One resource record with its RDATA in uncompressed wire form.
public struct ResourceRecord: Hashable, Sendable {
    public var owner: DomainName
    public var type: RRType
    public var ttl: UInt32
    public var rdata: [UInt8]

    public init(owner: DomainName, type: RRType, ttl: UInt32, rdata: [UInt8]) {
        self.owner = owner; self.type = type; self.ttl = ttl; self.rdata = rdata
    }
}

/// The records of one owner name and type. RFC 2181 section 5.2: one TTL for the whole set.
public struct RRSet: Sendable, Equatable {
    public var type: RRType
    public var ttl: UInt32
    public var rdatas: [[UInt8]]

    public init(type: RRType, ttl: UInt32, rdatas: [[UInt8]]) {
        self.type = type; self.ttl = ttl; self.rdatas = rdatas
    }
}
