import Testing
@testable import ENUMCore

func zoneWith(serial: UInt32, _ records: [ResourceRecord]) throws -> Zone {
    try Zone(apex: name("e164.arpa."), records: [rr("e164.arpa.", .soa, ZoneDiff.soa(soaRDATA, serial: serial)),
                                                  rr("e164.arpa.", .ns, name("ns1.example.").wire)] + records)
}

@Suite struct ZoneDiffTests {
    @Test func serialArithmeticFollowsRFC1982() {
        #expect(serialGreater(2, 1) && !serialGreater(1, 2) && !serialGreater(5, 5))
        #expect(serialGreater(0, 0xFFFF_FFFF))             // wraps
        #expect(serialGreater(0x7FFF_FFFF, 0) && !serialGreater(0x8000_0000, 0))  // half the space
    }

    /// Cases as data: old records, new records, what IXFR must carry.
    @Test(arguments: [
        // same data, different serial: no change at all
        ([rr("1.e164.arpa.", .naptr, [1])], [rr("1.e164.arpa.", .naptr, [1])], [], []),
        // a name added
        ([rr("1.e164.arpa.", .naptr, [1])], [rr("1.e164.arpa.", .naptr, [1]), rr("2.e164.arpa.", .naptr, [2])],
         [], [rr("2.e164.arpa.", .naptr, [2])]),
        // a name removed
        ([rr("1.e164.arpa.", .naptr, [1]), rr("2.e164.arpa.", .naptr, [2])], [rr("2.e164.arpa.", .naptr, [2])],
         [rr("1.e164.arpa.", .naptr, [1])], []),
        // one record of a set replaced; the other stays
        ([rr("1.e164.arpa.", .naptr, [1]), rr("1.e164.arpa.", .naptr, [2])],
         [rr("1.e164.arpa.", .naptr, [1]), rr("1.e164.arpa.", .naptr, [3])],
         [rr("1.e164.arpa.", .naptr, [2])], [rr("1.e164.arpa.", .naptr, [3])]),
        // a TTL change replaces the whole set (RFC 2181 section 5.2)
        ([rr("1.e164.arpa.", .naptr, [1]), rr("1.e164.arpa.", .naptr, [2])],
         [rr("1.e164.arpa.", .naptr, [1], ttl: 60), rr("1.e164.arpa.", .naptr, [2], ttl: 60)],
         [rr("1.e164.arpa.", .naptr, [1]), rr("1.e164.arpa.", .naptr, [2])],
         [rr("1.e164.arpa.", .naptr, [1], ttl: 60), rr("1.e164.arpa.", .naptr, [2], ttl: 60)]),
        // a type added at an existing name; order inside a set does not matter
        ([rr("1.e164.arpa.", .naptr, [1]), rr("1.e164.arpa.", .naptr, [2])],
         [rr("1.e164.arpa.", .naptr, [2]), rr("1.e164.arpa.", .naptr, [1]), rr("1.e164.arpa.", .txt, [1, 65])],
         [], [rr("1.e164.arpa.", .txt, [1, 65])]),
    ] as [([ResourceRecord], [ResourceRecord], [ResourceRecord], [ResourceRecord])])
    func diff(old: [ResourceRecord], new: [ResourceRecord], deleted: [ResourceRecord], added: [ResourceRecord]) throws {
        let d = ZoneDiff(from: try zoneWith(serial: 1, old), to: try zoneWith(serial: 2, new))
        #expect(d.deleted == deleted && d.added == added && !d.soaChanged)
        #expect(d.isEmpty == (deleted.isEmpty && added.isEmpty))
        #expect((try zoneWith(serial: 1, old).contentDigest == zoneWith(serial: 9, new).contentDigest) == d.isEmpty)
    }

    @Test func anSOAChangeOtherThanTheSerialIsAChange() throws {
        var rd = ZoneDiff.soa(soaRDATA, serial: 1)
        rd[rd.count - 1] = 99  // MINIMUM
        let a = try zoneWith(serial: 1, [])
        let b = try Zone(apex: name("e164.arpa."), records: [rr("e164.arpa.", .soa, rd), rr("e164.arpa.", .ns, name("ns1.example.").wire)])
        #expect(ZoneDiff(from: a, to: b).soaChanged && !ZoneDiff(from: a, to: b).isEmpty)
        #expect(a.contentDigest != b.contentDigest)
    }

    @Test func withSerialKeepsTheData() throws {
        let z = try zoneWith(serial: 1, [rr("1.e164.arpa.", .naptr, [1])])
        let y = try z.withSerial(77)
        #expect(y.serial == 77 && ZoneDiff(from: z, to: y).isEmpty && y.recordCount == z.recordCount)
    }

    func change(_ from: UInt32, _ to: UInt32, added: Int = 1) -> ZoneChange {
        ZoneChange(fromSOA: rr("e164.arpa.", .soa, ZoneDiff.soa(soaRDATA, serial: from)),
                   toSOA: rr("e164.arpa.", .soa, ZoneDiff.soa(soaRDATA, serial: to)),
                   diff: ZoneDiff(added: (0..<added).map { rr("\($0).e164.arpa.", .naptr, [UInt8($0 & 0xFF)]) }))
    }

    @Test func journalAnswersChainsFromAKnownSerialOnly() {
        var j = ZoneJournal(capacity: 3)
        for (a, b) in [(1, 5), (5, 6), (6, 9), (9, 12)] as [(UInt32, UInt32)] { j.append(change(a, b)) }
        #expect(j.changes.count == 3)                                   // the oldest dropped
        #expect(j.changes(from: 1, to: 12) == nil)                      // too old
        #expect(j.changes(from: 5, to: 12)?.map(\.toSerial) == [6, 9, 12])
        #expect(j.changes(from: 6, to: 9)?.map(\.toSerial) == [9])      // a snapshot not yet published
        #expect(j.changes(from: 12, to: 12) == [])                      // current
        #expect(j.changes(from: 7, to: 12) == nil)                      // never served
        #expect(j.changes(from: 13, to: 12) == nil)
        j.append(change(100, 101))                                      // a gap starts a new history
        #expect(j.changes.map(\.fromSerial) == [100])
    }

    /// The journal keeps changes packed; what it gives back is the change appended, record for
    /// record (owners, types, TTLs, RDATA, both SOAs, soaChanged).
    @Test func journalGivesBackWhatWasAppended() {
        var j = ZoneJournal()
        var c = change(1, 2, added: 3)
        c.diff.deleted = [rr("5.4.3.2.1.e164.arpa.", .naptr, [0, 100, 0, 10, 1, 0x75, 0, 0, 0]),
                          rr("x.e164.arpa.", .txt, [], ttl: 77)]
        c.diff.soaChanged = true
        j.append(c)
        j.append(change(2, 3, added: 0))
        #expect(j.changes(from: 1, to: 2) == [c])
        #expect(j.changes(from: 1, to: 3)?.first == c)
    }

    @Test func journalIsBoundedByRecords() {
        var j = ZoneJournal(capacity: 64, maxRecords: 10)
        j.append(change(1, 2, added: 4))
        j.append(change(2, 3, added: 4))
        #expect(j.changes.map(\.fromSerial) == [2])
        j.append(change(3, 4, added: 50))
        #expect(j.changes.isEmpty)
    }
}
