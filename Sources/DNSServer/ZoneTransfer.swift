import Dispatch
import ENUMCore
import Logging
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 network, written `ADDRESS/PREFIX` (a bare address is a single host).
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    public var address: [UInt8]
    public var prefix: Int

    public init(parsing text: String) throws(TransferConfigError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let bytes = parseIP(String(parts[0])) else { throw .badNetwork(text) }
        let maxPrefix = bytes.count * 8
        var prefix = maxPrefix
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...maxPrefix).contains(p) else { throw .badNetwork(text) }
            prefix = p
        }
        self.address = bytes; self.prefix = prefix
    }

    /// True when `ip` (presentation form; IPv4-mapped IPv6 counts as IPv4) is in the network.
    public func contains(_ ip: String) -> Bool {
        guard var other = parseIP(ip) else { return false }
        if other.count == 16 && address.count == 4 && other[0..<12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] {
            other = Array(other[12...])
        }
        guard other.count == address.count else { return false }
        for bit in 0..<prefix {
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            if other[bit / 8] & mask != address[bit / 8] & mask { return false }
        }
        return true
    }

    public var description: String {
        let text = address.count == 4 ? address.map(String.init).joined(separator: ".") : formatIPv6(address)
        return "\(text)/\(prefix)"
    }
}

func parseIP(_ text: String) -> [UInt8]? {
    var v4 = in_addr()
    if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
    return nil
}

func formatIPv6(_ bytes: [UInt8]) -> String {
    var a = in6_addr()
    withUnsafeMutableBytes(of: &a) { $0.copyBytes(from: bytes) }
    var buf = [CChar](repeating: 0, count: 64)
    inet_ntop(AF_INET6, &a, &buf, 64)
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// `allow-transfer = CIDR [KEY]`: clients in CIDR may transfer every zone; with KEY, only with
/// requests signed by that TSIG key (NSD's `provide-xfr: CIDR KEY`).
public struct TransferRule: Sendable, Equatable, CustomStringConvertible {
    public var network: IPNetwork
    public var keyName: DomainName?

    public init(parsing text: String) throws(TransferConfigError) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count == 1 || words.count == 2 else { throw .badRule(text) }
        network = try IPNetwork(parsing: String(words[0]))
        if words.count == 2 {
            guard let k = try? DomainName(parsing: String(words[1])) else { throw .badRule(text) }
            keyName = k.lowercased
        }
    }

    public var description: String { keyName.map { "\(network) \($0)" } ?? "\(network)" }
}

/// `notify = HOST:PORT [KEY]`: a secondary told of every change (RFC 1996), the NOTIFY signed
/// with KEY when given.
public struct NotifyTarget: Sendable, Equatable, CustomStringConvertible {
    public var address: ListenAddress
    public var keyName: DomainName?

    public init(parsing text: String) throws(TransferConfigError) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count == 1 || words.count == 2 else { throw .badNotify(text, "write HOST:PORT [KEY]") }
        do { address = try ListenAddress(parsing: String(words[0])) } catch { throw .badNotify(text, error.description) }
        guard address.port != 0 else { throw .badNotify(text, "port 0") }
        if words.count == 2 {
            guard let k = try? DomainName(parsing: String(words[1])) else { throw .badNotify(text, "bad key name") }
            keyName = k.lowercased
        }
    }

    public var description: String { keyName.map { "\(address) \($0)" } ?? "\(address)" }
}

/// Who may transfer, which keys exist, whom to notify. Default: nobody, none, nobody.
public struct TransferPolicy: Sendable, Equatable {
    /// `allow-transfer`: default none, so AXFR and IXFR are refused.
    public var rules: [TransferRule] = []
    /// `tsig-key`: default none.
    public var keys: [TSIGKey] = []
    /// `notify`: default none.
    public var notify: [NotifyTarget] = []

