import DNSServer
import DNSWire
import ENUMCore
import Foundation
import Testing
@testable import ChainSync

let repoRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

func item(_ name: String, _ value: String, expiresAt: Int = 5000) -> NVSItem {
    NVSItem(name: Array(name.utf8), value: Array(value.utf8), expiresAt: expiresAt)
}

@Suite struct StateFileTests {
    let items = [
        item("enum:1234567890:0", "E2U+sip=100|10|!^.*$!sip:a@b!\nTTL=60"),
        item("enum:1234567890:1", "E2U+pstn:tel=100|20|!^.*$!tel:+1234567890!"),
        item("enum:0.9.8.7.6.5.4.3.2.1.e164.arpa", "!^.*$!sip:seed@example.com!"),
        item("enum:4930123456:0", "E2U+sip=10|10|!^(.*)$!sip:\\1@x!"),
    ]
    var table: NumberTable { NumberTable.build(ChainRecords.build(items, height: 4_000, defaultTTL: 3600)) }

    @Test func roundTrip() throws {
        let t = table
        let decoded = try StateFile.decode(StateFile.encode(t))
        #expect(decoded.height == 4_000 && decoded.count == 2)
        for i in 0..<t.count { #expect(decoded.records(at: i) == t.records(at: i)) }
        #expect(decoded.records(at: 0).names == ["enum:1234567890:0", "enum:1234567890:1", "enum:0.9.8.7.6.5.4.3.2.1.e164.arpa"])
        #expect(decoded.records(at: 0).seedIndex == [nil, nil, 0])
    }

    @Test func everyTruncationAndEveryFlippedByteIsRefused() throws {
        let data = StateFile.encode(table)
        for cut in 0..<data.count {
            #expect(throws: StateFileError.self) { try StateFile.decode(Array(data.prefix(cut))) }
        }
        for i in 0..<data.count {
            var d = data
            d[i] ^= 0x40
            #expect(throws: StateFileError.self) { try StateFile.decode(d) }
        }
    }

    @Test func aWellSealedButInconsistentTableIsRefused() throws {
        // Right checksum, wrong structure: a rendered record length pointing past its number.
        var data = StateFile.encode(table)
        let body = data.count - 8
        let answersAt = 8 + 16 + 8 + Int(table.keys.storage.arena.count) + (table.count + 1) * 4 + 8
        data[answersAt + 11] &+= 1
        data.replaceSubrange(body..<data.count, with: withUnsafeBytes(of: StateFile.hash(data[0..<body]).littleEndian, Array.init))
        #expect(throws: StateFileError.corrupt("answer 0 is cut short")) { try StateFile.decode(data) }

        // The same for the metadata: a name kind that does not exist.
        var data2 = StateFile.encode(table)
        let metaAt = answersAt + table.answers.count + (table.count + 1) * 4 + table.count + 8
        data2[metaAt + 5] = 9
        data2.replaceSubrange(body..<data2.count, with: withUnsafeBytes(of: StateFile.hash(data2[0..<body]).littleEndian, Array.init))
        #expect(throws: StateFileError.corrupt("metadata 0 has an unknown name kind")) { try StateFile.decode(data2) }
    }

    @Test func writeIsAtomicAndReadable() throws {
        let dir = NSTemporaryDirectory() + "enumd-state-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try StateFile.read(directory: dir) == nil)
        try StateFile.write(table, directory: dir)
        let one = NumberTable.build(ChainRecords.build(Array(items.prefix(1)), height: 10, defaultTTL: 3600))
        try StateFile.write(one, directory: dir)
        let r = try #require(try StateFile.read(directory: dir))
        #expect(r.height == 10 && r.count == 1)
        #expect(!FileManager.default.fileExists(atPath: StateFile.path(in: dir) + ".tmp"))
        // A damaged file is reported, not trusted; so is one from the older item format.
        FileManager.default.createFile(atPath: StateFile.path(in: dir), contents: Data("ENUMDST2garbage-garbage-garbage-garbage".utf8))
        #expect(throws: StateFileError.self) { try StateFile.read(directory: dir) }
        FileManager.default.createFile(atPath: StateFile.path(in: dir), contents: Data("ENUMDST1garbage-garbage-garbage-garbage".utf8))
        #expect(throws: StateFileError.corrupt("\(StateFile.path(in: dir)): written by an older enumd (format 1)")) { try StateFile.read(directory: dir) }
    }

    @Test func unwritableDirectoryIsAnError() {
        #expect(throws: StateFileError.self) { try StateFile.write(table, directory: "/nonexistent-dir") }
    }
}

@Suite struct SnapshotBuilderTests {
    func demoZone() throws -> Zone { try ZoneFile.load(path: repoRoot + "/zones/e164.arpa.zone") }

