import Synchronization

/// Query counts by transport and rcode, and a histogram of the time from receiving a query to
/// handing its reply to the kernel. Workers count locally and add their counts here once per
/// batch, so the hot path takes no lock per query. Read by the metrics endpoint.
public final class DNSStatistics: Sendable {
    /// Upper bounds of the latency buckets, in microseconds.
    public static let latencyBucketsMicroseconds: [Int] = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]
    /// Header rcodes counted by name; anything else is "other" (BADVERS, an extended rcode, shows
    /// as NOERROR in the header and is counted so). `dropped` counts queries that got no reply at
    /// all (garbage, QR set).
    public static let rcodeNames = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "other", "dropped"]

    public struct Counts: Sendable, Equatable {
        /// [transport: 0 udp, 1 tcp][rcode slot, see `rcodeNames`]
        public var queries = [[Int]](repeating: [Int](repeating: 0, count: 8), count: 2)
        /// Cumulative bucket counts are computed when written; these are per bucket, plus +Inf last.
        public var latencyBuckets = [Int](repeating: 0, count: 11)
        public var latencySumSeconds = 0.0
        public var latencyCount = 0
        public init() {}

        /// Zeroes in place, keeping the arrays (no allocation in the workers' loop).
        mutating func reset() {
            for t in 0..<2 { for r in 0..<8 { queries[t][r] = 0 } }
            for b in 0..<latencyBuckets.count { latencyBuckets[b] = 0 }
            latencySumSeconds = 0
            latencyCount = 0
        }

        mutating func add(_ o: Counts) {
            for t in 0..<2 { for r in 0..<8 { queries[t][r] += o.queries[t][r] } }
            for b in 0..<latencyBuckets.count { latencyBuckets[b] += o.latencyBuckets[b] }
            latencySumSeconds += o.latencySumSeconds
            latencyCount += o.latencyCount
        }

        /// Counts one reply (or none) from its bytes.
        @inline(__always)
        mutating func count(transport: Transport, reply: UnsafeRawBufferPointer, length: Int) {
            let slot: Int
            if length < 12 { slot = 7 } else {
                let rcode = Int(reply[3] & 0x0F)
                slot = rcode <= 5 ? rcode : 6
            }
            queries[transport == .udp ? 0 : 1][slot] += 1
        }

        @inline(__always)
        mutating func observe(latencyMicroseconds us: Int, queries n: Int) {
            var b = 0
            while b < DNSStatistics.latencyBucketsMicroseconds.count && us > DNSStatistics.latencyBucketsMicroseconds[b] { b += 1 }
            latencyBuckets[b] += n
            latencySumSeconds += Double(us) / 1e6 * Double(n)
            latencyCount += n
        }
    }

    private let totals = Mutex(Counts())

    public init() {}

    func add(_ local: inout Counts) {
        totals.withLock { $0.add(local) }
        local.reset()
    }

    public var counts: Counts { totals.withLock { $0 } }
}
