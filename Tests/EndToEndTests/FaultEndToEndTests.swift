import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 7's faults with the real binary: SIGTERM while a sync is in flight leaves a state file
/// that a restart (with the node down) serves.
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
}