    func ask(_ snapshot: Snapshot, _ name: String, _ type: RRType = .naptr) throws -> DecodedPacket {
        let responder = Responder(snapshot: snapshot)
        let q = try DecodedPacket.query(name: name, type: type)
        var out = [UInt8](repeating: 0, count: 65535)
        let n = q.withUnsafeBytes { qb in out.withUnsafeMutableBytes { responder.respond(to: qb, transport: .tcp, into: $0) } }
        return try DecodedPacket(Array(out[0..<n]))
    }

    @Test func chainNumbersJoinTheZoneAndTheSerialFollowsTheChain() throws {
        let chain = ChainRecords.build([
            item("enum:4915123456789:0", "E2U+sip=100|10|!^.*$!sip:chain@x!\nTTL=120"),
            item("enum:1234567890:0", "E2U+sip=1|1|!^.*$!sip:override@x!"),   // the zone file has this name
        ], height: 4242, defaultTTL: 3600)
        let s = try SnapshotBuilder.build(zones: [demoZone()], chain: chain, builtAt: 0, stale: false)
        let a = try ask(s, "9.8.7.6.5.4.3.2.1.5.1.9.4.e164.arpa.")
        #expect(a.rcode == 0 && a.answer == ["9.8.7.6.5.4.3.2.1.5.1.9.4.e164.arpa.\t120\tIN\tNAPTR\t100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:chain@x!\" ."])
        let staticName = try ask(s, "0.9.8.7.6.5.4.3.2.1.e164.arpa.")
        #expect(staticName.answer.count == 3 && !staticName.answer.joined().contains("override"))
        let soa = try ask(s, "e164.arpa.", .soa)
        #expect(soa.answer.first?.contains(" 4242 7200 3600 1209600 300") == true)
        #expect(s.chainHeight == 4242 && !s.stale)
        // The parents of a chain number are empty non-terminals.
        #expect(try ask(s, "5.1.9.4.e164.arpa.").rcode == 0)
    }

    @Test func theChainNeedsAnE164Zone() throws {
        let other = try Zone(apex: DomainName(parsing: "example."), records: [
            ResourceRecord(owner: try DomainName(parsing: "example."), type: .soa, ttl: 1, rdata: [0, 0] + [UInt8](repeating: 0, count: 20)),
            ResourceRecord(owner: try DomainName(parsing: "example."), type: .ns, ttl: 1, rdata: [0]),
        ])
        #expect(throws: SyncError.noE164Zone) {
            try SnapshotBuilder.build(zones: [other], chain: ChainRecords.build([], height: 1, defaultTTL: 1), builtAt: 0, stale: false)
        }
    }

    @Test func naptrWireFormMatchesWhatLibldnsParsesFromText() throws {
        let naptrs = [
            NAPTR(order: 100, preference: 10, services: "E2U+sip", regexp: "!^.*$!sip:a@b!"),
            NAPTR(order: 65535, preference: 0, flags: "", services: "E2U+pstn:tel", regexp: "!^(.*)$!tel:\\1;x=é!"),
            NAPTR(order: 1, preference: 2, flags: "s", services: "SIP+D2U", regexp: "", replacement: try DomainName(parsing: "_sip._udp.Example.COM.")),
        ]
        #expect(naptrs[0].wire == [0, 100, 0, 10, 1, 117, 7] + Array("E2U+sip".utf8) + [14] + Array("!^.*$!sip:a@b!".utf8) + [0])
        let path = NSTemporaryDirectory() + "naptr-\(UUID().uuidString).zone"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = ["$ORIGIN e164.arpa.", "@ 60 IN SOA ns. host. 1 2 3 4 5"] + naptrs.enumerated().map { i, n in
            let q = { (s: String) in "\"" + s.replacingOccurrences(of: "\\", with: "\\\\") + "\"" }
            return "\(i) 60 IN NAPTR \(n.order) \(n.preference) \(q(n.flags)) \(q(n.services)) \(q(n.regexp)) \(n.replacement)"
        }
        try text.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let parsed = try ZoneFile.readRecords(path: path).records.map(\.record).filter { $0.type == .naptr }
        #expect(parsed.map(\.rdata) == naptrs.map(\.wire))
    }
}
