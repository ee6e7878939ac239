import DNSWire
import ENUMCore
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import DNSServer

/// SipHash-2-4, DNS Cookies (RFC 7873, RFC 9018) and response rate limiting, without sockets.
@Suite struct SipHashTests {
    /// The reference implementation's vectors (Aumasson and Bernstein, vectors.h): key 00..0f,
    /// message 00..(n-1); the paper's appendix example is n = 15.
    @Test func referenceVectors() {
        let key = SipHash24(k0: 0x0706050403020100, k1: 0x0F0E0D0C0B0A0908)
        let expected: [Int: UInt64] = [
            0: 0x726fdb47dd0e0e31, 1: 0x74f839c593dc67fd, 7: 0xab0200f58b01d137,
            8: 0x93f5f5799a932462, 15: 0xa129ca6149be45e5, 63: 0x958a324ceb064572,
        ]
        for (n, want) in expected {
            let message = (0..<n).map { UInt8($0) }
            #expect(message.withUnsafeBytes { key.hash($0) } == want, "length \(n)")
        }
    }
}

func bytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = hex.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
    return out
}

@Suite struct CookieTests {
    /// RFC 9018 appendix A.1: client cookie 2464c4abcf10c957, client 198.51.100.100, secret
    /// e5e973e5a6b2a43f48e7dc849e37bfcf, timestamp 1559731985: server cookie
    /// 010000005cf79f111f8130c3eee29480.
    @Test func rfc9018Vector() {
        let secret = bytes("e5e973e5a6b2a43f48e7dc849e37bfcf")
        let key = secret.withUnsafeBytes { SipHash24(key: $0) }
        let cc = bytes("2464c4abcf10c957")
        let h = cc.withUnsafeBytes {
            ServerCookies.hash(key: key, clientCookie: $0, timestamp: 1559731985, client: ClientAddress(ipv4: (198, 51, 100, 100)))
        }
        let wire = withUnsafeBytes(of: h) { Array($0) }
        #expect(wire == bytes("1f8130c3eee29480"))
    }

