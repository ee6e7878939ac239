import CLDNS

/// HMAC-SHA256 (RFC 2104 over FIPS 180-4 SHA-256), for TSIG (RFC 8945 section 6). The hash is
/// libldns's own `ldns_sha256_*` (always built, with or without OpenSSL), so no other C library
/// is linked. Keys longer than the 64-octet block are hashed first, as RFC 2104 section 2 says.
public enum HMACSHA256 {
    public static let length = 32

    public static func sha256(_ parts: [[UInt8]]) -> [UInt8] {
        var ctx = ldns_sha256_CTX()
        ldns_sha256_init(&ctx)
        for p in parts { p.withUnsafeBufferPointer { ldns_sha256_update(&ctx, $0.baseAddress, $0.count) } }
        var out = [UInt8](repeating: 0, count: length)
        out.withUnsafeMutableBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: length) { ldns_sha256_final($0, &ctx) }
        }
        return out
    }

    /// The MAC of the concatenation of `message` parts under `key`.
    public static func mac(key: [UInt8], message: [[UInt8]]) -> [UInt8] {
        var k = key.count > 64 ? sha256([key]) : key
        k += [UInt8](repeating: 0, count: 64 - k.count)
        let inner = sha256([k.map { $0 ^ 0x36 }] + message)
        return sha256([k.map { $0 ^ 0x5c }, inner])
    }
}
