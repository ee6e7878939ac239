import DNSWire
import ENUMCore
import Testing
@testable import DNSServer
#if canImport(Glibc)
import Glibc
#endif

/// A query built by hand: header fields, then raw body bytes.
func header(id: UInt16 = 0xBEEF, flags: UInt16 = 0, qd: UInt16 = 1, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0) -> [UInt8] {
    [id, flags, qd, an, ns, ar].flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
}
let apexQuestion: [UInt8] = [4] + Array("e164".utf8) + [4] + Array("arpa".utf8) + [0, 0, 6, 0, 1]
func opt(size: UInt16 = 1232, version: UInt8 = 0, options: [UInt8] = []) -> [UInt8] {
    [0, 0, 41, UInt8(size >> 8), UInt8(size & 0xFF), 0, version, 0, 0, UInt8(options.count >> 8), UInt8(options.count & 0xFF)] + options
}
/// TYPE, CLASS IN, TTL 0, RDLENGTH and RDATA of a resource record, after its owner name.
func rr(type: UInt16, rdata: [UInt8] = []) -> [UInt8] {
    [UInt8(type >> 8), UInt8(type & 0xFF), 0, 1, 0, 0, 0, 0, UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
}
/// A question name of `octets` wire octets (63-octet labels, then what is left, then the root).
func longName(_ octets: Int) -> [UInt8] {
    var out: [UInt8] = []
    var left = octets - 1
    while left > 0 {
        let n = min(63, left - 1)
        out += [UInt8(n)] + [UInt8](repeating: 97, count: n)
        left -= n + 1
    }
    return out + [0]
}

enum Expect: Equatable { case silence; case headerOnly(Int); case withQuestion(Int); case noQuestion(Int) }

@Suite struct MalformedQueryTests {
    /// What NSD 4.6 does with each (checked side by side by probing both servers).
    typealias Case = (String, [UInt8], Expect)
    static let cases: [Case] = baseCases + extendedCases
    static let baseCases: [Case] = [
        ("too short for a header", [1, 2, 3], .silence),
        ("empty", [], .silence),
        ("QR set", header(flags: 0x8000) + apexQuestion, .silence),
        ("no question", header(qd: 0), .headerOnly(1)),
        ("two questions", header(qd: 2) + apexQuestion + apexQuestion, .headerOnly(1)),
        ("answer count in a query", header(an: 1) + apexQuestion, .headerOnly(1)),
        ("truncated question", header() + Array(apexQuestion.dropLast(3)), .headerOnly(1)),
        ("question name without end", header() + [4] + Array("e164".utf8), .headerOnly(1)),
        ("compression pointer in question", header() + [0xC0, 12, 0, 6, 0, 1], .headerOnly(1)),
        ("label of 64 octets", header() + [64] + [UInt8](repeating: 97, count: 64) + [0, 0, 6, 0, 1], .headerOnly(1)),
        ("name over 255 octets", header() + Array(repeating: [63] + [UInt8](repeating: 97, count: 63), count: 5).flatMap { $0 } + [0, 0, 6, 0, 1], .headerOnly(1)),
        ("ARCOUNT with no record", header(ar: 1) + apexQuestion, .headerOnly(1)),
        ("two OPT records", header(ar: 2) + apexQuestion + opt() + opt(), .headerOnly(1)),
        ("OPT with a non-root owner", header(ar: 1) + apexQuestion + [1, 97] + opt().dropFirst(), .headerOnly(1)),
        ("OPT RDATA past the end", header(ar: 1) + apexQuestion + opt().dropLast(2) + [0, 9], .headerOnly(1)),
        ("opcode STATUS", header(flags: 2 << 11) + apexQuestion, .headerOnly(4)),
        ("opcode 15", header(flags: 15 << 11) + apexQuestion, .headerOnly(4)),
        ("opcode NOTIFY", header(flags: 4 << 11) + apexQuestion, .headerOnly(5)),
        ("trailing garbage is ignored", header() + apexQuestion + [1, 2, 3], .withQuestion(0)),
        ("class CHAOS", header() + Array(apexQuestion.dropLast(2)) + [0, 3], .withQuestion(5)),
        ("EDNS version 1", header(ar: 1) + apexQuestion + opt(version: 1), .withQuestion(16)),
    ]

    /// More of the same, each observed on NSD 4.6.1 (Debian's `nsd`) with the raw bytes below on
    /// 2026-11-28, except where an RFC is named: NSD 4.6 predates DNS Cookies.
    static let extendedCases: [Case] = [
        // RFC 1035 section 4.1.1: nothing can be said to a message without a whole header.
        ("header of 11 octets", Array(header().prefix(11)), .silence),
        ("header of 1 octet", [0xBE], .silence),
        ("QR set with garbage", header(flags: 0x8000) + [0xFF, 0xFF], .silence),
        // Header bits a query should not carry: RCODE set is FORMERR; TC, Z, AD, CD are ignored.
        ("RCODE set in a query", header(flags: 0x0003) + apexQuestion, .headerOnly(1)),
        ("TC set in a query", header(flags: 0x0200) + apexQuestion, .withQuestion(0)),
        ("Z bit set", header(flags: 0x0040) + apexQuestion, .withQuestion(0)),
        // Opcodes other than QUERY (and NOTIFY, REFUSED above): NOTIMP, opcode echoed.
        ("opcode IQUERY", header(flags: 1 << 11) + apexQuestion, .headerOnly(4)),
        ("opcode 3 (unassigned)", header(flags: 3 << 11) + apexQuestion, .headerOnly(4)),
        ("opcode UPDATE", header(flags: 5 << 11) + apexQuestion, .headerOnly(4)),
        ("opcode DSO", header(flags: 6 << 11) + apexQuestion, .headerOnly(4)),
        // Section counts a query may not have.
        ("authority count in a query", header(ns: 1) + apexQuestion, .headerOnly(1)),
        ("OPT in the answer section", header(an: 1) + apexQuestion + opt(), .headerOnly(1)),
        ("QDCOUNT 0 with OPT: NOERROR and OPT", header(qd: 0, ar: 1) + opt(), .noQuestion(0)),
        // The query fuzzer's first finding (Fuzz/QueryFuzz.swift's "one question" invariant was
        // wrong for this): no question, one OPT offering 2256 octets. A reply, with no question.
        ("fuzz: QDCOUNT 0, OPT of size 2256", [0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x29, 0x08, 0xD0, 0, 0, 0, 0, 0, 0], .noQuestion(0)),
        ("QDCOUNT 0 with a bad OPT", header(qd: 0, ar: 1) + opt().dropLast(1), .headerOnly(1)),
        ("QDCOUNT 0 with another record", header(qd: 0, ar: 1) + [0] + rr(type: 1), .headerOnly(1)),
        ("QDCOUNT 65535", header(qd: 0xFFFF) + apexQuestion, .headerOnly(1)),
        // Label and name limits (RFC 1035 section 2.3.4): 127 labels and 255 octets are fine.
        ("127 labels, 255 octets", header() + Array(repeating: [1, 97], count: 127).flatMap { $0 } + [0, 0, 6, 0, 1], .withQuestion(5)),
        ("name of exactly 255 octets", header() + longName(255) + [0, 6, 0, 1], .withQuestion(5)),
        ("name of 256 octets", header() + longName(256) + [0, 6, 0, 1], .headerOnly(1)),
        ("extended label type 0x40", header() + [0x40, 0, 0, 6, 0, 1], .headerOnly(1)),
        ("reserved label type 0x80", header() + [0x80, 0, 0, 6, 0, 1], .headerOnly(1)),
        // The additional section of a query holds OPT and TSIG only; anything else is FORMERR
        // (NSD checks this), and so are owner pointers that could loop or point outside the message.
        ("an A record in the additional section", header(ar: 1) + apexQuestion + [0xC0, 12] + rr(type: 1, rdata: [127, 0, 0, 1]), .headerOnly(1)),
        ("pointer loop in an additional owner", header(ar: 1) + apexQuestion + [0xC0, 27] + rr(type: 250), .headerOnly(1)),
        ("pointer past the end in an additional owner", header(ar: 1) + apexQuestion + [0xC0, 0xFF] + rr(type: 250), .headerOnly(1)),
        ("pointer into the header", header(ar: 1) + apexQuestion + [0xC0, 2] + rr(type: 250), .headerOnly(1)),
        ("two-hop pointer chain ending in a loop", header(ar: 2) + apexQuestion + [1, 97, 0xC0, 27] + rr(type: 250) + [0xC0, 27] + rr(type: 41), .headerOnly(1)),
        // EDNS options (RFC 6891 section 6.1.2): an option running past the RDATA is FORMERR.
        ("EDNS option longer than the RDATA", header(ar: 1) + apexQuestion + opt(options: [0, 10, 0, 8] + Array("abc".utf8)), .headerOnly(1)),
        ("EDNS option header cut short", header(ar: 1) + apexQuestion + opt(options: [0, 10, 0]), .headerOnly(1)),
        ("unknown EDNS option is ignored", header(ar: 1) + apexQuestion + opt(options: [0xFD, 0xE9, 0, 2, 1, 2]), .withQuestion(0)),
        ("trailing garbage after OPT is ignored", header(ar: 1) + apexQuestion + opt() + [1, 2], .withQuestion(0)),
        ("OPT with UDP size 0 is read as 512", header(ar: 1) + apexQuestion + opt(size: 0), .withQuestion(0)),
        // Classes: CHAOS is refused with the question (NSD has no CH data here); NONE, HS and 0
        // are refused with the header only; ANY (255) is answered.
        ("class NONE", header() + Array(apexQuestion.dropLast(2)) + [0, 254], .headerOnly(5)),
        ("class HS", header() + Array(apexQuestion.dropLast(2)) + [0, 4], .headerOnly(5)),
        ("class 0", header() + Array(apexQuestion.dropLast(2)) + [0, 0], .headerOnly(5)),
        ("class ANY", header() + Array(apexQuestion.dropLast(2)) + [0, 255], .withQuestion(0)),
        // Meta and odd types are data types like any other here: NODATA with the SOA.
        ("type 0", header() + Array(apexQuestion.dropLast(4)) + [0, 0, 0, 1], .withQuestion(0)),
        ("type OPT as a question", header() + Array(apexQuestion.dropLast(4)) + [0, 41, 0, 1], .withQuestion(0)),
        ("type MAILB", header() + Array(apexQuestion.dropLast(4)) + [0, 253, 0, 1], .withQuestion(0)),
    ]

    @Test func eachMalformedQueryGetsTheRightAnswer() throws {
        let responder = try demoResponder()
        for (what, bytes, expected) in Self.cases {
            let out = responder.respond(bytes)
            switch expected {
            case .silence:
                #expect(out.isEmpty, "\(what)")
            case .headerOnly(let rcode):
                #expect(out.count == 12, "\(what)")
                guard out.count == 12 else { continue }
                #expect(out[0] == 0xBE && out[1] == 0xEF, "\(what)")
                #expect(out[2] & 0x80 != 0 && Int(out[3] & 0x0F) == rcode, "\(what)")
                #expect(out[2] & 0x78 == bytes[2] & 0x78, "\(what): opcode echoed")
                #expect(out[4...].allSatisfy { $0 == 0 }, "\(what): no sections")
            case .noQuestion(let rcode):
                #expect(out.count == 12 + 11 && out[3] & 0x0F == rcode && out[4...9].allSatisfy { $0 == 0 } && out[11] == 1, "\(what)")
            case .withQuestion(let rcode):
                let p = try DecodedPacket(out)
                #expect(p.rcode == rcode && p.question.count == 1, "\(what)")
            }
        }
    }

    /// Random corruption of real queries must never crash the responder, and everything it sends
    /// back must be a DNS message that libldns decodes, with the query's ID.
    @Test func mutatedQueriesNeverBreakTheResponder() throws {
        let responder = try demoResponder()
        var rng = SplitMix(seed: 42)
        let seeds: [[UInt8]] = try [
            DecodedPacket.query(name: number, type: .naptr),
            DecodedPacket.query(name: "3.2.1.e164.arpa.", type: .naptr, edns: .init(udpSize: 4096, version: 0, dnssecOK: true)),
            DecodedPacket.query(name: "example.com.", type: .a),
            header(ar: 1) + apexQuestion + opt(),
        ]
        var answered = 0
        for i in 0..<30_000 {
            var q = seeds[i % seeds.count]
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let pos = Int(rng.next() % UInt64(q.count + 1))
                switch rng.next() % 4 {
                case 0 where pos < q.count: q[pos] = UInt8(truncatingIfNeeded: rng.next())
                case 1: q.insert(UInt8(truncatingIfNeeded: rng.next()), at: pos)
                case 2 where pos < q.count: q.remove(at: pos)
                default: q = Array(q.prefix(pos))
                }
            }
            for transport in [Transport.udp, .tcp] {
                let out = responder.respond(q, transport)
                guard !out.isEmpty else { continue }
                answered += 1
                #expect(out.count >= 12 && out[0] == q[0] && out[1] == q[1])
                if transport == .udp { #expect(out.count <= 1232) }
                if out.count > 12 { #expect(throws: Never.self) { try DecodedPacket(out) } }
            }
        }
        #expect(answered > 10_000)
    }
}

/// A small deterministic generator, so a failure can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
