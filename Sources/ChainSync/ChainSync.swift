import DNSServer
import Dispatch
import EmercoinRPC
import ENUMCore
import Logging
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How the poller runs. Each field's default is given beside it.
public struct ChainSyncOptions: Sendable {
    /// How often the chain tip is checked (`--poll-interval`). Default 30 s.
    public var pollInterval: Duration = .seconds(30)
    /// TTL of records without a `TTL=` line (`--default-ttl`). Default 3600 s.
    public var defaultTTL: UInt32 = 3600
    /// Where the last snapshot is kept for a warm start (`--state-dir`). Default: none.
    public var stateDirectory: String? = nil
    /// Names per `name_filter` page. Default 250,000. Each page makes the node scan every name
    /// from the first (`from` counts matches, there is no cursor), so N names cost N²/page
    /// scans: with the fake node, a million names took ~50 s to read in pages of 50,000 and
    /// ~12 s in pages of 250,000. A page the body limit refuses is asked again at half the size.
    public var pageSize: Int = 250_000
    /// The longest wait between retries while the node fails. Default 60 s.
    public var maxBackoff: Duration = .seconds(60)
    public var responderOptions = ResponderOptions()
    public init() {}
}

/// What the poller knows of the node and the served data, for the log and the status endpoint.
public struct SyncStatus: Sendable, Equatable {
    public enum Node: Sendable, Equatable {
        case unknown, ok
        /// In initial block download (-10) or warming up (-28).
        case notReady(String)
        /// Unreachable, timed out, refused credentials, or answering garbage.
        case failing(String)
    }
    public var node: Node = .unknown
    public var tip: Int? = nil
    /// Height of the chain data being served.
    public var servedHeight: Int? = nil
    /// True until a sync with the node has confirmed the served data.
    public var stale = true
    public var lastSuccess: Double? = nil
    public var lastSyncSeconds: Double? = nil
    public var consecutiveFailures = 0
    public var numbers = 0
    /// Failed syncs by kind: unreachable, timeout, http, rpc, bad_reply, not_ready, other.
    public var errors: [String: Int] = [:]
}

/// Keeps the served snapshot in step with the chain: at start and whenever the tip changes, reads
/// every `enum:` name, builds a complete snapshot away from the readers and publishes it with one
/// swap. A failed or partial sync publishes nothing; the last good snapshot keeps being served.
public final class ChainSync: Service, Sendable {
    let client: RPCClient
    let store: StateStore
    /// The zone files the chain's records join. Replaced by a reload (`replaceZones`); held while
    /// a snapshot is built and published, so a sync and a reload publish one after the other and
    /// neither undoes the other.
    private let zonesLock: Mutex<[Zone]>
    /// The zone files being served now.
    var zones: [Zone] { zonesLock.withLock { $0 } }
    let options: ChainSyncOptions
    let logger: Logger
    public let status = Mutex(SyncStatus())
    /// Owner addresses and txids, filled in the background (nil without a second client).
    public let details: NameDetails?
    /// SOA serials that change exactly with the data, and the changes for IXFR (ZoneVersions.swift).
    let versions: ZoneVersions
    private let queue = DispatchQueue(label: "enumd.chain-rpc")
    /// What was last said about skipped values, so each problem is logged once, not every sync.
    private let reported = Mutex<(summary: String, names: Set<String>)>(("", []))
    /// What the state directory could not take (full, unwritable): written again at each poll
    /// until it is, so the files catch up as soon as space frees, not only at the next block.
    private let unsaved = Mutex<Unsaved>(Unsaved())
    struct Unsaved {
        var table: NumberTable?
        var serials: Snapshot?
        /// Failed attempts in a row, per file.
        var tableFailures = 0
        var serialsFailures = 0
    }

    /// - Parameter detailsClient: a second connection for `name_show` (owner and txid for the
    ///   HTTP API), so that those calls never hold up a sync. Nil: no details are fetched.
    public init(client: RPCClient, detailsClient: RPCClient? = nil, store: StateStore, zones: [Zone],
                options: ChainSyncOptions, logger: Logger) {
        self.client = client; self.store = store; self.zonesLock = Mutex(zones); self.options = options; self.logger = logger
        self.details = detailsClient.map { NameDetails(client: $0) }
        self.versions = ZoneVersions(directory: options.stateDirectory)
    }

    /// Serves the state directory's snapshot (marked stale) if there is a usable one.
    /// Returns its height. A damaged file is reported and ignored.
    @discardableResult
    public func loadState() -> Int? {
        guard let dir = options.stateDirectory else { return nil }
        do {
            let t0 = now()
            guard let table = try StateFile.read(directory: dir) else {
                logger.info("no state file in \(dir) yet: serving zone files until the first sync")
                return nil
            }
            try publish(table, stale: true, readAt: now())
            logger.notice("serving the saved snapshot of height \(table.height) from \(dir), \(table.count) numbers, read in \(String(format: "%.2f", now() - t0)) s (stale until the node confirms it)")
            return table.height
        } catch {
            logger.error("\(error)")
            return nil
        }
    }

