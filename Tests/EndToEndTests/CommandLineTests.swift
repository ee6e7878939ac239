import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite struct CommandLineTests {
    @Test func keyPrintsAllNames() throws {
        let r = try run(Paths.enumd, ["key", "+1 234-567-890"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("number:       +1234567890"))
        #expect(r.stdout.contains("domain:       0.9.8.7.6.5.4.3.2.1.e164.arpa."))
        #expect(r.stdout.contains("nvs-seed:     enum:0.9.8.7.6.5.4.3.2.1.e164.arpa"))
        #expect(r.stdout.contains("nvs-enumer:   enum:1234567890:0"))
    }

    @Test(arguments: ["abc", "+", "+0123", "+1234567890123456", "12a34"])
    func keyRejectsWhatIsNotANumber(input: String) throws {
        let r = try run(Paths.enumd, ["key", input])
        #expect(r.status == 2)
        #expect(r.stderr.contains("not an E.164 number"))
        #expect(r.stdout.isEmpty)
    }

    @Test func checkZone() throws {
        let good = try run(Paths.enumd, ["check-zone", Paths.demoZone])
        #expect(good.status == 0 && good.stdout.contains("zone e164.arpa. serial 2026112801"))
        let path = writeTemp("$ORIGIN e164.arpa.\n@ SOA a. b. 1 2 3 4 5\n@ NS ns.\n\n1 NAPTR 100 10 \"u\"\n")
        let bad = try run(Paths.enumd, ["check-zone", path])
        #expect(bad.status == 1 && bad.stderr.contains("\(path):5: "), "\(bad.stderr)")
    }

    @Test func checkConfigOnTheShippedExample() throws {
        let r = try run(Paths.enumd, ["check-config", Paths.repoRoot + "/deploy/enumd.conf"])
        #expect(r.status == 0, "\(r.stderr)")
        let bad = writeTemp("dns = 127.0.0.1:53\nwhat = 1\n", suffix: ".conf")
        let b = try run(Paths.enumd, ["check-config", bad])
        #expect(b.status == 1 && b.stderr.contains("\(bad):2: unknown key 'what'"))
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func signalsStopTheServerGracefully(signal: Int32) throws {
        let s = try EnumdServer()
        #expect(try dig(s.port, ["e164.arpa", "SOA"]).status == "NOERROR")
        #expect(s.stop(signal: signal) == 0)
        #expect(s.stderrText.contains("stopped"))
    }

    @Test func stopsGracefullyWithChainSyncAndHTTPRunning() throws {
        let node = try FakeNode()
        let s = try EnumdServer(["--http", "127.0.0.1:0", "--poll-interval", "1"] + node.serveArguments, chain: true)
        #expect(eventually(5) { s.stderrText.contains("synced height") })
        #expect(s.stop(signal: SIGTERM) == 0)
        #expect(s.stderrText.contains("chain sync stopped") && s.stderrText.contains("stopped"))
    }

    @Test func aZoneThatDoesNotParseStopsStartUp() throws {
        let path = writeTemp("$ORIGIN e164.arpa.\n@ SOA a. b. 1 2 3 4 5\n@ NS ns.\n1 NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:a@b!\" .\n2 A 999.1.1.1\n")
        let r = try run(Paths.enumd, ["serve", "--no-chain", "--dns", "127.0.0.1:0", "--zone", Paths.demoZone, "--zone", path], timeout: 15)
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(path):5: "), "\(r.stderr)")
        #expect(!r.stderr.contains("DNS listening"))
        let missing = try run(Paths.enumd, ["serve", "--no-chain", "--dns", "127.0.0.1:0", "--zone", "/nonexistent.zone"], timeout: 15)
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent.zone: cannot open"))
    }

    @Test func aBusyHTTPPortIsNamed() throws {
        let first = try EnumdServer(["--http", "127.0.0.1:0"])
        let r = try run(Paths.enumd, ["serve", "--no-chain", "--dns", "127.0.0.1:0", "--http", "127.0.0.1:\(first.httpPort)"], timeout: 15)
        #expect(r.status == 1 && r.stderr.contains("cannot listen for HTTP on 127.0.0.1:\(first.httpPort)"), "\(r.stderr)")
    }

    @Test func badFlagsAreRejected() throws {
        let r = try run(Paths.enumd, ["serve", "--dns", "localhost:53"], timeout: 15)
        #expect(r.status == 2 && r.stderr.contains("must be an IPv4 or IPv6 address"))
    }
}
