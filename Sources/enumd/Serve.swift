import ArgumentParser
import HTTPAPI
import ChainSync
import EmercoinRPC
import DNSServer
import DNSWire
import ENUMCore
import Logging
import ServerConfig
import ServiceLifecycle
import UnixSignals
import Foundation

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve ENUM over DNS from zone files (and, later, the Emercoin chain).")

    @Option(help: "A config file of 'key = value' lines; flags given here override it.")
    var config: String?

    @Option(name: .customLong("dns"), help: ArgumentHelp("Address to serve DNS on, UDP and TCP (repeatable). Port 0 picks a free port.", valueName: "HOST:PORT"))
    var dns: [String] = []

    @Option(name: .customLong("zone"), help: ArgumentHelp("Zone file to serve (repeatable). Default: zones/e164.arpa.zone", valueName: "FILE"))
    var zones: [String] = []

    @Flag(help: "Serve the zone files only, without the Emercoin chain.")
    var noChain = false

    @Option(help: "UDP worker threads per address (default: one per core).")
    var udpThreads: Int?

    @Option(help: "Seconds before an idle TCP connection is closed (default 10).")
    var tcpIdleTimeout: Int?

    @Option(help: "Largest UDP response in octets, 512-4096 (default 1232).")
    var maxUdpPayload: Int?

    @Flag(help: "Leave the apex NS set out of positive answers.")
    var minimalResponses = false

    @Option(help: "UDP responses per second per client prefix, kind and name before RRL limits them; 0 turns RRL off (default 200).")
    var rrlRate: Int?

    @Option(help: "Every Nth rate-limited response is sent truncated, the rest dropped; 0 drops all (default 2).")
    var rrlSlip: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    @Option(help: ArgumentHelp("emercoind's JSON-RPC URL (default http://127.0.0.1:6662/ or emercoin.conf's rpcport).", valueName: "URL"))
    var rpcUrl: String?

    @Option(help: "RPC user name (default: from emercoin.conf, else the .cookie file).")
    var rpcUser: String?

    @Option(help: "RPC password.")
    var rpcPassword: String?

    @Option(help: ArgumentHelp("emercoind's .cookie file.", valueName: "FILE"))
    var rpcCookie: String?

    @Option(help: ArgumentHelp("Where to read rpcuser, rpcpassword and rpcport (default ~/.emercoin/emercoin.conf).", valueName: "FILE"))
    var emercoinConf: String?

    @Option(help: "Seconds between checks of the chain tip (default 30).")
    var pollInterval: Int?

    @Option(help: ArgumentHelp("Directory where the last snapshot is kept for a warm start.", valueName: "DIR"))
    var stateDir: String?

    @Option(help: "TTL in seconds of chain records without a TTL= line (default 3600).")
    var defaultTtl: Int?

    @Option(help: ArgumentHelp("Address of the HTTP JSON API, or 'off' (default 127.0.0.1:8080). Port 0 picks a free port.", valueName: "HOST:PORT"))
    var http: String?

    @Option(help: "Enable POST /enum/register for clients sending this bearer token (at least 16 characters; or ENUMD_REGISTER_TOKEN).")
    var registerToken: String?

    @Option(help: ArgumentHelp("Clients allowed AXFR/IXFR over TCP, optionally only with a TSIG key (repeatable). Default: none.", valueName: "CIDR [KEY]"))
    var allowTransfer: [String] = []

    @Option(help: ArgumentHelp("A secondary to send NOTIFY when a zone changes, optionally signed (repeatable). Default: none.", valueName: "HOST:PORT [KEY]"))
    var notify: [String] = []

    @Option(help: ArgumentHelp("A TSIG key for transfers and NOTIFY (repeatable). Default: none.", valueName: "NAME:hmac-sha256:BASE64"))
    var tsigKey: [String] = []

    /// The config file (read with `read`), then the flags over it.
    func effectiveConfiguration(read: (String) throws -> Configuration = loadConfig) throws -> Configuration {
        var c = try config.map(read) ?? Configuration()
        do {
            if !dns.isEmpty { c.dns = try dns.map { try ListenAddress(parsing: $0) } }
        } catch let e as ListenAddressError { throw fail("--dns: \(e)", code: 2) }
        if !zones.isEmpty { c.zones = zones }
        if noChain { c.chain = false }
        if let udpThreads { c.udpThreads = try inRange(udpThreads, 1...256, "--udp-threads") }
        if let tcpIdleTimeout { c.tcpIdleTimeout = try inRange(tcpIdleTimeout, 1...3600, "--tcp-idle-timeout") }
        if let maxUdpPayload { c.maxUDPPayload = try inRange(maxUdpPayload, 512...4096, "--max-udp-payload") }
        if minimalResponses { c.minimalResponses = true }
        if let rrlRate { c.rrlRate = try inRange(rrlRate, 0...1_000_000, "--rrl-rate") }
        if let rrlSlip { c.rrlSlip = try inRange(rrlSlip, 0...100, "--rrl-slip") }
        if let http {
            if http == "off" { c.http = nil } else {
                do { c.http = try ListenAddress(parsing: http) } catch { throw fail("--http: \(error)", code: 2) }
            }
        }
        if let token = registerToken ?? ProcessInfo.processInfo.environment["ENUMD_REGISTER_TOKEN"] {
            guard token.utf8.count >= 16 else { throw fail("--register-token must be at least 16 characters", code: 2) }
            c.registerToken = token
        }
        do {
            if !allowTransfer.isEmpty { c.allowTransfer = try allowTransfer.map { try TransferRule(parsing: $0) } }
            if !notify.isEmpty { c.notify = try notify.map { try NotifyTarget(parsing: $0) } }
            if !tsigKey.isEmpty { c.tsigKeys = try tsigKey.map { try TSIGKey(parsing: $0) } }
            _ = try c.transferPolicy()
        } catch let e as TransferConfigError { throw fail(e.description, code: 2) }
        if let rpcUrl { c.rpcURL = rpcUrl }
        if let rpcUser { c.rpcUser = rpcUser }
        if let rpcPassword { c.rpcPassword = rpcPassword }
        if let rpcCookie { c.rpcCookie = rpcCookie }
        if let emercoinConf { c.emercoinConf = emercoinConf }
        if let stateDir { c.stateDirectory = stateDir }
        if let pollInterval { c.pollInterval = try inRange(pollInterval, 1...86_400, "--poll-interval") }
        if let defaultTtl { c.defaultTTL = try inRange(defaultTtl, 0...604_800, "--default-ttl") }
        if let logLevel {
            guard Configuration.logLevels.contains(logLevel) else { throw fail("--log-level must be one of \(Configuration.logLevels.joined(separator: ", "))", code: 2) }
            c.logLevel = logLevel
        }
        return c
    }

    /// A flag's number, or exit status 2 naming the flag and its range.
    func inRange(_ value: Int, _ range: ClosedRange<Int>, _ flag: String) throws -> Int {
        guard range.contains(value) else { throw fail("\(flag) must be \(range.lowerBound) to \(range.upperBound)", code: 2) }
        return value
    }

    func run() async throws {
        let c = try effectiveConfiguration()
        CurrentLogLevel.set(Logger.Level(rawValue: c.logLevel) ?? .info)
        LoggingSystem.bootstrap { label in ReloadableLogHandler(label: label) }
        let logger = Logger(label: "enumd")
        // Trapped before anything listens: from here on SIGHUP reloads (ReloadService) and
        // never kills the process.
        let hangups = await UnixSignalsSequence(trapping: .sighup)

        // Load every zone completely before serving anything: a bad file stops start-up.
        var loaded: [Zone] = []
        for path in c.zones {
            do {
                let zone = try ZoneFile.load(path: path)
                logger.info("loaded zone \(zone.apex) from \(path): serial \(zone.serial), \(zone.nodes.count) names")
                loaded.append(zone)
            } catch {
                throw fail(error.description, code: 1)
            }
        }
        let snapshot: Snapshot
        do { snapshot = try Snapshot(zones: loaded) } catch { throw fail(error.description, code: 1) }
        let store = StateStore(Responder(snapshot: snapshot, options: c.responderOptions))
        store.transfers.setPolicy(try c.transferPolicy())
        store.transfers.setChainRequired(c.chain)
        if !c.allowTransfer.isEmpty || !c.notify.isEmpty {
            logger.info("zone transfers: allowed for \(c.allowTransfer.map(\.description)), NOTIFY to \(c.notify.map(\.description)), \(c.tsigKeys.count) TSIG key(s)")
        }
        let server = DNSServer(configuration: c.serverConfiguration, store: store)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: DNSService(server: server, logger: logger))]
        var sync: ChainSync? = nil
        if c.chain {
            let s = try makeChainSync(c, zones: loaded, store: store, logger: logger)
            services.append(.init(service: s))
            sync = s
        } else {
            logger.info("chain off: serving zone files only")
        }
        // SIGHUP: the config file and the zone files again, all or nothing (Reload.swift).
        let command = self
        let reloader: Reloader
        do {
            reloader = try Reloader(
                started: c,
                configure: { try command.effectiveConfiguration(read: readConfigForReload) },
                publishZones: { [sync] zones in
                    if let sync { try sync.replaceZones(zones) } else {
                        store.publish(Responder(snapshot: try Snapshot(zones: zones), options: c.responderOptions))
                    }
                },
                applyTransfers: { store.transfers.setPolicy($0) },
                logger: logger)
        } catch { throw fail(error.description, code: 1) }
        services.append(.init(service: ReloadService(signals: hangups, reloader: reloader)))
        if let address = c.http {
            var o = HTTPAPIOptions()
            o.host = address.host
            o.port = address.port
            o.registerToken = c.registerToken
            o.registerTokenSource = { reloader.settings.registerToken }
            o.limits.requestsPerSecond = c.httpRate
            o.limits.listPagesPerSecond = c.httpListRate
            o.limits.requestHeadTimeout = .seconds(Int64(c.httpRequestTimeout))
            let writer = c.registerToken == nil ? nil : try makeRPCClient(c)
            let api = HTTPAPI(store: store, sync: sync, dns: server.statistics, writer: writer, options: o,
                              rrl: server.rrlStatistics)
            services.append(.init(service: api.application(logger: Logger(label: "HTTPAPI"))))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            // DNS bind errors already name their address; a bare bind error is the HTTP listener's.
            let text = "\(error)"
            if let http = c.http, text.contains("bind("), !text.contains("UDP"), !text.contains("TCP") {
                throw fail("cannot listen for HTTP on \(http): \(text)", code: 1)
            }
            throw fail(text, code: 1)
        }
        logger.info("stopped")
    }
}

