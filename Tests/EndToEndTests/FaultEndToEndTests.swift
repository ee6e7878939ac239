import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 7's faults with the real binary: SIGTERM while a sync is in flight leaves a state file
/// that a restart (with the node down) serves; a full state directory is reported, the new data
/// served anyway, and the files written as soon as space frees.
@Suite(.serialized) struct FaultEndToEndTests {
    @Test func sigtermDuringASyncLeavesAValidStateFile() throws {
        let node = try FakeNode()
        try node.control(["op": "bulk", "count": 20_000, "seed": 7, "convention": "mixed", "days": 365])
        try node.mine()
        let dir = NSTemporaryDirectory() + "enumd-sigterm-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["--poll-interval", "1", "--state-dir", dir]
        do {
            let s = try EnumdServer(args + node.serveArguments, chain: true)
            #expect(eventually(60) { s.stderrText.contains("synced height 1001") })
            #expect(eventually(10) { FileManager.default.fileExists(atPath: dir + "/chain.state") })
            #expect(s.stop() == 0)
        }
        // A new block with changes: each time, SIGTERM lands at a different point of the sync
        // that follows (reading names, building, writing the state file).
        for (i, delay) in [0.3, 0.8, 1.5, 2.5].enumerated() {
            let s = try EnumdServer(args + node.serveArguments, chain: true)
            try node.control(["op": "bulk", "count": 500, "seed": 100 + i, "convention": "mixed", "days": 365])
            try node.mine()
            usleep(useconds_t(delay * 1_000_000))
            #expect(s.stop() == 0, "exit status after SIGTERM at +\(delay) s")
            #expect(!FileManager.default.fileExists(atPath: dir + "/chain.state.tmp"), "no half-written file left")
        }
        // The node is gone; the state file must load.
        try node.fault("down")
        let warm = try EnumdServer(args + node.serveArguments, chain: true)
        #expect(warm.stderrText.contains("serving the saved snapshot of height 100"), "\(warm.stderrText)")
        #expect(!warm.stderrText.contains("state file not used"))
        #expect(warm.stop() == 0)
    }

    /// The state directory is a 512 KiB tmpfs, mounted in a mount namespace of enumd's own
    /// (`unshare -m`, so root only) and filled to the last block through `/proc/PID/root`.
    /// A block arriving then is served although neither file can be written; the error is logged
    /// once with the reason; nothing half-written stays. When space frees, the next poll writes
    /// both files without waiting for a block, and a restart from a copy of them serves the data.
    @Test(.enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"),
                   "needs root for unshare -m and a tmpfs"))
    func fullStateDirectoryKeepsServingAndCatchesUp() throws {
        let node = try FakeNode()
        try node.register("enum:4930111111:0", "E2U+sip=100|10|!^.*$!sip:first@example.net!")
        try node.mine()
        let dir = NSTemporaryDirectory() + "enumd-full-\(UUID().uuidString)"
        let copy = dir + "-copy"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: copy) }
        let mountAndRun = #"mount -t tmpfs -o size=512k,mode=0700 enumd-full "$0" && exec "$@""#
        let s = try EnumdServer(["--poll-interval", "1", "--state-dir", dir] + node.serveArguments, chain: true,
                                wrapper: ["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", mountAndRun, dir])
        defer { s.stop() }
        // The tmpfs as enumd sees it (the test's own namespace sees the empty directory).
        let inside = "/proc/\(s.process.processIdentifier)/root" + dir
        #expect(eventually(30) { FileManager.default.fileExists(atPath: inside + "/chain.state") })
        #expect(!FileManager.default.fileExists(atPath: dir + "/chain.state"), "the state directory is enumd's own tmpfs")

        // Fill it: write until ENOSPC.
        let fd = open(inside + "/filler", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        let block = [UInt8](repeating: 0x5A, count: 4096)
        var filled = 0
        while filled < 4 << 20, block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == block.count { filled += 4096 }
        #expect(errno == ENOSPC, "the tmpfs filled up (\(filled) octets)")
        close(fd)

        try node.register("enum:4930222222:0", "E2U+sip=100|10|!^.*$!sip:second@example.net!")
        try node.mine()
        let second = ["2.2.2.2.2.2.0.3.9.4.e164.arpa.", "NAPTR"]
        #expect(eventually(30) { (try? dig(s.port, second))?.answer.contains { $0.contains("sip:second@example.net") } == true },
                "the new block is served although the state directory is full")
        #expect(eventually(10) { s.stderrText.contains("No space left on device") }, "\(s.stderrText)")
        #expect(s.stderrText.contains("cannot save the snapshot of height 1002"))
        usleep(2_500_000)  // two more polls: retried, but not logged again
        #expect(s.stderrText.components(separatedBy: "cannot save the snapshot").count == 2, "logged once")
        #expect(s.stderrText.components(separatedBy: "cannot save the zone serials").count == 2, "logged once")
        #expect(!FileManager.default.fileExists(atPath: inside + "/chain.state.tmp"), "nothing half-written left")

        // Space frees: the next poll writes both files, no block needed.
        try FileManager.default.removeItem(atPath: inside + "/filler")
        #expect(eventually(10) { s.stderrText.contains("saved the snapshot of height 1002") && s.stderrText.contains("saved the zone serials") },
                "\(s.stderrText)")
        for f in ["chain.state", "zone.serials"] {
            try FileManager.default.copyItem(atPath: inside + "/" + f, toPath: copy + "/" + f)
        }
        #expect(s.stop() == 0)

        // The copy, with the node gone, serves the second number.
        try node.fault("down")
        let warm = try EnumdServer(["--state-dir", copy] + node.serveArguments, chain: true)
        defer { warm.stop() }
        #expect(warm.stderrText.contains("serving the saved snapshot of height 1002"), "\(warm.stderrText)")
        let answer = try dig(warm.port, second)
        #expect(answer.answer.contains { $0.contains("sip:second@example.net") }, "\(answer)")
    }
}
