import ENUMCore

/// DNS header bits (RFC 1035 section 4.1.1, RFC 4035 section 3.2 for CD).
enum HeaderFlag {
    static let qr: UInt16 = 0x8000
    static let aa: UInt16 = 0x0400
    static let tc: UInt16 = 0x0200
    static let rd: UInt16 = 0x0100
    static let cd: UInt16 = 0x0010
}

/// Response codes, including the EDNS extended BADVERS (RFC 6891 section 9).
public enum Rcode: UInt16, Sendable {
    case noError = 0, formErr = 1, servFail = 2, nxDomain = 3, notImp = 4, refused = 5
    case badVers = 16
    /// RFC 7873 section 8: a server cookie is missing or wrong and the server wants one.
    case badCookie = 23
}

/// What a query's first pass says to do, in the order miekg/dns and NSD check it: the header
/// first (too short or QR set: silence, since any reply to garbage can amplify; opcode not QUERY:
/// NOTIMP), then the counts and the question (FORMERR), then EDNS.
enum QueryCheck {
    case drop
    /// Reply with the header only (FORMERR, NOTIMP, REFUSED for NOTIFY); no question echoed.
    case headerOnly(Rcode)
    case query(ParsedQuery)
    /// No question, only an OPT with a COOKIE option (RFC 7873 section 5.4).
    case cookieOnly(ParsedQuery)
}

/// The parts of a well-formed query the responder needs. Offsets are into the query bytes.
struct ParsedQuery {
    var id: UInt16
    var flags: UInt16
    /// End of the question (after QCLASS); the question is bytes 12..<questionEnd.
    var questionEnd: Int
    /// Wire length of QNAME including the root label.
    var qnameLength: Int
    var labelCount: Int
    var qtype: UInt16
    var qclass: UInt16
    var hasEDNS = false
    var ednsVersion: UInt8 = 0
    var udpSize: UInt16 = 512
    var dnssecOK = false
    /// A TSIG record in the additional section (RFC 8945): answered on the slow path, signed.
    var hasTSIG = false
    /// The COOKIE option's data (RFC 7873 section 4): offset into the query and length (8 for a
    /// client cookie alone, 16 to 40 with a server cookie); length 0 when there is none.
    var cookieOffset = 0
    var cookieLength = 0
}

/// Reads and checks the header, question and additional section of `q`.
///
/// A question name may not use compression (nothing precedes it to point to) and must respect
/// RFC 1035 section 2.3.4 limits. Additional records are walked so that exactly one OPT with the
/// root owner is accepted (RFC 6891 section 6.1.1); bytes after the last counted record are
/// ignored, as NSD does.
func checkQuery(_ q: UnsafeRawBufferPointer) -> QueryCheck {
    guard q.count >= 12 else { return .drop }
    @inline(__always) func u16(_ at: Int) -> UInt16 { UInt16(q[at]) << 8 | UInt16(q[at + 1]) }
    let flags = u16(2)
    guard flags & HeaderFlag.qr == 0 else { return .drop }
    let opcode = (flags >> 11) & 0xF
    if opcode == 4 { return .headerOnly(.refused) }  // NOTIFY: we are nobody's secondary
    guard opcode == 0 else { return .headerOnly(.notImp) }
    // RCODE set in a query: FORMERR, as NSD answers.
    guard flags & 0x000F == 0, u16(6) == 0, u16(8) == 0 else { return .headerOnly(.formErr) }
    let qdcount = u16(4)
    let arcount = Int(u16(10))
    // No question but an OPT: NOERROR with our OPT, as NSD answers; with a COOKIE option this is
    // RFC 7873 section 5.4's way of learning a server cookie. No question and no OPT: FORMERR.
    if qdcount == 0 && arcount == 1 {
        var parsed = ParsedQuery(id: u16(0), flags: flags, questionEnd: 12, qnameLength: 0, labelCount: 0,
                                 qtype: 0, qclass: 0)
        let additional = checkAdditional(q, from: 12, count: 1, &parsed)
        guard case .query(let pq) = additional else { return additional }
        guard pq.hasEDNS else { return .headerOnly(.formErr) }
        return .cookieOnly(pq)
    }
    guard qdcount == 1 else { return .headerOnly(.formErr) }

    var p = 12
    var labels = 0
    while true {
        guard p < q.count else { return .headerOnly(.formErr) }
        let len = Int(q[p])
        if len == 0 { p += 1; break }
        guard len <= 63 else { return .headerOnly(.formErr) }  // pointers and extended label types
        p += 1 + len
        labels += 1
        guard p - 12 < 255 else { return .headerOnly(.formErr) }
    }
    let qnameLength = p - 12
    guard p + 4 <= q.count else { return .headerOnly(.formErr) }
    var parsed = ParsedQuery(id: u16(0), flags: flags, questionEnd: p + 4, qnameLength: qnameLength,
                             labelCount: labels, qtype: u16(p), qclass: u16(p + 2))
    p += 4
    // Classes other than IN, CH and ANY are refused with the header alone, as NSD 4.6 does
    // (CH, with no data for it here, is refused with the question in the responder).
    if parsed.qclass != dnsClassIN && parsed.qclass != 3 && parsed.qclass != 255 { return .headerOnly(.refused) }
    return checkAdditional(q, from: p, count: arcount, &parsed)
}

