import DNSWire
import ENUMCore
import Foundation
import Testing
@testable import ChainSync

/// Serials change exactly when the data does and never go back, across restarts.
@Suite struct ZoneVersionsTests {
    let zone = try! ZoneFile.load(path: repoRoot + "/zones/e164.arpa.zone")

    func snapshot(height: Int, _ items: [NVSItem]) throws -> Snapshot {
        try SnapshotBuilder.build(zones: [zone], chain: ChainRecords.build(items, height: height, defaultTTL: 3600),
                                  builtAt: 0, stale: false)
    }

    let a = item("enum:4915123456789:0", "E2U+sip=100|10|!^.*$!sip:a@example.net!")
    let b = item("enum:4915123456780:0", "E2U+sip=100|10|!^.*$!sip:b@example.net!")

    @Test func aBlockThatChangesNothingKeepsTheSerial() throws {
        let v = ZoneVersions(directory: nil)
        let first = try v.settle(snapshot(height: 1000, [a]), previous: nil)
        #expect(first.snapshot.zones[0].serial == 1000 && first.changes.isEmpty)
        let same = try v.settle(snapshot(height: 1001, [a]), previous: first.snapshot)
        #expect(same.snapshot.zones[0].serial == 1000 && same.changes.isEmpty)
        let changed = try v.settle(snapshot(height: 1005, [a, b]), previous: same.snapshot)
        #expect(changed.snapshot.zones[0].serial == 1005)
        #expect(changed.changes.count == 1 && changed.changes[0].change.fromSerial == 1000 && changed.changes[0].change.toSerial == 1005)
        #expect(changed.changes[0].change.diff.added.count == 1 && changed.changes[0].change.diff.deleted.isEmpty)
        // A reorg to a lower height with other data still moves the serial forward.
        let reorg = try v.settle(snapshot(height: 1003, [b]), previous: changed.snapshot)
        #expect(reorg.snapshot.zones[0].serial == 1006 && reorg.changes[0].change.diff.deleted.count == 1)
    }

    @Test func theSerialSurvivesARestart() throws {
        let dir = NSTemporaryDirectory() + "enumd-versions-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let v = ZoneVersions(directory: dir)
        let s1 = try v.settle(snapshot(height: 1000, [a]), previous: nil).snapshot
        let s2 = try v.settle(snapshot(height: 1010, [a]), previous: s1).snapshot
        try v.save(s2)
        #expect(s2.zones[0].serial == 1000)
        // Restarted: same data at a later height keeps 1000; other data at a lower height gets 1001.
        let restarted = ZoneVersions(directory: dir)
        #expect(try restarted.settle(snapshot(height: 1020, [a]), previous: nil).snapshot.zones[0].serial == 1000)
        #expect(try restarted.settle(snapshot(height: 900, [a, b]), previous: nil).snapshot.zones[0].serial == 1001)
        // A damaged file is an error that names the line.
        _ = FileManager.default.createFile(atPath: dir + "/" + ZoneVersions.fileName, contents: Data("e164.arpa. x y\n".utf8))
        #expect(throws: StateFileError.self) { try restarted.load() }
    }
}
