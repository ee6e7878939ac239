/// Serial numbers, zone contents as records, differences between two versions of a zone, and a
/// bounded journal of those differences: what IXFR (RFC 1995) and NOTIFY (RFC 1996) are built on.
/// Pure code, no I/O.

/// RFC 1982 section 3.2: `a` is greater than `b` in 32-bit serial number arithmetic.
public func serialGreater(_ a: UInt32, _ b: UInt32) -> Bool {
    a != b && (a &- b) < 0x8000_0000
}

extension Zone {
    /// The apex SOA as one record.
    public var soaRecord: ResourceRecord {
        ResourceRecord(owner: apex, type: .soa, ttl: soa.ttl, rdata: soa.rdatas[0])
    }

    /// Every record except the apex SOA, in canonical name order (RFC 4034 section 6.1), each
    /// node's RRsets in the order the zone keeps them, the chain's numbers among the zone file's
    /// names (a number the zone file also has is left out: the zone file's is served).
    /// What AXFR sends between its two SOAs.
    public func forEachRecordExceptSOA(_ body: (ResourceRecord) throws -> Void) rethrows {
        var entries = Entries(self)
        while let e = entries.next() {
            let node = self.node(e)
            for set in node.rrsets where !(e == .node(apexNode) && set.type == .soa) {
                for rdata in set.rdatas {
                    try body(ResourceRecord(owner: node.owner, type: set.type, ttl: set.ttl, rdata: rdata))
                }
            }
        }
    }

    /// Number of records, the apex SOA included.
    public var recordCount: Int {
        var n = nodes.reduce(0) { $0 + $1.rrsets.reduce(0) { $0 + $1.rdatas.count } }
        var entries = Entries(self)
        while let e = entries.next() { if case .number(let j) = e { n += Int(numbers!.answerCounts[j]) } }
        return n
    }

    /// A name of this zone: one of its own nodes, or one of the chain's numbers.
    public enum Entry: Equatable, Sendable {
        case node(Int)
        case number(Int)
    }

    /// The zone's names in canonical order: its nodes and the chain's numbers merged, a number
    /// whose name is also a node left out.
    public struct Entries {
        let zone: Zone
        var i = 0, j = 0
        init(_ zone: Zone) { self.zone = zone }

        public mutating func next() -> Entry? {
            let n = zone.names.count, m = zone.numbers?.count ?? 0
            while j < m && i < n {
                let a = zone.names.key(at: i), b = zone.numbers!.keys.key(at: j)
                if a == b { j += 1; continue }  // shadowed by the zone file
                if a.lexicographicallyPrecedes(b) { i += 1; return .node(i - 1) }
                j += 1; return .number(j - 1)
            }
            if i < n { i += 1; return .node(i - 1) }
            if j < m { j += 1; return .number(j - 1) }
            return nil
        }
    }

    public func key(_ e: Entry) -> ArraySlice<UInt8> {
        switch e {
        case .node(let i): return names.key(at: i)
        case .number(let j): return numbers!.keys.key(at: j)
        }
    }

    /// The entry as a node (for a number: built from its rendered records).
    public func node(_ e: Entry) -> Node {
        switch e {
        case .node(let i): return nodes[i]
        case .number(let j):
            let t = numbers!
            var labels: [[UInt8]] = []
            let k = t.keys.key(at: j)
            var p = k.startIndex
            while p < k.endIndex { labels.insert([k[p]], at: 0); p += 2 }
            let owner = (try? DomainName(labels: labels + apex.labels)) ?? apex
            var set = RRSet(type: .naptr, ttl: 0, rdatas: [])
            t.answers.withUnsafeBufferPointer { a in
                var q = Int(t.answerOffsets[j])
                for _ in 0..<Int(t.answerCounts[j]) {
                    set.ttl = readBE32(a, q + 6)
                    let len = Int(a[q + 10]) << 8 | Int(a[q + 11])
                    set.rdatas.append(Array(a[(q + 12)..<(q + 12 + len)]))
                    q += 12 + len
                }
            }
            return Node(owner: owner, rrsets: [set], isDelegation: false)
        }
    }

