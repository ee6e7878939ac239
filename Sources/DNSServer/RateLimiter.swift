import Synchronization

/// What a response was, as response rate limiting classifies it (NSD's rrl.c types; Knot's
/// `rrl` module classes): each kind is limited in its own buckets.
public enum ResponseKind: UInt8, Sendable {
    /// A positive answer; keyed by the query name and type.
    case answer = 1
    /// A positive answer synthesised from a wildcard; keyed by the wildcard's parent (its
    /// closest encloser), so random names under one `*` share a bucket and two wildcards of one
    /// zone do not (NSD's rrl.c keys by `query->wildcard_domain`).
    case wildcard
    /// NOERROR with no data; keyed by the query name.
    case nodata
    /// NXDOMAIN; keyed by the zone, so random-subdomain floods share one bucket (NSD, Knot).
    case nxdomain
    /// A referral; keyed by the zone cut.
    case referral
    /// FORMERR, REFUSED, NOTIMP, BADVERS and the like; keyed by the client prefix alone.
    case error
}

/// What the responder tells the socket layer about a response besides its bytes.
public struct ResponseInfo: Sendable {
    public var kind: ResponseKind = .error
    /// Where the name RRL keys on starts in the question (0: no name).
    public var nameOffset = 0
    public var qtype: UInt16 = 0
    /// End of the question in the query (and in the response); 12 when there is none.
    public var questionEnd = 12
    /// The query carried a client cookie (RFC 7873).
    public var hadClientCookie = false
    /// The query carried a valid server cookie from us: the client has proved its address.
    public var cookieValid = false
    /// Length of the OPT record that ends the response when it carries our COOKIE option; 0 when
    /// it carries none. A slip moves that record behind the question for BADCOOKIE.
    public var cookieOPTLength = 0
    public init() {}
}

/// Response rate limiting in the manner of NSD's and Knot's RRL (Vixie and Schryver's design,
/// "DNS Response Rate Limiting", ISC-TN-2012-1): responses to one client prefix (/24 for IPv4,
/// /56 for IPv6) of one kind for one name may be sent at `rate` per second; past that, every
/// `slip`-th limited response is sent truncated (TC, question only) so that a real client retries
/// over TCP, and the rest are dropped. A spoofed flood then amplifies nothing: the victim gets at
/// most `rate` answers a second per name, and truncated replies no bigger than the query.
///
/// One table per UDP worker thread (each has its own SO_REUSEPORT socket), so no locks and no
/// atomics: the table is a fixed array of buckets allocated once, indexed by a hash of
/// (prefix, kind, type, name); a colliding key takes the bucket over, as in NSD. TCP is never
/// limited (the three-way handshake proves the address).
public final class RateLimiter {
    public struct Configuration: Sendable, Equatable {
        /// Responses per second per bucket; 0 turns RRL off. Default 200 (NSD's `rrl-ratelimit`).
        public var rate: Int = 200
        /// Every `slip`-th limited response is sent truncated; 0 drops all, 1 truncates all.
        /// Default 2 (NSD's `rrl-slip`, Knot's `slip`).
        public var slip: Int = 2
        /// IPv4 prefix length. Default 24 (NSD, Knot).
        public var ipv4Prefix: Int = 24
        /// IPv6 prefix length. Default 56 (Knot; NSD uses 64).
        public var ipv6Prefix: Int = 56
        /// Buckets per table, a power of two. Default 16384 (about 400 KiB per thread).
        public var buckets: Int = 16384
        public init(rate: Int = 200, slip: Int = 2) { self.rate = rate; self.slip = slip }
    }

    public enum Decision: Equatable, Sendable { case send, slip, drop }

    struct Bucket {
        var key: UInt64 = 0
        /// Seconds (monotonic) of the last refill.
        var time: Int = 0
        var tokens: Int = 0
    }

