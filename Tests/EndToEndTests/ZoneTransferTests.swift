import DNSWire
import ENUMCore
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A TSIG key shared by enumd, NSD and dig in these tests (not a secret anywhere else).
let testKeyName = "xfr-test."
let testKeySecret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

/// NSD (Debian's `nsd`) as a secondary of enumd on loopback, with its own config and
/// directories in a temporary folder: `request-xfr` and `allow-notify` point at enumd.
final class NSDSecondary {
    var process: SpawnedProcess? = nil
    let port: Int
    let dir: String

    init(primaryPort: Int, port: Int, key: Bool) throws {
        self.port = port
        dir = NSTemporaryDirectory() + "enumd-nsd2-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let keyRef = key ? testKeyName : "NOKEY"
        let conf = nsdServerSection(port: port, dir: dir, verbosity: 2) + """
        key:
          name: \(testKeyName)
          algorithm: hmac-sha256
          secret: "\(testKeySecret)"
        zone:
          name: e164.arpa
          zonefile: "\(dir)/e164.arpa.zone"
          request-xfr: 127.0.0.1@\(primaryPort) \(keyRef)
          allow-notify: 127.0.0.1 \(keyRef)

        """
        FileManager.default.createFile(atPath: dir + "/nsd.conf", contents: Data(conf.utf8))
        process = try SpawnedProcess(try tool("nsd"), ["-d", "-c", dir + "/nsd.conf"])
    }

    var log: String { (try? String(contentsOfFile: dir + "/nsd.log", encoding: .utf8)) ?? "" }

    func stop() { process?.stop() }

    deinit { stop(); try? FileManager.default.removeItem(atPath: dir) }
}

/// The SOA serial a server answers for e164.arpa, or nil.
func soaSerial(_ port: Int) -> UInt32? {
    guard let a = try? dig(port, ["e164.arpa", "SOA"]), a.status == "NOERROR", let soa = a.answer.first else { return nil }
    let f = soa.split(separator: " ")
    return f.count > 6 ? UInt32(f[6]) : nil
}

/// The records of a zone transfer as dig prints them (TSIG records left out), and dig's
/// complaints.
func digTransfer(_ port: Int, _ args: [String]) throws -> (records: [String], output: String) {
    let r = try run(try tool("dig"), ["@127.0.0.1", "-p", String(port), "+nocmd", "+nostats", "+time=3", "+tries=1"] + args)
    let records = r.stdout.split(separator: "\n").filter { !$0.hasPrefix(";") && !$0.isEmpty && !$0.contains("\tTSIG\t") }
        .map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
    return (records, r.stdout + r.stderr)
}

@Suite(.serialized) struct ZoneTransferEndToEndTests {
    static let seedName = "enum:0.9.8.7.6.5.4.3.2.1.4.4.e164.arpa"
    static let seedDomain = "0.9.8.7.6.5.4.3.2.1.4.4.e164.arpa"
    static let newName = "enum:4915123456789:0"
    static let newDomain = "9.8.7.6.5.4.3.2.1.5.1.9.4.e164.arpa"
    let key = ["-y", "hmac-sha256:\(testKeyName.dropLast()):\(testKeySecret)"]

