import CNetShim
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public enum ServerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A socket call failed: which call, for which address, and errno's text.
    case socket(call: String, address: String, reason: String)
    public var description: String {
        switch self {
        case .socket(let c, let a, let r): return "\(c) for \(a) failed: \(r)"
        }
    }
}

func socketError(_ call: String, _ address: String) -> ServerError {
    .socket(call: call, address: address, reason: String(cString: strerror(errno)))
}

/// UDP on plain sockets: one SO_REUSEPORT socket per worker thread, each thread reading and
/// answering batches with recvmmsg/sendmmsg. No event loop and no allocation per datagram:
/// that is what the hot path of an authoritative server needs.
///
/// On a wildcard address (0.0.0.0, ::) each reply is sent from the address its query was sent
/// to (IP_PKTINFO / IPV6_PKTINFO, RFC 1122 section 4.1.3.5's rule for UDP replies), as NSD and
/// Knot do; otherwise a multi-homed host would answer from the wrong address.
final class UDPServer: Sendable {
    let address: ListenAddress
    private let fds: [Int32]
    private let wildcard: Bool
    private let stopping = Atomic<Bool>(false)
    private let threads = Mutex<[pthread_t]>([])
    private let protection: DNSProtection

    /// Receive timeout, so that workers notice `stop()` without a signal.
    static let pollInterval = timeval(tv_sec: 0, tv_usec: 200_000)
    static let batch = 32
    static let maxQuery = 4096

