import DNSWire
import ENUMCore
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A UDP socket bound to a chosen loopback source (127.0.0.1 and 127.0.1.1 are different /24s).
final class UDPLoader {
    let fd: Int32
    init(source: String) throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr(source)
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw TestFailure("bind \(source) failed") }
        var big: Int32 = 8 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, socklen_t(MemoryLayout<Int32>.size))
        var tv = timeval(tv_sec: 0, tv_usec: 300_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
    deinit { close(fd) }

    /// Sends `count` copies of `query` (IDs 0..<count) as fast as the socket takes them, then
    /// collects replies until 300 ms pass without one.
    func flood(port: Int, _ query: [UInt8], count: Int) -> (answers: Int, truncated: Int, other: Int) {
        var q = query
        var answers = 0, truncated = 0, other = 0
        var buf = [UInt8](repeating: 0, count: 65535)
        func drain(wait: Bool) {
            while true {
                let n = recv(fd, &buf, buf.count, wait ? 0 : Int32(MSG_DONTWAIT))
                if n < 12 { return }
                if buf[2] & 0x02 != 0 { truncated += 1 } else if buf[7] > 0 { answers += 1 } else { other += 1 }
            }
        }
        for i in 0..<count {
            q[0] = UInt8(i >> 8); q[1] = UInt8(i & 0xFF)
            sendTo(port: port, q)
            if i % 64 == 63 { drain(wait: false) }
        }
        drain(wait: true)
        return (answers, truncated, other)
    }

    /// Sends `count` copies of `query` and reads no reply.
    func send(port: Int, _ query: [UInt8], count: Int) {
        for _ in 0..<count { sendTo(port: port, query) }
    }

    /// One datagram to 127.0.0.1:`port`.
    func sendTo(port: Int, _ message: [UInt8]) {
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_port = UInt16(port).bigEndian
        to.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &to) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, message, message.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// One query, one reply (nil on timeout).
    func exchange(port: Int, _ query: [UInt8]) -> [UInt8]? {
        sendTo(port: port, query)
        var buf = [UInt8](repeating: 0, count: 65535)
        let n = recv(fd, &buf, buf.count, 0)
        return n > 0 ? Array(buf[0..<n]) : nil
    }
}

/// A TCP connection from a chosen loopback source.
func tcpConnect(port: Int, source: String, timeoutSeconds: Int = 3) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var src = sockaddr_in()
    src.sin_family = sa_family_t(AF_INET)
    src.sin_addr.s_addr = inet_addr(source)
    _ = withUnsafePointer(to: &src) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = UInt16(port).bigEndian
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &a) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { close(fd); throw TestFailure("TCP connect failed") }
    return fd
}

/// Reads one length-prefixed message; nil when the server closed the connection or timed out.
func tcpReadMessage(_ fd: Int32) -> [UInt8]? {
    func read(_ n: Int) -> [UInt8]? {
        var out = [UInt8](); var buf = [UInt8](repeating: 0, count: max(1, n))
        while out.count < n {
            let r = recv(fd, &buf, n - out.count, 0)
            if r <= 0 { return nil }
            out += buf[0..<r]
        }
        return out
    }
    guard let l = read(2) else { return nil }
    return read(Int(l[0]) << 8 | Int(l[1]))
}

/// True when the peer closes within the socket's receive timeout (recv returns 0 or a reset).
func tcpClosedByPeer(_ fd: Int32) -> Bool {
    var b: UInt8 = 0
    let r = recv(fd, &b, 1, 0)
    return r == 0 || (r < 0 && errno == ECONNRESET)
}

/// Issue 7: the server under hostile traffic, end to end.
@Suite(.serialized) struct HostileTrafficTests {
    static let number = "0.9.8.7.6.5.4.3.2.1.e164.arpa."