    /// The issue's scenario: enumd as primary fed by the fake node, NSD as secondary over TSIG;
    /// the secondary answers as enumd does; a block that changes nothing keeps the serial and
    /// sends nothing; a new name reaches NSD by NOTIFY + IXFR within seconds, and that IXFR holds
    /// only the new record.
    @Test func nsdSecondaryFollowsThroughNotifyAndIXFR() throws {
        let node = try FakeNode()
        try node.register(Self.seedName, #""!^.*$!sip:seed@example.net!"|"!^.*$!tel:+441234567890!""#)
        try node.mine()
        let nsdPort = freePort()
        let enumd = try EnumdServer(["--poll-interval", "1", "--allow-transfer", "127.0.0.1 \(testKeyName)",
                                     "--tsig-key", "\(testKeyName):hmac-sha256:\(testKeySecret)",
                                     "--notify", "127.0.0.1:\(nsdPort) \(testKeyName)", "--http", "127.0.0.1:0"] + node.serveArguments, chain: true)
        defer { enumd.stop() }
        #expect(eventually(10) { soaSerial(enumd.port) == 1001 })
        let nsd = try NSDSecondary(primaryPort: enumd.port, port: nsdPort, key: true)
        defer { nsd.stop() }
        #expect(eventually(20) { soaSerial(nsd.port) == 1001 }, "NSD did not load the zone: \(nsd.log)")

        // The secondary answers exactly as enumd does.
        let names = [Self.seedDomain, "0.9.8.7.6.5.4.3.2.1.e164.arpa", "8.5.9.0.6.4.9.7.0.2.4.4.e164.arpa",
                     "1.2.3.4.5.4.3.2.1.0.3.9.4.e164.arpa", "e164.arpa", "ns2.e164.arpa", "4.4.e164.arpa", "7.7.e164.arpa"]
        let queries = names.flatMap { n in ["NAPTR", "SOA", "NS", "A", "TXT"].map { [n, $0] } }
        let ours = try digBatch(enumd.port, queries), theirs = try digBatch(nsd.port, queries)
        for (i, q) in queries.enumerated() {
            #expect(ours[i].caseFoldedOutsideQuestionAndAnswer == theirs[i].caseFoldedOutsideQuestionAndAnswer, "\(q)")
        }

        // A block that changes no served data keeps the serial: nothing to notify.
        try node.mine()
        #expect(eventually(5) { enumd.stderrText.contains("synced height 1002") })
        #expect(soaSerial(enumd.port) == 1001)

        // A new name: NOTIFY, then an IXFR with only the change.
        try node.register(Self.newName, "E2U+sip=100|10|!^.*$!sip:new@example.net!")
        try node.mine()
        let started = Date()
        #expect(eventually(8) { (try? naptrs(nsd.port, Self.newDomain).count) == 1 }, "NSD did not follow: \(nsd.log)\n\(enumd.stderrText)")
        #expect(Date().timeIntervalSince(started) < 8)
        #expect(soaSerial(nsd.port) == 1003 && soaSerial(enumd.port) == 1003)
        #expect(enumd.stderrText.contains("NOTIFY e164.arpa. serial 1003 acknowledged"))
        #expect(enumd.stderrText.contains("IXFR of e164.arpa. for 127.0.0.1: serial 1001 -> 1003 in 1 step(s), 0 deleted and 1 added records"))
        #expect(!enumd.stderrText.contains("AXFR of e164.arpa. serial 1003"))
        #expect(try naptrs(nsd.port, Self.newDomain) == naptrs(enumd.port, Self.newDomain))
        let metrics = try httpRequest(port: enumd.httpPort, path: "/metrics").text
        for line in ["enum_xfr_requests_total{kind=\"ixfr\"} 1", "enum_xfr_last_ixfr_records 5",
                     "enum_notify_total{result=\"acknowledged\"} 1", "enum_zone_serial{zone=\"e164.arpa.\"} 1003"] {
            #expect(metrics.contains(line + "\n"), "\(line) not in\n\(metrics)")
        }

        // The same IXFR asked by dig: current SOA, old SOA, new SOA, the one new record, SOA.
        let ixfr = try digTransfer(enumd.port, key + ["IXFR=1001", "e164.arpa"])
        #expect(ixfr.records.count == 5, "\(ixfr.output)")
        #expect(ixfr.records.filter { $0.contains(" NAPTR ") } == ["\(Self.newDomain). 3600 IN NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:new@example.net!\" ."])
        #expect(!ixfr.output.contains("tsig verify failure") && !ixfr.output.contains("Couldn't verify"))
    }

    /// The README's NSD secondary snippet is a configuration NSD accepts.
    @Test func readmeSecondaryConfigIsValid() throws {
        let readme = try String(contentsOfFile: Paths.repoRoot + "/README.md", encoding: .utf8)
        guard let start = readme.range(of: "An NSD secondary (`nsd.conf`)"),
              let open = readme.range(of: "```\n", range: start.upperBound..<readme.endIndex),
              let close = readme.range(of: "```", range: open.upperBound..<readme.endIndex) else {
            throw TestFailure("README has no NSD secondary example")
        }
        let snippet = readme[open.upperBound..<close.lowerBound].replacingOccurrences(of: "BASE64", with: testKeySecret)
        #expect(snippet.contains("request-xfr:") && snippet.contains("allow-notify:"))
        let file = writeTemp("server:\n  zonesdir: \"/tmp\"\n" + snippet, suffix: ".conf")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try run(try tool("nsd-checkconf"), [file])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    }

    /// allow-transfer and TSIG as dig sees them, and NOTAUTH for a wrong key.
    @Test func transfersAreRefusedUnlessAllowedAndSigned() throws {
        let open = try EnumdServer(["--allow-transfer", "127.0.0.0/8"])
        let all = try digTransfer(open.port, ["AXFR", "e164.arpa"])
        #expect(all.records.count == 14 && all.records.first == all.records.last && all.records.first!.contains(" SOA "))
        #expect(open.stop() == 0)

        let closed = try EnumdServer([])
        #expect(try digTransfer(closed.port, ["AXFR", "e164.arpa"]).output.contains("Transfer failed"))
        // Over UDP, as before: NOTIMP (RFC 5936 section 4.2 leaves AXFR over UDP undefined).
        let udp = udpExchange(port: closed.port, try DecodedPacket.query(name: "e164.arpa.", type: .axfr))
        #expect(try udp.map { try DecodedPacket($0).rcode } == 4)
        closed.stop()

        let keyed = try EnumdServer(["--allow-transfer", "127.0.0.1 \(testKeyName)", "--tsig-key", "\(testKeyName):hmac-sha256:\(testKeySecret)"])
        defer { keyed.stop() }
        let signed = try digTransfer(keyed.port, key + ["AXFR", "e164.arpa"])
        #expect(signed.records.count == 14 && !signed.output.contains("Couldn't verify"), "\(signed.output)")
        #expect(try digTransfer(keyed.port, ["AXFR", "e164.arpa"]).output.contains("Transfer failed"))
        // A signed SOA check, as Knot and BIND secondaries send it, over UDP: a signed answer.
        let soa = try digTransfer(keyed.port, key + ["SOA", "e164.arpa"])
        #expect(soa.output.contains("status: NOERROR") && soa.output.contains("TSIG PSEUDOSECTION") && !soa.output.contains("Couldn't verify"), "\(soa.output)")
        let wrong = try digTransfer(keyed.port, ["-y", "hmac-sha256:\(testKeyName.dropLast()):c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0MTIzNA==", "AXFR", "e164.arpa"])
        #expect(wrong.output.contains("BADSIG") && wrong.records.isEmpty)
    }

    /// A multi-message AXFR and a query pipelined behind it on one connection: the transfer's
    /// messages come first and whole, then the query's answer (RFC 7766 order), while another
    /// connection is answered meanwhile.
    @Test func pipelinedQueryWaitsForTheTransfer() throws {
        var text = "$ORIGIN e164.arpa.\n$TTL 3600\n@ IN SOA ns1.example.net. h.example.net. 7 7200 3600 1209600 300\n@ IN NS ns1.example.net.\n"
        for i in 0..<4000 {
            text += String(10_000_000 + i).reversed().map(String.init).joined(separator: ".") + " IN NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:u\(i)@example.net!\" .\n"
        }
        let zone = writeTemp(text)
        defer { try? FileManager.default.removeItem(atPath: zone) }
        let s = try EnumdServer(["--allow-transfer", "127.0.0.1"], zone: zone)
        defer { s.stop() }
        let c = try TCPClient(port: s.port, timeoutSeconds: 10)
        c.send(lengthPrefixed(try DecodedPacket.query(name: "e164.arpa.", type: .axfr, id: 1))
               + lengthPrefixed(try DecodedPacket.query(name: "e164.arpa.", type: .soa, id: 2)))
        let other = try TCPClient(port: s.port)
        other.send(lengthPrefixed(try DecodedPacket.query(name: "e164.arpa.", type: .ns, id: 3)))
        #expect(try other.readMessage().map { try DecodedPacket($0).id } == 3)
        var records: [String] = []
        var messages = 0
        while records.count < 2 || records.last != records.first {
            guard let m = c.readMessage() else { Issue.record("transfer cut after \(records.count) records"); return }
            let p = try DecodedPacket(m)
            #expect(p.id == 1 && p.rcode == 0)
            records += p.answer
            messages += 1
        }
        #expect(records.count == 4003 && messages > 10)  // SOA, NS, 4000 NAPTR, SOA
        let after = try c.readMessage().map { try DecodedPacket($0) }
        #expect(after?.id == 2 && after?.answer.count == 1)
    }

    /// export-zone writes what enumd serves (chain records from the state dir included) as a
    /// file NSD checks and serves with the same answers.
    @Test func exportedZoneLoadsInNSDWithTheSameAnswers() throws {
        let node = try FakeNode()
        try node.register(Self.seedName, #""!^.*$!sip:seed@example.net!"|"!^.*$!tel:+441234567890!""#)
        try node.register(Self.newName, "E2U+sip=100|10|!^(.*)$!sip:\\1@enumer.example!\nTTL=300")
        try node.mine()
        let dir = NSTemporaryDirectory() + "enumd-export-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let enumd = try EnumdServer(["--poll-interval", "1", "--state-dir", dir] + node.serveArguments, chain: true)
        defer { enumd.stop() }
        #expect(eventually(10) { (try? naptrs(enumd.port, Self.newDomain).count) == 1 })
        let file = dir + "/export.zone"
        let r = try run(Paths.enumd, ["export-zone", "--zone", "e164.arpa", "--zone-file", Paths.demoZone, "--state-dir", dir, file])
        #expect(r.status == 0, "\(r.stderr)")
        let check = try run(try tool("nsd-checkzone"), ["e164.arpa", file])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.contains("sip:\\\\1@enumer.example") && text.contains(" 1001 7200 "))

        let nsd = try NSDServer(zone: file, apex: "e164.arpa")
        defer { nsd.stop() }
        let queries = [Self.seedDomain, Self.newDomain, "e164.arpa", "5.4.3.2.1.0.3.9.4.e164.arpa", "1.5.1.9.4.e164.arpa", "2.e164.arpa",
                       "0.9.8.7.6.5.4.3.2.1.e164.arpa", "9.5.4.3.2.1.0.3.9.4.e164.arpa"]
            .flatMap { n in ["NAPTR", "SOA", "TXT"].map { [n, $0] } }
        let ours = try digBatch(enumd.port, queries), theirs = try digBatch(nsd.port, queries)
        for (i, q) in queries.enumerated() {
            #expect(ours[i].caseFoldedOutsideQuestionAndAnswer == theirs[i].caseFoldedOutsideQuestionAndAnswer, "\(q)")
        }
        #expect(ours.filter { $0.status == "NOERROR" && !$0.answer.isEmpty }.count == 6)  // 4 NAPTR sets (one by wildcard), the SOA, the demo TXT
        // A restart from the state dir, and a block that changes nothing: the serial stays.
        #expect(enumd.stop() == 0)
        try node.mine()
        let again = try EnumdServer(["--poll-interval", "1", "--state-dir", dir] + node.serveArguments, chain: true)
        defer { again.stop() }
        #expect(soaSerial(again.port) == 1001)
        #expect(eventually(10) { again.stderrText.contains("synced height 1002") })
        #expect(soaSerial(again.port) == 1001)
        // Bad input is named.
        let bad = try run(Paths.enumd, ["export-zone", "--zone", "example.com", "--zone-file", Paths.demoZone, "--no-chain"])
        #expect(bad.status == 1 && bad.stderr.contains("no zone example.com."))
    }
}
