/// One authoritative zone: an apex with SOA and NS, and the RRsets of every owner name below it.
///
/// Immutable once built. Owner names are kept in a `NameTable` in canonical order, so the zone
/// needs no entries for empty non-terminals (RFC 8020), finds the closest encloser for wildcard
/// synthesis (RFC 4592) and stops at zone cuts (delegations, RFC 1034 section 4.3.2) by walking
/// prefixes of the query's key.
public final class Zone: Sendable {
    public struct Node: Sendable {
        public let owner: DomainName
        public let rrsets: [RRSet]
        /// NS at a name below the apex: a zone cut; data below it is glue, not authoritative.
        public let isDelegation: Bool

        public func rrsetIndex(_ type: RRType) -> Int? {
            rrsets.firstIndex { $0.type == type }
        }
    }

    /// The apex as written in the zone file (its case is used when rendering names).
    public let apex: DomainName
    public let names: NameTable
    public let nodes: [Node]
    public let apexNode: Int
    /// The apex SOA record set (one record).
    public let soa: RRSet
    /// RFC 2308 section 5: the TTL of the SOA in a negative answer is min(SOA TTL, SOA MINIMUM).
    public let negativeTTL: UInt32
    public let serial: UInt32
    public let hasWildcards: Bool
    public let hasDelegations: Bool
    /// How many names carry NAPTR records (what "records served" counts).
    public let naptrNameCount: Int
    /// The chain's numbers in this zone (the `e164.arpa` zone only), kept flat beside the zone
    /// file's names. Where both have a name, the zone file's is served (looked up first).
    public let numbers: NumberTable?

