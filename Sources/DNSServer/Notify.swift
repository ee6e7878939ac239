import Dispatch
import ENUMCore
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Sends NOTIFY (RFC 1996) to secondaries when a zone changes, off the DNS path: one blocking
/// UDP exchange per target on a background queue, retried until the secondary answers.
///
/// RFC 1996 section 3.6 asks for retries until acknowledged; they are bounded here: `attempts`
/// sends (default 5), waiting `timeout` for the answer and then 1, 2, 4, 8 s between sends.
/// A newer change of the same zone supersedes a NOTIFY still being retried. An answer with an
/// error rcode (REFUSED, NOTAUTH) is final: sending again would not change it.
final class Notifier: Sendable {
    let logger: Logger
    let attempts: Int
    let timeout: Duration
    let firstBackoff: Duration
    private let queue = DispatchQueue(label: "enumd.notify", attributes: .concurrent)
    private let generations = Mutex<[String: Int]>([:])
    let counts = Mutex<(sent: Int, acknowledged: Int, failed: Int)>((0, 0, 0))

    init(logger: Logger = Logger(label: "enumd.xfr"), attempts: Int = 5, timeout: Duration = .seconds(2), firstBackoff: Duration = .seconds(1)) {
        self.logger = logger; self.attempts = attempts; self.timeout = timeout; self.firstBackoff = firstBackoff
    }

    func notify(apex: DomainName, soa: ResourceRecord, targets: [NotifyTarget], keys: [TSIGKey]) {
        for target in targets {
            let slot = "\(apex.lowercased) \(target.address)"
            let generation = generations.withLock { g -> Int in g[slot, default: 0] += 1; return g[slot]! }
            let key = target.keyName.flatMap { name in keys.first { $0.name == name } }
            queue.async { self.deliver(apex: apex, soa: soa, target: target, key: key, slot: slot, generation: generation) }
        }
    }

    /// RFC 1996 section 3.7: opcode NOTIFY, AA set, the question `apex SOA IN`, and the new SOA
    /// in the answer section as a hint.
    static func message(id: UInt16, apex: DomainName, soa: ResourceRecord) -> [UInt8] {
        var m = u16(id) + [0x24, 0x00] + u16(1) + u16(1) + u16(0) + u16(0)
        m += apex.wire + u16(RRType.soa.rawValue) + u16(dnsClassIN)
        m += [0xC0, 0x0C] + u16(RRType.soa.rawValue) + u16(dnsClassIN) + u32(soa.ttl) + u16(UInt16(soa.rdata.count)) + soa.rdata
        return m
    }

    private func superseded(_ slot: String, _ generation: Int) -> Bool {
        generations.withLock { $0[slot] != generation }
    }

    private func deliver(apex: DomainName, soa: ResourceRecord, target: NotifyTarget, key: TSIGKey?, slot: String, generation: Int) {
        var backoff = firstBackoff
        for attempt in 1...attempts {
            if superseded(slot, generation) { return }
            let id = UInt16.random(in: 0...UInt16.max)
            var m = Self.message(id: id, apex: apex, soa: soa)
            if let key { TSIG.signRequest(&m, key: key, now: wallClockSeconds()) }
            counts.withLock { $0.sent += 1 }
            switch exchange(m, id: id, target: target.address) {
            case .some(0):
                counts.withLock { $0.acknowledged += 1 }
                logger.info("NOTIFY \(apex) serial \(ZoneChange.serial(soa.rdata)) acknowledged by \(target.address)")
                return
            case .some(let rcode):
                counts.withLock { $0.failed += 1 }
                logger.warning("NOTIFY \(apex) to \(target.address) answered with rcode \(rcode); not retried")
                return
            case .none:
                if attempt == attempts { break }
                sleepBlocking(backoff)
                backoff = backoff * 2
            }
        }
        counts.withLock { $0.failed += 1 }
        logger.warning("NOTIFY \(apex) to \(target.address): no answer after \(attempts) tries")
    }

    /// One UDP exchange: the rcode of the matching answer (same ID, QR, opcode NOTIFY), or nil.
    private func exchange(_ m: [UInt8], id: UInt16, target: ListenAddress) -> UInt8? {
        guard let ip = parseIP(target.host) else { return nil }
        let family = ip.count == 4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let c = timeout.components
        var tv = timeval(tv_sec: Int(c.seconds), tv_usec: Int(c.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let connected: Int32
        if ip.count == 4 {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET); a.sin_port = UInt16(target.port).bigEndian
            withUnsafeMutableBytes(of: &a.sin_addr) { $0.copyBytes(from: ip) }
            connected = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        } else {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6); a.sin6_port = UInt16(target.port).bigEndian
            withUnsafeMutableBytes(of: &a.sin6_addr) { $0.copyBytes(from: ip) }
            connected = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        }
        guard connected == 0 else { return nil }
        guard m.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == m.count else { return nil }
        var buf = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let n = recv(fd, &buf, buf.count, 0)
            if n < 0 { if errno == EINTR { continue }; return nil }
            guard n >= 12, buf[0] == UInt8(id >> 8), buf[1] == UInt8(id & 0xFF), buf[2] & 0x80 != 0,
                  (buf[2] >> 3) & 0xF == 4 else { continue }
            return buf[3] & 0x0F
        }
        return nil
    }
}

/// Blocks the calling (background) thread for `d`.
func sleepBlocking(_ d: Duration) {
    let c = d.components
    var ts = timespec(tv_sec: Int(c.seconds), tv_nsec: Int(c.attoseconds / 1_000_000_000))
    nanosleep(&ts, nil)
}