    /// A 64-bit FNV-1a digest of the zone's content with the SOA serial left out: equal digests
    /// mean the same served data, so the serial may stay. Used to keep the serial across restarts.
    public var contentDigest: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        @inline(__always) func mix32(_ v: UInt32) {
            mix(UInt8(v >> 24)); mix(UInt8(v >> 16 & 0xFF)); mix(UInt8(v >> 8 & 0xFF)); mix(UInt8(v & 0xFF))
        }
        var entries = Entries(self)
        while let e = entries.next() {
            for b in key(e) { mix(b) }
            mix(0xFF)
            if case .number(let j) = e {
                // The rendered records (type, class, TTL, RDATA) are the number's data.
                for b in numbers!.fingerprint(j).0 { mix(b) }
                continue
            }
            for set in node(e).rrsets {
                mix32(UInt32(set.type.rawValue)); mix32(set.ttl); mix32(UInt32(set.rdatas.count))
                for var rd in set.rdatas {
                    if set.type == .soa && e == .node(apexNode) { rd = ZoneDiff.soaWithoutSerial(rd) }
                    mix32(UInt32(rd.count))
                    for b in rd { mix(b) }
                }
            }
        }
        return h
    }
}

/// What changed between two versions of one zone, as IXFR carries it (RFC 1995 section 4):
/// records deleted from the old version, records added in the new one. An RRset whose TTL changed
/// is deleted whole and added whole (RFC 2181 section 5.2: one TTL per RRset). The apex SOA is
/// not part of either list; `soaChanged` says whether anything in it but the serial changed.
public struct ZoneDiff: Sendable, Equatable {
    public var deleted: [ResourceRecord] = []
    public var added: [ResourceRecord] = []
    public var soaChanged = false

    /// True when the two versions serve the same data (the serial aside).
    public var isEmpty: Bool { deleted.isEmpty && added.isEmpty && !soaChanged }

    public init(deleted: [ResourceRecord] = [], added: [ResourceRecord] = [], soaChanged: Bool = false) {
        self.deleted = deleted; self.added = added; self.soaChanged = soaChanged
    }

    /// SOA RDATA with the SERIAL field (RFC 1035 section 3.3.13) zeroed.
    public static func soaWithoutSerial(_ rdata: [UInt8]) -> [UInt8] {
        guard rdata.count >= 20 else { return rdata }
        var r = rdata
        for i in (r.count - 20)..<(r.count - 16) { r[i] = 0 }
        return r
    }

    /// SOA RDATA with the SERIAL field set to `serial`.
    public static func soa(_ rdata: [UInt8], serial: UInt32) -> [UInt8] {
        var r = rdata
        let at = r.count - 20
        r[at] = UInt8(serial >> 24); r[at + 1] = UInt8(serial >> 16 & 0xFF)
        r[at + 2] = UInt8(serial >> 8 & 0xFF); r[at + 3] = UInt8(serial & 0xFF)
        return r
    }

    /// The difference from `old` to `new` (the same apex), walking both zones' names (their
    /// nodes and the chain's numbers) in canonical order once. Two numbers whose rendered records
    /// are the same octets are equal without being decoded: a sync that changes a few of a
    /// million numbers costs one pass of comparisons.
    public init(from old: Zone, to new: Zone) {
        soaChanged = Self.soaWithoutSerial(old.soa.rdatas[0]) != Self.soaWithoutSerial(new.soa.rdatas[0])
            || old.soa.ttl != new.soa.ttl
        var olds = Zone.Entries(old), news = Zone.Entries(new)
        var a = olds.next(), b = news.next()
        while a != nil || b != nil {
            let order: Int
            if a == nil { order = 1 } else if b == nil { order = -1 } else {
                let ka = old.key(a!), kb = new.key(b!)
                order = ka == kb ? 0 : (ka.lexicographicallyPrecedes(kb) ? -1 : 1)
            }
            if order < 0 {
                emit(old.node(a!), skipSOA: a! == .node(old.apexNode), into: &deleted); a = olds.next()
            } else if order > 0 {
                emit(new.node(b!), skipSOA: b! == .node(new.apexNode), into: &added); b = news.next()
            } else {
                if case .number(let i) = a!, case .number(let j) = b!,
                   old.numbers!.fingerprint(i).0 == new.numbers!.fingerprint(j).0 {
                    // the same records
                } else {
                    compare(old.node(a!), new.node(b!), isApex: a! == .node(old.apexNode))
                }
                a = olds.next(); b = news.next()
            }
        }
    }