    static let client = ClientAddress(ipv4: (192, 0, 2, 7))
    static let clientCookie: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]

    func ask(_ r: Responder, _ cookies: ServerCookies, cookie: [UInt8], from client: ClientAddress = client,
             qd: Bool = true) -> (out: [UInt8], info: ResponseInfo) {
        let option: [UInt8] = [0, 10, 0, UInt8(cookie.count)] + cookie
        let q = header(ar: 1) + apexQuestion + opt(options: option)
        let query = qd ? q : header(qd: 0, ar: 1) + opt(options: option)
        var out = [UInt8](repeating: 0, count: 65535)
        var info = ResponseInfo()
        let n = query.withUnsafeBytes { qb in
            out.withUnsafeMutableBytes { r.respond(to: qb, transport: .udp, client: client, cookies: cookies, into: $0, info: &info) }
        }
        return (Array(out[0..<n]), info)
    }

    /// The COOKIE option's data in a response (the OPT is last: its RDATA ends the message).
    func cookieOption(_ reply: [UInt8]) -> [UInt8]? {
        guard reply.count > 28 else { return nil }
        let tail = Array(reply.suffix(28))
        guard tail[0] == 0, tail[1] == 10, tail[2] == 0, tail[3] == 24 else { return nil }
        return Array(tail[4...])
    }

    @Test func clientCookieGetsAServerCookieThatThenValidates() throws {
        let r = try demoResponder()
        let now = Mutex<UInt32>(1_800_000_000)
        let cookies = ServerCookies(k0: 1, k1: 2, clock: { now.withLock { $0 } })
        let first = ask(r, cookies, cookie: Self.clientCookie)
        #expect(first.info.hadClientCookie && !first.info.cookieValid)
        let p = try DecodedPacket(first.out)
        #expect(p.rcode == 0 && p.answer.count == 1)
        let option = try #require(cookieOption(first.out))
        #expect(Array(option[0..<8]) == Self.clientCookie)
        #expect(option[8] == 1 && option[9...11] == [0, 0, 0], "RFC 9018 version 1, reserved 0")
        #expect(Array(option[12..<16]) == [0x6B, 0x49, 0xD2, 0x00], "timestamp 1800000000")

        // Sent back: valid, from the same address, for an hour.
        #expect(ask(r, cookies, cookie: option).info.cookieValid)
        now.withLock { $0 += 3599 }
        #expect(ask(r, cookies, cookie: option).info.cookieValid, "still valid after a key rotation")
        now.withLock { $0 += 2 }
        #expect(!ask(r, cookies, cookie: option).info.cookieValid, "over an hour old")
        now.withLock { $0 -= 3601 + 301 }
        #expect(!ask(r, cookies, cookie: option).info.cookieValid, "more than 5 minutes in the future")
        now.withLock { $0 += 301 }
        #expect(!ask(r, cookies, cookie: option, from: ClientAddress(ipv4: (192, 0, 2, 8))).info.cookieValid, "other address")
        var forged = option; forged[23] ^= 1
        #expect(!ask(r, cookies, cookie: forged).info.cookieValid, "hash altered")
        var otherClient = option; otherClient[0] ^= 1
        #expect(!ask(r, cookies, cookie: otherClient).info.cookieValid, "other client cookie")
        // An invalid server cookie is answered normally, with a fresh cookie (RFC 7873 5.2.4).
        let bad = ask(r, cookies, cookie: forged)
        #expect(try DecodedPacket(bad.out).rcode == 0 && cookieOption(bad.out) != nil)
    }

    /// A rate-limited client that sent a cookie gets BADCOOKIE with a fresh server cookie on a
    /// slip (RFC 7873 section 5.2.3), and that cookie then validates, so its retry is exempt.
    /// Without a cookie, the slip is the truncated reply.
    @Test func slipGivesBADCOOKIEToAClientWithACookie() throws {
        let r = try demoResponder()
        let cookies = ServerCookies(k0: 1, k1: 2, clock: { 1_800_000_000 })
        for sent in [Self.clientCookie, Self.clientCookie + [UInt8](repeating: 9, count: 16)] {
            var (out, info) = ask(r, cookies, cookie: sent)
            #expect(info.hadClientCookie && !info.cookieValid && info.cookieOPTLength == 11 + 28)
            let length = out.count
            let n = out.withUnsafeMutableBytes { RateLimiter.slip($0, length: length, info: info) }
            out = Array(out[0..<n])
            let p = try DecodedPacket(out)
            #expect(out[3] & 0x0F == 23 & 0x0F && !p.tc && !p.aa, "low bits of BADCOOKIE, no TC, no AA")
            #expect(p.question.count == 1 && p.answer.isEmpty && p.authority.isEmpty)
            #expect(out[10] == 0 && out[11] == 1, "only the OPT record")
            #expect(out[12 + apexQuestion.count + 5] == 23 >> 4, "extended RCODE in the OPT TTL")
            let option = try #require(cookieOption(out))
            #expect(Array(option[0..<8]) == Self.clientCookie)
            #expect(ask(r, cookies, cookie: option).info.cookieValid, "the retry carries a valid cookie")
        }
        // EDNS without a cookie: TC, header and question.
        let q = header(ar: 1) + apexQuestion + opt(options: [])
        var out = [UInt8](repeating: 0, count: 65535)
        var info = ResponseInfo()
        let n = q.withUnsafeBytes { qb in
            out.withUnsafeMutableBytes { r.respond(to: qb, transport: .udp, client: Self.client, cookies: cookies, into: $0, info: &info) }
        }
        let m = out.withUnsafeMutableBytes { RateLimiter.slip($0, length: n, info: info) }
        let p = try DecodedPacket(Array(out[0..<m]))
        #expect(p.tc && p.rcode == 0 && m == 12 + apexQuestion.count)
    }

    @Test func malformedCookieIsFormErr() throws {
        let r = try demoResponder()
        let cookies = ServerCookies(k0: 1, k1: 2, clock: { 1_800_000_000 })
        for length in [0, 1, 7, 9, 15, 41] {
            let out = ask(r, cookies, cookie: [UInt8](repeating: 7, count: length)).out
            #expect(out.count == 12 && out[3] & 0x0F == 1, "cookie of \(length) octets (RFC 7873 section 5.2.2)")
        }
        for length in [8, 16, 24, 40] {
            let out = ask(r, cookies, cookie: [UInt8](repeating: 7, count: length)).out
            #expect(out.count > 12 && out[3] & 0x0F == 0, "cookie of \(length) octets")
        }
    }

    /// RFC 7873 section 5.4: QDCOUNT 0 with a cookie gets NOERROR, no question, our cookie.
    @Test func cookieOnlyQueryLearnsTheServerCookie() throws {
        let r = try demoResponder()
        let cookies = ServerCookies(k0: 1, k1: 2, clock: { 1_800_000_000 })
        let out = ask(r, cookies, cookie: Self.clientCookie, qd: false).out
        #expect(out.count == 12 + 11 + 28)
        #expect(out[2] & 0x80 != 0 && out[3] & 0x0F == 0)
        #expect(Array(out[4..<12]) == [0, 0, 0, 0, 0, 0, 0, 1])
        #expect(cookieOption(out).map { Array($0[0..<8]) } == Self.clientCookie)
    }

    @Test func noCookiesConfiguredMeansNoCookieOption() throws {
        let r = try demoResponder()
        let q = header(ar: 1) + apexQuestion + opt(options: [0, 10, 0, 8] + Self.clientCookie)
        let out = r.respond(q)
        #expect(cookieOption(out) == nil && out[3] & 0x0F == 0)
    }
}

