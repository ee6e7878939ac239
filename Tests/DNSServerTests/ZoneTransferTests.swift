import DNSWire
import ENUMCore
import Testing
@testable import DNSServer
#if canImport(Glibc)
import Glibc
#endif

let xfrKey = try! TSIGKey(parsing: "xfr.example.:hmac-sha256:" + Base64.encode(Array("0123456789abcdef0123456789abcdef".utf8)))

func transfers(_ rules: [String] = ["127.0.0.0/8"], limit: Int = 16_384) throws -> ZoneTransfers {
    let t = ZoneTransfers(messageLimit: limit)
    t.setPolicy(try TransferPolicy(rules: rules.map { try TransferRule(parsing: $0) }, keys: [xfrKey]))
    return t
}

/// An IXFR request (RFC 1995 section 3): the client's SOA in the authority section.
func ixfrQuery(_ zone: Zone, serial: UInt32) -> [UInt8] {
    var q: [UInt8] = [0x43, 0x21, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0] + zone.apex.wire + [0, 251, 0, 1]
    let rd = ZoneDiff.soa(zone.soa.rdatas[0], serial: serial)
    q += [0xC0, 0x0C, 0, 6, 0, 1, 0, 0, 0, 0, UInt8(rd.count >> 8), UInt8(rd.count & 0xFF)] + rd
    return q
}

func axfrQuery(_ apex: String = "e164.arpa.") throws -> [UInt8] { try DecodedPacket.query(name: apex, type: .axfr) }

/// Every answer record of every message, as libldns prints them.
func answers(_ messages: [[UInt8]]) throws -> [String] {
    try messages.flatMap { try DecodedPacket($0).answer }
}

