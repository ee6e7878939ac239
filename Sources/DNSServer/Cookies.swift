#if canImport(Glibc)
import Glibc
#endif

/// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), the MAC that
/// RFC 9018 section 4.4 names for interoperable DNS server cookies. 64-bit output, 128-bit key.
/// No allocation: the message is read from a raw buffer.
struct SipHash24 {
    let k0: UInt64, k1: UInt64

    init(k0: UInt64, k1: UInt64) { self.k0 = k0; self.k1 = k1 }

    /// The key from 16 octets, little-endian halves as in the reference implementation.
    init(key: UnsafeRawBufferPointer) {
        k0 = key.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        k1 = key.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
    }

    func hash(_ m: UnsafeRawBufferPointer) -> UInt64 {
        var v0: UInt64 = 0x736f6d6570736575 ^ k0
        var v1: UInt64 = 0x646f72616e646f6d ^ k1
        var v2: UInt64 = 0x6c7967656e657261 ^ k0
        var v3: UInt64 = 0x7465646279746573 ^ k1
        @inline(__always) func round() {
            v0 &+= v1; v1 = (v1 << 13) | (v1 >> 51); v1 ^= v0; v0 = (v0 << 32) | (v0 >> 32)
            v2 &+= v3; v3 = (v3 << 16) | (v3 >> 48); v3 ^= v2
            v0 &+= v3; v3 = (v3 << 21) | (v3 >> 43); v3 ^= v0
            v2 &+= v1; v1 = (v1 << 17) | (v1 >> 47); v1 ^= v2; v2 = (v2 << 32) | (v2 >> 32)
        }
        let n = m.count
        var i = 0
        while i + 8 <= n {
            let w = m.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian
            v3 ^= w; round(); round(); v0 ^= w
            i += 8
        }
        var last = UInt64(truncatingIfNeeded: n) << 56
        var shift: UInt64 = 0
        while i < n { last |= UInt64(m[i]) << shift; shift += 8; i += 1 }
        v3 ^= last; round(); round(); v0 ^= last
        v2 ^= 0xFF
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

/// A client's address as the octets that DNS Cookies and RRL use: 4 for IPv4 (and IPv4-mapped
/// IPv6), 16 for IPv6. Fixed size, no allocation.
public struct ClientAddress: Sendable, Equatable {
    public static func == (a: ClientAddress, b: ClientAddress) -> Bool {
        a.length == b.length && a.bytes == b.bytes
    }
    public var bytes: (UInt64, UInt64) = (0, 0)
    /// 4 or 16.
    public var length: Int = 0

    public init() {}

    public init(ipv4 octets: (UInt8, UInt8, UInt8, UInt8)) {
        var a = ClientAddress()
        withUnsafeMutableBytes(of: &a.bytes) { b in b[0] = octets.0; b[1] = octets.1; b[2] = octets.2; b[3] = octets.3 }
        a.length = 4
        self = a
    }

    public init(ipv6 octets: [UInt8]) {
        precondition(octets.count == 16)
        var a = ClientAddress()
        withUnsafeMutableBytes(of: &a.bytes) { b in for i in 0..<16 { b[i] = octets[i] } }
        a.length = 16
        self = a
    }

    /// From a socket address; IPv4-mapped IPv6 addresses count as IPv4.
    init(_ storage: UnsafeRawPointer) {
        var a = ClientAddress()
        let family = storage.load(as: sa_family_t.self)
        if family == sa_family_t(AF_INET) {
            let sin = storage.load(as: sockaddr_in.self)
            withUnsafeMutableBytes(of: &a.bytes) { b in
                withUnsafeBytes(of: sin.sin_addr) { b.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 4) }
            }
            a.length = 4
        } else if family == sa_family_t(AF_INET6) {
            let sin6 = storage.load(as: sockaddr_in6.self)
            withUnsafeMutableBytes(of: &a.bytes) { b in
                withUnsafeBytes(of: sin6.sin6_addr) { b.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 16) }
                let mapped = (0..<10).allSatisfy { b[$0] == 0 } && b[10] == 0xFF && b[11] == 0xFF
                if mapped { for i in 0..<4 { b[i] = b[12 + i] }; for i in 4..<16 { b[i] = 0 } }
                a.length = mapped ? 4 : 16
            }
        }
        self = a
    }
}

/// DNS Cookies on the server side (RFC 7873), with interoperable server cookies (RFC 9018).
///
/// The server cookie is 16 octets: Version (1), Reserved (3 zero octets), Timestamp (32-bit
/// seconds since 1970, serial-number arithmetic), Hash (8 octets) =
/// SipHash-2-4(key, Client Cookie | Version | Reserved | Timestamp | Client IP) (RFC 9018
/// section 4). A cookie is accepted when its hash verifies and its timestamp is at most an hour
/// old and at most five minutes in the future (RFC 9018 section 4.3).
///
/// The key rotates every `rotation` seconds without any shared mutable state: each period's key
/// is SipHash-2-4 of the period number under a 128-bit master secret drawn from `getrandom` at
/// start, so the hot path reads immutable data only. A cookie is checked with the key of the
/// period its timestamp falls in, so the previous key keeps working for cookies issued before a
/// rotation (RFC 7873 section 7.1: "accept cookies generated with the old secret for a while").
public final class ServerCookies: Sendable {
    private let master: SipHash24
    /// Seconds per key period. Default 3600 (hourly, as the issue and RFC 7873 section 7.1 suggest).
    public let rotation: UInt32
    /// For tests: the wall clock in seconds; nil reads `time()`.
    let clock: (@Sendable () -> UInt32)?

