import DNSServer
import ENUMCore

/// Everything `enumd serve` can be told, in one place with its defaults. Filled from the config
/// file (if any), then from command-line flags, which win. Each field documents its default.
public struct Configuration: Sendable {
    /// `dns`: addresses to answer DNS on, UDP and TCP each. Default `127.0.0.1:5353`.
    public var dns: [ListenAddress] = [ListenAddress(host: "127.0.0.1", port: 5353)]
    /// `zone`: zone files (RFC 1035 master format; the SOA owner is the apex).
    /// Default `zones/e164.arpa.zone`.
    public var zones: [String] = ["zones/e164.arpa.zone"]
    /// `chain`: take records from the Emercoin chain (`on`) or serve zone files only (`off`).
    /// Default `on`; the chain source arrives with the RPC client.
    public var chain: Bool = true
    /// `udp-threads`: UDP workers per address. Default: one per core.
    public var udpThreads: Int = DNSServerConfiguration().udpThreads
    /// `tcp-idle-timeout`: seconds before an idle TCP connection is closed (RFC 7766). Default 10.
    public var tcpIdleTimeout: Int = 10
    /// `max-udp-payload`: the largest UDP response, 512 to 4096. Default 1232 (DNS Flag Day 2020).
    public var maxUDPPayload: Int = 1232
    /// `minimal-responses`: leave the apex NS set out of positive answers. Default `off` (as NSD).
    public var minimalResponses: Bool = false
    /// `log-level`: trace, debug, info, notice, warning, error or critical. Default `info`.
    public var logLevel: String = "info"
    /// `rrl-rate`: UDP responses per second per client prefix (/24, /56), kind and name before
    /// response rate limiting starts (NSD's and Knot's RRL); 0 turns it off. Never applies to TCP
    /// nor to clients with a valid DNS cookie. Default 200 (NSD's rrl-ratelimit).
    public var rrlRate: Int = 200
    /// `rrl-slip`: every Nth rate-limited response is sent truncated (TC) so real clients retry
    /// over TCP; the others are dropped. 0 drops all, 1 truncates all. Default 2 (NSD, Knot).
    public var rrlSlip: Int = 2
    /// `cookies`: DNS Cookies (RFC 7873) with RFC 9018 server cookies, secret from getrandom,
    /// rotating hourly. Default `on`.
    public var cookies: Bool = true
    /// `tcp-max-connections`: open DNS TCP connections in total; more are closed at once.
    /// Default 1024.
    public var tcpMaxConnections: Int = 1024
    /// `tcp-max-per-client`: open DNS TCP connections from one address. Default 32.
    public var tcpMaxPerClient: Int = 32
    /// `http-rate`: HTTP requests per second per client address (bursts of twice that); past it,
    /// 429 with Retry-After. 0 turns it off. Default 50.
    public var httpRate: Int = 50
    /// `http-list-rate`: /enum/list pages per second per client, so paging cannot scan the
    /// registry faster (5 pages of up to 1,000 numbers). 0 turns it off. Default 5.
    public var httpListRate: Int = 5
    /// `http-request-timeout`: seconds a client has to send a whole request head, after it
    /// connects or after its previous request (slowloris). Default 10.
    public var httpRequestTimeout: Int = 10
    /// `tcp-read-timeout`: seconds a TCP client has to finish a message it has started
    /// (RFC 7766 section 6.2.3; Knot's tcp-io-timeout). Default 2.
    public var tcpReadTimeout: Int = 2