    public init(rules: [TransferRule] = [], keys: [TSIGKey] = [], notify: [NotifyTarget] = []) throws(TransferConfigError) {
        self.rules = rules; self.keys = keys; self.notify = notify
        var seen: Set<DomainName> = []
        for k in keys where !seen.insert(k.name).inserted { throw .duplicateKey(k.name) }
        for name in rules.compactMap(\.keyName) + notify.compactMap(\.keyName) where !seen.contains(name) {
            throw .unknownKey(name)
        }
    }

    func key(_ name: DomainName) -> TSIGKey? { keys.first { $0.name == name } }
}

/// Counters for the log, tests and metrics.
public struct TransferStatistics: Sendable, Equatable {
    public var axfr = 0
    public var ixfr = 0
    /// IXFR requests answered with the whole zone (serial unknown or too old).
    public var ixfrFallbacks = 0
    public var refused = 0
    public var tsigFailures = 0
    /// Records in the last IXFR answered with differences (both SOAs of each step counted).
    public var lastIXFRRecords = 0
    public var notifiesSent = 0
    public var notifiesAcknowledged = 0
    public var notifiesFailed = 0
}

/// Zone transfers for a primary: AXFR (RFC 5936) and IXFR (RFC 1995) over TCP, with the
/// journal of recent changes, the access policy and TSIG (RFC 8945), and NOTIFY (RFC 1996).
/// The journal is written by the one snapshot writer; requests read it and the snapshot they
/// were given, holding a lock only to copy.
public final class ZoneTransfers: Sendable {
    private let policyBox = Mutex(try! TransferPolicy())
    private let journals = Mutex<[DomainName: ZoneJournal]>([:])
    let statisticsBox = Mutex(TransferStatistics())
    let logger: Logger
    let notifier: Notifier
    /// Largest message built: pointers reach only the first 16 KiB of a message (RFC 1035
    /// section 4.1.4), so messages stop there and every owner can be compressed; 65535 is the
    /// hard limit (RFC 5936 section 2.2).
    let messageLimit: Int

    public init(logger: Logger = Logger(label: "enumd.xfr"), messageLimit: Int = 16_384) {
        self.logger = logger
        self.messageLimit = min(messageLimit, 65_535)
        self.notifier = Notifier(logger: logger)
    }

    private let chainRequired = Mutex(false)

    /// With the chain on, the zone files served before the first sync (no state file yet) carry
    /// their own serial and none of the chain's records: a secondary that copied them could be
    /// left behind a serial the chain never reaches. Until a snapshot has chain data, transfers
    /// are answered SERVFAIL; a secondary tries again after the SOA RETRY interval (RFC 1034
    /// section 4.3.5). Default off (zone files only).
    public func setChainRequired(_ on: Bool) { chainRequired.withLock { $0 = on } }

    public var policy: TransferPolicy { policyBox.withLock { $0 } }
    public func setPolicy(_ p: TransferPolicy) { policyBox.withLock { $0 = p } }
    public var statistics: TransferStatistics {
        var s = statisticsBox.withLock { $0 }
        let n = notifier.counts.withLock { $0 }
        s.notifiesSent = n.sent; s.notifiesAcknowledged = n.acknowledged; s.notifiesFailed = n.failed
        return s
    }

    /// Records a change of the zone `apex`, before the snapshot that holds it is published.
    public func record(apex: DomainName, change: ZoneChange) {
        journals.withLock { $0[apex.lowercased, default: ZoneJournal()].append(change) }
    }

    /// Tells every `notify` target that `apex` now has `soa` (call after publishing).
    public func notifyChanged(apex: DomainName, soa: ResourceRecord) {
        let p = policy
        guard !p.notify.isEmpty else { return }
        notifier.notify(apex: apex, soa: soa, targets: p.notify, keys: p.keys)
    }

    func journal(_ apex: DomainName) -> ZoneJournal? { journals.withLock { $0[apex.lowercased] } }