    /// Binds `count` sockets on the same address; with port 0 the first one picks the port.
    init(address requested: ListenAddress, count: Int, protection: DNSProtection = DNSProtection()) throws(ServerError) {
        var address = requested
        var fds: [Int32] = []
        for _ in 0..<max(1, count) {
            let sa: SocketAddress
            do { sa = try SocketAddress(host: address.host, port: address.port) } catch {
                throw .socket(call: "inet_pton", address: address.description, reason: error.description)
            }
            let fd = socket(sa.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw socketError("socket", address.description) }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
            if sa.family == AF_INET6 {
                setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            if requested.host == "0.0.0.0" || requested.host == "::" {
                guard enumd_enable_pktinfo(fd, sa.family == AF_INET6 ? 1 : 0) == 0 else {
                    let e = socketError("setsockopt(PKTINFO)", address.description)
                    close(fd); fds.forEach { close($0) }
                    throw e
                }
            }
            var tv = Self.pollInterval
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var rcvbuf: Int32 = 4 << 20
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, socklen_t(MemoryLayout<Int32>.size))
            var storage = sa.storage
            let rc = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, sa.length) }
            }
            guard rc == 0 else {
                let e = socketError("bind (UDP)", address.description)
                close(fd); fds.forEach { close($0) }
                throw e
            }
            if address.port == 0, let p = SocketAddress.boundPort(fd) { address.port = p }
            fds.append(fd)
        }
        self.address = address
        self.fds = fds
        self.wildcard = requested.host == "0.0.0.0" || requested.host == "::"
        self.protection = protection

    }

    func start(store: StateStore, statistics: DNSStatistics, logger: Logger) {
        let started = fds.map { fd in
            spawnThread { [self] in self.serve(fd: fd, store: store, statistics: statistics, logger: logger) }
        }
        threads.withLock { $0 = started }
    }

    /// Stops the workers (each within `pollInterval`) and closes the sockets.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        let ts = threads.withLock { t -> [pthread_t] in defer { t = [] }; return t }
        for t in ts { pthread_join(t, nil) }
        for fd in fds { close(fd) }
    }

    private func serve(fd: Int32, store: StateStore, statistics: DNSStatistics, logger: Logger) {
        var counts = DNSStatistics.Counts()
        let n = Self.batch
        let inBuf = UnsafeMutableRawBufferPointer.allocate(byteCount: n * Self.maxQuery, alignment: 16)
        let outSize = 65535
        let outBuf = UnsafeMutableRawBufferPointer.allocate(byteCount: n * outSize, alignment: 16)
        let names = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: n)
        let recvIov = UnsafeMutablePointer<iovec>.allocate(capacity: n)
        let sendIov = UnsafeMutablePointer<iovec>.allocate(capacity: n)
        let recvMsgs = UnsafeMutablePointer<enumd_mmsghdr>.allocate(capacity: n)
        let sendMsgs = UnsafeMutablePointer<enumd_mmsghdr>.allocate(capacity: n)
        let controlSize = enumd_control_space()
        let recvControl = UnsafeMutableRawPointer.allocate(byteCount: n * controlSize, alignment: 16)
        let sendControl = UnsafeMutableRawPointer.allocate(byteCount: n * controlSize, alignment: 16)
        defer {
            recvControl.deallocate(); sendControl.deallocate()
            inBuf.deallocate(); outBuf.deallocate(); names.deallocate()
            recvIov.deallocate(); sendIov.deallocate(); recvMsgs.deallocate(); sendMsgs.deallocate()
        }
        for i in 0..<n {
            recvIov[i] = iovec(iov_base: inBuf.baseAddress! + i * Self.maxQuery, iov_len: Self.maxQuery)
            recvMsgs[i] = enumd_mmsghdr()
            recvMsgs[i].msg_hdr.msg_iov = recvIov + i
            recvMsgs[i].msg_hdr.msg_iovlen = 1
            recvMsgs[i].msg_hdr.msg_name = UnsafeMutableRawPointer(names + i)
            sendMsgs[i] = enumd_mmsghdr()
            sendMsgs[i].msg_hdr.msg_iov = sendIov + i
            sendMsgs[i].msg_hdr.msg_iovlen = 1
        }
        // RRL state is this thread's own (RateLimiter.swift); nil when the rate is 0.
        let rrl = protection.rrl.rate > 0 ? RateLimiter(protection.rrl) : nil
        let cookies = protection.cookies
        var rrlDropped = 0, rrlSlipped = 0
        while !stopping.load(ordering: .relaxed) {
            for i in 0..<n {
                recvMsgs[i].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                recvMsgs[i].msg_hdr.msg_flags = 0
                if wildcard {
                    recvMsgs[i].msg_hdr.msg_control = recvControl + i * controlSize
                    recvMsgs[i].msg_hdr.msg_controllen = controlSize
                }
            }
            let got = enumd_recvmmsg(fd, recvMsgs, UInt32(n), 1)
            if got <= 0 {
                if got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    logger.warning("UDP receive failed", metadata: ["address": "\(address)", "error": "\(String(cString: strerror(errno)))"])
                }
                continue
            }
            let received = monotonicMicroseconds()
            guard let responder = store.responder else { continue }
            var out = 0
            for i in 0..<Int(got) {
                if recvMsgs[i].msg_hdr.msg_flags & enumd_msg_trunc() != 0 { continue }
                let q = UnsafeRawBufferPointer(start: inBuf.baseAddress! + i * Self.maxQuery, count: Int(recvMsgs[i].msg_len))
                let o = UnsafeMutableRawBufferPointer(start: outBuf.baseAddress! + out * outSize, count: outSize)
                let client = ClientAddress(UnsafeRawPointer(names + i))
                var info = ResponseInfo()
                var len = responder.respond(to: q, transport: .udp, client: client, cookies: cookies, into: o, info: &info)
                if len > 0, let rrl {
                    switch rrl.decide(info: info, client: client, query: q, now: received / 1_000_000) {
                    case .send: break
                    case .drop: len = 0; rrlDropped += 1
                    case .slip: len = RateLimiter.slip(o, length: len, info: info); rrlSlipped += 1
                    }
                }
                counts.count(transport: .udp, reply: UnsafeRawBufferPointer(o), length: len)
                guard len > 0 else { continue }
                sendIov[out] = iovec(iov_base: o.baseAddress, iov_len: len)
                sendMsgs[out].msg_hdr.msg_name = UnsafeMutableRawPointer(names + i)
                sendMsgs[out].msg_hdr.msg_namelen = recvMsgs[i].msg_hdr.msg_namelen
                if wildcard {
                    let control = sendControl + out * controlSize
                    let length = withUnsafePointer(to: &recvMsgs[i].msg_hdr) { enumd_reply_control($0, control, controlSize) }
                    sendMsgs[out].msg_hdr.msg_control = length > 0 ? control : nil
                    sendMsgs[out].msg_hdr.msg_controllen = length
                }
                out += 1
            }
            var sent = 0
            while sent < out {
                let r = enumd_sendmmsg(fd, sendMsgs + sent, UInt32(out - sent))
                if r > 0 { sent += Int(r); continue }
                if errno == EINTR { continue }
                sent += 1  // skip the datagram the kernel refused (e.g. unreachable peer)
            }
            counts.observe(latencyMicroseconds: monotonicMicroseconds() - received, queries: Int(got))
            statistics.add(&counts)
            protection.rrlStatistics.add(dropped: rrlDropped, slipped: rrlSlipped)
            rrlDropped = 0; rrlSlipped = 0
        }
    }
}

/// Starts a detached-from-Swift-concurrency OS thread running `body`.
func spawnThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var tid = pthread_t()
    let rc = pthread_create(&tid, nil, { arg in
        let b = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
        b.body()
        return nil
    }, box)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return tid
}

@inline(__always)
func monotonicMicroseconds() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000
}