@Suite struct RateLimiterTests {
    static let a = ClientAddress(ipv4: (192, 0, 2, 1))
    static let sameNet = ClientAddress(ipv4: (192, 0, 2, 200))
    static let otherNet = ClientAddress(ipv4: (192, 0, 3, 1))
    static let question = header() + apexQuestion

    func info(_ kind: ResponseKind, qtype: UInt16 = 6) -> ResponseInfo {
        var i = ResponseInfo()
        i.kind = kind; i.qtype = qtype; i.nameOffset = kind == .error ? 0 : 12; i.questionEnd = 12 + apexQuestion.count
        return i
    }

    func run(_ rrl: RateLimiter, _ n: Int, _ i: ResponseInfo, from c: ClientAddress = a, at now: Int) -> [RateLimiter.Decision] {
        Self.question.withUnsafeBytes { q in (0..<n).map { _ in rrl.decide(info: i, client: c, query: q, now: now) } }
    }

    @Test func limitsPerSecondThenSlipsEverySecond() {
        let rrl = RateLimiter(.init(rate: 5, slip: 2))
        let d = run(rrl, 11, info(.answer), at: 100)
        #expect(d == [.send, .send, .send, .send, .send, .drop, .slip, .drop, .slip, .drop, .slip])
        // The next second refills the bucket: `rate` more, no more.
        let next = run(rrl, 6, info(.answer), at: 101)
        #expect(next.filter { $0 == .send }.count == 5)
        // A long pause refills only one second's worth.
        #expect(run(rrl, 6, info(.answer), at: 200).filter { $0 == .send }.count == 5)
    }

