import ArgumentParser
import DNSServer
import DNSWire
import ENUMCore
import Logging
import ServerConfig
import ServiceLifecycle

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

    @Option(help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    func effectiveConfiguration() throws -> Configuration {
        var c = try config.map(loadConfig) ?? Configuration()
        do {
            if !dns.isEmpty { c.dns = try dns.map { try ListenAddress(parsing: $0) } }
        } catch let e as ListenAddressError { throw fail("--dns: \(e)", code: 2) }
        if !zones.isEmpty { c.zones = zones }
        if noChain { c.chain = false }
        if let udpThreads {
            guard (1...256).contains(udpThreads) else { throw fail("--udp-threads must be 1 to 256", code: 2) }
            c.udpThreads = udpThreads
        }
        if let tcpIdleTimeout {
            guard (1...3600).contains(tcpIdleTimeout) else { throw fail("--tcp-idle-timeout must be 1 to 3600", code: 2) }
            c.tcpIdleTimeout = tcpIdleTimeout
        }
        if let maxUdpPayload {
            guard (512...4096).contains(maxUdpPayload) else { throw fail("--max-udp-payload must be 512 to 4096", code: 2) }
            c.maxUDPPayload = maxUdpPayload
        }
        if minimalResponses { c.minimalResponses = true }
        if let logLevel {
            guard Configuration.logLevels.contains(logLevel) else { throw fail("--log-level must be one of \(Configuration.logLevels.joined(separator: ", "))", code: 2) }
            c.logLevel = logLevel
        }
        return c
    }

    func run() async throws {
        let c = try effectiveConfiguration()
        let level = Logger.Level(rawValue: c.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "enumd")

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
        if c.chain {
            logger.notice("the Emercoin chain source is not built yet: serving zone files only (use --no-chain to silence this)")
        }
        let store = StateStore(Responder(snapshot: snapshot, options: c.responderOptions))
        let server = DNSServer(configuration: c.serverConfiguration, store: store)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: DNSService(server: server, logger: logger))],
                                 gracefulShutdownSignals: [.sigterm, .sigint],
                                 logger: logger))
        do {
            try await group.run()
        } catch {
            throw fail("\(error)", code: 1)
        }
        logger.info("stopped")
    }
}