func hex(_ b: [UInt8]) -> String { b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

func demoZoneFile() throws -> Zone { try ZoneFile.load(path: repoRoot + "/zones/e164.arpa.zone") }

/// A zone of `count` numbers with one NAPTR each.
func bigZone(_ count: Int, serial: UInt32 = 5) throws -> Zone {
    let base = try demoZoneFile()
    var records = [ResourceRecord(owner: base.apex, type: .soa, ttl: 3600, rdata: ZoneDiff.soa(base.soa.rdatas[0], serial: serial))]
    base.forEachRecordExceptSOA { records.append($0) }
    for i in 0..<count {
        let digits = String(1_000_000 + i).reversed().map(String.init).joined(separator: ".")
        let naptr = NAPTR(order: 100, preference: 10, flags: "u", services: "E2U+sip", regexp: "!^.*$!sip:user\(i)@example.net!", replacement: .root)
        records.append(ResourceRecord(owner: try DomainName(parsing: digits + ".4.4.e164.arpa."), type: .naptr, ttl: 3600, rdata: naptr.wire))
    }
    return try Zone(apex: base.apex, records: records)
}

@Suite struct ZoneTransferTests {
    @Test func axfrSendsSOAThenEveryRecordThenSOA() throws {
        let zone = try demoZoneFile()
        let m = try transfers().answer(try axfrQuery(), peer: "127.0.0.1", snapshot: try Snapshot(zones: [zone]))
        #expect(m.count == 1)
        let p = try DecodedPacket(m[0])
        #expect(p.qr && p.aa && p.rcode == 0 && p.id == 0x1234 && p.question == ["e164.arpa.\tIN\tAXFR"])
        #expect(p.answer.count == zone.recordCount + 1)
        #expect(p.answer.first!.contains("\tSOA\t") && p.answer.last == p.answer.first)
        #expect(p.answer.filter { $0.contains("\tSOA\t") }.count == 2)
    }

    @Test func largeZonesAreSplitAndCompressed() throws {
        let zone = try bigZone(3000)
        let q = try axfrQuery()
        let m = try transfers().answer(q, peer: "127.0.0.1", snapshot: try Snapshot(zones: [zone]))
        #expect(m.count > 5)
        #expect(m.allSatisfy { $0.count <= 16_384 })
        let all = try answers(m)
        #expect(all.count == zone.recordCount + 1 && all.first == all.last && all.first!.contains("\tSOA\t"))
        #expect(try m.dropFirst().allSatisfy { try DecodedPacket($0).question.isEmpty })  // RFC 5936 section 2.2.2
        // Owners compressed: far less than the records written out in full.
        var full = 0
        zone.forEachRecordExceptSOA { full += $0.owner.wire.count + 10 + $0.rdata.count }
        #expect(m.reduce(0) { $0 + $1.count } < full * 3 / 4)
        // A small limit still keeps every message whole and under it.
        let small = try transfers(limit: 512).answer(q, peer: "127.0.0.1", snapshot: try Snapshot(zones: [zone]))
        let smallAnswers = try answers(small)
        #expect(small.allSatisfy { $0.count <= 512 } && smallAnswers == all)
    }

    @Test(arguments: [
        (["127.0.0.1"], "10.0.0.1", 5),        // not in any rule: REFUSED
        ([], "127.0.0.1", 5),                    // default: nobody
        (["127.0.0.1 xfr.example."], "127.0.0.1", 5),  // the rule wants the key, the request is unsigned
        (["10.0.0.0/8", "::1"], "::1", 0),
        (["0.0.0.0/0"], "::ffff:192.0.2.1", 0),  // IPv4-mapped
        (["2001:db8::/32"], "2001:db8:1::5", 0),
    ])
    func accessFollowsAllowTransfer(rules: [String], peer: String, rcode: Int) throws {
        let m = try transfers(rules).answer(try axfrQuery(), peer: peer, snapshot: try Snapshot(zones: [try demoZoneFile()]))
        let p = try DecodedPacket(m[0])
        #expect(m.count == 1 && p.rcode == rcode && p.question == ["e164.arpa.\tIN\tAXFR"])
    }

    @Test func withTheChainOnNothingIsTransferredBeforeTheChainIsRead() throws {
        let t = try transfers()
        t.setChainRequired(true)
        let m = t.answer(try axfrQuery(), peer: "127.0.0.1", snapshot: try Snapshot(zones: [try demoZoneFile()]))
        #expect(try DecodedPacket(m[0]).rcode == 2)
    }

    @Test func aZoneWeDoNotServeIsNotAuth() throws {
        let m = try transfers().answer(try axfrQuery("example.com."), peer: "127.0.0.1", snapshot: try Snapshot(zones: [try demoZoneFile()]))
        #expect(try DecodedPacket(m[0]).rcode == 9)
        let sub = try transfers().answer(try axfrQuery("1.e164.arpa."), peer: "127.0.0.1", snapshot: try Snapshot(zones: [try demoZoneFile()]))
        #expect(try DecodedPacket(sub[0]).rcode == 9)
    }

    @Test func ixfrSendsOnlyTheDifferences() throws {
        let old = try bigZone(10, serial: 5)
        let mid = try bigZone(11, serial: 6)
        let new = try bigZone(12, serial: 9)
        let t = try transfers()
        t.record(apex: old.apex, change: ZoneChange(fromSOA: old.soaRecord, toSOA: mid.soaRecord, diff: ZoneDiff(from: old, to: mid)))
        t.record(apex: old.apex, change: ZoneChange(fromSOA: mid.soaRecord, toSOA: new.soaRecord, diff: ZoneDiff(from: mid, to: new)))
        let snap = try Snapshot(zones: [new])
        // From 5: current SOA, then (5, [], 6, [+1]), (6, [], 9, [+1]), current SOA.
        let r = try answers(t.answer(ixfrQuery(old, serial: 5), peer: "127.0.0.1", snapshot: snap))
        let serials = r.filter { $0.contains("\tSOA\t") }.map { $0.split(separator: " ")[2] }
        #expect(serials == ["9", "5", "6", "6", "9", "9"])
        #expect(r.count == 8 && r.filter { $0.contains("NAPTR") }.count == 2)
        #expect(t.statistics.ixfr == 1 && t.statistics.lastIXFRRecords == 8)
        // From 6: one step.
        #expect(try answers(t.answer(ixfrQuery(old, serial: 6), peer: "127.0.0.1", snapshot: snap)).count == 5)
        // Up to date (or newer): the SOA alone.
        #expect(try answers(t.answer(ixfrQuery(old, serial: 9), peer: "127.0.0.1", snapshot: snap)).count == 1)
        #expect(try answers(t.answer(ixfrQuery(old, serial: 10), peer: "127.0.0.1", snapshot: snap)).count == 1)
        // Unknown: the whole zone, AXFR style.
        #expect(try answers(t.answer(ixfrQuery(old, serial: 3), peer: "127.0.0.1", snapshot: snap)).count == new.recordCount + 1)
        #expect(t.statistics.ixfrFallbacks == 1)
    }

    @Test func anIXFRWithoutItsSOAIsFormErr() throws {
        var q = try DecodedPacket.query(name: "e164.arpa.", type: .ixfr)
        #expect(ZoneTransfers.isTransferRequest(q.withUnsafeBytes { $0 }))
        let m = try transfers().answer(q, peer: "127.0.0.1", snapshot: try Snapshot(zones: [try demoZoneFile()]))
        #expect(m.count == 1 && m[0].count == 12 && m[0][3] & 0xF == 1)
        q[2] = 0x20  // opcode UPDATE: not a transfer
        #expect(!ZoneTransfers.isTransferRequest(q.withUnsafeBytes { $0 }))
    }
}

/// RFC 8945: signed transfers, and each way verification fails (section 5.2).
@Suite struct TSIGTests {
    @Test func hmacSHA256MatchesRFC4231() {
        let mac = HMACSHA256.mac(key: Array("Jefe".utf8), message: [Array("what do ya want ".utf8), Array("for nothing?".utf8)])
        #expect(hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        let long = HMACSHA256.mac(key: [UInt8](repeating: 0xaa, count: 131), message: [Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)])
        #expect(hex(long) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    func signed(_ q: [UInt8], key: TSIGKey = xfrKey, at time: UInt64) -> ([UInt8], [UInt8]) {
        var m = q
        let mac = TSIG.signRequest(&m, key: key, now: time)
        return (m, mac)
    }

    /// Recomputes the MAC of each response message as a client would (sections 4.3.1, 5.3.1).
    func verifyResponses(_ messages: [[UInt8]], requestMAC: [UInt8]) -> Bool {
        var prior = requestMAC
        for (i, m) in messages.enumerated() {
            guard case .record(let r) = TSIG.find(m) else { return false }
            var body = Array(m[0..<r.start])
            body[11] -= 1
            let vars = i == 0
                ? TSIG.variables(key: xfrKey, time: r.timeSigned, fudge: r.fudge, error: .noError, other: [])
                : u48(r.timeSigned) + u16(r.fudge)
            let mac = HMACSHA256.mac(key: xfrKey.secret, message: [u16(UInt16(prior.count)) + prior, body, vars])
            guard mac == r.mac else { return false }
            prior = mac
        }
        return true
    }

    @Test func aSignedTransferIsSignedInEveryMessage() throws {
        let now: UInt64 = 1_800_000_000
        let (q, mac) = signed(try axfrQuery(), at: now)
        let m = try transfers(["127.0.0.1 xfr.example."]).answer(q, peer: "127.0.0.1", snapshot: try Snapshot(zones: [try bigZone(2000)]), now: now + 3)
        #expect(m.count > 2)
        #expect(verifyResponses(m, requestMAC: mac))
        #expect(try DecodedPacket(m[0]).rcode == 0)
    }

    func tsigAnswer(_ q: [UInt8], now: UInt64) throws -> (rcode: Int, record: TSIGRecord) {
        let m = try transfers(["127.0.0.1"]).answer(q, peer: "127.0.0.1", snapshot: try Snapshot(zones: [try demoZoneFile()]), now: now)
        #expect(m.count == 1)
        guard case .record(let r) = TSIG.find(m[0]) else { throw TSIGTestFailure.noTSIG }
        return (try DecodedPacket(m[0]).rcode, r)
    }

    enum TSIGTestFailure: Error { case noTSIG }

    @Test func anUnknownKeyIsBADKEY() throws {
        let other = try TSIGKey(parsing: "other.:hmac-sha256:" + Base64.encode(xfrKey.secret))
        let (q, _) = signed(try axfrQuery(), key: other, at: 1_800_000_000)
        let a = try tsigAnswer(q, now: 1_800_000_000)
        #expect(a.rcode == 9 && a.record.error == TSIGError.badKey.rawValue && a.record.mac.isEmpty)
    }

    @Test func aWrongMACIsBADSIG() throws {
        var (q, _) = signed(try axfrQuery(), at: 1_800_000_000)
        q[q.count - 10] ^= 1  // inside the MAC (the last 6 octets are ID, error, other length)
        let a = try tsigAnswer(q, now: 1_800_000_000)
        #expect(a.rcode == 9 && a.record.error == TSIGError.badSig.rawValue && a.record.mac.isEmpty)
        // A signed message altered after signing is the same failure.
        var (q2, _) = signed(try axfrQuery(), at: 1_800_000_000)
        q2[3] ^= 0x10
        #expect(try tsigAnswer(q2, now: 1_800_000_000).record.error == TSIGError.badSig.rawValue)
    }

    @Test func aTSIGThatIsNotTheLastRecordIsFormErr() throws {
        var (q, _) = signed(try axfrQuery(), at: 1_800_000_000)
        q += [0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0]  // an OPT after the TSIG
        q[11] += 1
        let m = try transfers(["127.0.0.1"]).answer(q, peer: "127.0.0.1", snapshot: try Snapshot(zones: [try demoZoneFile()]), now: 1_800_000_000)
        #expect(try DecodedPacket(m[0]).rcode == 1 && TSIG.find(q) == .malformed)
    }

    @Test func timeOutsideTheFudgeIsBADTIMESigned() throws {
        let (q, mac) = signed(try axfrQuery(), at: 1_800_000_000)
        let a = try tsigAnswer(q, now: 1_800_000_000 + 301)
        #expect(a.rcode == 9 && a.record.error == TSIGError.badTime.rawValue)
        #expect(a.record.mac.count == 32 && a.record.other == u48(1_800_000_000 + 301))
        #expect(a.record.timeSigned == 1_800_000_000)
        _ = mac
        // Within the fudge: fine.
        let ok = try transfers(["127.0.0.1"]).answer(q, peer: "127.0.0.1", snapshot: try Snapshot(zones: [try demoZoneFile()]), now: 1_800_000_000 - 300)
        #expect(try DecodedPacket(ok[0]).rcode == 0)
    }

    @Test func keysAndRulesAreCheckedWhenRead() throws {
        #expect(throws: TransferConfigError.self) { try TSIGKey(parsing: "k.:hmac-md5:" + Base64.encode(xfrKey.secret)) }
        #expect(throws: TransferConfigError.self) { try TSIGKey(parsing: "k.:hmac-sha256:not base64!") }
        #expect(throws: TransferConfigError.self) { try TSIGKey(parsing: "k.:hmac-sha256:c2hvcnQ=") }
        #expect(throws: TransferConfigError.self) { try TSIGKey(parsing: "hmac-sha256:" + Base64.encode(xfrKey.secret)) }
        #expect(throws: TransferConfigError.self) { try TransferRule(parsing: "10.0.0.0/33") }
        #expect(throws: TransferConfigError.self) { try TransferRule(parsing: "example.com") }
        #expect(throws: TransferConfigError.unknownKey(try DomainName(parsing: "nokey."))) {
            try TransferPolicy(rules: [try TransferRule(parsing: "127.0.0.1 nokey")])
        }
        #expect(throws: TransferConfigError.self) { try NotifyTarget(parsing: "127.0.0.1") }
        #expect(try NotifyTarget(parsing: "[::1]:53 xfr.example").keyName == xfrKey.name)
        // The secret never shows in an error.
        let e = TransferConfigError.badKey("k:hmac-md5:SECRETSECRET", "x")
        #expect(!e.description.contains("SECRET"))
        #expect(Base64.decode(Base64.encode([1, 2, 3, 4, 5])) == [1, 2, 3, 4, 5])
    }

    /// A secondary's signed SOA check (Knot and BIND sign it) gets a signed answer, within the
    /// client's UDP size; a bad key gets NOTAUTH/BADKEY; unsigned queries are untouched.
    @Test func signedQueriesGetSignedAnswers() throws {
        let zone = try demoZoneFile()
        let r = Responder(snapshot: try Snapshot(zones: [zone]), options: ResponderOptions(tsigKeys: [xfrKey]))
        let now = wallClockSeconds()
        let (q, mac) = signed(try DecodedPacket.query(name: "e164.arpa.", type: .soa), at: now)
        let a = r.respond(q, .udp)
        #expect(verifyResponses([a], requestMAC: mac))
        #expect(try DecodedPacket(a).answer.count == 1 && DecodedPacket(a).rcode == 0)
        // A big answer over 512-octet UDP: truncated if need be, still signed, never over 512.
        let (big, bigMAC) = signed(try DecodedPacket.query(name: "8.5.9.0.6.4.9.7.0.2.4.4.e164.arpa.", type: .naptr), at: now)
        let b = r.respond(big, .udp)
        #expect(b.count <= 512 && verifyResponses([b], requestMAC: bigMAC))
        let (tcpQ, tcpMAC) = signed(try DecodedPacket.query(name: "0.9.8.7.6.5.4.3.2.1.e164.arpa.", type: .naptr), at: now)
        let t = r.respond(tcpQ, .tcp)
        let tcpAnswers = try DecodedPacket(t).answer.count
        #expect(verifyResponses([t], requestMAC: tcpMAC) && tcpAnswers == 3)
        // Unknown key.
        let other = try TSIGKey(parsing: "other.:hmac-sha256:" + Base64.encode(xfrKey.secret))
        let (bad, _) = signed(try DecodedPacket.query(name: "e164.arpa.", type: .soa), key: other, at: now)
        let e = r.respond(bad, .udp)
        guard case .record(let rec) = TSIG.find(e) else { Issue.record("no TSIG in the error"); return }
        #expect(try DecodedPacket(e).rcode == 9 && rec.error == TSIGError.badKey.rawValue)
        // No keys configured: every key is unknown.
        let plain = Responder(snapshot: try Snapshot(zones: [zone]))
        #expect(try DecodedPacket(plain.respond(q, .udp)).rcode == 9)
        #expect(try DecodedPacket(plain.respond(try DecodedPacket.query(name: "e164.arpa.", type: .soa), .udp)).rcode == 0)
    }

    @Test func notifyMessagesAreRFC1996() throws {
        let zone = try demoZoneFile()
        var m = Notifier.message(id: 7, apex: zone.apex, soa: zone.soaRecord)
        let p = try DecodedPacket(m)
        #expect(p.opcode == 4 && p.aa && !p.qr && p.question == ["e164.arpa.\tIN\tSOA"] && p.answer.count == 1)
        TSIG.signRequest(&m, key: xfrKey, now: 1_800_000_000)
        if case .valid = TSIG.check(m, keys: [xfrKey], now: 1_800_000_010) {} else { Issue.record("our own signature does not verify") }
    }
}

