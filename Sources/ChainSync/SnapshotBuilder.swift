import DNSWire
import ENUMCore

/// Joins the zone files and the chain's records into one snapshot.
///
/// The chain's numbers go into the zone whose apex is `e164.arpa`. The zone files are static
/// overrides: a name that has any record in a zone file is served from the zone file only.
/// The SOA serial is built as the chain height; `ZoneVersions` then keeps the previous serial
/// when the data did not change, so the serial changes exactly with the served data.
public enum SnapshotBuilder {
    public static func build(zones: [Zone], chain: ChainRecords?, builtAt: Double, stale: Bool) throws -> Snapshot {
        guard let chain else { return try Snapshot(zones: zones, builtAt: builtAt) }
        guard let index = zones.firstIndex(where: { $0.apex.lowercased == DomainName.e164Arpa }) else {
            throw SyncError.noE164Zone
        }
        let base = zones[index]
        var records: [ResourceRecord] = []
        records.reserveCapacity(base.nodes.count + chain.numbers.count * 2)
        var staticNames: Set<[UInt8]> = []
        for node in base.nodes {
            staticNames.insert(node.owner.lowercased.wire)
            for set in node.rrsets {
                for rdata in set.rdatas {
                    var rd = rdata
                    if set.type == .soa { rd.replaceSubrange((rd.count - 20)..<(rd.count - 16), with: bytes32(UInt32(truncatingIfNeeded: chain.height))) }
                    records.append(ResourceRecord(owner: node.owner, type: set.type, ttl: set.ttl, rdata: rd))
                }
            }
        }
        for n in chain.numbers {
            let owner = n.number.domain(apex: base.apex)
            if staticNames.contains(owner.lowercased.wire) { continue }
            for naptr in n.naptrs {
                records.append(ResourceRecord(owner: owner, type: .naptr, ttl: n.ttl, rdata: try naptr.rdata()))
            }
        }
        var all = zones
        all[index] = try Zone(apex: base.apex, records: records)
        return try Snapshot(zones: all, chainHeight: chain.height, builtAt: builtAt, stale: stale, chain: chain)
    }

    static func bytes32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
}

public enum SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    case noE164Zone
    case nodeNotReady(String)
    public var description: String {
        switch self {
        case .noE164Zone: return "the chain's numbers need a zone file for e164.arpa (its SOA and NS); add one with --zone"
        case .nodeNotReady(let why): return "the node is not ready: \(why)"
        }
    }
}
