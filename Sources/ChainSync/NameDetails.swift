import Dispatch
import EmercoinRPC
import ENUMCore
import Synchronization

/// Owner address and last txid of the chain names the HTTP API shows. `name_filter` does not
/// return them, so they come from `name_show`, on a connection and thread of their own, when a
/// lookup first asks for a name; the answer is kept (at most `capacity` names) until the name's
/// records change in a new snapshot or a day has passed (a transfer keeps the value).
///
/// Fetched on demand rather than for every name at each start: with a million names that would
/// be a million `name_show` calls and a dictionary larger than the whole snapshot. DNS never
/// waits for any of this; a lookup waits for at most one `name_show`, and for none while the
/// node is failing (for `retryAfterFailure` seconds after a failed call).
public final class NameDetails: Sendable {
    public struct Detail: Sendable, Equatable {
        public var address: String
        public var txid: String
        public var fetchedAt: Double
    }

    /// A day; details older than this are fetched again.
    public static let refreshAfter: Double = 86_400
    public static let retryAfterFailure: Double = 30
    public let capacity: Int

    private let client: RPCClient
    private struct State {
        var known: [String: Detail] = [:]
        var failedAt: Double = -.infinity
    }
    private let state = Mutex(State())
    private let worker = DispatchQueue(label: "enumd.name-show")

    public init(client: RPCClient, capacity: Int = 100_000) {
        self.client = client
        self.capacity = capacity
    }

    public var count: Int { state.withLock { $0.known.count } }

    /// The cached detail of `name`, without calling the node.
    public func cached(_ name: String) -> Detail? { state.withLock { $0.known[name] } }

    /// The detail of `name`: cached, or read with `name_show` now. Nil when the name is unknown
    /// to the node or the node is failing.
    public func detail(for name: String, now: Double = ChainSync.clock()) async -> Detail? {
        let (hit, skip) = state.withLock { s -> (Detail?, Bool) in
            if let d = s.known[name], now - d.fetchedAt < Self.refreshAfter { return (d, true) }
            return (nil, now - s.failedAt < Self.retryAfterFailure)
        }
        if let hit { return hit }
        if skip { return nil }
        return await withCheckedContinuation { cont in
            worker.async {
                let result: Detail?
                do {
                    if let info = try self.client.nameShow(name), !info.deleted {
                        result = Detail(address: info.address, txid: info.txid, fetchedAt: now)
                    } else { result = nil }
                    self.state.withLock { s in
                        if let result {
                            if s.known.count >= self.capacity, s.known[name] == nil { s.known.remove(at: s.known.startIndex) }
                            s.known[name] = result
                        } else {
                            s.known[name] = nil
                        }
                    }
                } catch {
                    self.state.withLock { $0.failedAt = now }
                    result = nil
                }
                cont.resume(returning: result)
            }
        }
    }

    /// Drops the cached names whose number's records changed (or went) between two snapshots.
    public func forgetChanged(from old: NumberTable, to new: NumberTable) {
        state.withLock { s in
            for name in Array(s.known.keys) {
                guard let number = ENUMName(Array(name.utf8))?.number,
                      let i = old.index(of: number), let j = new.index(of: number),
                      old.fingerprint(i) == new.fingerprint(j) else {
                    s.known[name] = nil
                    continue
                }
            }
        }
    }
}
