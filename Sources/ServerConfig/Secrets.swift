#if canImport(Glibc)
import Glibc
#endif

/// Secrets enumd makes (the register token of `enumd gen-token`; DNS cookie secrets and TSIG keys
/// should come from here too) are read from the kernel's CSPRNG, never from a seeded PRNG.
///
/// glibc's `getentropy(3)` is `getrandom(2)` with no flags (Swift's Glibc module does not export
/// <sys/random.h>, and `getentropy` is in <unistd.h>): it blocks until the kernel's CRNG is
/// initialized and then never blocks, and it is not a file, so it works in a chroot or a
/// sandbox without /dev (the unit's PrivateDevices=yes). It returns at most 256 bytes a call.
public enum Secret {
    /// `count` bytes from the kernel CSPRNG.
    public static func randomBytes(_ count: Int) throws(SecretError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = min(256, count - done)
            let rc = out.withUnsafeMutableBytes { getentropy($0.baseAddress! + done, n) }
            if rc != 0 {
                if errno == EINTR { continue }
                throw .getrandom(errno: errno)
            }
            done += n
        }
        return out
    }

    /// A bearer token: `bytes` random bytes (default 32, 256 bits) as unpadded base64url
    /// (RFC 4648 section 5), safe in a config line, a header and a shell.
    public static func token(bytes: Int = 32) throws(SecretError) -> String {
        base64url(try randomBytes(bytes))
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(v >> 18 & 63)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], alphabet[Int(v & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let v = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out += [alphabet[Int(v >> 18 & 63)], alphabet[Int(v >> 12 & 63)]]
            if rest == 2 { out.append(alphabet[Int(v >> 6 & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

public enum SecretError: Error, Equatable, CustomStringConvertible {
    case getrandom(errno: Int32)
    public var description: String {
        switch self {
        case .getrandom(let e): return "getrandom failed: \(String(cString: strerror(e)))"
        }
    }
}
