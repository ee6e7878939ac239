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
func opt(size: UInt16 = 1232, version: UInt8 = 0) -> [UInt8] { [0, 0, 41, UInt8(size >> 8), UInt8(size & 0xFF), 0, version, 0, 0, 0, 0] }

enum Expect: Equatable { case silence; case headerOnly(Int); case withQuestion(Int) }

@Suite struct MalformedQueryTests {
    /// What NSD 4.6 does with each (checked side by side by probing both servers).
    static let cases: [(String, [UInt8], Expect)] = [
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
