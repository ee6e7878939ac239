import Synchronization

private let snapshotCounter = Atomic<UInt64>(0)

/// Everything the DNS and HTTP fronts read, built complete away from them and published with one
/// assignment (DESIGN.md "One writer, many readers"). Immutable.
public final class Snapshot: Sendable {
    /// Zones ordered longest apex first, so the first zone that contains a name is the closest one.
    public let zones: [Zone]
    /// Where the data came from and how fresh it is; zone-file-only snapshots have no chain height.
    public let chainHeight: Int?
    /// Seconds since 1970 when the data was read (from the chain or the zone files).
    public let builtAt: Double
    /// True for a snapshot loaded from the state directory that no sync has confirmed yet.
    public let stale: Bool
    /// Unique per snapshot built in this process (1, 2, ...), for caches of what was derived
    /// from one (an object's address can be reused once it is freed).
    public let generation: UInt64
    /// The chain's numbers as published (nil when serving zone files only); the same table
    /// the `e164.arpa` zone answers from.
    public let chain: NumberTable?

    public init(zones: [Zone], chainHeight: Int? = nil, builtAt: Double = 0, stale: Bool = false,
                chain: NumberTable? = nil) throws(SnapshotError) {
        var seen: Set<DomainName> = []
        for z in zones {
            guard seen.insert(z.apex.lowercased).inserted else { throw .duplicateApex(z.apex) }
        }
        self.zones = zones.sorted { $0.apex.labelCount > $1.apex.labelCount }
        self.chainHeight = chainHeight
        self.builtAt = builtAt
        self.stale = stale
        self.chain = chain
        self.generation = snapshotCounter.add(1, ordering: .relaxed).newValue
    }

    /// The zone that is authoritative for `name`, if any.
    public func zone(for name: DomainName) -> Zone? {
        zones.first { name.isSubdomain(of: $0.apex) }
    }
}

public enum SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    case duplicateApex(DomainName)
    public var description: String {
        switch self {
        case .duplicateApex(let a): return "two zones have the same apex \(a)"
        }
    }
}