/// NOTIFY is retried until acknowledged, and gives up after a bounded number of tries.
@Suite struct NotifyTests {
    /// A UDP socket on 127.0.0.1 that ignores the first `ignore` NOTIFYs and answers the rest with
    /// `rcode`; returns how many it received within `seconds`.
    final class Secondary: @unchecked Sendable {
        let fd: Int32
        let port: Int
        init() {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            self.fd = fd
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET); a.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
            port = Int(UInt16(bigEndian: a.sin_port))
            var tv = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        deinit { close(fd) }

        func serve(ignore: Int, rcode: UInt8, seconds: Double) -> Int {
            var received = 0
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            var buf = [UInt8](repeating: 0, count: 4096)
            var from = sockaddr_storage()
            while ContinuousClock.now < deadline {
                var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = withUnsafeMutablePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &len) } }
                guard n >= 12 else { continue }
                received += 1
                guard received > ignore else { continue }
                var reply = Array(buf[0..<n])
                reply[2] |= 0x80; reply[3] = rcode
                _ = withUnsafePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, reply, reply.count, 0, $0, len) } }
            }
            return received
        }
    }

    func notifier() -> Notifier { Notifier(attempts: 4, timeout: .milliseconds(200), firstBackoff: .milliseconds(50)) }

    /// The notifier's counts once they equal `want`, or after 5 s (the acknowledgement is handled
    /// on the notifier's own task, after the secondary has replied).
    func settledCounts(_ n: Notifier, _ want: (Int, Int, Int)) -> (Int, Int, Int) {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let c = n.counts.withLock { $0 }
            if c == want || ContinuousClock.now > deadline { return c }
            usleep(10_000)
        }
    }

    @Test func retriedUntilAcknowledged() throws {
        let zone = try demoZoneFile()
        let s = Secondary()
        let n = notifier()
        n.notify(apex: zone.apex, soa: zone.soaRecord, targets: [try NotifyTarget(parsing: "127.0.0.1:\(s.port)")], keys: [])
        // The windows are well past the retry schedule (4 x 200 ms + 350 ms), so a loaded machine
        // cannot cut a try off; the counts show no try beyond the bound.
        #expect(s.serve(ignore: 2, rcode: 0, seconds: 4) == 3)
        #expect(settledCounts(n, (3, 1, 0)) == (3, 1, 0))
    }

    @Test func boundedWhenNobodyAnswersAndFinalOnRefused() throws {
        let zone = try demoZoneFile()
        let silent = Secondary(), refusing = Secondary()
        let n = notifier()
        n.notify(apex: zone.apex, soa: zone.soaRecord, targets: [try NotifyTarget(parsing: "127.0.0.1:\(silent.port)")], keys: [])
        #expect(silent.serve(ignore: 100, rcode: 0, seconds: 5) == 4)
        n.notify(apex: zone.apex, soa: zone.soaRecord, targets: [try NotifyTarget(parsing: "127.0.0.1:\(refusing.port)")], keys: [])
        #expect(refusing.serve(ignore: 0, rcode: 5, seconds: 2) == 1)
        #expect(settledCounts(n, (5, 0, 2)) == (5, 0, 2))
    }
}
