import DNSWire
import ENUMCore

/// Joins the zone files and the chain's records into one snapshot.
///
/// The chain's numbers go into the zone whose apex is `e164.arpa`. The zone files are static
/// overrides: a name that has any record in a zone file is served from the zone file only.
/// The SOA serial becomes the chain height, so secondaries and caches see every change.
public enum SnapshotBuilder {
    /// Compiles `chain` into a number table and joins it (names in the zone file win at lookup).
    public static func build(zones: [Zone], chain: ChainRecords?, builtAt: Double, stale: Bool) throws -> Snapshot {
        guard let chain else { return try Snapshot(zones: zones, builtAt: builtAt) }
        return try build(zones: zones, numbers: NumberTable.build(chain), builtAt: builtAt, stale: stale)
    }

    /// Joins an already compiled table (from a sync or the state file) to the `e164.arpa` zone.
    public static func build(zones: [Zone], numbers: NumberTable, builtAt: Double, stale: Bool) throws -> Snapshot {
        let base = try e164Zone(zones)
        var all = zones
        all[all.firstIndex { $0 === base }!] = base.attaching(numbers, serial: UInt32(truncatingIfNeeded: numbers.height))
        return try Snapshot(zones: all, chainHeight: numbers.height, builtAt: builtAt, stale: stale, chain: numbers)
    }

    static func e164Zone(_ zones: [Zone]) throws(SyncError) -> Zone {
        guard let z = zones.first(where: { $0.apex.lowercased == DomainName.e164Arpa }) else { throw .noE164Zone }
        return z
    }
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