/// Walks the additional section: OPT (at most one, root owner, options tiling its RDATA; RFC 6891
/// section 6.1) and TSIG are the records a query may carry, anything else is FORMERR as in NSD.
/// Owner names may end in a compression pointer only to an earlier offset past the header, so
/// nothing here can loop. Bytes after the last counted record are ignored, as NSD does.
private func checkAdditional(_ q: UnsafeRawBufferPointer, from start: Int, count arcount: Int,
                             _ parsed: inout ParsedQuery) -> QueryCheck {
    @inline(__always) func u16(_ at: Int) -> UInt16 { UInt16(q[at]) << 8 | UInt16(q[at + 1]) }
    var p = start
    for _ in 0..<arcount {
        // Owner name: labels, possibly ending in a compression pointer.
        let ownerStart = p
        while true {
            guard p < q.count else { return .headerOnly(.formErr) }
            let len = Int(q[p])
            if len == 0 { p += 1; break }
            if len & 0xC0 == 0xC0 {
                guard p + 1 < q.count else { return .headerOnly(.formErr) }
                let target = (len & 0x3F) << 8 | Int(q[p + 1])
                guard target >= 12, target < ownerStart else { return .headerOnly(.formErr) }
                p += 2; break
            }
            guard len <= 63 else { return .headerOnly(.formErr) }
            p += 1 + len
        }
        guard p + 10 <= q.count else { return .headerOnly(.formErr) }
        let type = u16(p)
        let rdlen = Int(u16(p + 8))
        guard p + 10 + rdlen <= q.count else { return .headerOnly(.formErr) }
        if type == RRType.opt.rawValue {
            guard !parsed.hasEDNS, p == ownerStart + 1, q[ownerStart] == 0 else { return .headerOnly(.formErr) }
            parsed.hasEDNS = true
            parsed.udpSize = u16(p + 2)
            parsed.ednsVersion = q[p + 5]
            parsed.dnssecOK = q[p + 6] & 0x80 != 0
            var o = p + 10
            let end = o + rdlen
            while o < end {
                guard o + 4 <= end else { return .headerOnly(.formErr) }
                let code = u16(o), length = Int(u16(o + 2))
                guard o + 4 + length <= end else { return .headerOnly(.formErr) }
                if code == 10 {
                    // RFC 7873 section 5.2.2: a malformed COOKIE option is FORMERR.
                    guard parsed.cookieLength == 0, length == 8 || (16...40).contains(length) else {
                        return .headerOnly(.formErr)
                    }
                    parsed.cookieOffset = o + 4
                    parsed.cookieLength = length
                }
                o += 4 + length
            }
        } else if type != 250 {  // TSIG (RFC 8945) is for the transfer code to judge
            return .headerOnly(.formErr)
        }
        if type == 250 { parsed.hasTSIG = true }
        p += 10 + rdlen
    }
    return .query(parsed)
}
