import DNSServer
import DNSWire
import EmercoinRPC
import ENUMCore
import Foundation
import Logging
import Testing
import TestSupport
@testable import ChainSync

/// ChainSync in-process against the fake emercoind: what one sync publishes, what a failed sync
/// leaves alone, and which names it asks name_show about.
@Suite struct SyncAgainstFakeNodeTests {
    let node: FakeNode
    let client: RPCClient
    let store: StateStore
    let sync: ChainSync

    init() throws {
        // Like older emercoind builds: name_filter cuts values at 300 characters.
        node = try FakeNode(extra: ["--filter-value-limit", "300"])
        let url = "http://127.0.0.1:\(node.rpcPort)/"
        let creds = RPCCredentials(user: node.user, password: node.password, source: "test")
        client = try RPCClient(url: url, credentials: creds)
        let zone = try ZoneFile.load(path: repoRoot + "/zones/e164.arpa.zone")
        store = StateStore(Responder(snapshot: try Snapshot(zones: [zone])))
        var o = ChainSyncOptions()
        o.pageSize = 2  // several name_filter pages even for a few names
        sync = ChainSync(client: client, detailsClient: try RPCClient(url: url, credentials: creds), store: store,
                         zones: [zone], options: o, logger: Logger(label: "test"))
    }

    @Test func oneSyncPublishesEveryNameAcrossPages() async throws {
        for i in 0..<5 { try node.register("enum:4930123456\(i):0", "E2U+sip=100|10|!^.*$!sip:u\(i)@x!") }
        try node.register("dns:enum:x", "A=1.2.3.4")
        try node.mine()
        try await sync.syncOnce(tip: try client.blockCount())
        let chain = try #require(store.responder?.snapshot.chain)
        #expect(chain.count == 5 && chain.height == 1001)
        #expect(store.responder?.snapshot.stale == false)
        #expect((try node.calls()["name_filter"] ?? 0) >= 3)
    }

    @Test func aPageTooLargeForTheBodyLimitIsAskedAgainSmaller() async throws {
        for i in 0..<40 { try node.register("enum:4930123\(100 + i):0", "E2U+sip=100|10|!^.*$!sip:user\(i)@a-host.example!") }
        try node.mine()
        var limits = HTTPTransport.Options()
        limits.maxBodyBytes = 2_000  // about ten names per reply
        let small = try RPCClient(url: "http://127.0.0.1:\(node.rpcPort)/",
                                  credentials: RPCCredentials(user: node.user, password: node.password, source: "test"),
                                  options: limits)
        var o = ChainSyncOptions()
        o.pageSize = 1_000
        let s = ChainSync(client: small, store: store, zones: sync.zones, options: o, logger: Logger(label: "test"))
        try await s.syncOnce(tip: try client.blockCount())
        #expect(store.responder?.snapshot.chain?.count == 40)
    }

    @Test func valuesCutShortByNameFilterAreReadWithNameShow() async throws {
        let long = (0..<20).map { "E2U+sip=100|\($0)|!^.*$!sip:user\($0)@a-long-host.example!" }.joined(separator: "\n")
        try node.register("enum:4930123456:0", long)
        try node.mine()
        try await sync.syncOnce(tip: try client.blockCount())
        let chain = try #require(store.responder?.snapshot.chain)
        #expect(chain.records(at: 0).naptrs.count == 20)
    }

    @Test func aFailedSyncPublishesNothing() async throws {
        try node.register("enum:4930123456:0", "E2U+sip=100|10|!^.*$!sip:u@x!")
        try node.mine()
        try await sync.syncOnce(tip: try client.blockCount())
        let before = try #require(store.responder)
        for mode in ["garbage", "http500", "truncated", "ibd", "warmup", "down"] {
            try node.fault(mode)
            try node.mine()
            await #expect(throws: (any Error).self) { try await sync.syncOnce(tip: 1002) }
            #expect(store.responder === before, "\(mode)")
            try node.fault("none")
        }
    }

    @Test func ownersAndTxidsComeFromNameShowOnceUntilTheNameChanges() async throws {
        let reply = try node.control(["op": "register", "name": "enum:4930123456:0", "value": "E2U+sip=100|10|!^.*$!sip:u@x!", "days": 30])
        try node.register("enum:4930999999:0", "E2U+sip=100|10|!^.*$!sip:v@x!")
        try node.mine()
        try await sync.syncOnce(tip: try client.blockCount())
        let details = try #require(sync.details)
        #expect(try details.count == 0 && (node.calls()["name_show"] ?? 0) == 0)  // none until asked
        let d = try #require(await details.detail(for: "enum:4930123456:0"))
        #expect(d.address == reply["address"] as? String && d.txid == reply["txid"] as? String)
        _ = await details.detail(for: "enum:4930999999:0")
        #expect(try details.count == 2 && (node.calls()["name_show"] ?? 0) == 2)
        _ = await details.detail(for: "enum:4930123456:0")  // cached
        #expect(try node.calls()["name_show"] == 2)

        try node.mine()  // nothing changed: the cache stays
        try await sync.syncOnce(tip: try client.blockCount())
        #expect(details.count == 2)

        try node.update("enum:4930999999:0", "E2U+sip=100|10|!^.*$!sip:changed@x!")
        try node.mine()
        try await sync.syncOnce(tip: try client.blockCount())
        #expect(details.cached("enum:4930999999:0") == nil && details.cached("enum:4930123456:0") != nil)
        _ = await details.detail(for: "enum:4930999999:0")
        #expect(try node.calls()["name_show"] == 3)

        try node.fault("down")  // a failing node is not asked again for a while, and says nothing
        #expect(await details.detail(for: "enum:4930000000:0") == nil)
        try node.fault("none")
        #expect(await details.detail(for: "enum:4930000001:0") == nil)
        #expect(try node.calls()["name_show"] == 3)
    }
}

func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}
