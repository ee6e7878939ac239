import ENUMCore

/// A zone's answers encoded once, when the snapshot is built (DESIGN.md "Answers are rendered
/// once, not per query"). Per query the responder only copies these bytes behind the question.
///
/// Every record whose owner is the query name or one of its ancestors (answers, the apex NS and
/// SOA, a zone cut's NS) is stored with a two-octet compression pointer as its owner: 0xC00C for
/// the query name itself, patched per query to point at the right suffix of the question
/// (RFC 1035 section 4.1.4) for the apex and cuts. Glue (A/AAAA of NS, MX and SRV targets inside
/// the zone) is stored with full owner names. RDATA comes from libldns via the zone model.
final class RenderedZone: Sendable {
    struct Span: Sendable {
        var start: UInt32 = 0
        var length: UInt32 = 0
        var count: UInt16 = 0
        var isEmpty: Bool { count == 0 }
    }
    /// Additional-section data for an RRset: A/AAAA sets of its in-zone targets, each kept apart
    /// so that a set already in the answer section is not repeated (as NSD does).
    struct Glue: Sendable {
        var node: Int32
        var type: RRType
        var span: Span
    }
    struct Entry: Sendable {
        var records: Span
        /// glue[glueStart..<glueEnd]
        var glueStart: UInt32
        var glueEnd: UInt32
        var hasGlue: Bool { glueEnd > glueStart }
    }

    let zone: Zone
    /// The apex in lower case, uncompressed wire form, for matching query names.
    let apexLower: [UInt8]
    let apexLabelCount: Int
    let arena: [UInt8]
    /// entries[nodeFirst[n] + r] renders `zone.nodes[n].rrsets[r]`.
    let nodeFirst: [UInt32]
    let entries: [Entry]
    let glue: [Glue]
    let apexNS: Entry
    let negativeSOA: Span

    init(zone: Zone) {
        var arena: [UInt8] = []
        var nodeFirst: [UInt32] = [0]
        var entries: [Entry] = []
        var glueItems: [Glue] = []
        nodeFirst.reserveCapacity(zone.nodes.count + 1)

        func put(_ rrset: RRSet, owner: [UInt8]?, ttl: UInt32? = nil) -> Span {
            var s = Span(start: UInt32(arena.count))
            for rdata in rrset.rdatas {
                if let owner { arena.append(contentsOf: owner) } else { arena.append(0xC0); arena.append(0x0C) }
                appendU16(&arena, rrset.type.rawValue)
                appendU16(&arena, dnsClassIN)
                appendU32(&arena, ttl ?? rrset.ttl)
                appendU16(&arena, UInt16(rdata.count))
                arena.append(contentsOf: rdata)
                s.count += 1
            }
            s.length = UInt32(arena.count) - s.start
            return s
        }
        /// Renders the A/AAAA sets of the in-zone names that `rrset`'s RDATA points to.
        func addGlue(for rrset: RRSet) {
            let nameOffset: Int
            switch rrset.type {
            case .ns: nameOffset = 0
            case .mx: nameOffset = 2
            case .srv: nameOffset = 6
            default: return
            }
            var seen: Set<Int> = []
            for rdata in rrset.rdatas where rdata.count > nameOffset {
                guard let target = try? DomainName(wire: Array(rdata[nameOffset...])),
                      let key = NameKey.relative(target, to: zone.apex),
                      let n = zone.names.find(key), seen.insert(n).inserted else { continue }
                for t in [RRType.a, .aaaa] {
                    guard let r = zone.nodes[n].rrsetIndex(t) else { continue }
                    glueItems.append(Glue(node: Int32(n), type: t, span: put(zone.nodes[n].rrsets[r], owner: zone.nodes[n].owner.wire)))
                }
            }
        }

        for node in zone.nodes {
            for rrset in node.rrsets {
                let records = put(rrset, owner: nil)
                let glueStart = UInt32(glueItems.count)
                addGlue(for: rrset)
                entries.append(Entry(records: records, glueStart: glueStart, glueEnd: UInt32(glueItems.count)))
            }
            nodeFirst.append(UInt32(entries.count))
        }
        let apexNSIndex = zone.nodes[zone.apexNode].rrsetIndex(.ns)!
        self.apexNS = entries[Int(nodeFirst[zone.apexNode]) + apexNSIndex]
        self.negativeSOA = put(zone.soa, owner: nil, ttl: zone.negativeTTL)
        self.zone = zone
        self.apexLower = zone.apex.lowercased.wire
        self.apexLabelCount = zone.apex.labelCount
        self.arena = arena
        self.nodeFirst = nodeFirst
        self.entries = entries
        self.glue = glueItems
    }

    @inline(__always)
    func entry(node: Int, rrset: Int) -> Entry {
        entries[Int(nodeFirst[node]) + rrset]
    }
}

@inline(__always)
func appendU16(_ a: inout [UInt8], _ v: UInt16) {
    a.append(UInt8(v >> 8)); a.append(UInt8(v & 0xFF))
}

@inline(__always)
func appendU32(_ a: inout [UInt8], _ v: UInt32) {
    appendU16(&a, UInt16(v >> 16)); appendU16(&a, UInt16(v & 0xFFFF))
}