    @Test func prefixesKindsAndNamesHaveTheirOwnBuckets() {
        let rrl = RateLimiter(.init(rate: 3, slip: 0))
        _ = run(rrl, 10, info(.answer), at: 5)
        #expect(run(rrl, 1, info(.answer), from: Self.sameNet, at: 5) == [.drop], "same /24 shares the bucket")
        #expect(run(rrl, 3, info(.answer), from: Self.otherNet, at: 5) == [.send, .send, .send], "other /24")
        #expect(run(rrl, 3, info(.nxdomain), at: 5) == [.send, .send, .send], "other kind")
        #expect(run(rrl, 3, info(.answer, qtype: 35), at: 5) == [.send, .send, .send], "other type")
        #expect(run(rrl, 4, info(.error), at: 5) == [.send, .send, .send, .drop], "slip 0 drops all")
    }

    /// The clock jumping back (RRL runs on the monotonic clock, but a table must survive any
    /// `now`) neither refills a bucket nor wedges it; jumping forward refills one second's worth.
    @Test func clockJumpsNeitherRefillNorWedge() {
        let rrl = RateLimiter(.init(rate: 3, slip: 0))
        _ = run(rrl, 3, info(.answer), at: 1000)
        #expect(run(rrl, 2, info(.answer), at: 10) == [.drop, .drop], "back in time: still empty")
        #expect(run(rrl, 4, info(.answer), at: 11) == [.send, .send, .send, .drop], "then time moves on")
        #expect(run(rrl, 4, info(.answer), at: 1_000_000) == [.send, .send, .send, .drop], "far forward: one second's worth")
    }

    @Test func ipv6ClientsShareA56() {
        let rrl = RateLimiter(.init(rate: 2, slip: 0))
        var x = [UInt8](repeating: 0, count: 16); x[0] = 0x20; x[1] = 0x01; x[2] = 0x0d; x[3] = 0xb8; x[15] = 1
        var y = x; y[7] = 0xFF; y[15] = 2   // same /56: the first 7 octets agree
        var z = x; z[6] = 0x01              // other /56
        _ = run(rrl, 2, info(.answer), from: ClientAddress(ipv6: x), at: 1)
        #expect(run(rrl, 1, info(.answer), from: ClientAddress(ipv6: y), at: 1) == [.drop])
        #expect(run(rrl, 1, info(.answer), from: ClientAddress(ipv6: z), at: 1) == [.send])
    }

    @Test func validCookieAndRateZeroAreNeverLimited() {
        let rrl = RateLimiter(.init(rate: 1, slip: 0))
        var i = info(.answer); i.cookieValid = true
        #expect(run(rrl, 50, i, at: 1).allSatisfy { $0 == .send })
        let off = RateLimiter(.init(rate: 0, slip: 0))
        #expect(run(off, 500, info(.answer), at: 1).allSatisfy { $0 == .send })
    }

    /// A slip keeps the header (TC set) and the question, nothing else: never bigger than the query.
    @Test func slippedReplyIsHeaderAndQuestionWithTC() throws {
        let r = try demoResponder()
        let query = try DecodedPacket.query(name: number, type: .naptr, edns: .init(udpSize: 1232, version: 0, dnssecOK: false))
        var out = [UInt8](repeating: 0, count: 65535)
        var info = ResponseInfo()
        let n = query.withUnsafeBytes { q in
            out.withUnsafeMutableBytes { r.respond(to: q, transport: .udp, client: Self.a, cookies: nil, into: $0, info: &info) }
        }
        #expect(info.kind == .answer && n > query.count)
        let m = out.withUnsafeMutableBytes { RateLimiter.truncate($0, length: n, info: info) }
        let p = try DecodedPacket(Array(out[0..<m]))
        #expect(p.tc && p.answer.isEmpty && p.authority.isEmpty && p.additional.isEmpty && p.question.count == 1)
        #expect(m <= query.count)
    }

