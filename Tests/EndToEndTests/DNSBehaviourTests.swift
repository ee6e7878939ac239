import DNSWire
import ENUMCore
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The built `enumd` on loopback, queried with `dig` and raw sockets: every bullet of the DNS
/// behaviour in issue 2 and DESIGN.md.
@Suite struct DNSBehaviourTests {
    let number = "0.9.8.7.6.5.4.3.2.1.e164.arpa"
    let soa = "e164.arpa. 300 IN SOA ns1.enumd.example. hostmaster.enumd.example. 2026112801 7200 3600 1209600 300"

    @Test func naptrOverUDPAndTCP() throws {
        let s = try EnumdServer()
        for transport in ["+notcp", "+tcp"] {
            let a = try dig(s.port, [transport, number, "NAPTR"])
            #expect(a.status == "NOERROR" && a.flags == ["qr", "aa"], "\(transport) \(a)")
            #expect(a.answer == [
                "\(number). 3600 IN NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:primary@example.com!\" .",
                "\(number). 3600 IN NAPTR 100 20 \"u\" \"E2U+sip\" \"!^.*$!sip:backup@example.com!\" .",
                "\(number). 3600 IN NAPTR 100 30 \"u\" \"E2U+pstn:tel\" \"!^.*$!tel:+1234567890!\" .",
            ], "\(transport)")
            #expect(a.authority == ["e164.arpa. 3600 IN NS ns1.enumd.example.", "e164.arpa. 3600 IN NS ns2.e164.arpa."])
        }
    }

    @Test func apexSOAAndNS() throws {
        let s = try EnumdServer()
        let soaAnswer = try dig(s.port, ["e164.arpa", "SOA"])
        #expect(soaAnswer.answer == [soa.replacingOccurrences(of: " 300 IN", with: " 3600 IN")] && soaAnswer.flags.contains("aa"))
        let ns = try dig(s.port, ["e164.arpa", "NS"])
        #expect(ns.answer == ["e164.arpa. 3600 IN NS ns1.enumd.example.", "e164.arpa. 3600 IN NS ns2.e164.arpa."])
        #expect(ns.additional == ["ns2.e164.arpa. 3600 IN A 192.0.2.53", "ns2.e164.arpa. 3600 IN AAAA 2001:db8::53"])
    }

    @Test func negativeAnswersAndRefusal() throws {
        let s = try EnumdServer()
        let nx = try dig(s.port, ["9.9.9.e164.arpa", "NAPTR"])
        #expect(nx.status == "NXDOMAIN" && nx.flags.contains("aa") && nx.answer.isEmpty && nx.authority == [soa])
        let otherType = try dig(s.port, [number, "A"])
        #expect(otherType.status == "NOERROR" && otherType.answer.isEmpty && otherType.authority == [soa])
        let ent = try dig(s.port, ["5.4.3.2.1.e164.arpa", "NAPTR"])  // a parent label of +1234567890
        #expect(ent.status == "NOERROR" && ent.answer.isEmpty && ent.authority == [soa])
        let refused = try dig(s.port, ["example.com", "A"])
        #expect(refused.status == "REFUSED" && !refused.flags.contains("aa") && refused.answer.isEmpty)
        #expect(refused.opt.contains { $0.hasPrefix("; EDE: 20") })
    }

    @Test func caseInsensitiveMatchWithTheQuestionEchoed() throws {
        let s = try EnumdServer()
        let a = try dig(s.port, ["0.9.8.7.6.5.4.3.2.1.E164.ArPa", "NAPTR"])
        #expect(a.question == ["0.9.8.7.6.5.4.3.2.1.E164.ArPa. IN NAPTR"])
        #expect(a.answer.count == 3 && a.answer.allSatisfy { $0.hasPrefix("0.9.8.7.6.5.4.3.2.1.E164.ArPa. ") })
    }

    @Test func wildcardRange() throws {
        let s = try EnumdServer()
        let a = try dig(s.port, ["1.2.3.4.5.4.3.2.1.0.3.9.4.e164.arpa", "NAPTR"])
        #expect(a.status == "NOERROR" && a.answer.count == 1 && a.answer[0].contains("pbx.example.de"))
    }

    @Test func ednsBehaviour() throws {
        let s = try EnumdServer()
        let withEDNS = try dig(s.port, [number, "NAPTR"])
        #expect(withEDNS.opt.first == "; EDNS: version: 0, flags:; udp: 1232")
        let noEDNS = try dig(s.port, ["+noedns", number, "NAPTR"])
        #expect(noEDNS.opt.isEmpty && noEDNS.answer.count == 3)
        let withDO = try dig(s.port, ["+dnssec", number, "NAPTR"])
        #expect(withDO.opt.first == "; EDNS: version: 0, flags: do; udp: 1232")
        let badvers = try dig(s.port, ["+edns=1", "+noednsnegotiation", number, "NAPTR"])
        #expect(badvers.status == "BADVERS" && badvers.answer.isEmpty)
    }

    /// 40 NAPTRs: TC over UDP at 512 and at 1232 octets; dig then retries over TCP and gets all.
    @Test func truncationAndTCPFallback() throws {
        var text = "$ORIGIN e164.arpa.\n$TTL 60\n@ SOA ns. host. 1 2 3 4 5\n@ NS ns.example.\n"
        for i in 0..<40 { text += "1 NAPTR 100 \(i) \"u\" \"E2U+sip\" \"!^.*$!sip:user\(i)@long-host-name.example.com!\" .\n" }
        let s = try EnumdServer(zone: writeTemp(text))
        let truncated = try dig(s.port, ["+noedns", "+ignore", "1.e164.arpa", "NAPTR"])
        #expect(truncated.flags.contains("tc") && truncated.answer.isEmpty)
        let big = try dig(s.port, ["+bufsize=4096", "+ignore", "1.e164.arpa", "NAPTR"])
        #expect(big.flags.contains("tc"))
        let retried = try dig(s.port, ["+noedns", "1.e164.arpa", "NAPTR"])
        #expect(!retried.flags.contains("tc") && retried.answer.count == 40)
    }

    @Test func severalQueriesOnOneTCPConnection() throws {
        let s = try EnumdServer()
        let c = try TCPClient(port: s.port)
        let ids: [UInt16] = [11, 22, 33]
        let names = [number + ".", "9.9.e164.arpa.", "e164.arpa."]
        var batch: [UInt8] = []
        for (id, n) in zip(ids, names) { batch += lengthPrefixed(try DecodedPacket.query(name: n, type: .naptr, id: id)) }
        c.send(batch)  // pipelined in one write (RFC 7766 section 6.2.1.1)
        var rcodes: [Int] = []
        for id in ids {
            let m = try #require(c.readMessage())
            let p = try DecodedPacket(m)
            #expect(p.id == id)
            rcodes.append(p.rcode)
        }
        #expect(rcodes == [0, 3, 0])
        // The connection stays open for more.
        c.send(lengthPrefixed(try DecodedPacket.query(name: names[0], type: .naptr, id: 44)))
        #expect(try DecodedPacket(try #require(c.readMessage())).answer.count == 3)
    }

    @Test func idleTCPConnectionsAreClosed() throws {
        let s = try EnumdServer(["--tcp-idle-timeout", "1"])
        let c = try TCPClient(port: s.port, timeoutSeconds: 4)
        let start = Date()
        #expect(c.closedByPeer())
        #expect(Date().timeIntervalSince(start) < 3.5)
    }

    @Test func garbageGetsSilenceAndBrokenQuestionsFORMERR() throws {
        let s = try EnumdServer()
        #expect(udpExchange(port: s.port, [1, 2, 3]) == nil)
        var qr = try DecodedPacket.query(name: "e164.arpa.", type: .soa)
        qr[2] |= 0x80
        #expect(udpExchange(port: s.port, qr) == nil)
        let truncatedQuestion = Array(try DecodedPacket.query(name: "e164.arpa.", type: .soa).dropLast(3))
        let formerr = try #require(udpExchange(port: s.port, truncatedQuestion))
        #expect(formerr.count == 12 && formerr[3] & 0x0F == 1)
        var status = try DecodedPacket.query(name: "e164.arpa.", type: .soa)
        status[2] |= 2 << 3  // opcode STATUS
        let notimp = try #require(udpExchange(port: s.port, status))
        #expect(notimp[3] & 0x0F == 4)
        // Still answering after all that.
        #expect(try dig(s.port, ["e164.arpa", "SOA"]).status == "NOERROR")
    }

    /// Bound to 0.0.0.0, a query sent to 127.0.0.2 must be answered from 127.0.0.2 (dig drops a
    /// reply from any other source), over UDP as over TCP.
    @Test func wildcardListenerAnswersFromTheAddressAsked() throws {
        let s = try EnumdServer(dns: "0.0.0.0:0")
        for transport in ["+notcp", "+tcp"] {
            let r = try run(try tool("dig"), ["@127.0.0.2", "-p", String(s.port), "+norec", "+time=2", "+tries=1", transport, number, "NAPTR"])
            #expect(r.stdout.contains("status: NOERROR") && r.stdout.contains("ANSWER: 3"), "\(transport): \(r.stdout)")
            #expect(!r.stdout.contains("reply from unexpected source"))
        }
    }

    @Test func ipv6Listener() throws {
        let s = try EnumdServer(dns: "[::1]:0")
        #expect(s.stderrText.contains("DNS listening on [::1]:\(s.port)"))
        let r = try run(try tool("dig"), ["@::1", "-p", String(s.port), "+norec", "+short", number, "NAPTR"])
        #expect(r.stdout.split(separator: "\n").count == 3)
    }
}
