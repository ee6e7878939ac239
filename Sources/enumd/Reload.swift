import ArgumentParser
import ChainSync
import DNSServer
import DNSWire
import ENUMCore
import Logging
import ServerConfig
import ServiceLifecycle
import Synchronization
import UnixSignals

/// What a reload (SIGHUP, `systemctl reload enumd`) may change without a restart, published as
/// one value: a reload either replaces all of it or none of it, and readers take a copy.
///
/// A new setting plugs in here: add the field, fill it in `init(_:)` from the `Configuration`
/// (throw there to refuse a bad value: the reload then keeps the old settings), add its config
/// key to `reloadableKeys`, and read `reloader.settings` where it is used.
struct ReloadableSettings: Sendable, Equatable {
    /// `log-level`: every logger reads it on each message (`ReloadableLogHandler`).
    var logLevel: Logger.Level
    /// `register-token`: read by POST /enum/register on each request.
    var registerToken: String?
    /// `allow-transfer`, `notify`, `tsig-key`: applied to the transfer state on each reload, so
    /// the next AXFR/IXFR and NOTIFY use them.
    var transfers: TransferPolicy

    init(_ c: Configuration) throws(ReloadError) {
        guard let level = Logger.Level(rawValue: c.logLevel) else { throw .setting("log-level", c.logLevel) }
        logLevel = level
        registerToken = c.registerToken
        do { transfers = try c.transferPolicy() } catch { throw .config("\(error)") }
    }

    /// The config keys applied by a reload; `zone` is applied by rebuilding the snapshot.
    static let reloadableKeys: Set<String> = ["zone", "log-level", "register-token", "allow-transfer", "notify", "tsig-key"]
}

enum ReloadError: Error, CustomStringConvertible {
    case setting(String, String)
    case config(String)
    var description: String {
        switch self {
        case .setting(let key, let value): return "\(key): '\(value)' is not allowed"
        case .config(let why): return why
        }
    }
}

/// The level every logger of this process filters with, replaced by a reload. An atomic, not a
/// lock: every log statement reads it, including those below the level on hot paths.
enum CurrentLogLevel {
    private static let levels = Logger.Level.allCases
    private static let index = Atomic<Int>(Logger.Level.allCases.firstIndex(of: .info)!)
    static func get() -> Logger.Level { levels[index.load(ordering: .relaxed)] }
    static func set(_ level: Logger.Level) { index.store(levels.firstIndex(of: level)!, ordering: .relaxed) }
}

/// A stderr handler whose level is `CurrentLogLevel` (unless a logger sets its own), so that a
/// reload changes the level of loggers made before it.
struct ReloadableLogHandler: LogHandler {
    var inner: StreamLogHandler
    private var ownLevel: Logger.Level?

    init(label: String) { inner = StreamLogHandler.standardError(label: label) }

    var logLevel: Logger.Level {
        get { ownLevel ?? CurrentLogLevel.get() }
        set { ownLevel = newValue }
    }
    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }
    func log(event: LogEvent) { inner.log(event: event) }
}

/// Re-reads the config file and the zone files, checks all of it, and only then swaps it in: the
/// new snapshot (zone files joined with the chain records being served), then the settings. Any
/// error is logged with its file and line, and the old zones and settings keep being served.
final class Reloader: Sendable {
    private let current: Mutex<ReloadableSettings>
    /// The configuration enumd started with: keys outside `reloadableKeys` stay as they were.
    let started: Configuration
    /// The configuration as the files and flags say now (flags still override the file).
    private let configure: @Sendable () throws -> Configuration
    /// Serves new zones: rebuilds the snapshot with the current chain records and publishes it,
    /// or throws and changes nothing.
    private let publishZones: @Sendable ([Zone]) throws -> Void
    /// Applies new transfer settings (allowed clients, NOTIFY targets, TSIG keys).
    private let applyTransfers: @Sendable (TransferPolicy) -> Void
    private let logger: Logger

    var settings: ReloadableSettings { current.withLock { $0 } }

