import DNSWire
import ENUMCore
import Testing
@testable import DNSServer
#if canImport(Glibc)
import Glibc
#endif

let repoRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // Tests/DNSServerTests/ResponderTests.swift
    return parts.joined(separator: "/")
}()

func demoResponder(_ options: ResponderOptions = ResponderOptions()) throws -> Responder {
    let zone = try ZoneFile.load(path: repoRoot + "/zones/e164.arpa.zone")
    return Responder(snapshot: try Snapshot(zones: [zone]), options: options)
}

extension Responder {
    func respond(_ query: [UInt8], _ transport: Transport = .udp) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Responder.maxMessageSize)
        let n = query.withUnsafeBytes { q in out.withUnsafeMutableBytes { respond(to: q, transport: transport, into: $0) } }
        return Array(out[0..<n])
    }

    func ask(_ name: String, _ type: RRType, edns: DecodedPacket.EDNS? = nil, _ transport: Transport = .udp) throws -> DecodedPacket {
        try DecodedPacket(respond(DecodedPacket.query(name: name, type: type, edns: edns), transport))
    }
}

let number = "0.9.8.7.6.5.4.3.2.1.e164.arpa."

@Suite struct ResponderTests {
    /// The full answer as libldns decodes it: golden presentation text per section.
    @Test func naptrAnswerGolden() throws {
        let r = try demoResponder().ask(number, .naptr)
        #expect(r.qr && r.aa && !r.tc && r.rcode == 0 && r.id == 0x1234)
        #expect(r.question == ["0.9.8.7.6.5.4.3.2.1.e164.arpa.\tIN\tNAPTR"])
        #expect(r.answer == [
            "0.9.8.7.6.5.4.3.2.1.e164.arpa.\t3600\tIN\tNAPTR\t100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:primary@example.com!\" .",
            "0.9.8.7.6.5.4.3.2.1.e164.arpa.\t3600\tIN\tNAPTR\t100 20 \"u\" \"E2U+sip\" \"!^.*$!sip:backup@example.com!\" .",
            "0.9.8.7.6.5.4.3.2.1.e164.arpa.\t3600\tIN\tNAPTR\t100 30 \"u\" \"E2U+pstn:tel\" \"!^.*$!tel:+1234567890!\" .",
        ])
        #expect(r.authority == ["e164.arpa.\t3600\tIN\tNS\tns1.enumd.example.", "e164.arpa.\t3600\tIN\tNS\tns2.e164.arpa."])
        #expect(r.additional == ["ns2.e164.arpa.\t3600\tIN\tA\t192.0.2.53", "ns2.e164.arpa.\t3600\tIN\tAAAA\t2001:db8::53"])
        #expect(r.edns == nil)
    }

    @Test func questionEchoedAsAskedAndMatchedWithoutCase() throws {
        let r = try demoResponder().ask("0.9.8.7.6.5.4.3.2.1.E164.ArPa.", .naptr)
        #expect(r.question == ["0.9.8.7.6.5.4.3.2.1.E164.ArPa.\tIN\tNAPTR"])
        #expect(r.answer.count == 3)
        #expect(r.answer.allSatisfy { $0.hasPrefix("0.9.8.7.6.5.4.3.2.1.E164.ArPa.\t") })
        #expect(r.authority.first?.hasPrefix("E164.ArPa.\t") == true)
    }

    @Test func negativeAnswersCarryTheSOAWithTheRFC2308TTL() throws {
        let soa = "e164.arpa.\t300\tIN\tSOA\tns1.enumd.example. hostmaster.enumd.example. 2026112801 7200 3600 1209600 300"
        let cases: [(String, RRType, Int)] = [
            ("9.9.e164.arpa.", .naptr, 3),        // NXDOMAIN
            (number, .a, 0),                      // NODATA: other type
            ("3.2.1.e164.arpa.", .naptr, 0),      // NODATA: empty non-terminal
            ("e164.arpa.", .naptr, 0),
            ("5.4.3.2.1.0.3.9.4.e164.arpa.", .txt, 0),  // NODATA through a wildcard
        ]
        for (q, t, rcode) in cases {
            let r = try demoResponder().ask(q, t)
            #expect(r.rcode == rcode && r.aa && r.answer.isEmpty && r.authority == [soa], "\(q) \(t)")
        }
    }

    @Test func wildcardSynthesisUsesTheQueryName() throws {
        let r = try demoResponder().ask("7.6.5.4.3.2.1.0.3.9.4.e164.arpa.", .naptr)
        #expect(r.rcode == 0 && r.aa)
        #expect(r.answer == ["7.6.5.4.3.2.1.0.3.9.4.e164.arpa.\t3600\tIN\tNAPTR\t100 10 \"u\" \"E2U+sip\" \"!^\\\\+(.*)$!sip:\\\\1@pbx.example.de!\" ."])
    }

    @Test func refusedOutsideEveryApex() throws {
        let r = try demoResponder().ask("example.com.", .a)
        #expect(r.rcode == 5 && !r.aa && r.answer.isEmpty && r.authority.isEmpty)
        let e = try demoResponder().respond(DecodedPacket.query(name: "example.com.", type: .a, edns: .init(udpSize: 1232, version: 0, dnssecOK: false)))
        // RFC 8914 Extended DNS Error 20 (Not Authoritative) in the OPT RDATA, as NSD sends it.
        #expect(Array(e.suffix(6)) == [0, 15, 0, 2, 0, 20])
    }

    @Test func apexAnswers() throws {
        let ns = try demoResponder().ask("e164.arpa.", .ns)
        #expect(ns.answer.count == 2 && ns.authority.isEmpty && ns.additional.count == 2)
        let soa = try demoResponder().ask("e164.arpa.", .soa)
        #expect(soa.answer.count == 1 && soa.authority.count == 2)
        let any = try demoResponder().ask("e164.arpa.", .any)
        #expect(any.answer.count == 1 && any.answer[0].contains("\tSOA\t") && any.authority.isEmpty)
        let minimal = try demoResponder(ResponderOptions(minimalResponses: true)).ask(number, .naptr)
        #expect(minimal.answer.count == 3 && minimal.authority.isEmpty && minimal.additional.isEmpty)
    }

    @Test func ednsEchoedOnlyWhenAskedWithDOCopied() throws {
        let plain = try demoResponder().ask(number, .naptr)
        #expect(plain.edns == nil)
        let withDO = try demoResponder().ask(number, .naptr, edns: .init(udpSize: 4096, version: 0, dnssecOK: true))
        #expect(withDO.edns == .init(udpSize: 1232, version: 0, dnssecOK: true))
        let noDO = try demoResponder().ask(number, .naptr, edns: .init(udpSize: 4096, version: 0, dnssecOK: false))
        #expect(noDO.edns?.dnssecOK == false)
        let badvers = try demoResponder().ask(number, .naptr, edns: .init(udpSize: 4096, version: 1, dnssecOK: false))
        #expect(badvers.rcode == 16 && badvers.answer.isEmpty && badvers.edns?.version == 0)
    }

    /// A number with 40 NAPTRs (about 2.6 KB): truncated over UDP at the client's size, whole over TCP.
    @Test func truncationOverUDPAndFullAnswerOverTCP() throws {
        let path = try writeTempZone(naptrCount: 40)
        let responder = Responder(snapshot: try Snapshot(zones: [ZoneFile.load(path: path)]))
        let udp = try responder.ask("1.e164.arpa.", .naptr)
        #expect(udp.tc && udp.aa && udp.answer.isEmpty && udp.rcode == 0)
        let udpBig = try responder.ask("1.e164.arpa.", .naptr, edns: .init(udpSize: 65000, version: 0, dnssecOK: false))
        #expect(udpBig.tc && udpBig.edns?.udpSize == 1232)
        let tcp = try responder.ask("1.e164.arpa.", .naptr, .tcp)
        #expect(!tcp.tc && tcp.answer.count == 40)
        // 12 NAPTRs fit in 1232 octets but not in 512: the client's size is honoured.
        let path12 = try writeTempZone(naptrCount: 12)
        let r12 = Responder(snapshot: try Snapshot(zones: [ZoneFile.load(path: path12)]))
        #expect(try r12.ask("1.e164.arpa.", .naptr).tc)
        let fits = try r12.ask("1.e164.arpa.", .naptr, edns: .init(udpSize: 1232, version: 0, dnssecOK: false))
        #expect(!fits.tc && fits.answer.count == 12)
        let small = try r12.ask("1.e164.arpa.", .naptr, edns: .init(udpSize: 100, version: 0, dnssecOK: false))
        #expect(small.tc)  // below 512 counts as 512 (RFC 6891 section 6.2.5)
    }

    @Test func zoneTransfersAreNotOfferedYet() throws {
        #expect(try demoResponder().ask("e164.arpa.", .axfr).rcode == 4)  // NOTIMP over UDP, as NSD
        #expect(try demoResponder().ask("e164.arpa.", .axfr, .tcp).rcode == 5)
        #expect(try demoResponder().ask("e164.arpa.", .ixfr).rcode == 5)
    }
}

func writeTempZone(naptrCount: Int) throws -> String {
    var text = "$ORIGIN e164.arpa.\n$TTL 60\n@ SOA ns. host. 1 2 3 4 5\n@ NS ns.example.\n"
    for i in 0..<naptrCount {
        text += "1 NAPTR 100 \(i) \"u\" \"E2U+sip\" \"!^.*$!sip:user\(i)@a-rather-long-host-name.example.com!\" .\n"
    }
    let path = "/tmp/enumd-test-\(naptrCount)-\(UInt32.random(in: 0...UInt32.max)).zone"
    let fp = fopen(path, "w")!
    fputs(text, fp)
    fclose(fp)
    return path
}