    private func emit(_ node: Zone.Node, skipSOA: Bool, into list: inout [ResourceRecord]) {
        for set in node.rrsets where !(skipSOA && set.type == .soa) {
            for rd in set.rdatas { list.append(ResourceRecord(owner: node.owner, type: set.type, ttl: set.ttl, rdata: rd)) }
        }
    }

    private mutating func compare(_ a: Zone.Node, _ b: Zone.Node, isApex: Bool) {
        for set in a.rrsets where !(isApex && set.type == .soa) {
            guard let k = b.rrsetIndex(set.type) else {
                for rd in set.rdatas { deleted.append(ResourceRecord(owner: a.owner, type: set.type, ttl: set.ttl, rdata: rd)) }
                continue
            }
            let other = b.rrsets[k]
            let sameTTL = other.ttl == set.ttl
            for rd in set.rdatas where !sameTTL || !other.rdatas.contains(rd) {
                deleted.append(ResourceRecord(owner: a.owner, type: set.type, ttl: set.ttl, rdata: rd))
            }
            for rd in other.rdatas where !sameTTL || !set.rdatas.contains(rd) {
                added.append(ResourceRecord(owner: b.owner, type: other.type, ttl: other.ttl, rdata: rd))
            }
        }
        for set in b.rrsets where !(isApex && set.type == .soa) && a.rrsetIndex(set.type) == nil {
            for rd in set.rdatas { added.append(ResourceRecord(owner: b.owner, type: set.type, ttl: set.ttl, rdata: rd)) }
        }
    }
}

/// One step of a zone's history: from the version with `fromSOA` to the one with `toSOA`.
public struct ZoneChange: Sendable, Equatable {
    public var fromSOA: ResourceRecord
    public var toSOA: ResourceRecord
    public var diff: ZoneDiff

    public init(fromSOA: ResourceRecord, toSOA: ResourceRecord, diff: ZoneDiff) {
        self.fromSOA = fromSOA; self.toSOA = toSOA; self.diff = diff
    }

    public var fromSerial: UInt32 { Self.serial(fromSOA.rdata) }
    public var toSerial: UInt32 { Self.serial(toSOA.rdata) }
    public var recordCount: Int { diff.deleted.count + diff.added.count + 2 }

    /// The SERIAL field of SOA RDATA.
    public static func serial(_ rd: [UInt8]) -> UInt32 {
        rd[(rd.count - 20)..<(rd.count - 16)].reduce(0) { $0 << 8 | UInt32($1) }
    }
}

/// The last changes of one zone, oldest first, each starting where the one before it ended.
/// Bounded by `capacity` changes and `maxRecords` records in all (past that, an AXFR is about as
/// cheap as the differences; RFC 1995 section 5 lets a server send the whole zone instead).
///
/// Each change is kept packed in one array (`PackedChange`), not as records: a journal entry
/// lives for 64 syncs, and its dozen small allocations, scattered among the pages a sync frees,
/// kept a page resident each. `bench/soak.sh` measured that as 2.4 MB of growth in the first
/// three minutes of syncs every 3 s, until the journal was full.
public struct ZoneJournal: Sendable {
    public let capacity: Int
    public let maxRecords: Int
    private var packed: [PackedChange] = []
    private var records = 0

    /// Defaults: the last 64 changes, at most a million records.
    public init(capacity: Int = 64, maxRecords: Int = 1_000_000) {
        self.capacity = capacity; self.maxRecords = maxRecords
    }

    /// Every change kept, oldest first.
    public var changes: [ZoneChange] { packed.map(\.change) }

