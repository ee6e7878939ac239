import Dispatch
import EmercoinRPC
import ENUMCore
import Synchronization

/// Owner address and last txid of each served name, for the HTTP API. `name_filter` does not
/// return them, so they come from `name_show`, one name at a time on a connection and thread of
/// their own: for names that are new or whose value changed at each sync, and again for every name
/// once a day (a transfer keeps the value). DNS never waits for any of this.
public final class NameDetails: Sendable {
    public struct Detail: Sendable, Equatable {
        public var address: String
        public var txid: String
        public var fetchedAt: Double
        var valueHash: UInt64
    }

    /// A day, as the issue asks; details older than this are fetched again.
    public static let refreshAfter: Double = 86_400

    private let client: RPCClient
    private let known = Mutex<[String: Detail]>([:])
    /// Names waiting for name_show, with the hash of the value they were seen with.
    private let pending = Mutex<(queue: [(String, UInt64)], draining: Bool)>(([], false))
    private let worker = DispatchQueue(label: "enumd.name-show")

    public init(client: RPCClient) { self.client = client }

    public func detail(for name: String) -> Detail? { known.withLock { $0[name] } }
    public var count: Int { known.withLock { $0.count } }
    public var backlog: Int { pending.withLock { $0.queue.count } }

    /// Queues the names of a new snapshot that need `name_show`, and starts the worker.
    public func refresh(_ items: [NVSItem], servedNames: Set<String>, now: Double) {
        let wanted: [(String, UInt64)] = known.withLock { k in
            items.compactMap { item in
                let name = String(decoding: item.name, as: UTF8.self)
                guard servedNames.contains(name) else { return nil }
                let h = hash(item.value)
                if let d = k[name], d.valueHash == h, now - d.fetchedAt < Self.refreshAfter { return nil }
                return (name, h)
            }
        }
        let start = pending.withLock { p -> Bool in
            let queued = Set(p.queue.map(\.0))
            p.queue += wanted.filter { !queued.contains($0.0) }
            defer { if !p.queue.isEmpty { p.draining = true } }
            return !p.draining && !p.queue.isEmpty
        }
        if start { worker.async { self.drain() } }
    }

    private func drain() {
        while true {
            guard let (name, h) = pending.withLock({ p -> (String, UInt64)? in
                if p.queue.isEmpty { p.draining = false; return nil }
                return p.queue.removeFirst()
            }) else { return }
            do {
                if let info = try client.nameShow(name), !info.deleted {
                    let d = Detail(address: info.address, txid: info.txid, fetchedAt: now(), valueHash: h)
                    known.withLock { $0[name] = d }
                } else {
                    _ = known.withLock { $0.removeValue(forKey: name) }
                }
            } catch {
                // The node is failing: stop here; the next sync queues what is still missing.
                pending.withLock { p in p.queue.removeAll(); p.draining = false }
                return
            }
        }
    }

    private func hash(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }
}

