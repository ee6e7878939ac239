import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The snippets of deploy/README.md marked `<!-- checked: NAME -->`, run as they are written:
/// unbound with the stub zone in front of enumd, Kamailio's enum module with the route. Each
/// program is started here on loopback ports in a temporary directory, with bounded waits, and
/// stopped; nothing depends on a system service the package may have started.
@Suite(.serialized) struct DeployGuideTests {
    static let number = "0.9.8.7.6.5.4.3.2.1.e164.arpa"   // +1234567890 in zones/e164.arpa.zone

    /// The first fenced block after `<!-- checked: name -->` in deploy/README.md.
    static func snippet(_ name: String) throws -> String {
        let guide = try String(contentsOfFile: Paths.repoRoot + "/deploy/README.md", encoding: .utf8)
        guard let marker = guide.range(of: "<!-- checked: \(name) -->"),
              let open = guide.range(of: "```\n", range: marker.upperBound..<guide.endIndex),
              let close = guide.range(of: "```", range: open.upperBound..<guide.endIndex) else {
            throw TestFailure("deploy/README.md has no fenced block after <!-- checked: \(name) -->")
        }
        return String(guide[open.upperBound..<close.lowerBound])
    }

    static func tempDir(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "enumd-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Answer records without their TTL (a cache counts it down).
    static func withoutTTL(_ answer: [String]) -> [String] {
        answer.map { $0.split(separator: " ").enumerated().filter { $0.offset != 1 }.map(\.element).joined(separator: " ") }
    }

    @Test func unboundStubZoneAnswersAsEnumdDoes() throws {
        let unbound = try tool("unbound")
        let s = try EnumdServer()
        let dir = try Self.tempDir("unbound")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let guide = try Self.snippet("unbound")
        #expect(guide.contains("stub-addr: 127.0.0.1@5353"), "the guide's snippet changed: \(guide)")
        let port = freePort()
        // Test-only settings first (a private port and directory, no privilege drop, no
        // daemon), then the guide's snippet with enumd's test port.
        let conf = """
            server:
                interface: 127.0.0.1
                port: \(port)
                do-ip6: no
                do-daemonize: no
                username: ""
                chroot: ""
                directory: "\(dir)"
                pidfile: "\(dir)/unbound.pid"
                use-syslog: no
                logfile: "\(dir)/unbound.log"
                num-threads: 1
                access-control: 127.0.0.0/8 allow

            """ + guide.replacingOccurrences(of: "127.0.0.1@5353", with: "127.0.0.1@\(s.port)")
        try conf.write(toFile: dir + "/unbound.conf", atomically: true, encoding: .utf8)
        let check = try run(try tool("unbound-checkconf"), [dir + "/unbound.conf"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")

        let resolver = try SpawnedProcess(unbound, ["-d", "-c", dir + "/unbound.conf"])
        defer { resolver.stop() }
        // Through unbound (recursion desired, as a SIP server's stub resolver asks).
        func viaUnbound(_ args: [String]) throws -> DigAnswer {
            DigAnswer(try run(try tool("dig"), ["@127.0.0.1", "-p", String(port), "+nocmd", "+nostats", "+time=2", "+tries=1"] + args).stdout)
        }
        let up = try eventually(10) { try resolver.isRunning && viaUnbound([Self.number, "NAPTR"]).status == "NOERROR" }
        let log = (try? String(contentsOfFile: dir + "/unbound.log", encoding: .utf8)) ?? ""
        #expect(up, "unbound did not answer: \(log)")

        let direct = try dig(s.port, [Self.number, "NAPTR"])
        let proxied = try viaUnbound([Self.number, "NAPTR"])
        #expect(direct.answer.count == 3)
        #expect(Self.withoutTTL(proxied.answer) == Self.withoutTTL(direct.answer))
        #expect(proxied.flags.contains("ra") && !proxied.flags.contains("aa"))
        // A number that is not there: NXDOMAIN through the resolver too.
        #expect(try viaUnbound(["1.1.1.1.9.9.9.e164.arpa", "NAPTR"]).status == "NXDOMAIN")
    }

    @Test func bindForwardZoneAnswersAsEnumdDoes() throws {
        let named = try tool("named")
        let s = try EnumdServer()
        let dir = try Self.tempDir("bind")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let guide = try Self.snippet("bind")
        #expect(guide.contains("forwarders { 127.0.0.1 port 5353; };") && guide.contains("options {\n"))
        let port = freePort()
        // The guide's blocks with test-only settings added to its options (BIND allows one
        // options block): a private directory and port, validation on as Debian ships it.
        let conf = guide
            .replacingOccurrences(of: "options {\n", with: """
                options {
                    directory "\(dir)";
                    pid-file "\(dir)/named.pid";
                    listen-on port \(port) { 127.0.0.1; };
                    listen-on-v6 { none; };
                    allow-query { 127.0.0.1; };
                    recursion yes;
                    dnssec-validation auto;

                """)
            .replacingOccurrences(of: "127.0.0.1 port 5353", with: "127.0.0.1 port \(s.port)")
        try conf.write(toFile: dir + "/named.conf", atomically: true, encoding: .utf8)
        let check = try run(try tool("named-checkconf"), [dir + "/named.conf"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)\n\(conf)")

        let resolver = try SpawnedProcess(named, ["-g", "-n", "1", "-c", dir + "/named.conf"])
        defer { resolver.stop() }
        func viaBind(_ args: [String]) throws -> DigAnswer {
            DigAnswer(try run(try tool("dig"), ["@127.0.0.1", "-p", String(port), "+nocmd", "+nostats", "+time=2", "+tries=1"] + args).stdout)
        }
        #expect(try eventually(15) { try resolver.isRunning && viaBind([Self.number, "NAPTR"]).status == "NOERROR" })
        let direct = try dig(s.port, [Self.number, "NAPTR"])
        let proxied = try viaBind([Self.number, "NAPTR"])
        #expect(direct.answer.count == 3)
        #expect(Self.withoutTTL(proxied.answer) == Self.withoutTTL(direct.answer))
        #expect(try viaBind(["1.1.1.1.9.9.9.e164.arpa", "NAPTR"]).status == "NXDOMAIN")
    }

    /// The route with the enum module loaded, in a configuration Kamailio checks (`kamailio -c`).
    static func kamailioConfig(port: Int) throws -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:\(port)
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "xlog.so"

        """ + (try snippet("kamailio"))
    }

    @Test func kamailioLoadsTheEnumRoute() throws {
        let kamailio = try tool("kamailio")
        let dir = try Self.tempDir("kamailio")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cfg = try Self.kamailioConfig(port: freePort())
        #expect(cfg.contains(#"modparam("enum", "domain_suffix", "e164.arpa.")"#) && cfg.contains("enum_query()"))
        try cfg.write(toFile: dir + "/kamailio.cfg", atomically: true, encoding: .utf8)
        let r = try run(kamailio, ["-c", "-f", dir + "/kamailio.cfg"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(!r.stderr.contains("ERROR"), "\(r.stderr)")
    }

    /// Kamailio reads its name servers from /etc/resolv.conf only (glibc's resolver has no port),
    /// so this run gives it a private one in a mount namespace (`unshare -m`, root only; CI runs
    /// as root) naming enumd on 127.83.0.1:53, sends an INVITE for +1234567890 and reads the
    /// rewritten Request-URI from Kamailio's log.
    @Test(.enabled(if: getuid() == 0 && (try? run("/usr/bin/unshare", ["-m", "true"]).status) == 0,
                   "needs root and mount namespaces for a private /etc/resolv.conf"))
    func kamailioRewritesTheRequestURIFromEnumd() throws {
        let kamailio = try tool("kamailio")
        let s = try EnumdServer(dns: "127.83.0.1:53")
        let dir = try Self.tempDir("kamailio-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sipPort = freePort()
        try Self.kamailioConfig(port: sipPort).write(toFile: dir + "/kamailio.cfg", atomically: true, encoding: .utf8)
        try "nameserver 127.83.0.1\noptions timeout:2 attempts:1\n".write(toFile: dir + "/resolv.conf", atomically: true, encoding: .utf8)
        let log = dir + "/kamailio.log"
        let proxy = try SpawnedProcess("/usr/bin/unshare", ["-m", "/bin/sh", "-c",
            "mount --bind \"$1/resolv.conf\" /etc/resolv.conf && exec \"$2\" -f \"$1/kamailio.cfg\" -DD -E -m 16 -M 4 >\"$1/kamailio.log\" 2>&1",
            "sh", dir, kamailio])
        defer { proxy.stop() }
        let text = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        #expect(eventually(10) { text().contains("Listening on") }, "\(text())")

        // One INVITE over UDP, resent until the log shows the rewrite (UDP may be early).
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(sipPort).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let invite = "INVITE sip:+1234567890@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-enumd-1\r\n"
            + "Max-Forwards: 70\r\nTo: <sip:+1234567890@127.0.0.1>\r\nFrom: <sip:test@127.0.0.1>;tag=1\r\n"
            + "Call-ID: enumd-guide-test@127.0.0.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        let rewritten = eventually(15) {
            _ = Array(invite.utf8).withUnsafeBytes { b in
                withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                } }
            }
            usleep(400_000)
            return text().contains("ENUM: Request-URI now sip:primary@example.com")
        }
        #expect(rewritten, "\(text())\n\(s.stderrText)")
    }
}

/// `enumd gen-token`, which the guide and deploy/enumd.conf point to for `register-token`.
@Suite struct GenTokenTests {
    @Test func printsAFreshTokenThatCheckConfigAccepts() throws {
        let a = try run(Paths.enumd, ["gen-token"]), b = try run(Paths.enumd, ["gen-token"])
        #expect(a.status == 0 && b.status == 0)
        let token = a.stdout.trimmingCharacters(in: .newlines)
        #expect(token.count == 43 && token != b.stdout.trimmingCharacters(in: .newlines))
        #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        let conf = writeTemp("register-token = \(token)\n", suffix: ".conf")
        defer { try? FileManager.default.removeItem(atPath: conf) }
        #expect(try run(Paths.enumd, ["check-config", conf]).status == 0)
        #expect(try run(Paths.enumd, ["gen-token", "--bytes", "64"]).stdout.trimmingCharacters(in: .newlines).count == 86)
        let short = try run(Paths.enumd, ["gen-token", "--bytes", "8"])
        #expect(short.status == 2 && short.stderr.contains("--bytes must be 16 to 256"))
    }
}