    public let configuration: Configuration
    private let table: UnsafeMutablePointer<Bucket>
    private let mask: Int
    private var slipCounter = 0
    private let hashKey: SipHash24

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        var n = 1
        while n < max(16, configuration.buckets) { n <<= 1 }
        table = .allocate(capacity: n)
        table.initialize(repeating: Bucket(), count: n)
        mask = n - 1
        // A per-table random hash key, so an attacker cannot aim collisions at a victim's bucket.
        hashKey = SipHash24(k0: randomUInt64(), k1: randomUInt64())
    }

    deinit { table.deallocate() }

    /// Decides whether a UDP response may go out. `now` is monotonic seconds. `query` holds the
    /// question the RRL name is read from.
    public func decide(info: ResponseInfo, client: ClientAddress, query: UnsafeRawBufferPointer, now: Int) -> Decision {
        let rate = configuration.rate
        guard rate > 0, !info.cookieValid else { return .send }
        let k = key(info: info, client: client, query: query)
        let b = table + (Int(truncatingIfNeeded: k) & mask)
        if b.pointee.key != k {
            b.pointee = Bucket(key: k, time: now, tokens: rate)
        } else if now != b.pointee.time {
            let elapsed = now - b.pointee.time
            // Refill: `rate` tokens a second, never above one second's worth (no bursts saved up).
            b.pointee.tokens = elapsed > 0 ? min(rate, b.pointee.tokens + elapsed * rate) : b.pointee.tokens
            b.pointee.time = now
        }
        if b.pointee.tokens > 0 {
            b.pointee.tokens -= 1
            return .send
        }
        let slip = configuration.slip
        guard slip > 0 else { return .drop }
        slipCounter += 1
        if slipCounter >= slip { slipCounter = 0; return .slip }
        return .drop
    }

    /// The bucket key: SipHash of prefix | kind | type | lower-cased name.
    @inline(__always)
    func key(info: ResponseInfo, client: ClientAddress, query: UnsafeRawBufferPointer) -> UInt64 {
        // prefix (16) | kind (1) | qtype (2) | name (up to 255): hashed in 8-octet words.
        var buf: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                  UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                  UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                  UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                  UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &buf) { b in
            var ip = client.bytes
            let prefixBits = client.length == 4 ? configuration.ipv4Prefix : configuration.ipv6Prefix
            withUnsafeMutableBytes(of: &ip) { a in
                for i in 0..<16 {
                    let bitsLeft = prefixBits - i * 8
                    a[i] &= bitsLeft >= 8 ? 0xFF : bitsLeft <= 0 ? 0 : UInt8(0xFF << (8 - bitsLeft) & 0xFF)
                }
                b.baseAddress!.copyMemory(from: a.baseAddress!, byteCount: 16)
            }
            b[16] = UInt8(client.length)
            b[17] = info.kind.rawValue
            var n = 18
            if info.kind == .answer || info.kind == .nodata {
                b[n] = UInt8(info.qtype >> 8); b[n + 1] = UInt8(info.qtype & 0xFF); n += 2
            }
            if info.nameOffset >= 12 {
                var p = info.nameOffset
                while p < query.count, query[p] != 0, n + 64 < b.count {
                    let len = Int(query[p])
                    b[n] = UInt8(len); n += 1; p += 1
                    for _ in 0..<len where p < query.count {
                        let c = query[p]
                        b[n] = c >= 0x41 && c <= 0x5A ? c | 0x20 : c
                        n += 1; p += 1
                    }
                }
            }
            return hashKey.hash(UnsafeRawBufferPointer(rebasing: b[0..<n]))
        }
    }

    /// Rewrites the response in `out` (of `length` octets) as what a slip sends, and returns its
    /// length. A client that sent a DNS cookie but no valid server cookie gets BADCOOKIE with a
    /// fresh server cookie (RFC 7873 section 5.2.3 lets server policy "including rate limiting"
    /// choose BADCOOKIE; BIND does so on a slip): it retries over UDP with that cookie and is then
    /// exempt from RRL, with no TCP round trips. Any other client gets the truncated reply.
    public static func slip(_ out: UnsafeMutableRawBufferPointer, length: Int, info: ResponseInfo) -> Int {
        let opt = info.cookieOPTLength
        guard info.hadClientCookie, opt >= 11, length >= 12, info.questionEnd >= 12,
              info.questionEnd + opt <= length, out[4] == 0, out[5] == 1 else {
            return truncate(out, length: length, info: info)
        }
        let end = info.questionEnd
        // The OPT record (with the COOKIE option) is the response's last record: move it behind
        // the question, the only record left.
        if length - opt != end {
            (out.baseAddress! + end).copyMemory(from: out.baseAddress! + length - opt, byteCount: opt)
        }
        // BADCOOKIE is 23: the header holds its low 4 bits, the OPT TTL's first octet the rest
        // (RFC 6891 section 6.1.3). AA is cleared: this answers nothing.
        out[2] &= ~0x04
        out[3] = (out[3] & 0xF0) | UInt8(Rcode.badCookie.rawValue & 0x0F)
        out[end + 5] = UInt8(Rcode.badCookie.rawValue >> 4)
        for i in 6..<10 { out[i] = 0 }
        out[10] = 0; out[11] = 1
        return end + opt
    }

    /// The truncated reply of a slip: the header with TC and the question, no records (NSD's and
    /// Knot's slip). No bigger than the query, so it amplifies nothing. Returns the new length.
    public static func truncate(_ out: UnsafeMutableRawBufferPointer, length: Int, info: ResponseInfo) -> Int {
        guard length >= 12 else { return length }
        let hasQuestion = out[4] != 0 || out[5] != 0
        let end = hasQuestion ? min(info.questionEnd, length) : 12
        out[2] |= 0x02  // TC
        for i in 6..<12 { out[i] = 0 }
        return end
    }
}


/// RRL counts for the metrics: responses dropped and responses sent truncated (slipped).
/// Workers add their per-batch counts with one relaxed atomic add each, only when non-zero.
public final class RRLStatistics: Sendable {
    private let droppedCount = Atomic<Int>(0)
    private let slippedCount = Atomic<Int>(0)
    public init() {}
    public var dropped: Int { droppedCount.load(ordering: .relaxed) }
    public var slipped: Int { slippedCount.load(ordering: .relaxed) }
    func add(dropped: Int, slipped: Int) {
        if dropped > 0 { droppedCount.wrappingAdd(dropped, ordering: .relaxed) }
        if slipped > 0 { slippedCount.wrappingAdd(slipped, ordering: .relaxed) }
    }
}