    /// Builds a zone from records, checking what NSD and Knot check before serving a zone:
    /// every owner at or below the apex, exactly one SOA and it at the apex, NS at the apex,
    /// CNAME alone at its name (RFC 1034 section 3.6.2). Records are grouped into RRsets in the
    /// order first seen; exact duplicates are dropped; an RRset takes the TTL of its first record.
    public init(apex: DomainName, records: [ResourceRecord]) throws(ZoneError) {
        var byKey: [[UInt8]: (owner: DomainName, sets: [RRSet])] = [:]
        var order: [[UInt8]] = []
        for rr in records {
            guard let key = NameKey.relative(rr.owner, to: apex) else {
                throw .outOfZone(owner: rr.owner, apex: apex)
            }
            if rr.type == .soa && !key.isEmpty { throw .soaNotAtApex(rr.owner) }
            var entry = byKey[key] ?? {
                order.append(key)
                return (rr.owner, [])
            }()
            if let i = entry.sets.firstIndex(where: { $0.type == rr.type }) {
                if !entry.sets[i].rdatas.contains(rr.rdata) {
                    if rr.type == .soa { throw .multipleSOA }
                    if rr.type == .cname { throw .cnameAndOtherData(rr.owner) }
                    entry.sets[i].rdatas.append(rr.rdata)
                }
            } else {
                entry.sets.append(RRSet(type: rr.type, ttl: rr.ttl, rdatas: [rr.rdata]))
            }
            byKey[key] = entry
        }
        guard let apexEntry = byKey[[]] else { throw .missingSOA(apex) }
        guard let soa = apexEntry.sets.first(where: { $0.type == .soa }) else { throw .missingSOA(apex) }
        guard apexEntry.sets.contains(where: { $0.type == .ns }) else { throw .missingNS(apex) }
        guard soa.rdatas[0].count >= 22 else { throw .badSOA }

        var keys = order
        keys.sort { $0.lexicographicallyPrecedes($1) }
        var nodes: [Node] = []
        nodes.reserveCapacity(keys.count)
        var wild = false, deleg = false
        for k in keys {
            let e = byKey[k]!
            if e.sets.contains(where: { $0.type == .cname }) && e.sets.count > 1 {
                throw .cnameAndOtherData(e.owner)
            }
            let isDeleg = !k.isEmpty && e.sets.contains { $0.type == .ns }
            deleg = deleg || isDeleg
            wild = wild || e.owner.wire.first == 1 && e.owner.wire.count > 1 && e.owner.wire[1] == UInt8(ascii: "*")
            nodes.append(Node(owner: e.owner, rrsets: e.sets, isDelegation: isDeleg))
        }
        let rd = soa.rdatas[0]
        func u32(_ at: Int) -> UInt32 {
            rd[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) }
        }
        self.apex = apex
        self.names = NameTable(sortedKeys: keys)
        self.nodes = nodes
        self.apexNode = 0  // the empty key sorts first
        self.soa = soa
        self.serial = u32(rd.count - 20)
        self.negativeTTL = min(soa.ttl, u32(rd.count - 4))
        self.hasWildcards = wild
        self.hasDelegations = deleg
        self.naptrNameCount = nodes.reduce(0) { $0 + ($1.rrsetIndex(.naptr) == nil ? 0 : 1) }
        self.numbers = nil
    }

    /// This zone with the chain's `numbers` beside its own names and `serial` in its SOA.
    public func attaching(_ numbers: NumberTable, serial: UInt32) -> Zone {
        var soa = self.soa
        let at = soa.rdatas[0].count - 20
        soa.rdatas[0].replaceSubrange(at..<(at + 4), with: [UInt8(serial >> 24), UInt8(serial >> 16 & 0xFF), UInt8(serial >> 8 & 0xFF), UInt8(serial & 0xFF)])
        var nodes = self.nodes
        let apexNode = nodes[self.apexNode]
        nodes[self.apexNode] = Node(owner: apexNode.owner, rrsets: apexNode.rrsets.map { $0.type == .soa ? soa : $0 },
                                    isDelegation: false)
        return Zone(copying: self, nodes: nodes, soa: soa, serial: serial, numbers: numbers)
    }

    private init(copying z: Zone, nodes: [Node], soa: RRSet, serial: UInt32, numbers: NumberTable) {
        apex = z.apex; names = z.names; self.nodes = nodes; apexNode = z.apexNode; self.soa = soa
        negativeTTL = z.negativeTTL; self.serial = serial; hasWildcards = z.hasWildcards
        hasDelegations = z.hasDelegations
        // A number the zone file also has is served from the zone file: count it once.
        naptrNameCount = z.naptrNameCount + numbers.count - (0..<z.names.count).filter { i in
            z.names.key(at: i).withUnsafeBufferPointer { numbers.keys.find($0) != nil }
        }.count
        self.numbers = numbers
    }

    /// The closed set of outcomes of a lookup inside this zone; the responder maps each to an
    /// rcode and sections in one `switch`.
    public enum Lookup: Equatable, Sendable {
        /// The RRset `rrset` of `node` answers the question (for CNAME: the alias itself).
        case answer(node: Int, rrset: Int)
        /// A wildcard node's RRset answers for the query name (RFC 4592 section 3.3.1).
        case wildcardAnswer(node: Int, rrset: Int)
        /// The name exists (as a node, an empty non-terminal, or through a wildcard) but has no
        /// data of the type asked: NOERROR, SOA in authority.
        case noData
        /// The name does not exist: NXDOMAIN, SOA in authority.
        case nameError
        /// The name is at or below a zone cut: a referral to the NS set of `node`.
        case delegation(node: Int)
        /// The NAPTR RRset of the chain's number `number` (an index into `numbers`) answers.
        case number(Int)
    }

    /// Looks up the name whose key (relative to this apex) is `key`.
    /// ANY is answered with one RRset, as RFC 8482 section 4.2 allows; which one follows NSD 4.6:
    /// the SOA at the apex, elsewhere the RRset with the lowest type code.
    public func lookup(key: UnsafeBufferPointer<UInt8>, type: RRType) -> Lookup {
        if hasDelegations, let cut = delegationAbove(key, includingSelf: type != .ds) {
            return .delegation(node: cut)
        }
        if let i = names.find(key) {
            if let r = answerRRSet(nodes[i], type) { return .answer(node: i, rrset: r) }
            return .noData
        }
        if let numbers {
            if let i = numbers.keys.find(key) { return type == .naptr || type == .any ? .number(i) : .noData }
            if numbers.keys.hasKey(withPrefix: key) { return .noData }
        }
        if names.hasKey(withPrefix: key) { return .noData }
        if hasWildcards, let w = wildcardNode(for: key) {
            if let r = answerRRSet(nodes[w], type) { return .wildcardAnswer(node: w, rrset: r) }
            return .noData
        }
        return .nameError
    }

    @inline(__always)
    private func answerRRSet(_ node: Node, _ type: RRType) -> Int? {
        if type == .any {
            if node.owner.labelCount == apex.labelCount, let soa = node.rrsetIndex(.soa) { return soa }
            return node.rrsets.indices.min { node.rrsets[$0].type.rawValue < node.rrsets[$1].type.rawValue }
        }
        for (i, s) in node.rrsets.enumerated() where s.type == type { return i }
        for (i, s) in node.rrsets.enumerated() where s.type == .cname { return i }
        return nil
    }

    /// Label boundaries in a key: the end offset of each label's encoding, in key order
    /// (closest to the apex first).
    private func labelEnds(_ key: UnsafeBufferPointer<UInt8>) -> [Int] {
        var ends: [Int] = []
        var i = 0
        while i < key.count {
            if key[i] == 1 { i += 2; continue }
            if key[i] == 0 { ends.append(i + 1) }
            i += 1
        }
        return ends
    }

    /// The highest zone cut strictly above the name (or at it, when `includingSelf`).
    private func delegationAbove(_ key: UnsafeBufferPointer<UInt8>, includingSelf: Bool) -> Int? {
        for end in labelEnds(key) {
            if end == key.count && !includingSelf { break }
            if let i = names.find(UnsafeBufferPointer(rebasing: key[0..<end])), nodes[i].isDelegation {
                return i
            }
        }
        return nil
    }

    /// RFC 4592 section 3.3.1: the closest encloser is the longest existing ancestor; the source
    /// of synthesis is `*` directly below it.
    private func wildcardNode(for key: UnsafeBufferPointer<UInt8>) -> Int? {
        var ends = labelEnds(key)
        ends.removeLast()  // the name itself does not exist
        ends.insert(0, at: 0)  // the apex always exists
        for end in ends.reversed() {
            let prefix = UnsafeBufferPointer(rebasing: key[0..<end])
            guard end == 0 || names.hasKey(withPrefix: prefix) || numbers?.keys.hasKey(withPrefix: prefix) == true else { continue }
            var wkey = Array(prefix)
            wkey.append(UInt8(ascii: "*")); wkey.append(0)
            return names.find(wkey)
        }
        return nil
    }
}

public enum ZoneError: Error, Equatable, Sendable, CustomStringConvertible {
    case outOfZone(owner: DomainName, apex: DomainName)
    case soaNotAtApex(DomainName)
    case missingSOA(DomainName)
    case missingNS(DomainName)
    case multipleSOA
    case badSOA
    case cnameAndOtherData(DomainName)

    public var description: String {
        switch self {
        case .outOfZone(let o, let a): return "record owner \(o) is outside the zone \(a)"
        case .soaNotAtApex(let o): return "SOA record at \(o), which is not the zone apex"
        case .missingSOA(let a): return "no SOA record at the apex \(a)"
        case .missingNS(let a): return "no NS record at the apex \(a)"
        case .multipleSOA: return "more than one SOA record at the apex"
        case .badSOA: return "SOA RDATA is too short"
        case .cnameAndOtherData(let o): return "CNAME and other data at \(o) (RFC 1034 section 3.6.2)"
        }
    }
}