/// The chain poller, its node found as Emercoin's tools find it, warm-started from the state dir.
func makeChainSync(_ c: Configuration, zones: [Zone], store: StateStore, logger: Logger) throws -> ChainSync {
    guard zones.contains(where: { $0.apex.lowercased == DomainName.e164Arpa }) else {
        throw fail(SyncError.noE164Zone.description, code: 1)
    }
    let found: RPCDiscovery.Result
    do {
        found = try RPCDiscovery.discover(url: c.rpcURL, user: c.rpcUser, password: c.rpcPassword,
                                          cookieFile: c.rpcCookie, emercoinConf: c.emercoinConf)
    } catch { throw fail(error.description, code: 1) }
    let client: RPCClient, detailsClient: RPCClient
    do {
        client = try RPCClient(url: found.url, credentials: found.credentials)
        detailsClient = try RPCClient(url: found.url, credentials: found.credentials)
    } catch { throw fail(error.description, code: 1) }
    logger.info("chain: node at \(found.url), credentials from \(found.credentials?.source ?? "nowhere (none found)")")
    var o = ChainSyncOptions()
    o.pollInterval = .seconds(c.pollInterval)
    o.defaultTTL = UInt32(c.defaultTTL)
    o.stateDirectory = c.stateDirectory
    o.responderOptions = c.responderOptions
    if let dir = c.stateDirectory {
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw fail("--state-dir \(dir): cannot create: \(error.localizedDescription)", code: 1)
            }
        }
    }
    let sync = ChainSync(client: client, detailsClient: detailsClient, store: store, zones: zones, options: o, logger: logger)
    sync.loadState()
    return sync
}

/// A connection to the node for writes (POST /enum/register).
func makeRPCClient(_ c: Configuration) throws -> RPCClient {
    do {
        let found = try RPCDiscovery.discover(url: c.rpcURL, user: c.rpcUser, password: c.rpcPassword,
                                              cookieFile: c.rpcCookie, emercoinConf: c.emercoinConf)
        return try RPCClient(url: found.url, credentials: found.credentials)
    } catch let e as DiscoveryError { throw fail(e.description, code: 1) } catch { throw fail("\(error)", code: 1) }
}

/// Reads a config file for a reload: errors come back as values (with file and line) to be
/// logged, not printed and turned into an exit status as at start-up.
func readConfigForReload(_ path: String) throws -> Configuration {
    guard let text = readFile(path) else { throw ReloadError.config("\(path): cannot read: \(String(cString: strerror(errno)))") }
    return try Configuration.parse(text, path: path)
}
