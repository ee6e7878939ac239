import ENUMCore
import Testing
@testable import DNSWire
#if canImport(Glibc)
import Glibc
#endif

func tempFile(_ text: String) -> String {
    let path = "/tmp/enumd-zonefile-\(UInt32.random(in: 0...UInt32.max)).zone"
    let fp = fopen(path, "w")!
    fputs(text, fp)
    fclose(fp)
    return path
}

let goodHead = "$ORIGIN e164.arpa.\n$TTL 3600\n@ SOA ns1.example. host.example. 5 7200 3600 1209600 300\n@ NS ns1.example.\n"

@Suite struct ZoneFileTests {
    @Test func loadsTheDemoZone() throws {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let zone = try ZoneFile.load(path: parts.joined(separator: "/") + "/zones/e164.arpa.zone")
        #expect(zone.apex.description == "e164.arpa.")
        #expect(zone.serial == 2026112801)
        #expect(zone.negativeTTL == 300)
        let n = zone.nodes.first { $0.owner.description == "0.9.8.7.6.5.4.3.2.1.e164.arpa." }!
        #expect(n.rrsets.map(\.type) == [.naptr, .txt])
        #expect(n.rrsets[0].rdatas.count == 3)
    }

    /// NAPTR RDATA as libldns writes it: RFC 3403 section 4.1 field layout, no name compression.
    @Test func naptrRDATAGolden() throws {
        let path = tempFile(goodHead + "1 NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:a@b!\" .\n")
        let (_, records) = try ZoneFile.readRecords(path: path)
        let naptr = records.first { $0.record.type == .naptr }!
        #expect(naptr.record.rdata == [0, 100, 0, 10, 1, 117, 7] + Array("E2U+sip".utf8) + [14] + Array("!^.*$!sip:a@b!".utf8) + [0])
        #expect(naptr.line == 5)
    }

    @Test(arguments: [
        (goodHead + "1 NAPTR 100 10 \"u\" \"E2U+sip\"\n", 5, "NAPTR missing fields"),
        (goodHead + "\n\nexample.com. A 1.2.3.4\n", 7, "outside the zone"),
        (goodHead + "1 A 1.2.3.999\n", 5, "bad A"),
        (goodHead + "1 CH TXT \"x\"\n", 5, "class CH"),
        (goodHead + "$INCLUDE other.zone\n", 5, "include"),
        (goodHead + "1 SOA a. b. 1 2 3 4 5\n", 5, "second SOA"),
        ("$ORIGIN e164.arpa.\n@ NS ns1.example.\n", 0, "no SOA"),
        ("$ORIGIN e164.arpa.\n@ SOA a. b. 1 2 3 4 5\n", 0, "no NS"),
    ])
    func errorsNameTheLine(text: String, line: Int, what: String) throws {
        let path = tempFile(text)
        do {
            _ = try ZoneFile.load(path: path)
            Issue.record("\(what): loaded a broken zone")
        } catch {
            guard case .zoneFile(let p, let l, _) = error else { Issue.record("\(what): \(error)"); return }
            #expect(p == path)
            #expect(l == line, "\(what): \(error)")
            #expect(error.description.hasPrefix(line > 0 ? "\(path):\(line): " : "\(path): "))
        }
    }

    @Test func missingFile() {
        #expect(throws: WireError.cannotOpen(path: "/nonexistent/x.zone", reason: "No such file or directory")) {
            try ZoneFile.load(path: "/nonexistent/x.zone")
        }
    }

    @Test func queryRoundTripThroughLibldns() throws {
        let wire = try DecodedPacket.query(name: "0.9.8.7.6.5.4.3.2.1.E164.arpa.", type: .naptr, id: 7,
                                           edns: .init(udpSize: 1232, version: 0, dnssecOK: true))
        let p = try DecodedPacket(wire)
        #expect(p.id == 7 && !p.qr && p.question == ["0.9.8.7.6.5.4.3.2.1.E164.arpa.\tIN\tNAPTR"])
        #expect(p.edns == .init(udpSize: 1232, version: 0, dnssecOK: true))
    }
}