    /// The responder classifies each outcome as NSD's RRL does.
    @Test func responderReportsTheKind() throws {
        let r = try demoResponder()
        let cases: [(String, RRType, ResponseKind)] = [
            (number, .naptr, .answer), (number, .a, .nodata), ("1.1.1.e164.arpa.", .naptr, .nxdomain),
            ("7.7.7.5.4.3.2.1.0.3.9.4.e164.arpa.", .naptr, .wildcard), ("example.com.", .a, .error),
        ]
        for (name, type, kind) in cases {
            let q = try DecodedPacket.query(name: name, type: type)
            var out = [UInt8](repeating: 0, count: 65535)
            var info = ResponseInfo()
            _ = q.withUnsafeBytes { qb in out.withUnsafeMutableBytes { r.respond(to: qb, transport: .udp, client: Self.a, cookies: nil, into: $0, info: &info) } }
            #expect(info.kind == kind, "\(name) \(type)")
            if kind == .nxdomain {
                #expect(Array(q[info.nameOffset...].prefix(5)) == [4] + Array("e164".utf8), "keyed by the zone")
            }
            if kind == .wildcard {
                // The wildcard *.5.4.3.2.1.0.3.9.4.e164.arpa: keyed by its parent, not by the zone.
                let parent = try DomainName(parsing: "5.4.3.2.1.0.3.9.4.e164.arpa.").wire
                #expect(Array(q[info.nameOffset...].prefix(parent.count)) == parent, "keyed by the wildcard's parent")
            }
        }
    }
}

/// RFC 8482: ANY gets a minimal answer, one RRset (which one follows NSD: the SOA at the apex,
/// elsewhere the lowest type code), no authority section, and over UDP no more than any other
/// query could get; so ANY is never a better amplifier than NAPTR.
@Suite struct AnyQueryTests {
    @Test func anyIsOneRRsetAndNoBiggerThanTheBiggestType() throws {
        var text = "$ORIGIN e164.arpa.\n$TTL 60\n@ IN SOA ns1.example. h.example. 1 2 3 4 5\n@ IN NS ns1.example.\n"
        let owner = "1.2.3"
        text += "\(owner) IN A 192.0.2.1\n\(owner) IN AAAA 2001:db8::1\n\(owner) IN TXT \"x\"\n"
        for i in 0..<30 {
            text += "\(owner) IN NAPTR 100 \(i) \"u\" \"E2U+sip\" \"!^.*$!sip:user\(i)-with-a-long-uri@example.com!\" .\n"
        }
        let path = "/tmp/enumd-any-\(getpid()).zone"
        _ = text.withCString { t in path.withCString { p in
            let f = fopen(p, "w"); fputs(t, f); fclose(f)
        } }
        defer { unlink(path) }
        let r = Responder(snapshot: try Snapshot(zones: [try ZoneFile.load(path: path)]))
        let name = "1.2.3.e164.arpa."

        let any = try r.ask(name, .any)
        #expect(any.rcode == 0 && any.aa && any.answer.count == 1 && any.answer[0].contains("\tA\t"))
        #expect(any.authority.isEmpty && any.additional.isEmpty)
        let apex = try r.ask("e164.arpa.", .any, edns: .init(udpSize: 4096, version: 0, dnssecOK: false))
        #expect(apex.answer.count == 1 && apex.answer[0].contains("\tSOA\t"))

        // Sizes: over UDP, ANY never exceeds the query's limit, nor what a single-type query gets.
        for edns in [nil, DecodedPacket.EDNS(udpSize: 1232, version: 0, dnssecOK: false), .init(udpSize: 4096, version: 0, dnssecOK: false)] {
            let q = try DecodedPacket.query(name: name, type: .any, edns: edns)
            let anyReply = r.respond(q, .udp)
            let biggest = try [RRType.a, .aaaa, .txt, .naptr].map {
                r.respond(try DecodedPacket.query(name: name, type: $0, edns: edns), .udp).count
            }.max()!
            #expect(anyReply.count <= (edns == nil ? 512 : 1232))
            #expect(anyReply.count <= biggest, "no bigger than some single-type answer")
            #expect(anyReply.count <= q.count * 3, "ANY amplification stays small: \(anyReply.count) for \(q.count)")
        }
    }
}