    init(started: Configuration, configure: @escaping @Sendable () throws -> Configuration,
         publishZones: @escaping @Sendable ([Zone]) throws -> Void,
         applyTransfers: @escaping @Sendable (TransferPolicy) -> Void = { _ in }, logger: Logger) throws(ReloadError) {
        let initial = try ReloadableSettings(started)
        self.current = Mutex(initial)
        self.started = started
        self.configure = configure
        self.publishZones = publishZones
        self.applyTransfers = applyTransfers
        self.logger = logger
        CurrentLogLevel.set(initial.logLevel)
    }

    /// One reload; returns whether it was applied.
    @discardableResult
    func reload() -> Bool {
        logger.notice("reload: reading the configuration and zone files")
        do {
            let c = try configure()
            let settings = try ReloadableSettings(c)
            var zones: [Zone] = []
            for path in c.zones { zones.append(try ZoneFile.load(path: path)) }
            try publishZones(zones)
            current.withLock { $0 = settings }
            CurrentLogLevel.set(settings.logLevel)
            applyTransfers(settings.transfers)
            let names = zones.map { "\($0.apex) (serial \($0.serial))" }.joined(separator: ", ")
            logger.notice("reload: serving \(zones.count) zone(s): \(names); log-level \(settings.logLevel)")
            let later = restartOnlyChanges(c)
            if !later.isEmpty {
                logger.warning("reload: changed but only applied by a restart: \(later.joined(separator: ", "))")
            }
            return true
        } catch let e as ExitCode {
            // fail() has already printed the reason (a flag or config error) to stderr.
            logger.error("reload failed (exit status \(e.rawValue) at start-up); still serving the previous zones and settings")
        } catch {
            logger.error("reload failed: \(error); still serving the previous zones and settings")
        }
        return false
    }

    /// Config keys that differ from start-up and that a reload does not apply.
    func restartOnlyChanges(_ c: Configuration) -> [String] {
        let s = started
        var keys: [String] = []
        if c.dns != s.dns { keys.append("dns") }
        if c.http != s.http { keys.append("http") }
        if c.chain != s.chain { keys.append("chain") }
        if c.udpThreads != s.udpThreads { keys.append("udp-threads") }
        if c.tcpIdleTimeout != s.tcpIdleTimeout { keys.append("tcp-idle-timeout") }
        if c.maxUDPPayload != s.maxUDPPayload { keys.append("max-udp-payload") }
        if c.minimalResponses != s.minimalResponses { keys.append("minimal-responses") }
        if c.rpcURL != s.rpcURL { keys.append("rpc-url") }
        if c.rpcUser != s.rpcUser { keys.append("rpc-user") }
        if c.rpcPassword != s.rpcPassword { keys.append("rpc-password") }
        if c.rpcCookie != s.rpcCookie { keys.append("rpc-cookie") }
        if c.emercoinConf != s.emercoinConf { keys.append("emercoin-conf") }
        if c.pollInterval != s.pollInterval { keys.append("poll-interval") }
        if c.stateDirectory != s.stateDirectory { keys.append("state-dir") }
        if c.defaultTTL != s.defaultTTL { keys.append("default-ttl") }
        if c.rrlRate != s.rrlRate { keys.append("rrl-rate") }
        if c.rrlSlip != s.rrlSlip { keys.append("rrl-slip") }
        if c.cookies != s.cookies { keys.append("cookies") }
        if c.tcpMaxConnections != s.tcpMaxConnections { keys.append("tcp-max-connections") }
        if c.tcpMaxPerClient != s.tcpMaxPerClient { keys.append("tcp-max-per-client") }
        if c.tcpReadTimeout != s.tcpReadTimeout { keys.append("tcp-read-timeout") }
        if c.httpRate != s.httpRate { keys.append("http-rate") }
        if c.httpListRate != s.httpListRate { keys.append("http-list-rate") }
        if c.httpRequestTimeout != s.httpRequestTimeout { keys.append("http-request-timeout") }
        // Registration needs the node connection made at start-up.
        if s.registerToken == nil && c.registerToken != nil { keys.append("register-token (registration was off at start)") }
        return keys
    }
}

/// Runs a reload for each SIGHUP until the group shuts down. The signal is trapped before the
/// service group starts (`UnixSignalsSequence` awaits its registration), so no SIGHUP that
/// arrives once the listeners are up can kill the process.
struct ReloadService: Service {
    let signals: UnixSignalsSequence
    let reloader: Reloader

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            for await _ in signals { reloader.reload() }
        }
    }
}