    /// `rpc-url`: emercoind's JSON-RPC endpoint. Default `http://127.0.0.1:6662/`, or the
    /// `rpcport` of emercoin.conf.
    public var rpcURL: String? = nil
    /// `rpc-user` and `rpc-password`: HTTP Basic credentials. Default: found as Emercoin's tools
    /// find them (emercoin.conf, then the .cookie file).
    public var rpcUser: String? = nil
    public var rpcPassword: String? = nil
    /// `rpc-cookie`: emercoind's `.cookie` file. Default: `~/.emercoin/.cookie` if no password.
    public var rpcCookie: String? = nil
    /// `emercoin-conf`: where to read rpcuser, rpcpassword and rpcport. Default `~/.emercoin/emercoin.conf`.
    public var emercoinConf: String? = nil
    /// `poll-interval`: seconds between checks of the chain tip. Default 30.
    public var pollInterval: Int = 30
    /// `state-dir`: where the last snapshot is saved for a warm start. Default: none.
    public var stateDirectory: String? = nil
    /// `default-ttl`: TTL of chain records without a TTL= line, in seconds. Default 3600.
    public var defaultTTL: Int = 3600
    /// `http`: the HTTP JSON API's address, or nil for `off`. Default `127.0.0.1:8080`.
    public var http: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 8080)
    /// `register-token`: enables POST /enum/register for clients sending this bearer token
    /// (or the ENUMD_REGISTER_TOKEN environment variable). Default: registration off.
    public var registerToken: String? = nil

    /// `allow-transfer`: `CIDR` or `CIDR KEYNAME`, repeatable: clients that may AXFR/IXFR every
    /// zone over TCP (with KEYNAME, only signed with that TSIG key). Default: none (refused).
    public var allowTransfer: [TransferRule] = []
    /// `notify`: `HOST:PORT` or `HOST:PORT KEYNAME`, repeatable: secondaries sent a NOTIFY
    /// (RFC 1996) when a zone's data changes. Default: none.
    public var notify: [NotifyTarget] = []
    /// `tsig-key`: `NAME:hmac-sha256:BASE64`, repeatable: TSIG keys (RFC 8945). Default: none.
    public var tsigKeys: [TSIGKey] = []

    public init() {}

    /// The transfer settings together; fails when a rule or target names an undefined key.
    public func transferPolicy() throws(TransferConfigError) -> TransferPolicy {
        try TransferPolicy(rules: allowTransfer, keys: tsigKeys, notify: notify)
    }

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Every key a config file may use. The parser refuses a key missing from this list, so a new
    /// option must be added here, and a test checks that deploy/enumd.conf documents each one.
    public static let keys = [
        "dns", "http", "zone", "chain", "rpc-url", "rpc-user", "rpc-password", "rpc-cookie",
        "emercoin-conf", "poll-interval", "state-dir", "default-ttl", "udp-threads",
        "tcp-idle-timeout", "max-udp-payload", "minimal-responses", "log-level", "register-token",
        "allow-transfer", "notify", "tsig-key",
        "rrl-rate", "rrl-slip", "cookies", "tcp-max-connections", "tcp-max-per-client", "tcp-read-timeout",
        "http-rate", "http-list-rate", "http-request-timeout",
    ]

    /// Reads a config file: one `key = value` a line, `#` starts a comment, repeatable keys
    /// (`dns`, `zone`) add up; an unknown key or a bad value names its line.
    public static func parse(_ text: String, path: String) throws(ConfigError) -> Configuration {
        var c = Configuration()
        var seenDNS = false, seenZone = false
        var keyUses: [(DomainName, Int)] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw ConfigError(path: path, line: lineNumber, message: "expected 'key = value'")
            }
            let key = String(trimmed[..<eq].trimmingWhitespace())
            let value = String(trimmed[trimmed.index(after: eq)...].trimmingWhitespace())
            func fail(_ message: String) -> ConfigError { ConfigError(path: path, line: lineNumber, message: message) }
            guard keys.contains(key) else { throw fail("unknown key '\(key)'") }
            guard !value.isEmpty else { throw fail("'\(key)' has no value") }
            switch key {
            case "dns":
                do {
                    let a = try ListenAddress(parsing: value)
                    if !seenDNS { c.dns = []; seenDNS = true }
                    c.dns.append(a)
                } catch { throw fail(error.description) }
            case "zone":
                if !seenZone { c.zones = []; seenZone = true }
                c.zones.append(value)
            case "chain": c.chain = try parseBool(value, key, fail)
            case "minimal-responses": c.minimalResponses = try parseBool(value, key, fail)
            case "udp-threads": c.udpThreads = try parseInt(value, key, 1...256, fail)
            case "tcp-idle-timeout": c.tcpIdleTimeout = try parseInt(value, key, 1...3600, fail)
            case "max-udp-payload": c.maxUDPPayload = try parseInt(value, key, 512...4096, fail)
            case "rrl-rate": c.rrlRate = try parseInt(value, key, 0...1_000_000, fail)
            case "rrl-slip": c.rrlSlip = try parseInt(value, key, 0...100, fail)
            case "cookies": c.cookies = try parseBool(value, key, fail)
            case "tcp-max-connections": c.tcpMaxConnections = try parseInt(value, key, 1...1_000_000, fail)
            case "tcp-max-per-client": c.tcpMaxPerClient = try parseInt(value, key, 1...1_000_000, fail)
            case "http-rate": c.httpRate = try parseInt(value, key, 0...1_000_000, fail)
            case "http-list-rate": c.httpListRate = try parseInt(value, key, 0...1_000_000, fail)
            case "http-request-timeout": c.httpRequestTimeout = try parseInt(value, key, 1...3600, fail)
            case "tcp-read-timeout": c.tcpReadTimeout = try parseInt(value, key, 1...3600, fail)
            case "http":
                if value == "off" { c.http = nil } else {
                    do { c.http = try ListenAddress(parsing: value) } catch { throw fail(error.description) }
                }
            case "register-token":
                guard value.utf8.count >= 16 else { throw fail("register-token must be at least 16 characters") }
                c.registerToken = value
            case "rpc-url": c.rpcURL = value
            case "rpc-user": c.rpcUser = value
            case "rpc-password": c.rpcPassword = value
            case "rpc-cookie": c.rpcCookie = value
            case "emercoin-conf": c.emercoinConf = value
            case "state-dir": c.stateDirectory = value
            case "poll-interval": c.pollInterval = try parseInt(value, key, 1...86_400, fail)
            case "default-ttl": c.defaultTTL = try parseInt(value, key, 0...604_800, fail)
            case "allow-transfer":
                do { c.allowTransfer.append(try TransferRule(parsing: value)) } catch { throw fail(error.description) }
                keyUses += c.allowTransfer.last!.keyName.map { [($0, lineNumber)] } ?? []
            case "notify":
                do { c.notify.append(try NotifyTarget(parsing: value)) } catch { throw fail(error.description) }
                keyUses += c.notify.last!.keyName.map { [($0, lineNumber)] } ?? []
            case "tsig-key":
                do { c.tsigKeys.append(try TSIGKey(parsing: value)) } catch { throw fail(error.description) }
            case "log-level":
                guard logLevels.contains(value) else { throw fail("log-level must be one of \(logLevels.joined(separator: ", "))") }
                c.logLevel = value
            default:
                throw fail("'\(key)' is in Configuration.keys but the parser does not handle it")
            }
        }
        do { _ = try c.transferPolicy() } catch {
            // Keys may be defined after their use; the first use of an unknown one is named.
            let line = keyUses.first { use in !c.tsigKeys.contains { $0.name == use.0 } }?.1 ?? 0
            throw ConfigError(path: path, line: line, message: error.description)
        }
        return c
    }

    private static func parseBool(_ v: String, _ key: String, _ fail: (String) -> ConfigError) throws(ConfigError) -> Bool {
        switch v.lowercased() {
        case "on", "yes", "true": return true
        case "off", "no", "false": return false
        default: throw fail("'\(key)' must be on or off, not '\(v)'")
        }
    }

    private static func parseInt(_ v: String, _ key: String, _ range: ClosedRange<Int>,
                                 _ fail: (String) -> ConfigError) throws(ConfigError) -> Int {
        guard let n = Int(v), range.contains(n) else {
            throw fail("'\(key)' must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(v)'")
        }
        return n
    }

    public var serverConfiguration: DNSServerConfiguration {
        var s = DNSServerConfiguration()
        s.listen = dns
        s.udpThreads = udpThreads
        s.tcpIdleTimeout = .seconds(tcpIdleTimeout)
        s.protection.rrl.rate = rrlRate
        s.protection.rrl.slip = rrlSlip
        if !cookies { s.protection.cookies = nil }
        s.protection.tcp = TCPLimits(maxConnections: tcpMaxConnections, maxPerClient: tcpMaxPerClient,
                                     readTimeout: .seconds(Int64(tcpReadTimeout)))
        return s
    }

    public var responderOptions: ResponderOptions {
        ResponderOptions(maxUDPPayload: maxUDPPayload, minimalResponses: minimalResponses, tsigKeys: tsigKeys)
    }
}

/// A config file error, with the line it is on.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var message: String
    public var description: String { "\(path):\(line): \(message)" }
}

extension StringProtocol {
    func trimmingWhitespace() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        let end = lastIndex(where: { !isSpace($0) })!
        return self[start...end]
    }
}
