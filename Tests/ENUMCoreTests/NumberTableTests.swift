import Testing
@testable import ENUMCore

/// The chain's numbers kept flat beside a zone's own names: lookups, static overrides, empty
/// non-terminals, wildcards and cuts behave as if the numbers were ordinary nodes.
@Suite struct NumberTableTests {
    func nvs(_ name: String, _ value: String, expiresAt: Int = 5000) -> NVSItem {
        NVSItem(name: Array(name.utf8), value: Array(value.utf8), expiresAt: expiresAt)
    }

    var chain: ChainRecords {
        ChainRecords.build([
            nvs("enum:1234567890:0", "E2U+sip=100|10|!^.*$!sip:chain@x!"),  // also in the zone file
            nvs("enum:4412345:0", "E2U+sip=100|10|!^.*$!sip:a@x!\nE2U+pstn:tel=100|20|!^.*$!tel:+4412345!\nTTL=120"),
            nvs("enum:0.3.3.e164.arpa", "!^.*$!sip:seed@x!|!^.*$!tel:+330!"),
            nvs("enum:4455:0", "E2U+sip=1|1|!^.*$!sip:b@x!"),  // under the *.4.4 wildcard
            nvs("enum:2299:0", "E2U+sip=1|1|!^.*$!sip:c@x!"),  // below the 2.2 cut
            nvs("enum:7.7.E164.ARPA", "!^.*$!sip:upper@x!"),  // a name as written, not canonical
            nvs("enum:77:3", "E2U+sip=1|1|!^.*$!sip:three@x!"),  // after a gap: skipped
        ], height: 4000, defaultTTL: 3600)
    }

    @Test func recordsRoundTripThroughTheTable() throws {
        let c = chain
        let t = NumberTable.build(c)
        #expect(t.count == c.numbers.count && t.height == 4000)
        for (i, r) in c.numbers.enumerated() {
            #expect(t.records(at: i) == r)
            #expect(t.index(of: r.number) == i)
        }
        let rec = try #require(t.records(for: E164Number(digits: "330")))
        #expect(rec.seedIndex == [0, 1] && rec.names == ["enum:0.3.3.e164.arpa"])
        #expect(t.records(for: try E164Number(digits: "77"))?.names == ["enum:7.7.E164.ARPA"])
        // Canonical names take one octet (seed) or three (ENUMER), a name as written its octets.
        let meta = { (d: String) in t.fingerprint(t.index(of: try E164Number(digits: d))!).1.count }
        #expect(try meta("330") == 4 + 1 + 1 + 2 * 2)
        #expect(try meta("4455") == 4 + 1 + 3 + 2)
        #expect(try meta("77") == 4 + 1 + 3 + "enum:7.7.E164.ARPA".utf8.count + 2)
    }

    @Test func zoneLooksNumbersUpBesideItsOwnNames() throws {
        let t = NumberTable.build(chain)
        let z = try demoZone().attaching(t, serial: 4000)
        #expect(z.serial == 4000 && z.numbers === t)
        let n4412345 = t.index(of: try E164Number(digits: "4412345"))!
        #expect(lookup(z, "5.4.3.2.1.4.4.e164.arpa.", .naptr) == .number(n4412345))
        #expect(lookup(z, "5.4.3.2.1.4.4.e164.arpa.", .any) == .number(n4412345))
        #expect(lookup(z, "5.4.3.2.1.4.4.e164.arpa.", .a) == .noData)
        // Parents of a chain number are empty non-terminals, not NXDOMAIN.
        #expect(lookup(z, "2.1.4.4.e164.arpa.", .naptr) == .noData)
        // The zone file's name wins over the chain's.
        if case .answer = lookup(z, "0.9.8.7.6.5.4.3.2.1.e164.arpa.", .naptr) {} else { Issue.record("zone file not first") }
        // A chain number is the closest encloser: the *.4.4 wildcard does not cover 9.2.1.4.4,
        // whose closest encloser 2.1.4.4 (a chain ENT) has no wildcard child (RFC 4592 3.3.1).
        #expect(lookup(z, "9.2.1.4.4.e164.arpa.", .naptr) == .nameError)
        // 5.5.4.4 exists on the chain: served from the chain, not synthesized.
        #expect(lookup(z, "5.5.4.4.e164.arpa.", .naptr) == .number(t.index(of: try E164Number(digits: "4455"))!))
        // A number below a zone cut is not ours to answer: referral.
        if case .delegation = lookup(z, "9.9.2.2.e164.arpa.", .naptr) {} else { Issue.record("cut not applied") }
        #expect(lookup(z, "7.7.7.e164.arpa.", .naptr) == .nameError)
        // Counted once where the zone file and the chain share a name.
        #expect(z.naptrNameCount == 1 + 1 + t.count - 1)
        #expect(lookup(z, "7.7.e164.arpa.", .naptr) == .number(t.index(of: try E164Number(digits: "77"))!))
    }

    @Test func renderedAnswersCarryOwnerPointerTTLAndWireRDATA() throws {
        let t = NumberTable.build(chain)
        let i = t.index(of: try E164Number(digits: "4412345"))!
        let r = t.answerRange(i)
        let bytes = Array(t.answers[Int(r.start)..<Int(r.end)])
        #expect(r.count == 2)
        let first = t.records(at: i).naptrs[0].wire
        #expect(Array(bytes.prefix(12 + first.count)) == [0xC0, 0x0C, 0, 35, 0, 1, 0, 0, 0, 120, 0, UInt8(first.count)] + first)
    }
}
