import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How the DNS front listens. Each field's default is given beside it.
public struct DNSServerConfiguration: Sendable {
    /// Addresses to serve, UDP and TCP on each. Default `127.0.0.1:5353`.
    public var listen: [ListenAddress] = [ListenAddress(host: "127.0.0.1", port: 5353)]
    /// UDP worker threads (and SO_REUSEPORT sockets) per address. Default: one per core.
    public var udpThreads: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    /// RFC 7766 section 6.2.3: close TCP connections idle this long. Default 10 s (Knot's value).
    public var tcpIdleTimeout: Duration = .seconds(10)
    /// RRL, cookies and connection limits (RateLimiter.swift, Cookies.swift, TCPLimits.swift).
    public var protection = DNSProtection()

    public init() {}
}

/// UDP and TCP listeners on every configured address, answering from `store`.
public final class DNSServer: Sendable {
    public let configuration: DNSServerConfiguration
    let store: StateStore
    /// Query counts and latency, for the metrics endpoint.
    public let statistics = DNSStatistics()
    /// Responses RRL dropped or truncated, for the metrics endpoint.
    public var rrlStatistics: RRLStatistics { configuration.protection.rrlStatistics }
    let group: MultiThreadedEventLoopGroup
    private let running = Mutex<(udp: [UDPServer], tcp: [TCPServer])>(([], []))

    public init(configuration: DNSServerConfiguration, store: StateStore) {
        self.configuration = configuration
        self.store = store
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.udpThreads))
    }

    /// Binds every address (UDP first; with port 0, TCP then takes the same port) and starts
    /// serving. Returns the bound addresses. Throws, binding nothing, if any address fails.
    public func start(logger: Logger) async throws -> [ListenAddress] {
        var bound: [ListenAddress] = []
        do {
            for requested in configuration.listen {
                var attempt = 0
                while true {
                    let udp = try UDPServer(address: requested, count: configuration.udpThreads,
                                            protection: configuration.protection)
                    do {
                        let c = configuration.tcpIdleTimeout.components
                        let idle = TimeAmount.nanoseconds(c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000)
                        let tcp = try await TCPServer(address: udp.address, group: group, store: store,
                                                      statistics: statistics, idleTimeout: idle,
                                                      protection: configuration.protection)
                        udp.start(store: store, statistics: statistics, logger: logger)
                        running.withLock { $0.udp.append(udp); $0.tcp.append(tcp) }
                        bound.append(udp.address)
                        logger.info("DNS listening on \(udp.address) (UDP, TCP)")
                        break
                    } catch {
                        udp.stop()
                        attempt += 1
                        // Port 0: the UDP port the kernel picked may be taken for TCP; try another.
                        if requested.port != 0 || attempt >= 8 {
                            throw ServerError.socket(call: "bind (TCP)", address: udp.address.description, reason: "\(error)")
                        }
                    }
                }
            }
        } catch {
            await stop()
            throw error
        }
        return bound
    }

    /// Stops all listeners; in-flight UDP batches finish first.
    public func stop() async {
        let (udp, tcp) = running.withLock { r in defer { r = ([], []) }; return r }
        for t in tcp { await t.stop() }
        for u in udp { u.stop() }
    }

    public func shutdown() async {
        await stop()
        try? await group.shutdownGracefully()
    }
}

/// The DNS server as a ServiceLifecycle service: runs until graceful shutdown (SIGTERM, SIGINT).
public struct DNSService: Service {
    let server: DNSServer
    let logger: Logger

    public init(server: DNSServer, logger: Logger) {
        self.server = server
        self.logger = logger
    }

    public func run() async throws {
        _ = try await server.start(logger: logger)
        try? await gracefulShutdown()
        logger.info("DNS shutting down")
        await server.shutdown()
    }
}
