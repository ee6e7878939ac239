import Foundation

/// Finds the node's URL and credentials the way Emercoin's own tools do (reference §1.1):
/// explicit user and password first, then an explicit cookie file, then `rpcuser`,
/// `rpcpassword` and `rpcport` from `emercoin.conf`, then the `.cookie` in the data directory.
public enum RPCDiscovery {
    public struct Result: Sendable, Equatable {
        public var url: String
        public var credentials: RPCCredentials?
    }

    public static let defaultURL = "http://127.0.0.1:6662/"

    /// - Parameters:
    ///   - url: `--rpc-url`, when given (a `rpcport` in emercoin.conf is then not used).
    ///   - dataDirectory: where emercoin.conf and .cookie live, default `~/.emercoin`.
    public static func discover(url: String?, user: String?, password: String?, cookieFile: String?,
                                emercoinConf: String?, dataDirectory: String? = nil) throws(DiscoveryError) -> Result {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        let dir = dataDirectory ?? home + "/.emercoin"
        var result = Result(url: url ?? defaultURL, credentials: nil)
        if let user {
            result.credentials = RPCCredentials(user: user, password: password ?? "", source: "--rpc-user/--rpc-password")
            return result
        }
        if let cookieFile {
            result.credentials = try readCookie(cookieFile)
            return result
        }
        let confPath = emercoinConf ?? dir + "/emercoin.conf"
        if let text = try? String(contentsOfFile: confPath, encoding: .utf8) {
            let conf = parseConf(text)
            if url == nil, let port = conf["rpcport"], let p = Int(port), (1...65535).contains(p) {
                result.url = "http://127.0.0.1:\(p)/"
            }
            if let u = conf["rpcuser"], let p = conf["rpcpassword"], !p.isEmpty {
                result.credentials = RPCCredentials(user: u, password: p, source: confPath)
                return result
            }
        } else if emercoinConf != nil {
            throw .cannotRead(path: confPath)
        }
        if FileManager.default.fileExists(atPath: dir + "/.cookie") {
            result.credentials = try readCookie(dir + "/.cookie")
        }
        return result
    }

    /// `key=value` lines of the main chain: comments (#) and section lines skipped, and keys
    /// inside a `[test]` or `[regtest]` section ignored (they apply to other chains).
    static func parseConf(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var section = ""
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("[") { section = t.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")); continue }
            guard section.isEmpty || section == "main", let eq = t.firstIndex(of: "=") else { continue }
            out[t[..<eq].trimmingCharacters(in: .whitespaces)] = t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// `__cookie__:<hex>` as emercoind writes it.
    static func readCookie(_ path: String) throws(DiscoveryError) -> RPCCredentials {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .cannotRead(path: path) }
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let colon = t.firstIndex(of: ":"), t.index(after: colon) < t.endIndex else { throw .badCookie(path: path) }
        return RPCCredentials(user: String(t[..<colon]), password: String(t[t.index(after: colon)...]), source: path)
    }
}

public enum DiscoveryError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotRead(path: String)
    case badCookie(path: String)
    public var description: String {
        switch self {
        case .cannotRead(let p): return "\(p): cannot read"
        case .badCookie(let p): return "\(p): not a cookie file (expected user:password on one line)"
        }
    }
}