    public func run() async throws {
        var backoff = Duration.seconds(1)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var wait = options.pollInterval
            do {
                let tip = try await blocking { try self.client.blockCount() }
                let needed = status.withLock { s in s.tip = tip; return s.servedHeight != tip || s.stale }
                if needed { try await syncOnce(tip: tip) } else { markNode(.ok) }
                backoff = .seconds(1)
            } catch {
                recordFailure(error)
                wait = min(backoff, options.pollInterval)
                backoff = min(backoff * 2, options.maxBackoff)
            }
            saveState()  // what the state directory could not take before, node up or down
            let pause = wait
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            } catch { break }
        }
        logger.info("chain sync stopped")
    }

    /// One full sync at `tip`: every `enum:` name, then one swap. Public for tests and tools.
    public func syncOnce(tip: Int) async throws {
        let started = now()
        let (items, height) = try await blocking { () throws -> ([NVSItem], Int) in
            let info = try self.client.blockchainInfo()
            if info.initialBlockDownload { throw SyncError.nodeNotReady("initial block download") }
            // ^ anchors the filter: an unanchored "enum:" would also match "dns:enum:x".
            var items: [NVSItem] = []
            var seen: Set<[UInt8]> = []
            var from = 0
            var pageSize = self.options.pageSize
            while true {
                let page: [RPCClient.FilteredName]
                do {
                    page = try self.client.nameFilter(regexp: "^enum:", from: from, count: pageSize)
                } catch let e as RPCError {
                    guard case .transport(.bodyTooLarge) = e, pageSize > 1 else { throw e }
                    pageSize /= 2  // long values: smaller pages keep each reply under the limit
                    continue
                }
                for n in page where seen.insert(n.name).inserted {
                    if let value = n.value {
                        items.append(NVSItem(name: n.name, value: value, expiresAt: tip + n.expiresIn))
                    } else if let full = try self.client.nameShow(String(decoding: n.name, as: UTF8.self)), !full.deleted {
                        // The node shortened this value in name_filter: read it whole.
                        items.append(NVSItem(name: n.name, value: full.value, expiresAt: full.expiresAt))
                    }
                }
                if page.count < pageSize { break }
                from += page.count
            }
            return (items, tip)
        }
        let fetched = now()
        let table = try publish(items: items, height: height, readAt: started)
        let seconds = now() - started
        let numbers = table.count
        let wasFailing = status.withLock { s -> Bool in
            let failing = s.consecutiveFailures > 0
            s.node = .ok; s.stale = false; s.servedHeight = height; s.lastSuccess = now()
            s.lastSyncSeconds = seconds; s.consecutiveFailures = 0; s.numbers = numbers
            return failing
        }
        logger.info("synced height \(height): \(items.count) enum: names, \(numbers) numbers served, in \(String(format: "%.2f", seconds)) s (reading \(String(format: "%.2f", fetched - started)) s)\(wasFailing ? " (the node is answering again)" : "")")
        saveState(table: table)
        store.releaseFreedMemory()  // the pages of the values read for this sync
    }

    /// Parses and compiles what a sync read, publishes it, and returns the compiled table.
    private func publish(items: [NVSItem], height: Int, readAt: Double) throws -> NumberTable {
        let t0 = now()
        let chain = ChainRecords.build(items, height: height, defaultTTL: options.defaultTTL)
        let table = NumberTable.build(chain)
        let t1 = now()
        // Counted by reason at info (never a number in it), each name once at debug.
        let summary = chain.skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        let (sayIt, fresh) = reported.withLock { r -> (Bool, [(name: String, problem: String)]) in
            let fresh = chain.problems.filter { !r.names.contains($0.name) }
            for p in fresh { r.names.insert(p.name) }
            defer { r.summary = summary }
            return (summary != r.summary && !summary.isEmpty, fresh)
        }
        if sayIt { logger.info("names skipped at height \(height): \(summary)") }
        for p in fresh { logger.debug("skipped \(p.name): \(p.problem)") }
        try publish(table, stale: false, readAt: readAt)
        logger.debug("snapshot of height \(height): parse and compile \(String(format: "%.2f", t1 - t0)) s, publish \(String(format: "%.2f", now() - t1)) s")
        return table
    }

    private func publish(_ table: NumberTable, stale: Bool, readAt: Double) throws {
        let previous = store.responder?.snapshot
        try zonesLock.withLock { zones in
            try swapIn(SnapshotBuilder.build(zones: zones, numbers: table, builtAt: readAt, stale: stale), previous: previous)
        }
        if let old = previous?.chain { details?.forgetChanged(from: old, to: table) }
        status.withLock { s in s.servedHeight = table.height; s.stale = stale; s.numbers = table.count }
    }

    /// Settles the serials of `built` against what was served (they change exactly with the
    /// data), records the changes for IXFR, publishes, and sends NOTIFY for each changed zone.
    private func swapIn(_ built: Snapshot, previous: Snapshot?) throws {
        let (snapshot, changes) = try versions.settle(built, previous: previous?.chain == nil ? nil : previous)
        for c in changes { store.transfers.record(apex: c.apex, change: c.change) }
        store.publish(Responder(snapshot: snapshot, options: options.responderOptions))
        for c in changes {
            logger.info("zone \(c.apex) serial \(c.change.fromSerial) -> \(c.change.toSerial): \(c.change.diff.deleted.count) records deleted, \(c.change.diff.added.count) added")
            store.transfers.notifyChanged(apex: c.apex, soa: c.change.toSOA)
        }
        saveState(serials: snapshot)
    }

    /// Writes the state file (`table`) and the zone serials (`serials`), with whatever an earlier
    /// call could not write; what fails now is kept for the next call (each poll makes one). A
    /// file's first failure is logged as an error and its recovery as a notice; the retries in
    /// between say nothing, so a full disk does not fill the log as well.
    func saveState(table: NumberTable? = nil, serials: Snapshot? = nil) {
        guard let dir = options.stateDirectory else { return }
        unsaved.withLock { u in
            if let table { u.table = table }
            if let serials { u.serials = serials }
            if let t = u.table, attempt("the snapshot of height \(t.height)", in: dir, &u.tableFailures, { try StateFile.write(t, directory: dir) }) {
                u.table = nil
            }
            if let s = u.serials, attempt("the zone serials", in: dir, &u.serialsFailures, { try versions.save(s) }) {
                u.serials = nil
            }
        }
    }

    /// Runs one write of `saveState`, counting failures in a row: logs the first failure and
    /// the recovery after failures. Returns whether it wrote.
    private func attempt(_ what: String, in dir: String, _ failures: inout Int, _ write: () throws -> Void) -> Bool {
        do {
            try write()
            if failures > 0 { logger.notice("saved \(what) in \(dir) after \(failures) failed attempts") }
            failures = 0
            return true
        } catch {
            if failures == 0 { logger.error("cannot save \(what) (served regardless; trying again at each poll): \(error)") }
            failures += 1
            return false
        }
    }

    /// Serves new zone files (a reload): the snapshot is rebuilt from them and the chain's number
    /// table being served now, and swapped in (serials, IXFR and NOTIFY as for a sync). On error
    /// nothing changes and the old zones stay.
    public func replaceZones(_ newZones: [Zone]) throws {
        _ = try SnapshotBuilder.e164Zone(newZones)
        try zonesLock.withLock { zones in
            let served = store.responder?.snapshot
            let snapshot: Snapshot
            if let table = served?.chain {
                snapshot = try SnapshotBuilder.build(zones: newZones, numbers: table, builtAt: served?.builtAt ?? now(),
                                                     stale: served?.stale ?? false)
            } else {
                snapshot = try Snapshot(zones: newZones, builtAt: served?.builtAt ?? now())
            }
            try swapIn(snapshot, previous: served)
            zones = newZones
        }
    }

    /// Seconds since 1970, as the sync's own timestamps.
    public static func clock() -> Double { now() }

    private func markNode(_ node: SyncStatus.Node) { status.withLock { $0.node = node } }

    private func recordFailure(_ error: Error) {
        let node: SyncStatus.Node
        if let e = error as? RPCError, e.nodeNotReady { node = .notReady(e.description) }
        else if case SyncError.nodeNotReady(let why) = error { node = .notReady(why) }
        else { node = .failing("\(error)") }
        let kind: String
        switch error {
        case RPCError.transport(.unreachable): kind = "unreachable"
        case RPCError.transport(.timeout): kind = "timeout"
        case RPCError.unauthorized, RPCError.forbidden, RPCError.http, RPCError.methodNotFound: kind = "http"
        case let e as RPCError where e.nodeNotReady: kind = "not_ready"
        case SyncError.nodeNotReady: kind = "not_ready"
        case RPCError.rpc: kind = "rpc"
        case RPCError.badReply, RPCError.transport(.bodyTooLarge): kind = "bad_reply"
        default: kind = "other"
        }
        let (changed, height) = status.withLock { s -> (Bool, Int?) in
            defer { s.node = node; s.consecutiveFailures += 1; s.errors[kind, default: 0] += 1 }
            return (s.node != node, s.servedHeight)
        }
        // Said once per change of state, not on every retry.
        if changed {
            let serving = height.map { "keeping the snapshot of height \($0)" } ?? "serving the zone files"
            switch node {
            case .notReady(let why): logger.warning("chain: node not ready (\(why)); \(serving)")
            default: logger.warning("chain: sync failed (\(error)); \(serving); retrying with backoff")
            }
        }
    }

    /// Runs blocking RPC work off the cooperative thread pool.
    private func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in
            queue.async { cont.resume(with: Result { try work() }) }
        }
    }
}


func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