    public init(rotation: UInt32 = 3600) {
        master = SipHash24(k0: randomUInt64(), k1: randomUInt64())  // 128-bit secret, getrandom(2)
        self.rotation = max(1, rotation)
        clock = nil
    }

    init(k0: UInt64, k1: UInt64, rotation: UInt32 = 3600, clock: @escaping @Sendable () -> UInt32) {
        master = SipHash24(k0: k0, k1: k1)
        self.rotation = max(1, rotation)
        self.clock = clock
    }

    @inline(__always)
    var now: UInt32 { clock?() ?? UInt32(truncatingIfNeeded: time(nil)) }

    /// The key of the period `timestamp` falls in.
    @inline(__always)
    func key(for timestamp: UInt32) -> SipHash24 {
        var period = UInt64(timestamp / rotation).littleEndian
        let a = withUnsafeBytes(of: &period) { master.hash($0) }
        var period2 = (UInt64(timestamp / rotation) | 1 << 63).littleEndian
        let b = withUnsafeBytes(of: &period2) { master.hash($0) }
        return SipHash24(k0: a, k1: b)
    }

    /// The 8-octet hash of a server cookie (RFC 9018 section 4.4), as it appears on the wire.
    func mac(clientCookie: UnsafeRawBufferPointer, timestamp: UInt32, client: ClientAddress) -> UInt64 {
        Self.hash(key: key(for: timestamp), clientCookie: clientCookie, timestamp: timestamp, client: client)
    }

    /// SipHash-2-4(key, Client Cookie | Version 1 | Reserved (3) | Timestamp | Client IP), the
    /// RFC 9018 section 4.4 hash, in the octet order the reference implementation outputs.
    static func hash(key: SipHash24, clientCookie: UnsafeRawBufferPointer, timestamp: UInt32,
                     client: ClientAddress) -> UInt64 {
        var input: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &input) { b in
            b.baseAddress!.copyMemory(from: clientCookie.baseAddress!, byteCount: 8)
            b[8] = 1; b[9] = 0; b[10] = 0; b[11] = 0
            b[12] = UInt8(timestamp >> 24); b[13] = UInt8((timestamp >> 16) & 0xFF)
            b[14] = UInt8((timestamp >> 8) & 0xFF); b[15] = UInt8(timestamp & 0xFF)
            var ip = client.bytes
            withUnsafeBytes(of: &ip) { (b.baseAddress! + 16).copyMemory(from: $0.baseAddress!, byteCount: client.length) }
            return key.hash(UnsafeRawBufferPointer(rebasing: b[0..<(16 + client.length)]))
        }
    }

    /// Whether the cookie option `option` (client cookie then server cookie, 16 to 40 octets)
    /// carries a server cookie this server made for this client within its lifetime.
    func isValid(option: UnsafeRawBufferPointer, client: ClientAddress) -> Bool {
        guard option.count == 24, option[8] == 1, option[9] == 0, option[10] == 0, option[11] == 0 else { return false }
        let ts = UInt32(option[12]) << 24 | UInt32(option[13]) << 16 | UInt32(option[14]) << 8 | UInt32(option[15])
        let now = self.now
        // RFC 9018 section 4.3: not older than 1 hour, not more than 5 minutes in the future
        // (serial-number arithmetic, RFC 1982).
        let age = Int32(bitPattern: now &- ts)
        guard age <= 3600, age >= -300 else { return false }
        let expected = mac(clientCookie: UnsafeRawBufferPointer(rebasing: option[0..<8]), timestamp: ts, client: client)
        let got = option.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        return got == expected
    }

    /// A fresh server cookie for `clientCookie` (8 octets): the 16 octets RFC 9018 defines.
    func make(clientCookie: UnsafeRawBufferPointer, client: ClientAddress) -> (UInt64, UInt64) {
        let ts = now
        var out: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &out) { b in
            b[0] = 1; b[1] = 0; b[2] = 0; b[3] = 0
            b[4] = UInt8(ts >> 24); b[5] = UInt8((ts >> 16) & 0xFF); b[6] = UInt8((ts >> 8) & 0xFF); b[7] = UInt8(ts & 0xFF)
            b.storeBytes(of: mac(clientCookie: clientCookie, timestamp: ts, client: client), toByteOffset: 8, as: UInt64.self)
        }
        return out
    }
}

/// 64 bits from the kernel's CSPRNG: the standard library's SystemRandomNumberGenerator is
/// getrandom(2) on Linux (arc4random on Darwin).
func randomUInt64() -> UInt64 {
    var g = SystemRandomNumberGenerator()
    return g.next()
}
