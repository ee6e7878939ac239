#if canImport(Glibc)
import Glibc
#endif

/// An IP address and port to listen on, written `HOST:PORT` or `[IPv6]:PORT`.
/// Port 0 asks the kernel for a free port; `SocketAddress.bound` tells which one it gave.
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) { self.host = host; self.port = port }

    public init(parsing text: String) throws(ListenAddressError) {
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"),
                  text[text.index(after: close)...].hasPrefix(":") else { throw .syntax(text) }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { throw .syntax(text) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else { throw .badPort(text) }
        guard (try? SocketAddress(host: String(host), port: port)) != nil else { throw .notAnIPAddress(text) }
        self.host = String(host); self.port = port
    }

    public var isIPv6: Bool { host.contains(":") }
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public enum ListenAddressError: Error, Equatable, Sendable, CustomStringConvertible {
    case syntax(String), badPort(String), notAnIPAddress(String)
    public var description: String {
        switch self {
        case .syntax(let t): return "'\(t)' is not HOST:PORT (write IPv6 addresses as [::1]:53)"
        case .badPort(let t): return "'\(t)': the port must be a number from 0 to 65535"
        case .notAnIPAddress(let t): return "'\(t)': the host must be an IPv4 or IPv6 address"
        }
    }
}

/// A sockaddr for IPv4 or IPv6, built with inet_pton.
struct SocketAddress {
    var storage: sockaddr_storage
    var length: socklen_t
    let family: Int32

    init(host: String, port: Int) throws(ListenAddressError) {
        if host.contains(":") {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = UInt16(port).bigEndian
            guard inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1 else { throw .notAnIPAddress(host) }
            var ss = sockaddr_storage()
            withUnsafeBytes(of: sin6) { src in
                withUnsafeMutableBytes(of: &ss) { $0.copyMemory(from: src) }
            }
            storage = ss
            length = socklen_t(MemoryLayout<sockaddr_in6>.size); family = AF_INET6
        } else {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = UInt16(port).bigEndian
            guard inet_pton(AF_INET, host, &sin.sin_addr) == 1 else { throw .notAnIPAddress(host) }
            var ss = sockaddr_storage()
            withUnsafeBytes(of: sin) { src in
                withUnsafeMutableBytes(of: &ss) { $0.copyMemory(from: src) }
            }
            storage = ss
            length = socklen_t(MemoryLayout<sockaddr_in>.size); family = AF_INET
        }
    }

    /// The port a bound socket got.
    static func boundPort(_ fd: Int32) -> Int? {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &ss) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0 else { return nil }
        return withUnsafeBytes(of: ss) { raw -> Int in
            // sin_port and sin6_port sit at the same offset.
            Int(UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self)))
        }
    }
}