    /// One source floods one name: answers are held near the rate, every 2nd limited reply is
    /// truncated, the rest dropped; a client in another /24 is unaffected; TCP is never limited;
    /// a client with a valid cookie is exempt; the metrics count it all.
    @Test func rrlLimitsAOneSourceFlood() throws {
        let s = try EnumdServer(["--rrl-rate", "50", "--rrl-slip", "2", "--http", "127.0.0.1:0"])
        let query = try DecodedPacket.query(name: Self.number, type: .naptr)
        let flooder = try UDPLoader(source: "127.0.0.1")
        let start = Date()
        let r = flooder.flood(port: s.port, query, count: 2000)
        let seconds = Date().timeIntervalSince(start)
        // The flood spans at most a few one-second windows: `rate` answers in each.
        let windows = Int(seconds.rounded(.up)) + 1
        #expect(r.answers >= 50 && r.answers <= 50 * windows, "answers \(r.answers) in \(seconds) s")
        let limited = 2000 - r.answers
        #expect(r.truncated > limited / 3 && r.truncated < limited * 2 / 3 + 10, "about half the limited ones slip: \(r)")
        #expect(r.other == 0)

        // Another /24, meanwhile: every query answered.
        let other = try UDPLoader(source: "127.0.1.1")
        var answered = 0
        for _ in 0..<20 where other.exchange(port: s.port, query).map({ $0[7] > 0 && $0[2] & 0x02 == 0 }) == true { answered += 1 }
        #expect(answered == 20)

        // TCP from the flooding address: never limited.
        let fd = try tcpConnect(port: s.port, source: "127.0.0.1")
        defer { close(fd) }
        for _ in 0..<100 { _ = lengthPrefixed(query).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } }
        var tcpAnswers = 0
        for _ in 0..<100 where (tcpReadMessage(fd).map { $0[7] > 0 }) == true { tcpAnswers += 1 }
        #expect(tcpAnswers == 100)

        // A valid server cookie exempts the flooder (RFC 7873 section 5.2.5 proves the address).
        let clientCookie: [UInt8] = [9, 8, 7, 6, 5, 4, 3, 2]
        let withClientCookie = try DecodedPacket.query(name: Self.number, type: .naptr, edns: .init(udpSize: 1232, version: 0, dnssecOK: false))
        let cq = addCookie(withClientCookie, clientCookie)
        let cookieFlooder = try UDPLoader(source: "127.0.2.1")
        let learned = try #require(cookieFlooder.exchange(port: s.port, cq))
        let full = Array(learned.suffix(24))
        #expect(Array(full[0..<8]) == clientCookie)
        let exempt = cookieFlooder.flood(port: s.port, addCookie(withClientCookie, full), count: 1000)
        #expect(exempt.answers >= 980 && exempt.truncated == 0, "valid cookie: \(exempt)")