    /// Appends a change. A change that does not start at the last one's end (a restart, a zone
    /// reloaded from elsewhere) begins a new history.
    public mutating func append(_ change: ZoneChange) {
        if let last = packed.last, last.toSerial != change.fromSerial { packed.removeAll(); records = 0 }
        packed.append(PackedChange(change))
        records += change.recordCount
        while packed.count > capacity || (records > maxRecords && packed.count > 1) {
            records -= packed.removeFirst().recordCount
        }
        if records > maxRecords { packed.removeAll(); records = 0 }
    }

    /// The changes that lead from `serial` to `current`, in order; empty when `serial` is
    /// `current`; nil when the journal cannot tell (too old, unknown, or a serial from a future
    /// the journal has not seen): the caller sends the whole zone instead.
    public func changes(from serial: UInt32, to current: UInt32) -> [ZoneChange]? {
        if serial == current { return [] }
        guard let start = packed.firstIndex(where: { $0.fromSerial == serial }),
              let end = packed[start...].firstIndex(where: { $0.toSerial == current }) else { return nil }
        return packed[start...end].map(\.change)
    }
}

/// A `ZoneChange` in one array: the old SOA, the deleted records, the new SOA, the added records,
/// each as owner (uncompressed wire form), type (2 octets), TTL (4), RDATA length (2), RDATA.
struct PackedChange: Sendable {
    let fromSerial: UInt32
    let toSerial: UInt32
    let deletedCount: Int
    let addedCount: Int
    let soaChanged: Bool
    let bytes: [UInt8]

    var recordCount: Int { deletedCount + addedCount + 2 }

    init(_ c: ZoneChange) {
        fromSerial = c.fromSerial; toSerial = c.toSerial
        deletedCount = c.diff.deleted.count; addedCount = c.diff.added.count; soaChanged = c.diff.soaChanged
        let all = [c.fromSOA] + c.diff.deleted + [c.toSOA] + c.diff.added
        var out: [UInt8] = []
        out.reserveCapacity(all.reduce(0) { $0 + $1.owner.wire.count + 8 + $1.rdata.count })
        for r in all {
            out += r.owner.wire
            out += [UInt8(r.type.rawValue >> 8), UInt8(r.type.rawValue & 0xFF),
                    UInt8(r.ttl >> 24), UInt8(r.ttl >> 16 & 0xFF), UInt8(r.ttl >> 8 & 0xFF), UInt8(r.ttl & 0xFF),
                    UInt8(r.rdata.count >> 8), UInt8(r.rdata.count & 0xFF)]
            out += r.rdata
        }
        bytes = out
    }

    /// The change, unpacked (for an IXFR answer).
    var change: ZoneChange {
        var records: [ResourceRecord] = []
        records.reserveCapacity(recordCount)
        var p = 0
        while p < bytes.count {
            let ownerStart = p
            while bytes[p] != 0 { p += 1 + Int(bytes[p]) }
            p += 1
            let owner = DomainName(uncheckedWire: Array(bytes[ownerStart..<p]))
            let type = UInt16(bytes[p]) << 8 | UInt16(bytes[p + 1])
            let ttl = bytes[(p + 2)..<(p + 6)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let length = Int(bytes[p + 6]) << 8 | Int(bytes[p + 7])
            p += 8
            records.append(ResourceRecord(owner: owner, type: RRType(type), ttl: ttl, rdata: Array(bytes[p..<(p + length)])))
            p += length
        }
        let deleted = Array(records[1..<(1 + deletedCount)])
        let added = Array(records[(2 + deletedCount)...])
        return ZoneChange(fromSOA: records[0], toSOA: records[1 + deletedCount],
                          diff: ZoneDiff(deleted: deleted, added: added, soaChanged: soaChanged))
    }
}

extension Zone {
    /// The same zone with the SOA serial set to `serial`.
    public func withSerial(_ serial: UInt32) throws(ZoneError) -> Zone {
        if serial == self.serial { return self }
        return replacing(serial: serial, numbers: numbers)
    }
}
