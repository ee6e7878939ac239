import DNSServer
import Testing
@testable import ServerConfig
#if canImport(Glibc)
import Glibc
#endif

let repoRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

func read(_ path: String) -> String {
    let fp = fopen(path, "r")!
    defer { fclose(fp) }
    var out = ""
    var buf = [CChar](repeating: 0, count: 4096)
    while fgets(&buf, Int32(buf.count), fp) != nil { out += String(cString: buf) }
    return out
}

@Suite struct ConfigurationTests {
    @Test func theShippedExampleParses() throws {
        let c = try Configuration.parse(read(repoRoot + "/deploy/enumd.conf"), path: "deploy/enumd.conf")
        #expect(c.dns == [ListenAddress(host: "0.0.0.0", port: 53)])
        #expect(c.zones == ["/etc/enumd/zones/e164.arpa.zone"])
        #expect(c.chain && !c.minimalResponses)
        #expect(c.tcpIdleTimeout == 10 && c.maxUDPPayload == 1232 && c.logLevel == "info")
        #expect(c.emercoinConf == "/etc/emercoin/emercoin.conf" && c.rpcURL == nil && c.rpcUser == nil)
        #expect(c.pollInterval == 30 && c.stateDirectory == "/var/lib/enumd" && c.defaultTTL == 3600)
        #expect(c.http == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(try Configuration.parse("http = off\n", path: "x").http == nil)
        #expect(c.allowTransfer.isEmpty && c.notify.isEmpty && c.tsigKeys.isEmpty)
    }

    @Test func transferKeysAddUpAndMayComeAfterTheirUse() throws {
        let c = try Configuration.parse("""
            allow-transfer = 192.0.2.0/24
            allow-transfer = 2001:db8::/32 xfr.example
            notify = 192.0.2.53:53 xfr.example.
            tsig-key = xfr.example:hmac-sha256:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
            """, path: "x")
        #expect(c.allowTransfer.map(\.description) == ["192.0.2.0/24", "2001:db8::/32 xfr.example."])
        #expect(c.notify.map(\.description) == ["192.0.2.53:53 xfr.example."])
        #expect(try c.transferPolicy().keys.map(\.name.description) == ["xfr.example."])
    }

    @Test func defaultsWhenEmpty() throws {
        let c = try Configuration.parse("# nothing\n\n", path: "x")
        #expect(c.dns == [ListenAddress(host: "127.0.0.1", port: 5353)])
        #expect(c.zones == ["zones/e164.arpa.zone"])
    }

    @Test func repeatableKeysAddUp() throws {
        let c = try Configuration.parse("dns = 127.0.0.1:53\ndns = [::1]:53  # v6\nzone = a.zone\nzone = b.zone\n", path: "x")
        #expect(c.dns == [ListenAddress(host: "127.0.0.1", port: 53), ListenAddress(host: "::1", port: 53)])
        #expect(c.zones == ["a.zone", "b.zone"])
    }

    @Test(arguments: [
        ("dns = 127.0.0.1:53\nbogus = 1\n", 2, "unknown key 'bogus'"),
        ("\n\ndns = localhost:53\n", 3, "must be an IPv4 or IPv6 address"),
        ("dns = 127.0.0.1:99999\n", 1, "port must be a number"),
        ("dns = ::1:53\n", 1, "write IPv6 addresses as [::1]:53"),
        ("chain = maybe\n", 1, "must be on or off"),
        ("max-udp-payload = 100\n", 1, "from 512 to 4096"),
        ("just words\n", 1, "expected 'key = value'"),
        ("zone =\n", 1, "has no value"),
        ("log-level = loud\n", 1, "log-level must be one of"),
        ("poll-interval = 0\n", 1, "from 1 to 86400"),
        ("default-ttl = -5\n", 1, "from 0 to 604800"),
        ("allow-transfer = 10.0.0.0/40\n", 1, "is not an address or network"),
        ("allow-transfer = 10.0.0.1 a b\n", 1, "is not 'CIDR' or 'CIDR KEYNAME'"),
        ("notify = example.com:53\n", 1, "notify 'example.com:53'"),
        ("tsig-key = k:hmac-md5:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n", 1, "use hmac-sha256"),
        ("tsig-key = k:hmac-sha256:%%%\n", 1, "not base64"),
        ("dns = 127.0.0.1:53\nallow-transfer = 127.0.0.1 nokey\n", 2, "TSIG key nokey. is used but not defined"),
    ])
    func errorsNameTheLine(text: String, line: Int, message: String) {
        do {
            _ = try Configuration.parse(text, path: "test.conf")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.line == line)
            #expect(error.description.hasPrefix("test.conf:\(line): "))
            #expect(error.message.contains(message), "\(error)")
        }
    }
}

@Suite struct ConfigurationDocumentationTests {
    /// Every key the parser accepts is documented in deploy/enumd.conf, as `key = value` or as a
    /// commented-out `# key = value` with its default: a new option without documentation fails here.
    @Test(arguments: Configuration.keys)
    func everyKeyIsDocumentedInTheShippedConfig(key: String) {
        let lines = read(repoRoot + "/deploy/enumd.conf").split(separator: "\n")
        let documented = lines.contains { line in
            var l = line.drop { $0 == " " }
            if l.hasPrefix("#") { l = l.dropFirst().drop { $0 == " " } }
            return l.hasPrefix("\(key) =")
        }
        #expect(documented, "deploy/enumd.conf does not document '\(key)' (add '\(key) = ...' or '# \(key) = ...' with its default)")
    }

    /// Every listed key reaches its own case in the parser (none falls through to the default).
    @Test(arguments: Configuration.keys)
    func everyListedKeyIsHandled(key: String) {
        do { _ = try Configuration.parse("\(key) = @\n", path: "x") } catch {
            #expect(!error.message.contains("does not handle") && !error.message.contains("unknown key"), "\(error)")
        }
    }

    /// The commented-out examples are valid too: uncommenting one never breaks the file.
    @Test func commentedExamplesParse() throws {
        for line in read(repoRoot + "/deploy/enumd.conf").split(separator: "\n") where line.hasPrefix("# ") {
            let body = line.dropFirst(2)
            guard let eq = body.firstIndex(of: "="), Configuration.keys.contains(body[..<eq].trimmingCharacters(in: " ")) else { continue }
            _ = try Configuration.parse(String(body) + "\n", path: "deploy/enumd.conf")
        }
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String { String(self.drop { $0 == set }.reversed().drop { $0 == set }.reversed()) }
}

@Suite struct SecretTests {
    @Test func base64urlMatchesRFC4648Vectors() {
        // RFC 4648 section 10, without padding, in the URL-safe alphabet.
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors { #expect(Secret.base64url(Array(plain.utf8)) == encoded) }
        #expect(Secret.base64url([0xfb, 0xff]) == "-_8")
    }

    @Test func randomBytesAreFreshAndLongEnough() throws {
        // More than getentropy's 256 bytes a call, so the loop is exercised.
        let a = try Secret.randomBytes(1000), b = try Secret.randomBytes(1000)
        #expect(a.count == 1000 && a != b)
        // Not a stuck source: all 256 byte values are expected in 1000 random bytes only rarely,
        // but fewer than 200 distinct values would mean something is badly wrong.
        #expect(Set(a).count > 200)
    }

    @Test func tokensAreValidRegisterTokens() throws {
        let t = try Secret.token()
        #expect(t.count == 43)  // 32 bytes, base64 without padding
        #expect(t.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(try Configuration.parse("register-token = \(t)\n", path: "x").registerToken == t)
        #expect(try Secret.token() != t)
    }
}