    /// A cheap look at the header and question: a QUERY for AXFR or IXFR.
    public static func isTransferRequest(_ q: UnsafeRawBufferPointer) -> Bool {
        guard q.count >= 17, q[2] & 0x80 == 0, (q[2] >> 3) & 0xF == 0, q[4] == 0, q[5] == 1 else { return false }
        var p = 12
        while p < q.count, q[p] != 0 {
            guard q[p] <= 63 else { return false }
            p += 1 + Int(q[p])
        }
        guard p + 3 < q.count else { return false }
        return q[p + 1] == 0 && (q[p + 2] == 251 || q[p + 2] == 252)
    }

    /// Answers an AXFR or IXFR request from `peer` (its IP address) out of `snapshot`: the
    /// messages to send in order, each without the TCP length prefix.
    public func answer(_ q: [UInt8], peer: String?, snapshot: Snapshot, now: UInt64 = wallClockSeconds()) -> [[UInt8]] {
        let policy = self.policy
        func bare(_ rcode: UInt8, _ questionEnd: Int, _ signer: TSIGSigner?) -> [[UInt8]] {
            var m = Array(q[0..<questionEnd])
            m[2] = 0x80 | (q[2] & 0x79); m[3] = rcode
            m[4] = 0; m[5] = questionEnd > 12 ? 1 : 0
            for i in 6..<12 { m[i] = 0 }
            if var s = signer { s.sign(&m, now: now) }
            return [m]
        }
        guard let request = TransferRequest(q) else {
            statisticsBox.withLock { $0.refused += 1 }
            return bare(1, 12, nil)  // FORMERR, header only
        }
        var signer: TSIGSigner? = nil
        switch TSIG.check(q, keys: policy.keys, now: now) {
        case .unsigned: break
        case .valid(let s): signer = s
        case .malformed:
            statisticsBox.withLock { $0.tsigFailures += 1 }
            return bare(1, request.questionEnd, nil)
        case .failed(let error, let record, let s):
            statisticsBox.withLock { $0.tsigFailures += 1 }
            logger.notice("\(request.kind) from \(peer ?? "?"): TSIG \(error) with key \(record.keyName)")
            return [TSIG.errorResponse(to: q, questionEnd: request.questionEnd, error: error, record: record, signer: s, now: now)]
        }
        // Access: a rule whose network holds the client, and whose key (if any) signed it.
        let allowed = peer.map { ip in
            policy.rules.contains { $0.network.contains(ip) && ($0.keyName == nil || $0.keyName == signer?.key.name) }
        } ?? false
        guard allowed else {
            statisticsBox.withLock { $0.refused += 1 }
            logger.notice("\(request.kind) refused for \(peer ?? "?")\(signer.map { " (key \($0.key.name))" } ?? ""): no allow-transfer rule matches")
            return bare(5, request.questionEnd, signer)
        }
        guard request.qclass == dnsClassIN || request.qclass == 255,
              let zone = snapshot.zones.first(where: { $0.apex.lowercased == request.name.lowercased }) else {
            statisticsBox.withLock { $0.refused += 1 }
            return bare(9, request.questionEnd, signer)  // NOTAUTH: not a zone we serve
        }
        if snapshot.chain == nil && chainRequired.withLock({ $0 }) {
            logger.info("\(request.kind) of \(zone.apex) for \(peer ?? "?"): SERVFAIL until the chain has been read")
            return bare(2, request.questionEnd, signer)
        }
        var w = TransferWriter(query: q, questionEnd: request.questionEnd,
                               limit: messageLimit - (signer == nil ? 0 : 512))
        let current = zone.soaRecord
        if request.kind == .ixfr, let client = request.clientSerial {
            // RFC 1995 section 4: a client as new as we are gets the current SOA only.
            if !serialGreater(zone.serial, client) {
                w.add(current)
                statisticsBox.withLock { $0.ixfr += 1; $0.lastIXFRRecords = 1 }
                logger.info("IXFR of \(zone.apex) for \(peer ?? "?"): serial \(client) is current")
                return w.finish(signer: signer, now: now)
            }
            if let steps = journal(zone.apex)?.changes(from: client, to: zone.serial), !steps.isEmpty {
                // Section 4: current SOA, then per step old SOA, deletions, new SOA, additions,
                // then the current SOA again.
                w.add(current)
                var deleted = 0, added = 0
                for s in steps {
                    w.add(s.fromSOA)
                    for r in s.diff.deleted { w.add(r) }
                    w.add(s.toSOA)
                    for r in s.diff.added { w.add(r) }
                    deleted += s.diff.deleted.count; added += s.diff.added.count
                }
                w.add(current)
                let messages = w.finish(signer: signer, now: now)
                statisticsBox.withLock { $0.ixfr += 1; $0.lastIXFRRecords = w.records }
                logger.info("IXFR of \(zone.apex) for \(peer ?? "?"): serial \(client) -> \(zone.serial) in \(steps.count) step(s), \(deleted) deleted and \(added) added records, \(messages.count) message(s)")
                return messages
            }
            statisticsBox.withLock { $0.ixfrFallbacks += 1 }
            logger.info("IXFR of \(zone.apex) for \(peer ?? "?"): serial \(client) not in the journal; sending the whole zone")
        }
        // RFC 5936 section 2.2: the SOA, every other record, the SOA again.
        w.add(current)
        zone.forEachRecordExceptSOA { w.add($0) }
        w.add(current)
        let messages = w.finish(signer: signer, now: now)
        statisticsBox.withLock { $0.axfr += 1 }
        logger.info("\(request.kind == .ixfr ? "IXFR (as AXFR)" : "AXFR") of \(zone.apex) serial \(zone.serial) for \(peer ?? "?"): \(w.records) records in \(messages.count) message(s)")
        return messages
    }
}

