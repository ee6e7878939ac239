import DNSServer
import Testing
@testable import ServerConfig

/// The abuse-resistance keys: defaults, parsing, and what reaches the DNS server.
@Suite struct ProtectionConfigTests {
    @Test func defaults() {
        let c = Configuration()
        #expect(c.rrlRate == 200 && c.rrlSlip == 2 && c.cookies)
        #expect(c.tcpMaxConnections == 1024 && c.tcpMaxPerClient == 32 && c.tcpReadTimeout == 2)
        #expect(c.httpRate == 50 && c.httpListRate == 5 && c.httpRequestTimeout == 10)
        let s = c.serverConfiguration
        #expect(s.protection.rrl.rate == 200 && s.protection.rrl.slip == 2 && s.protection.cookies != nil)
    }

    @Test func keysParseAndReachTheServer() throws {
        let text = "rrl-rate = 0\nrrl-slip = 1\ncookies = off\ntcp-max-connections = 10\ntcp-max-per-client = 2\ntcp-read-timeout = 5\nhttp-rate = 0\nhttp-list-rate = 1\nhttp-request-timeout = 3\n"
        let c = try Configuration.parse(text, path: "t.conf")
        let s = c.serverConfiguration
        #expect(s.protection.rrl.rate == 0 && s.protection.rrl.slip == 1 && s.protection.cookies == nil)
        #expect(s.protection.tcp.maxConnections == 10 && s.protection.tcp.maxPerClient == 2 && s.protection.tcp.readTimeout == .seconds(5))
        #expect(c.httpRate == 0 && c.httpListRate == 1 && c.httpRequestTimeout == 3)
    }

    @Test(arguments: ["rrl-rate = -1", "rrl-slip = 101", "cookies = maybe", "tcp-max-per-client = 0", "tcp-read-timeout = 0", "http-rate = x"])
    func badValuesNameTheLine(_ line: String) {
        #expect(throws: ConfigError.self) { try Configuration.parse("# x\n" + line + "\n", path: "t.conf") }
    }
}
