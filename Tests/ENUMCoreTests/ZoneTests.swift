import Testing
@testable import ENUMCore

/// Builds records from compact text so that test cases read as zone data.
func name(_ s: String) -> DomainName { try! DomainName(parsing: s) }
func rr(_ owner: String, _ type: RRType, _ rdata: [UInt8] = [1, 2, 3, 4], ttl: UInt32 = 3600) -> ResourceRecord {
    ResourceRecord(owner: name(owner), type: type, ttl: ttl, rdata: rdata)
}
let soaRDATA: [UInt8] = name("ns1.example.").wire + name("host.example.").wire
    + [0, 0, 0, 7] + [0, 0, 0x1c, 0x20] + [0, 0, 0x0e, 0x10] + [0, 0x12, 0x75, 0] + [0, 0, 1, 0x2c]

func demoZone(_ extra: [ResourceRecord] = []) throws -> Zone {
    try Zone(apex: name("e164.arpa."), records: [
        rr("e164.arpa.", .soa, soaRDATA),
        rr("e164.arpa.", .ns, name("ns1.example.").wire),
        rr("0.9.8.7.6.5.4.3.2.1.e164.arpa.", .naptr, [9]),
        rr("0.9.8.7.6.5.4.3.2.1.e164.arpa.", .naptr, [8]),
        rr("0.9.8.7.6.5.4.3.2.1.e164.arpa.", .txt, [3, 65, 66, 67]),
        rr("*.4.4.e164.arpa.", .naptr, [7]),
        rr("2.2.e164.arpa.", .ns, name("ns.other.example.").wire),
        rr("ns.2.2.e164.arpa.", .a, [192, 0, 2, 1]),
        rr("c.e164.arpa.", .cname, name("target.example.").wire),
    ] + extra)
}

func lookup(_ zone: Zone, _ qname: String, _ type: RRType) -> Zone.Lookup {
    let key = NameKey.relative(name(qname), to: zone.apex)!
    return key.withUnsafeBufferPointer { zone.lookup(key: $0, type: type) }
}

@Suite struct ZoneTests {
    @Test func soaFields() throws {
        let z = try demoZone()
        #expect(z.serial == 7)
        #expect(z.negativeTTL == 300)  // min(SOA TTL 3600, MINIMUM 300), RFC 2308 section 5
        #expect(z.hasWildcards && z.hasDelegations)
    }

    /// Each row: query name, type, expected outcome (node owners are resolved by name).
    @Test func lookupOutcomes() throws {
        let z = try demoZone()
        func node(_ n: String) -> Int { z.nodes.firstIndex { $0.owner.lowercased == name(n).lowercased }! }
        let number = "0.9.8.7.6.5.4.3.2.1.e164.arpa."
        let cases: [(String, RRType, Zone.Lookup)] = [
            (number, .naptr, .answer(node: node(number), rrset: 0)),
            ("0.9.8.7.6.5.4.3.2.1.E164.ARPA.", .naptr, .answer(node: node(number), rrset: 0)),
            (number, .txt, .answer(node: node(number), rrset: 1)),
            (number, .a, .noData),
            (number, .any, .answer(node: node(number), rrset: 1)),  // TXT (16) before NAPTR (35)
            ("3.2.1.e164.arpa.", .naptr, .noData),           // empty non-terminal (RFC 8020)
            ("1.e164.arpa.", .naptr, .noData),
            ("9.9.e164.arpa.", .naptr, .nameError),
            ("1.0.9.8.7.6.5.4.3.2.1.e164.arpa.", .naptr, .nameError),  // below a number: nothing
            ("e164.arpa.", .soa, .answer(node: 0, rrset: 0)),
            ("e164.arpa.", .ns, .answer(node: 0, rrset: 1)),
            ("e164.arpa.", .any, .answer(node: 0, rrset: 0)),
            ("e164.arpa.", .naptr, .noData),
            ("5.5.4.4.e164.arpa.", .naptr, .wildcardAnswer(node: node("*.4.4.e164.arpa."), rrset: 0)),
            ("1.5.5.4.4.e164.arpa.", .naptr, .wildcardAnswer(node: node("*.4.4.e164.arpa."), rrset: 0)),
            ("5.5.4.4.e164.arpa.", .txt, .noData),
            ("4.4.e164.arpa.", .naptr, .noData),              // the wildcard's parent is an ENT
            ("5.4.e164.arpa.", .naptr, .nameError),
            ("2.2.e164.arpa.", .naptr, .delegation(node: node("2.2.e164.arpa."))),
            ("9.2.2.e164.arpa.", .naptr, .delegation(node: node("2.2.e164.arpa."))),
            ("ns.2.2.e164.arpa.", .a, .delegation(node: node("2.2.e164.arpa."))),
            ("2.2.e164.arpa.", .ds, .noData),                 // DS belongs to the parent side
            ("c.e164.arpa.", .naptr, .answer(node: node("c.e164.arpa."), rrset: 0)),
        ]
        for (q, t, expected) in cases {
            #expect(lookup(z, q, t) == expected, "\(q) \(t)")
        }
    }

