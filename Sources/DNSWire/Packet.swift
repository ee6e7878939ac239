import CLDNS
import ENUMCore
#if canImport(Glibc)
import Glibc
#endif

/// A DNS message decoded by libldns, for tests, tools and golden checks: the server's hot path
/// never builds one. Records are in libldns's presentation format.
public struct DecodedPacket: Sendable, Equatable {
    public var id: UInt16
    public var qr, aa, tc, rd, ra: Bool
    public var opcode: Int
    /// The full rcode: header bits plus the OPT extended rcode (RFC 6891 section 6.1.3).
    public var rcode: Int
    public var question: [String]
    public var answer: [String]
    public var authority: [String]
    /// Additional records without the OPT pseudo-record.
    public var additional: [String]
    /// The OPT record, if present: advertised UDP size, version, DO bit.
    public var edns: EDNS?

    public struct EDNS: Sendable, Equatable {
        public var udpSize: Int
        public var version: Int
        public var dnssecOK: Bool

        public init(udpSize: Int, version: Int, dnssecOK: Bool) {
            self.udpSize = udpSize; self.version = version; self.dnssecOK = dnssecOK
        }
    }

    /// Decodes `bytes` with `ldns_wire2pkt`.
    public init(_ bytes: [UInt8]) throws(WireError) {
        var pkt: UnsafeMutablePointer<ldns_pkt>? = nil
        let status = bytes.withUnsafeBufferPointer { ldns_wire2pkt(&pkt, $0.baseAddress, $0.count) }
        try check(status, "ldns_wire2pkt")
        guard let pkt else { throw .ldns(function: "ldns_wire2pkt", status: "no packet") }
        defer { ldns_pkt_free(pkt) }
        id = ldns_pkt_id(pkt)
        qr = ldns_pkt_qr(pkt) != 0; aa = ldns_pkt_aa(pkt) != 0; tc = ldns_pkt_tc(pkt) != 0
        rd = ldns_pkt_rd(pkt) != 0; ra = ldns_pkt_ra(pkt) != 0
        opcode = Int(ldns_pkt_get_opcode(pkt).rawValue)
        func list(_ l: UnsafeMutablePointer<ldns_rr_list>?) -> [String] {
            guard let l else { return [] }
            return (0..<ldns_rr_list_rr_count(l)).map { i in
                guard let s = ldns_rr2str(ldns_rr_list_rr(l, i)) else { return "?" }
                defer { free(s) }
                return String(cString: s).trimmingSuffix("\n")
            }
        }
        question = list(ldns_pkt_question(pkt))
        answer = list(ldns_pkt_answer(pkt))
        authority = list(ldns_pkt_authority(pkt))
        additional = list(ldns_pkt_additional(pkt))
        if ldns_pkt_edns(pkt) != 0 {
            edns = EDNS(udpSize: Int(ldns_pkt_edns_udp_size(pkt)), version: Int(ldns_pkt_edns_version(pkt)),
                        dnssecOK: ldns_pkt_edns_do(pkt) != 0)
            rcode = Int(ldns_pkt_edns_extended_rcode(pkt)) << 4 | Int(ldns_pkt_get_rcode(pkt).rawValue)
        } else {
            edns = nil
            rcode = Int(ldns_pkt_get_rcode(pkt).rawValue)
        }
    }

    /// Encodes a query with libldns (`ldns_pkt_query_new` and `ldns_pkt2wire`).
    public static func query(name: String, type: RRType, id: UInt16 = 0x1234, recursionDesired: Bool = false,
                             edns: EDNS? = nil) throws(WireError) -> [UInt8] {
        var dname: UnsafeMutablePointer<ldns_rdf>? = nil
        try check(ldns_str2rdf_dname(&dname, name), "ldns_str2rdf_dname")
        guard let pkt = ldns_pkt_query_new(dname, ldns_rr_type(rawValue: UInt32(type.rawValue)), LDNS_RR_CLASS_IN,
                                           UInt16(recursionDesired ? LDNS_RD : 0)) else {
            throw .ldns(function: "ldns_pkt_query_new", status: "no packet")
        }
        defer { ldns_pkt_free(pkt) }
        ldns_pkt_set_id(pkt, id)
        if let edns {
            ldns_pkt_set_edns_udp_size(pkt, UInt16(edns.udpSize))
            ldns_pkt_set_edns_version(pkt, UInt8(edns.version))
            ldns_pkt_set_edns_do(pkt, edns.dnssecOK ? 1 : 0)
            // ldns writes an OPT record only when some EDNS field is non-zero; the UDP size is.
        }
        var wire: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        try check(ldns_pkt2wire(&wire, pkt, &size), "ldns_pkt2wire")
        defer { free(wire) }
        return Array(UnsafeBufferPointer(start: wire, count: size))
    }
}

extension String {
    func trimmingSuffix(_ s: String) -> String {
        hasSuffix(s) ? String(dropLast(s.count)) : self
    }
}
