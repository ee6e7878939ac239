import DNSServer
import DNSWire
import EmercoinRPC
import ENUMCore
import Foundation
import Logging
import Testing
import TestSupport
@testable import ChainSync

/// Issue 7's faults, in-process against the fake emercoind: a node answering with a 100 MB body,
/// and a state directory that cannot be written and then can.
@Suite struct FaultTests {
    let node: FakeNode
    let client: RPCClient
    let store: StateStore
    let zone: Zone

    init() throws {
        node = try FakeNode()
        let creds = RPCCredentials(user: node.user, password: node.password, source: "test")
        client = try RPCClient(url: "http://127.0.0.1:\(node.rpcPort)/", credentials: creds)
        zone = try ZoneFile.load(path: repoRoot + "/zones/e164.arpa.zone")
        store = StateStore(Responder(snapshot: try Snapshot(zones: [zone])))
    }

    func sync(stateDirectory: String? = nil) -> ChainSync {
        var o = ChainSyncOptions()
        o.stateDirectory = stateDirectory
        return ChainSync(client: client, store: store, zones: [zone], options: o, logger: Logger(label: "test"))
    }

    /// The fake's `huge` fault answers with a 100 MB body: the read stops at the transport's limit
    /// (HTTPTransportOptions.maxBodyBytes, 64 MiB), the sync fails, the old snapshot stays, and the
    /// next sync after the fault works.
    @Test func hugeReplyIsBoundedAndTheOldSnapshotKept() async throws {
        try node.register("enum:4930123456:0", "E2U+sip=100|10|!^.*$!sip:u@x!")
        try node.mine()
        let s = sync()
        try await s.syncOnce(tip: try client.blockCount())
        let before = try #require(store.responder)
        try node.fault("huge")
        try node.mine()
        do {
            try await s.syncOnce(tip: 1002)
            Issue.record("a 100 MB reply was accepted")
        } catch {
            #expect("\(error)".contains("larger than") || "\(error)".contains("too large"), "\(error)")
        }
        #expect(store.responder === before)
        try node.fault("none")
        try await s.syncOnce(tip: try client.blockCount())
        #expect(store.responder !== before && store.responder?.snapshot.chain?.height == 1002)
    }

    /// The state file cannot be written (its path is taken by a directory: root ignores
    /// permissions, so chmod cannot simulate this): the new snapshot is served anyway, nothing
    /// half-written is left, and the next sync after the path frees writes the file.
    @Test func unwritableStateDirectoryKeepsServingAndRecovers() async throws {
        let dir = NSTemporaryDirectory() + "enumd-fault-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: StateFile.path(in: dir) + "/blocker", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try node.register("enum:4930123456:0", "E2U+sip=100|10|!^.*$!sip:u@x!")
        try node.mine()
        let s = sync(stateDirectory: dir)
        try await s.syncOnce(tip: try client.blockCount())
        #expect(store.responder?.snapshot.chain?.height == 1001, "served although it could not be saved")
        #expect(!FileManager.default.fileExists(atPath: StateFile.path(in: dir) + ".tmp"))
        #expect(throws: (any Error).self) { try StateFile.read(directory: dir) }

        try FileManager.default.removeItem(atPath: StateFile.path(in: dir))
        // The next poll (no new block) writes what could not be written.
        s.saveState()
        #expect(try StateFile.read(directory: dir)?.height == 1001, "written again at the next poll")
        try node.register("enum:4930123457:0", "E2U+sip=100|10|!^.*$!sip:v@x!")
        try node.mine()
        try await s.syncOnce(tip: try client.blockCount())
        let saved = try #require(try StateFile.read(directory: dir))
        #expect(saved.height == 1002 && saved.count == 2)
    }
}