    @Test func rejectsBrokenZones() {
        #expect(throws: ZoneError.missingSOA(name("e164.arpa."))) {
            try Zone(apex: name("e164.arpa."), records: [rr("e164.arpa.", .ns, name("ns.").wire)])
        }
        #expect(throws: ZoneError.missingNS(name("e164.arpa."))) {
            try Zone(apex: name("e164.arpa."), records: [rr("e164.arpa.", .soa, soaRDATA)])
        }
        #expect(throws: ZoneError.outOfZone(owner: name("example.com."), apex: name("e164.arpa."))) {
            try demoZone([rr("example.com.", .a)])
        }
        #expect(throws: ZoneError.cnameAndOtherData(name("c.e164.arpa."))) {
            try demoZone([rr("c.e164.arpa.", .txt, [1, 65])])
        }
        #expect(throws: ZoneError.soaNotAtApex(name("1.e164.arpa."))) {
            try demoZone([rr("1.e164.arpa.", .soa, soaRDATA)])
        }
    }

    @Test func duplicateRecordsCollapse() throws {
        let z = try demoZone([rr("0.9.8.7.6.5.4.3.2.1.e164.arpa.", .naptr, [9])])
        let n = z.nodes.first { $0.owner == name("0.9.8.7.6.5.4.3.2.1.e164.arpa.") }!
        #expect(n.rrsets[0].rdatas == [[9], [8]])
    }
}

@Suite struct NameTableTests {
    @Test func keysSortInCanonicalOrder() {
        // RFC 4034 section 6.1's example order, relative to "example."
        let ordered = ["example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.",
                       "z.example.", "\\001.z.example.", "*.z.example.", "\\200.z.example."]
        let keys = ordered.map { NameKey.relative(name($0), to: name("example."))! }
        #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test func findAndPrefix() {
        let keys = ["1\u{0}2\u{0}", "1\u{0}2\u{0}3\u{0}", "5\u{0}"].map { Array($0.utf8) }
        let t = NameTable(sortedKeys: keys)
        #expect(t.find(keys[1]) == 1)
        #expect(t.find(Array("1\u{0}".utf8)) == nil)
        Array("1\u{0}".utf8).withUnsafeBufferPointer { #expect(t.hasKey(withPrefix: $0)) }
        Array("4\u{0}".utf8).withUnsafeBufferPointer { #expect(!t.hasKey(withPrefix: $0)) }
        Array("1\u{0}2\u{0}3\u{0}4\u{0}".utf8).withUnsafeBufferPointer { #expect(!t.hasKey(withPrefix: $0)) }
    }

    @Test func manyKeys() {
        let keys = (0..<5000).map { Array(String($0 * 7919 % 100_003).utf8) + [0] }.sorted { $0.lexicographicallyPrecedes($1) }
        let t = NameTable(sortedKeys: keys)
        for (i, k) in keys.enumerated() { #expect(t.find(k) == i) }
        #expect(t.find(Array("x".utf8)) == nil)
    }
}