/// The parts of an AXFR or IXFR request that matter (RFC 5936 section 2.1, RFC 1995 section 3).
struct TransferRequest {
    enum Kind: CustomStringConvertible {
        case axfr, ixfr
        var description: String { self == .axfr ? "AXFR" : "IXFR" }
    }
    var kind: Kind
    var name: DomainName
    var qclass: UInt16
    var questionEnd: Int
    /// IXFR: the serial of the SOA the client sent in the authority section.
    var clientSerial: UInt32?

    init?(_ q: [UInt8]) {
        guard q.count >= 12, q[4] == 0, q[5] == 1, q[6] == 0, q[7] == 0 else { return nil }
        guard let (name, e) = Wire.readName(q, 12), e + 4 <= q.count, q[12] & 0xC0 == 0 else { return nil }
        let type = UInt16(q[e]) << 8 | UInt16(q[e + 1])
        kind = type == 251 ? .ixfr : .axfr
        self.name = name
        qclass = UInt16(q[e + 2]) << 8 | UInt16(q[e + 3])
        questionEnd = e + 4
        let nscount = Int(q[8]) << 8 | Int(q[9])
        if kind == .ixfr {
            // Section 3: the authority section holds the client's SOA.
            guard nscount == 1, let (_, o) = Wire.readName(q, questionEnd), o + 10 <= q.count,
                  q[o] == 0, q[o + 1] == 6 else { return nil }
            let rdlen = Int(q[o + 8]) << 8 | Int(q[o + 9])
            guard rdlen >= 22, o + 10 + rdlen <= q.count else { return nil }
            let end = o + 10 + rdlen
            clientSerial = q[(end - 20)..<(end - 16)].reduce(0) { $0 << 8 | UInt32($1) }
        }
    }
}

/// Builds the messages of a transfer: records appended in order, a new message started when
/// the next record would pass `limit`, owner names compressed against names earlier in the same
/// message (RFC 1035 section 4.1.4; RDATA is copied as is, which RFC 3597 section 4 requires for
/// most types). The question is in the first message only (RFC 5936 section 2.2.2).
struct TransferWriter {
    let query: [UInt8]
    let questionEnd: Int
    let limit: Int
    private(set) var messages: [[UInt8]] = []
    private var m: [UInt8] = []
    private var count = 0
    private var names: [[UInt8]: Int] = [:]
    private(set) var records = 0

