import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Polls `condition` every 100 ms for up to `seconds`.
func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(100_000)
    }
    return try condition()
}

func naptrs(_ port: Int, _ name: String) throws -> [String] {
    try dig(port, [name, "NAPTR"]).answer
}

/// The real binary against the fake emercoind: records of both conventions, changes on the
/// chain reaching DNS within two poll intervals, outages that change nothing served, and a warm
/// start from the state directory with the node down. Serialized, and each wait for a change is
/// two poll intervals plus 2 s of slack, so a loaded 2-core CI machine does not make it flaky.
@Suite(.serialized) struct ChainTests {
    static let withinTwoPolls = 2 * 1.0 + 2
    static let seedName = "enum:0.9.8.7.6.5.4.3.2.1.4.4.e164.arpa"     // +441234567890
    static let seedDomain = "0.9.8.7.6.5.4.3.2.1.4.4.e164.arpa"
    static let enumerName = "enum:4915123456789:0"                      // +4915123456789
    static let enumerDomain = "9.8.7.6.5.4.3.2.1.5.1.9.4.e164.arpa"

    func startNode() throws -> FakeNode {
        let node = try FakeNode()
        try node.register(Self.seedName, #""!^.*$!sip:seed@example.net!"|"!^.*$!tel:+441234567890!""#)
        try node.register(Self.enumerName, "E2U+sip=100|10|!^(.*)$!sip:\\1@enumer.example!\nTTL=300")
        try node.register("dns:enum:x", "A=1.2.3.4")
        try node.mine()
        return node
    }

    func startEnumd(_ node: FakeNode, _ extra: [String] = []) throws -> EnumdServer {
        try EnumdServer(["--poll-interval", "1"] + node.serveArguments + extra, chain: true)
    }

    @Test func recordsOfBothConventionsAreServed() throws {
        let node = try startNode()
        let s = try startEnumd(node)
        #expect(try eventually(10) { try naptrs(s.port, Self.enumerDomain).count == 1 })
        #expect(try naptrs(s.port, Self.enumerDomain) == ["\(Self.enumerDomain). 300 IN NAPTR 100 10 \"u\" \"E2U+sip\" \"!^(.*)$!sip:\\\\1@enumer.example!\" ."])
        #expect(try naptrs(s.port, Self.seedDomain) == [
            "\(Self.seedDomain). 3600 IN NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:seed@example.net!\" .",
            "\(Self.seedDomain). 3600 IN NAPTR 100 20 \"u\" \"E2U+pstn:tel\" \"!^.*$!tel:+441234567890!\" .",
        ])
        // The zone file's records are still there, and the SOA serial is the chain height.
        #expect(try naptrs(s.port, "0.9.8.7.6.5.4.3.2.1.e164.arpa").count == 3)
        #expect(try dig(s.port, ["e164.arpa", "SOA"]).answer.first?.contains(" 1001 7200 ") == true)
        // Values were read one by one (no batch), with the anchored filter.
        let calls = try node.calls()
        #expect((calls["name_filter"] ?? 0) >= 1 && calls["batch"] == nil)
        #expect(!s.stderrText.contains(node.password))
    }

    @Test func updateDeleteTransferAndExpiryReachDNS() throws {
        let node = try startNode()
        let s = try startEnumd(node)
        #expect(try eventually(10) { try naptrs(s.port, Self.enumerDomain).count == 1 })

        try node.update(Self.enumerName, "E2U+sip=100|10|!^.*$!sip:moved@enumer.example!")
        try node.mine()
        #expect(try eventually(Self.withinTwoPolls) { try naptrs(s.port, Self.enumerDomain).first?.contains("moved@") == true })

        try node.control(["op": "transfer", "name": Self.enumerName, "address": "EdifferentOwnerAddressxxxxxxxxxxxx"])
        try node.mine()
        #expect(try eventually(Self.withinTwoPolls) { try naptrs(s.port, Self.enumerDomain).first?.contains("moved@") == true })

        try node.delete(Self.seedName)
        try node.mine()
        #expect(try eventually(Self.withinTwoPolls) { try dig(s.port, [Self.seedDomain, "NAPTR"]).status == "NXDOMAIN" })

        try node.register("enum:3312345678:0", "E2U+sip=1|1|!^.*$!sip:short@x!", days: 1)  // 175 blocks
        try node.mine()
        #expect(try eventually(Self.withinTwoPolls) { try naptrs(s.port, "8.7.6.5.4.3.2.1.3.3.e164.arpa").count == 1 })
        try node.mine(176)
        #expect(try eventually(Self.withinTwoPolls) { try dig(s.port, ["8.7.6.5.4.3.2.1.3.3.e164.arpa", "NAPTR"]).status == "NXDOMAIN" })
    }

    @Test(arguments: ["down", "garbage", "http500", "truncated", "ibd", "warmup", "slow"])
    func nodeFaultsChangeNothingServed(mode: String) throws {
        let node = try startNode()
        let s = try startEnumd(node, ["--log-level", "debug"])
        #expect(try eventually(10) { try naptrs(s.port, Self.enumerDomain).count == 1 })
        let before = try naptrs(s.port, Self.seedDomain)
        try node.fault(mode, seconds: 5)
        try node.mine()  // the tip moves: enumd tries to sync and fails
        usleep(2_500_000)
        #expect(try naptrs(s.port, Self.seedDomain) == before, "\(mode)")
        #expect(try naptrs(s.port, Self.enumerDomain).count == 1)
        if mode != "slow" { #expect(s.stderrText.contains("keeping the snapshot of height 1001"), "\(mode): \(s.stderrText.suffix(800))") }
        // Back to health: the next change shows.
        try node.fault("none")
        try node.update(Self.enumerName, "E2U+sip=100|10|!^.*$!sip:after@enumer.example!")
        try node.mine()
        #expect(try eventually(8) { try naptrs(s.port, Self.enumerDomain).first?.contains("after@") == true }, "\(mode)")
    }

    @Test func restartWithTheNodeDownServesTheStateDirectory() throws {
        let node = try startNode()
        let dir = NSTemporaryDirectory() + "enumd-state-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let s = try startEnumd(node, ["--state-dir", dir])
            #expect(try eventually(10) { try naptrs(s.port, Self.enumerDomain).count == 1 })
            #expect(try eventually(5) { FileManager.default.fileExists(atPath: dir + "/chain.state") })
            #expect(s.stop() == 0)
        }
        try node.fault("down")
        let s2 = try startEnumd(node, ["--state-dir", dir])
        #expect(s2.stderrText.contains("serving the saved snapshot of height 1001"))
        #expect(try naptrs(s2.port, Self.enumerDomain).count == 1)
        #expect(try naptrs(s2.port, Self.seedDomain).count == 2)
        // A damaged state file is reported and not used.
        #expect(s2.stop() == 0)
        #expect(FileManager.default.createFile(atPath: dir + "/chain.state", contents: Data("ENUMDST1 not really".utf8)))
        let s3 = try startEnumd(node, ["--state-dir", dir])
        #expect(s3.stderrText.contains("state file not used"))
        #expect(try dig(s3.port, [Self.enumerDomain, "NAPTR"]).status == "NXDOMAIN")
    }

    @Test func cookieAuthAndRefusedCredentials() throws {
        let node = try startNode()
        let cookie = try EnumdServer(["--poll-interval", "1", "--rpc-url", "http://127.0.0.1:\(node.rpcPort)/", "--rpc-cookie", node.cookieFile], chain: true)
        #expect(try eventually(10) { try naptrs(cookie.port, Self.enumerDomain).count == 1 })
        #expect(cookie.stderrText.contains("credentials from \(node.cookieFile)"))
        let bad = try EnumdServer(["--poll-interval", "1", "--rpc-url", "http://127.0.0.1:\(node.rpcPort)/", "--rpc-user", "x", "--rpc-password", "wrong-secret"], chain: true)
        #expect(try eventually(5) { bad.stderrText.contains("refused the RPC credentials (HTTP 401)") })
        #expect(!bad.stderrText.contains("wrong-secret"))
        #expect(try naptrs(bad.port, "0.9.8.7.6.5.4.3.2.1.e164.arpa").count == 3)  // the zone file is still served
    }

    @Test func emercoinConfIsReadLikeEmercoinsOwnTools() throws {
        let node = try startNode()
        let conf = writeTemp("# emercoin.conf\nrpcuser=\(node.user)\nrpcpassword=\(node.password)\nrpcport=\(node.rpcPort)\n[test]\nrpcport=1\n", suffix: ".conf")
        let s = try EnumdServer(["--poll-interval", "1", "--emercoin-conf", conf], chain: true)
        #expect(try eventually(10) { try naptrs(s.port, Self.enumerDomain).count == 1 })
        #expect(s.stderrText.contains("node at http://127.0.0.1:\(node.rpcPort)/"))
    }
}