        let metrics = try httpRequest(port: s.httpPort, method: "GET", path: "/metrics", headers: [:]).text
        let dropped = metrics.split(separator: "\n").first { $0.hasPrefix("enum_dns_rrl_responses_total{action=\"dropped\"}") }
        let slipped = metrics.split(separator: "\n").first { $0.hasPrefix("enum_dns_rrl_responses_total{action=\"slipped\"}") }
        #expect(dropped.flatMap { Double($0.split(separator: " ").last!) } ?? 0 > 0, "\(dropped ?? "no dropped metric")")
        #expect(slipped.flatMap { Double($0.split(separator: " ").last!) } ?? 0 > 0, "\(slipped ?? "no slipped metric")")
    }

    /// The query with an OPT COOKIE option of `cookie` appended (the OPT must be the last record).
    func addCookie(_ query: [UInt8], _ cookie: [UInt8]) -> [UInt8] {
        var q = query
        let rdlenAt = q.count - 2
        let rdlen = Int(q[rdlenAt]) << 8 | Int(q[rdlenAt + 1]) + 4 + cookie.count
        q[rdlenAt] = UInt8(rdlen >> 8); q[rdlenAt + 1] = UInt8(rdlen & 0xFF)
        return q + [0, 10, 0, UInt8(cookie.count)] + cookie
    }

    /// Limited clients that sent a client cookie slip to BADCOOKIE with a server cookie, not TC
    /// (RFC 7873 section 5.2.3); dig, limited, retries with that cookie and gets its answer over
    /// UDP, the cookie exempting it.
    @Test func rrlSlipsBADCOOKIEToClientsWithACookie() throws {
        let s = try EnumdServer(["--rrl-rate", "1", "--rrl-slip", "1"])
        let q = try DecodedPacket.query(name: Self.number, type: .naptr, edns: .init(udpSize: 1232, version: 0, dnssecOK: false))
        let r = try UDPLoader(source: "127.0.4.1").flood(port: s.port, addCookie(q, [1, 2, 3, 4, 5, 6, 7, 8]), count: 200)
        #expect(r.truncated == 0 && r.answers >= 1 && r.other >= 150, "limited replies are BADCOOKIE, not TC: \(r)")

        // dig from a limited address: its first try is limited, its retry with the cookie is not.
        let plain = try DecodedPacket.query(name: Self.number, type: .naptr)
        var out = ""
        for _ in 0..<3 {
            try UDPLoader(source: "127.0.0.1").send(port: s.port, plain, count: 20)  // empties this second's bucket
            out = try run(try tool("dig"), ["@127.0.0.1", "-p", String(s.port), "-b", "127.0.0.1", "+norec", "+cookie",
                                            "+time=2", "+tries=1", Self.number, "NAPTR"]).stdout
            if out.contains("BADCOOKIE") { break }
        }
        #expect(out.contains("BADCOOKIE, retrying") && out.contains("status: NOERROR") && !out.contains("ANSWER: 0"), "\(out)")
    }

    @Test func rrlOffMeansEveryQueryIsAnswered() throws {
        let s = try EnumdServer(["--rrl-rate", "0"])
        let r = try UDPLoader(source: "127.0.0.1").flood(port: s.port, try DecodedPacket.query(name: Self.number, type: .naptr), count: 1000)
        #expect(r.answers >= 990 && r.truncated == 0)
    }

    /// dig sends a client cookie by default; enumd answers with an RFC 9018 server cookie that
    /// dig reports as good, and accepts it back.
    @Test func digCookie() throws {
        let s = try EnumdServer()
        let r = try run(try tool("dig"), ["@127.0.0.1", "-p", String(s.port), "+norec", "+cookie", "+time=2", "+tries=2", Self.number, "NAPTR"])
        let line = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("; COOKIE: ") }, "\(r.stdout)")
        #expect(line.hasSuffix("(good)"), "\(line)")
        let hex = line.dropFirst("; COOKIE: ".count).prefix { $0 != " " }
        #expect(hex.count == 48 && hex.dropFirst(16).hasPrefix("01000000"), "client 8 + server 16 octets, version 1")
        let again = try run(try tool("dig"), ["@127.0.0.1", "-p", String(s.port), "+norec", "+cookie=\(hex)", "+time=2", "+tries=2", Self.number, "NAPTR"])
        #expect(again.stdout.contains("status: NOERROR") && again.stdout.contains("(good)"), "\(again.stdout)")
        let off = try EnumdServer(["--config", writeTemp("cookies = off\n", suffix: ".conf")])
        let none = try run(try tool("dig"), ["@127.0.0.1", "-p", String(off.port), "+norec", "+cookie", "+time=2", "+tries=2", Self.number, "NAPTR"])
        #expect(none.stdout.contains("status: NOERROR") && !none.stdout.contains("; COOKIE:"))
    }

    /// RFC 7766 section 6.2: connection caps in total and per address, and a client that starts
    /// a message and dribbles it is closed after the read timeout; a normal client still gets
    /// answers meanwhile.
    @Test func tcpLimitsHoldAgainstIdleAndSlowClients() throws {
        let conf = writeTemp("tcp-max-connections = 6\ntcp-max-per-client = 4\ntcp-read-timeout = 1\ntcp-idle-timeout = 30\n", suffix: ".conf")
        let s = try EnumdServer(["--config", conf])
        let query = lengthPrefixed(try DecodedPacket.query(name: Self.number, type: .naptr))
        var held: [Int32] = []
        defer { held.forEach { close($0) } }
        for _ in 0..<4 { held.append(try tcpConnect(port: s.port, source: "127.0.0.1")) }
        usleep(200_000)
        // The fifth from the same address is closed at once.
        let fifth = try tcpConnect(port: s.port, source: "127.0.0.1")
        #expect(tcpClosedByPeer(fifth)); close(fifth)
        // Another address still gets answers, up to the total cap (6).
        let normal = try tcpConnect(port: s.port, source: "127.0.1.1")
        held.append(normal)
        _ = query.withUnsafeBytes { send(normal, $0.baseAddress, $0.count, 0) }
        #expect(tcpReadMessage(normal).map { $0[7] == 3 } == true)
        held.append(try tcpConnect(port: s.port, source: "127.0.1.2"))
        usleep(200_000)
        let seventh = try tcpConnect(port: s.port, source: "127.0.1.3")
        #expect(tcpClosedByPeer(seventh), "total cap"); close(seventh)

        // Slowloris: one octet every 400 ms never finishes a message; closed after ~1 s, well
        // before the 30 s idle timeout. The held idle connections are still fine meanwhile.
        let slow = held.removeFirst()
        let start = Date()
        var closed = false
        for b in query {
            if send(slow, [b], 1, Int32(MSG_NOSIGNAL)) < 0 { closed = true; break }
            var pfd = pollfd(fd: slow, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 400) > 0 { closed = tcpClosedByPeer(slow); if closed { break } }
        }
        let took = Date().timeIntervalSince(start)
        close(slow)
        #expect(closed && took < 5, "slow client closed after \(took) s")
        // Its slot is free again: a new connection from that address is served.
        usleep(200_000)
        let after = try tcpConnect(port: s.port, source: "127.0.0.1")
        held.append(after)
        _ = query.withUnsafeBytes { send(after, $0.baseAddress, $0.count, 0) }
        #expect(tcpReadMessage(after).map { $0[7] == 3 } == true)
    }
}