    init(query: [UInt8], questionEnd: Int, limit: Int) {
        self.query = query; self.questionEnd = questionEnd; self.limit = limit
        begin(withQuestion: true)
    }

    private mutating func begin(withQuestion: Bool) {
        m = Array(query[0..<12])
        m[2] = 0x80 | 0x04 | (query[2] & 0x01)  // QR, AA, opcode QUERY, RD copied
        m[3] = 0
        for i in 4..<12 { m[i] = 0 }
        if withQuestion {
            m += query[12..<questionEnd]
            m[5] = 1
        }
        m.reserveCapacity(limit)
        count = 0
        names.removeAll(keepingCapacity: true)
    }

    /// The owner as labels up to the longest suffix already in this message, then a pointer.
    private func encodeOwner(_ owner: DomainName) -> (bytes: [UInt8], newSuffixes: [([UInt8], Int)]) {
        let wire = owner.wire
        let lower = owner.lowercased.wire
        var out: [UInt8] = []
        var fresh: [([UInt8], Int)] = []
        var p = 0
        while wire[p] != 0 {
            let suffix = Array(lower[p...])
            if let at = names[suffix] {
                out.append(UInt8(0xC0 | at >> 8)); out.append(UInt8(at & 0xFF))
                return (out, fresh)
            }
            fresh.append((suffix, out.count))
            let len = Int(wire[p])
            out += wire[p...(p + len)]
            p += 1 + len
        }
        out.append(0)
        return (out, fresh)
    }

    mutating func add(_ r: ResourceRecord) {
        var (owner, fresh) = encodeOwner(r.owner)
        let size = owner.count + 10 + r.rdata.count
        if m.count + size > limit && count > 0 {
            finishMessage()
            begin(withQuestion: false)
            (owner, fresh) = encodeOwner(r.owner)
        }
        let base = m.count
        for (suffix, offset) in fresh where base + offset < 0x4000 { names[suffix] = base + offset }
        m += owner
        m += u16(r.type.rawValue) + u16(dnsClassIN) + u32(r.ttl) + u16(UInt16(r.rdata.count))
        m += r.rdata
        count += 1
        records += 1
    }

    private mutating func finishMessage() {
        m[6] = UInt8(count >> 8); m[7] = UInt8(count & 0xFF)
        messages.append(m)
    }

    /// The messages, each signed when the request was (RFC 8945 section 5.3.1).
    mutating func finish(signer: TSIGSigner?, now: UInt64) -> [[UInt8]] {
        if count > 0 || messages.isEmpty { finishMessage() }
        if var s = signer {
            for i in messages.indices { s.sign(&messages[i], now: now) }
        }
        return messages
    }
}

extension TCPQueryHandler {
    /// Builds the transfer's messages off the event loop (a large zone takes a while), then
    /// writes them in order; queries after it on the same connection wait until the last
    /// message is written (RFC 7766 section 6.2.1.1 allows pipelining, not interleaving a
    /// multi-message answer).
    func transfer(_ query: ByteBuffer, transfers: ZoneTransfers, snapshot: Snapshot, context: ChannelHandlerContext) {
        transferring = true
        let bytes = Array(query.readableBytesView)
        let peer = context.channel.remoteAddress?.ipAddress
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        DispatchQueue.global().async {
            let messages = transfers.answer(bytes, peer: peer, snapshot: snapshot)
            loop.execute {
                let context = bound.value.1
                var last: EventLoopFuture<Void>? = nil
                for (i, m) in messages.enumerated() {
                    var buffer = context.channel.allocator.buffer(capacity: m.count + 2)
                    buffer.writeInteger(UInt16(m.count))
                    buffer.writeBytes(m)
                    if i == messages.count - 1 { last = context.writeAndFlush(NIOAny(buffer)) } else { context.write(NIOAny(buffer), promise: nil) }
                }
                let done: @Sendable () -> Void = {
                    let (handler, context) = bound.value
                    handler.transferring = false
                    handler.drain(context: context)
                    context.flush()
                }
                if let last { last.whenComplete { _ in done() } } else { done() }
            }
        }
    }
}
