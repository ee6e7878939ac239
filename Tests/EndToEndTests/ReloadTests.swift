import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP (`systemctl reload enumd`) on the real binary: edited zone files and config reach DNS;
/// a broken file is logged with its file and line while the old data keeps being served; chain
/// records survive a zone reload.
@Suite(.serialized) struct ReloadTests {
    static let newDomain = "1.1.1.1.5.5.5.1.e164.arpa"   // +15551111
    static let newRecord = "1.1.1.1.5.5.5.1 IN NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:reloaded@example.com!\" .\n"

    /// A private copy of the demo zone, with its path.
    func zoneCopy() throws -> (path: String, text: String) {
        let text = try String(contentsOfFile: Paths.demoZone, encoding: .utf8)
        return (writeTemp(text, suffix: ".zone"), text)
    }

    /// Sends SIGHUP until `condition` holds (bounded). Resending is harmless: a reload of
    /// unchanged files changes nothing.
    func hangUp(_ s: EnumdServer, until condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            kill(s.process.processIdentifier, SIGHUP)
            if try eventually(1, condition) { return true }
        }
        return false
    }

    @Test func editedZoneIsServedAndABrokenOneIsRefusedWithItsLine() throws {
        let (zone, text) = try zoneCopy()
        defer { try? FileManager.default.removeItem(atPath: zone) }
        let s = try EnumdServer(zone: zone)
        #expect(try dig(s.port, [Self.newDomain, "NAPTR"]).status == "NXDOMAIN")

        // A new number and a new serial.
        let edited = text.replacingOccurrences(of: " 2026112801 ", with: " 2026112802 ") + Self.newRecord
        try edited.write(toFile: zone, atomically: true, encoding: .utf8)
        #expect(try hangUp(s) { try dig(s.port, [Self.newDomain, "NAPTR"]).answer.count == 1 })
        #expect(try dig(s.port, [Self.newDomain, "NAPTR"]).answer.first?.contains("sip:reloaded@example.com") == true)
        #expect(try dig(s.port, ["e164.arpa", "SOA"]).answer.first?.contains(" 2026112802 ") == true)
        #expect(s.stderrText.contains("reload: serving 1 zone(s): e164.arpa. (serial 2026112802)"), "\(s.stderrText)")

        // A broken record on a known line: logged with file and line, the old zone still served.
        let lines = edited.split(separator: "\n", omittingEmptySubsequences: false)
        let broken = (lines + ["2.2.2.2.5.5.5.1 IN NAPTR 100 \"u\" missing-fields", ""]).joined(separator: "\n")
        let badLine = lines.count + 1
        try broken.replacingOccurrences(of: " 2026112802 ", with: " 2026112803 ").write(toFile: zone, atomically: true, encoding: .utf8)
        #expect(hangUp(s) { s.stderrText.contains("reload failed: \(zone):\(badLine):") }, "\(s.stderrText)")
        #expect(s.stderrText.contains("still serving the previous zones and settings"))
        #expect(try dig(s.port, [Self.newDomain, "NAPTR"]).answer.count == 1)
        #expect(try dig(s.port, ["e164.arpa", "SOA"]).answer.first?.contains(" 2026112802 ") == true)

        // A zone file that is gone is refused the same way.
        try FileManager.default.removeItem(atPath: zone)
        #expect(hangUp(s) { s.stderrText.contains("reload failed: \(zone): cannot open: No such file") }, "\(s.stderrText)")
        #expect(try dig(s.port, [Self.newDomain, "NAPTR"]).answer.count == 1)
        #expect(s.stop() == 0)
    }

    @Test func configReloadChangesTheLogLevelAndNamesABadLine() throws {
        let (zone, _) = try zoneCopy()
        defer { try? FileManager.default.removeItem(atPath: zone) }
        let conf = writeTemp("zone = \(zone)\nlog-level = info\n", suffix: ".conf")
        defer { try? FileManager.default.removeItem(atPath: conf) }
        let s = try EnumdServer(["--config", conf], zone: zone)
        #expect(!s.stderrText.contains("debug"))

        // An unknown key on line 3: refused with the config file and line; nothing applied.
        try "zone = \(zone)\nlog-level = debug\nallow-everything = yes\n".write(toFile: conf, atomically: true, encoding: .utf8)
        #expect(hangUp(s) { s.stderrText.contains("reload failed: \(conf):3: unknown key 'allow-everything'") }, "\(s.stderrText)")

        // Fixed, plus a change that only a restart applies.
        try "zone = \(zone)\nlog-level = debug\ntcp-idle-timeout = 30\n".write(toFile: conf, atomically: true, encoding: .utf8)
        #expect(hangUp(s) { s.stderrText.contains("log-level debug") }, "\(s.stderrText)")
        #expect(s.stderrText.contains("changed but only applied by a restart: tcp-idle-timeout"))
        #expect(try dig(s.port, ["0.9.8.7.6.5.4.3.2.1.e164.arpa", "NAPTR"]).answer.count == 3)
        #expect(s.stop() == 0)
    }

    /// The register token and the log level change on SIGHUP: the old token is refused and the
    /// new one accepted (400 for an empty body means the token passed), and debug messages of
    /// loggers made at start-up appear.
    @Test func registerTokenAndLogLevelAreReloaded() throws {
        let node = try FakeNode()
        let (zone, _) = try zoneCopy()
        defer { try? FileManager.default.removeItem(atPath: zone) }
        let old = "old-token-0123456789abcdef", new = "new-token-0123456789abcdef"
        let conf = writeTemp("register-token = \(old)\nlog-level = info\n", suffix: ".conf")
        defer { try? FileManager.default.removeItem(atPath: conf) }
        let s = try EnumdServer(["--config", conf, "--http", "127.0.0.1:0", "--poll-interval", "1"] + node.serveArguments,
                                zone: zone, chain: true)
        func status(_ token: String) throws -> Int {
            try httpRequest(port: s.httpPort, method: "POST", path: "/enum/register", body: Array("{}".utf8),
                            headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"]).status
        }
        #expect(try status(old) == 400 && status(new) == 401)
        #expect(try eventually(10) { s.stderrText.contains("synced height") })
        #expect(!s.stderrText.contains(" debug "))
        try "register-token = \(new)\nlog-level = debug\n".write(toFile: conf, atomically: true, encoding: .utf8)
        #expect(try hangUp(s) { try status(new) == 400 })
        #expect(try status(old) == 401)
        // A new block makes the chain sync log its snapshot timings at debug.
        try node.mine()
        #expect(eventually(10) { s.stderrText.contains(" debug enumd: [ChainSync] snapshot of height") }, "\(s.stderrText)")
        #expect(s.stop() == 0)
    }

    /// A zone reload rebuilds the snapshot with the chain records being served: they stay, and
    /// the zone's new records (and its overrides) join them.
    @Test func chainRecordsSurviveAZoneReload() throws {
        let node = try FakeNode()
        let chainDomain = "9.8.7.6.5.4.3.2.1.5.1.9.4.e164.arpa"   // +4915123456789
        try node.register("enum:4915123456789:0", "E2U+sip=100|10|!^(.*)$!sip:\\1@chain.example!")
        try node.mine()
        let (zone, text) = try zoneCopy()
        defer { try? FileManager.default.removeItem(atPath: zone) }
        let s = try EnumdServer(["--poll-interval", "1"] + node.serveArguments, zone: zone, chain: true)
        #expect(try eventually(10) { try naptrs(s.port, chainDomain).count == 1 })
        let soa = try dig(s.port, ["e164.arpa", "SOA"]).answer.first ?? ""

        try (text + Self.newRecord).write(toFile: zone, atomically: true, encoding: .utf8)
        #expect(try hangUp(s) { try naptrs(s.port, Self.newDomain).count == 1 })
        #expect(try naptrs(s.port, chainDomain).count == 1)
        // The data changed, so the serial moved on from the chain height by one (the height did
        // not grow), never back to the zone file's own serial: secondaries see the change.
        let serial = { (rr: String) in rr.split(separator: " ").dropFirst(6).first.flatMap { UInt32($0) } }
        let after = try dig(s.port, ["e164.arpa", "SOA"]).answer.first ?? ""
        #expect(serial(after) != nil && serial(after) == serial(soa).map { $0 + 1 }, "\(soa) -> \(after)")

        // Without an e164.arpa zone the chain has nowhere to go: refused, the old zone kept.
        try text.replacingOccurrences(of: "e164.arpa.", with: "example.").write(toFile: zone, atomically: true, encoding: .utf8)
        #expect(hangUp(s) { s.stderrText.contains("reload failed: the chain's numbers need a zone file for e164.arpa") }, "\(s.stderrText)")
        #expect(try naptrs(s.port, chainDomain).count == 1)
        #expect(try naptrs(s.port, Self.newDomain).count == 1)
        #expect(s.stop() == 0)
    }
}