extension HostileTrafficTests {
    /// A client that pipelines thousands of queries and reads nothing for a while gets every
    /// answer, in order, once it reads: the back-pressure (no reading while 64 KiB of answers
    /// wait) neither loses nor deadlocks anything. (That reading stops is shown by
    /// `aClientThatNeverReadsIsStoppedByBackPressure`.)
    @Test func pipelinedQueriesFromALateReaderAreAllAnsweredInOrder() throws {
        let s = try EnumdServer()
        let fd = try tcpConnect(port: s.port, source: "127.0.0.1", timeoutSeconds: 10)
        defer { close(fd) }
        let n = 3000
        var all: [UInt8] = []
        for i in 0..<n {
            var q = try DecodedPacket.query(name: Self.number, type: .naptr)
            q[0] = UInt8(i >> 8); q[1] = UInt8(i & 0xFF)
            all += lengthPrefixed(q)
        }
        let start = Date()
        var sent = 0
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let deadline = Date().addingTimeInterval(2)
        while sent < all.count && Date() < deadline {
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let r = all[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if r > 0 { sent += r }
        }
        usleep(500_000)
        // Now read, and send whatever is left as the server takes it.
        var answers = 0
        var next = 0
        while answers < n {
            if sent < all.count {
                let r = all[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
                if r > 0 { sent += r }
            }
            guard let m = tcpReadMessage(fd) else { break }
            #expect(Int(m[0]) << 8 | Int(m[1]) == next && m[7] == 3)
            next += 1; answers += 1
        }
        #expect(answers == n && Date().timeIntervalSince(start) < 15)
    }
}

/// The HTTP front under one greedy client: /enum/list paging is held to its rate, oversized
/// headers are refused, and a client that never finishes its request head is cut off.
@Suite(.serialized) struct HTTPLimitTests {
    @Test func listPagingIsRateLimitedPerClient() throws {
        let s = try EnumdServer(["--http", "127.0.0.1:0"])
        var codes: [Int] = []
        for _ in 0..<30 { codes.append(try httpRequest(port: s.httpPort, path: "/enum/list?limit=1").status) }
        // Bursts of 2 x 5 pages, then 429 (chain off: the list itself is a 503 before any sync).
        let allowed = codes.filter { $0 != 429 }.count
        #expect(allowed >= 10 && allowed <= 12, "\(codes)")
        let limited = try httpRequest(port: s.httpPort, path: "/enum/list?limit=1")
        #expect(limited.status == 429 && limited.headers["retry-after"] == "1")
        // Other routes still answer: they have their own, larger budget.
        #expect(try httpRequest(port: s.httpPort, path: "/health").status != 429)
        sleep(1)
        #expect(try httpRequest(port: s.httpPort, path: "/enum/list?limit=1").status != 429, "refilled after a second")
    }

    @Test func oversizedHeadersAndSlowRequestHeads() throws {
        let conf = writeTemp("http-request-timeout = 1\n", suffix: ".conf")
        let s = try EnumdServer(["--config", conf, "--http", "127.0.0.1:0"])
        let big = try? httpRequest(port: s.httpPort, path: "/health", headers: ["X-Big": String(repeating: "a", count: 20_000)])
        #expect(big == nil || big!.status >= 400, "a 20 KB header is refused: \(big?.status ?? 0)")

        // Slowloris: a request head sent one byte every 300 ms is closed after ~1 s.
        let fd = try tcpConnect(port: s.httpPort, source: "127.0.0.1")
        defer { close(fd) }
        let start = Date()
        var closed = false
        for b in Array("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8) {
            if send(fd, [b], 1, Int32(MSG_NOSIGNAL)) < 0 { closed = true; break }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 300) > 0 { closed = tcpClosedByPeer(fd); if closed { break } }
        }
        let took = Date().timeIntervalSince(start)
        #expect(closed && took < 4, "closed after \(took) s")
        // A normal request meanwhile is served.
        #expect(try httpRequest(port: s.httpPort, path: "/health").status != 429)
    }
}

extension HostileTrafficTests {
    /// A client that pipelines queries and never reads cannot make enumd buffer without bound:
    /// once 64 KiB of answers wait unsent, enumd stops reading, the kernel buffers fill, and the
    /// client's sends block, long before the 2 million queries (80 MB) the client would send;
    /// enumd's memory meanwhile grows by little. Another client is answered meanwhile, and when
    /// the first one reads, every answer arrives, in order. A client that then stops reading
    /// for good is closed by the idle timeout.
    @Test func aClientThatNeverReadsIsStoppedByBackPressure() throws {
        let s = try EnumdServer(["--tcp-idle-timeout", "4"])
        let pid = s.process.processIdentifier
        func rssKB() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        let rss0 = rssKB()
        let fd = try tcpConnect(port: s.port, source: "127.0.0.1", timeoutSeconds: 10)
        defer { close(fd) }
        var q = try DecodedPacket.query(name: Self.number, type: .naptr)
        let message = lengthPrefixed(q)
        let perChunk = 1000
        var chunk: [UInt8] = []
        for i in 0..<perChunk {  // IDs 0..<1000, so the answers' order shows
            q[0] = UInt8(i >> 8); q[1] = UInt8(i & 0xFF)
            chunk += lengthPrefixed(q)
        }

        // Send whole chunks without blocking until the socket stays full for a second.
        let cap = 2_000_000 / perChunk
        var sentBytes = 0, chunks = 0, blockedSince: Date? = nil
        while chunks < cap {
            let offset = sentBytes % chunk.count
            let r = chunk[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if r > 0 {
                sentBytes += r; blockedSince = nil
                if sentBytes % chunk.count == 0 { chunks += 1 }
            } else {
                if blockedSince == nil { blockedSince = Date() }
                if Date().timeIntervalSince(blockedSince!) > 1 { break }
                usleep(10_000)
            }
        }
        #expect(chunks < cap, "enumd kept reading: \(chunks * perChunk) queries taken from a client that reads nothing")
        let growthMB = Double(rssKB() - rss0) / 1024
        #expect(growthMB < 64, "enumd grew \(growthMB) MB holding a non-reading client")

        // Another client meanwhile: answered.
        let other = try tcpConnect(port: s.port, source: "127.0.0.2")
        defer { close(other) }
        _ = message.withUnsafeBytes { send(other, $0.baseAddress, $0.count, 0) }
        #expect(tcpReadMessage(other).map { $0[7] > 0 } == true, "another client is served")

        // Now read: every answer, in order, while the rest of the last chunk goes out.
        let total = (sentBytes + message.count - 1) / message.count  // a partly sent message is finished below
        var pending = Array(chunk[(sentBytes % chunk.count)...].prefix(total * message.count - sentBytes))
        var received = 0, inOrder = true, buffer: [UInt8] = []
        var readBuf = [UInt8](repeating: 0, count: 1 << 16)
        let deadline = Date().addingTimeInterval(120)
        while received < total && Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN) | (pending.isEmpty ? 0 : Int16(POLLOUT)), revents: 0)
            guard poll(&pfd, 1, 1000) > 0 else { continue }
            if pfd.revents & Int16(POLLOUT) != 0, !pending.isEmpty {
                let r = pending.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
                if r > 0 { pending.removeFirst(r) }
            }
            if pfd.revents & Int16(POLLIN) != 0 {
                let n = recv(fd, &readBuf, readBuf.count, Int32(MSG_DONTWAIT))
                if n == 0 { break }
                if n > 0 { buffer += readBuf[0..<n] }
                var p = 0
                while buffer.count - p >= 2 {
                    let len = Int(buffer[p]) << 8 | Int(buffer[p + 1])
                    guard buffer.count - p >= 2 + len else { break }
                    let id = Int(buffer[p + 2]) << 8 | Int(buffer[p + 3])
                    if id != received % perChunk || buffer[p + 2 + 7] == 0 { inOrder = false }
                    received += 1; p += 2 + len
                }
                buffer.removeFirst(p)
            }
        }
        #expect(received == total && inOrder, "\(received) of \(total) answers; in order, each with an answer: \(inOrder)")

        // Fill it again and read nothing more: closed (reset) after the idle timeout, 4 s.
        var closedAfter: Double? = nil
        let stopStart = Date()
        while closedAfter == nil && Date().timeIntervalSince(stopStart) < 20 {
            let r = chunk.withUnsafeBytes { send(fd, $0.baseAddress, message.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if r < 0 && errno != EAGAIN && errno != EWOULDBLOCK { closedAfter = Date().timeIntervalSince(stopStart); break }
            var pfd = pollfd(fd: fd, events: 0, revents: 0)
            if poll(&pfd, 1, 0) > 0, pfd.revents & Int16(POLLERR | POLLHUP) != 0 { closedAfter = Date().timeIntervalSince(stopStart) }
            if r < 0 { usleep(50_000) }
        }
        #expect(closedAfter.map { $0 >= 3 && $0 < 12 } == true, "closed after \(closedAfter.map { String($0) } ?? "never") s")
    }
}
