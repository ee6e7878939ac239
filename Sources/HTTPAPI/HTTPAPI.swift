import ChainSync
import DNSServer
import EmercoinRPC
import ENUMCore
import Foundation
import Hummingbird
import Logging

/// How the HTTP front runs. Each field's default is given beside it.
public struct HTTPAPIOptions: Sendable {
    /// Where to listen (`--http`). Default 127.0.0.1:8080.
    public var host = "127.0.0.1"
    public var port = 8080
    /// `/enum/list` page size when none is asked for, and the most one request may ask for.
    public var defaultListLimit = 100
    public var maxListLimit = 1000
    /// Enables POST /enum/register with this bearer token (`--register-token`). Default: off.
    public var registerToken: String? = nil
    /// When set, read on each register request instead of `registerToken`, so that a reload
    /// (SIGHUP) can change the token. Default: nil.
    public var registerTokenSource: (@Sendable () -> String?)? = nil
    /// Per-client rates, header limits and timeouts (HTTPLimits.swift).
    public var limits = HTTPLimits()
    public init() {}
}

/// The enumd version reported by /health.
public let enumdVersion = "0.3.0"

/// The Flask backend's HTTP API (shared/reference/flask-backend.md) read from the same snapshot as
/// DNS, with its bugs fixed, plus /metrics. Only `owner_address` may call the node: `name_show`
/// once per name, then cached (see `NameDetails`).
public struct HTTPAPI: Sendable {
    let store: StateStore
    let sync: ChainSync?
    let dns: DNSStatistics?
    /// UDP responses dropped and truncated by response rate limiting.
    let rrl: RRLStatistics?
    let options: HTTPAPIOptions
    let requests = HTTPStatistics()
    let register: RegisterRoute
    let lookups = LookupCache()

    /// - Parameter writer: the RPC connection POST /enum/register uses (nil: registration off).
    public init(store: StateStore, sync: ChainSync?, dns: DNSStatistics?, writer: RPCClient? = nil, options: HTTPAPIOptions,
                rrl: RRLStatistics? = nil) {
        self.store = store; self.sync = sync; self.dns = dns; self.options = options; self.rrl = rrl
        self.register = RegisterRoute(token: options.registerTokenSource ?? { [t = options.registerToken] in t }, client: writer)
    }

    /// The routes, with CORS as flask-cors sent it and request metrics.
    public func router() -> Router<EnumdRequestContext> {
        let router = Router(context: EnumdRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware(statistics: requests))
        router.add(middleware: ClientRateLimitMiddleware(options.limits))
        router.add(middleware: AllowAnyOriginMiddleware())
        router.add(middleware: CORSMiddleware(
            allowOrigin: .originBased,
            allowHeaders: [.accept, .authorization, .contentType, .origin],
            allowMethods: [.delete, .get, .head, .options, .patch, .post, .put]))
        router.add(middleware: MethodMiddleware())
        for method in [HTTPRequest.Method.get, .head] {
            router.on("/health", method: method) { _, _ in self.health() }
            router.on("/enum/lookup", method: method) { request, _ in await self.lookup(request) }
            router.on("/enum/list", method: method) { request, _ in self.list(request) }
            router.on("/metrics", method: method) { _, _ in self.metrics() }
        }
        router.post("/enum/register") { request, _ in await self.register.handle(request) }
        return router
    }

    /// The HTTP server as a ServiceLifecycle service; logs its bound address once listening.
    public func application(logger: Logger) -> some ApplicationProtocol {
        Application(
            router: router(),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [RequestHeadTimeoutHandler(timeout: options.limits.requestHeadTimeout)],
                idleTimeout: options.limits.idleTimeout,
                httpDecoderConfiguration: .init(maxHeaderFieldSize: options.limits.maxHeaderFieldSize,
                                                maxHeaderListSize: options.limits.maxHeaderListSize,
                                                maxHeaderFieldCount: options.limits.maxHeaderFieldCount))),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: nil),
            onServerRunning: { channel in
                logger.info("HTTP listening on \(options.host.contains(":") ? "[\(options.host)]" : options.host):\(channel.localAddress?.port ?? options.port)")
            },
            logger: logger)
    }

    // MARK: /health

    func health() -> Response {
        let snapshot = store.responder?.snapshot
        let status = sync?.status.withLock { $0 }
        let connected = status?.node == .ok
        let healthy = sync == nil || (connected && snapshot?.stale == false)
        var body: [String: Any] = [
            "status": healthy ? "healthy" : "degraded",
            "emercoin_connected": connected,
            "blocks": status?.tip ?? snapshot?.chainHeight ?? 0,
            "version": enumdVersion,
            "records_served": snapshot?.zones.reduce(0) { $0 + $1.naptrNameCount } ?? 0,
            "chain": sync == nil ? "off" : nodeText(status?.node ?? .unknown),
            "stale": snapshot?.stale ?? true,
        ]
        body["chain_height"] = snapshot?.chainHeight ?? NSNull()
        // A wall clock set back is not a negative age.
        if let last = status?.lastSuccess { body["last_sync_age_seconds"] = max(0, Int(Date().timeIntervalSince1970 - last)) }
        else { body["last_sync_age_seconds"] = NSNull() }
        return json(healthy ? .ok : .serviceUnavailable, body)
    }

    func nodeText(_ node: SyncStatus.Node) -> String {
        switch node {
        case .unknown: return "starting"
        case .ok: return "ok"
        case .notReady(let why): return "node not ready: \(why)"
        case .failing(let why): return "node failing: \(why)"
        }
    }

    // MARK: /enum/lookup

    func lookup(_ request: Request) async -> Response {
        guard let raw = request.uri.queryParameters.get("number"), !raw.isEmpty else {
            return json(.badRequest, ["error": "Missing required parameter: number"])
        }
        let number: E164Number
        do { number = try E164Number(parsing: raw) } catch {
            return json(.badRequest, ["error": error.description, "phone_number": raw])
        }
        guard let snapshot = store.responder?.snapshot, sync == nil || snapshot.chain != nil else {
            return json(.serviceUnavailable, ["error": "no data yet: the first sync with the Emercoin node has not finished", "status": "unavailable"])
        }
        if let body = lookups.body(for: number.digits, snapshot: snapshot, now: ChainSync.clock()) {
            return jsonResponse(.ok, body)
        }
        guard let found = Self.find(number, in: snapshot) else {
            return json(.notFound, ["phone_number": number.description, "status": "not_found"])
        }
        let tip = snapshot.chainHeight ?? 0
        let records = found.naptrs.enumerated().map { i, n in naptrJSON(n, seedIndex: found.seedIndex[i], number: number) }
        var owner = ""
        var final = true  // false while the owner could not be read: such a body is kept briefly
        if let name = found.nvsName, let details = sync?.details {
            let d = await details.detail(for: name)
            owner = d?.address ?? ""
            final = d != nil
        }
        var body: [String: Any] = [
            "status": "success",
            "phone_number": number.description,
            "enum_domain": String(number.domain().description.dropLast()),
            "naptr_records": records,
            "sip_uri": Self.dialURI(found.naptrs, number) ?? "",
            "owner_address": owner,
        ]
        body["expires_in"] = found.expiresAt.map { $0 - tip } ?? NSNull()
        if let name = found.nvsName { body["nvs_key"] = name }
        let bytes = jsonBody(body)
        lookups.keep(bytes, for: number.digits, snapshot: snapshot, now: ChainSync.clock(),
                     maxAge: final ? lookups.maxAge : NameDetails.retryAfterFailure / 6)
        return jsonResponse(.ok, bytes)
    }

    struct Found {
        var naptrs: [NAPTR]
        var seedIndex: [Int?]
        var expiresAt: Int?
        var nvsName: String?
    }

    /// What DNS would answer for the number's NAPTR query (zone files, chain, wildcards), with
    /// the chain's metadata when the answer is the chain's.
    static func find(_ number: E164Number, in snapshot: Snapshot) -> Found? {
        guard let zone = snapshot.zones.first(where: { $0.apex.lowercased == DomainName.e164Arpa }),
              let key = NameKey.relative(number.domain(apex: zone.apex), to: zone.apex) else { return nil }
        let result = key.withUnsafeBufferPointer { zone.lookup(key: $0, type: .naptr) }
        let set: RRSet
        switch result {
        case .answer(let node, let rrset), .wildcardAnswer(let node, let rrset):
            set = zone.nodes[node].rrsets[rrset]
        case .number(let i):
            guard let r = zone.numbers?.records(at: i) else { return nil }
            return Found(naptrs: r.naptrs, seedIndex: r.seedIndex, expiresAt: r.expiresAt, nvsName: r.names.first)
        default:
            return nil
        }
        guard set.type == .naptr else { return nil }
        let naptrs = set.rdatas.compactMap(NAPTR.init(rdata:))
        return Found(naptrs: naptrs, seedIndex: Array(repeating: nil, count: naptrs.count), expiresAt: nil, nvsName: nil)
    }

    /// Flask's keys for one record, plus `service` and `regexp`. Seed entries keep the Flask
    /// numbering (order = entry index, preference 10) so existing clients see no change.
    func naptrJSON(_ n: NAPTR, seedIndex: Int?, number: E164Number) -> [String: Any] {
        let parts = n.regexpParts
        var o: [String: Any] = [
            "order": seedIndex ?? Int(n.order),
            "preference": seedIndex == nil ? Int(n.preference) : 10,
            "flags": n.flags,
            "service": n.services,
            "regexp": n.regexp,
            "pattern": parts?.pattern ?? "",
            "replacement": parts?.replacement ?? "",
        ]
        o["uri"] = n.uri(for: number) ?? NSNull()
        return o
    }

    /// The URI a caller would dial: the first SIP record in order/preference, else the first.
    static func dialURI(_ naptrs: [NAPTR], _ number: E164Number) -> String? {
        let sorted = naptrs.sorted { ($0.order, $0.preference) < ($1.order, $1.preference) }
        let sip = sorted.first { $0.services.lowercased().hasPrefix("e2u+sip") } ?? sorted.first
        return sip?.uri(for: number)
    }

    // MARK: /enum/list

    func list(_ request: Request) -> Response {
        let q = request.uri.queryParameters
        let limit: Int, offset: Int
        if let l = q.get("limit") {
            guard let v = Int(l), (1...options.maxListLimit).contains(v) else {
                return json(.badRequest, ["error": "limit must be a whole number from 1 to \(options.maxListLimit)"])
            }
            limit = v
        } else { limit = options.defaultListLimit }
        if let o = q.get("offset") {
            guard let v = Int(o), v >= 0 else { return json(.badRequest, ["error": "offset must be a whole number, 0 or more"]) }
            offset = v
        } else { offset = 0 }
        guard let snapshot = store.responder?.snapshot, sync == nil || snapshot.chain != nil else {
            return json(.serviceUnavailable, ["error": "no data yet: the first sync with the Emercoin node has not finished", "status": "unavailable"])
        }
        let total = snapshot.chain?.count ?? 0
        let tip = snapshot.chainHeight ?? 0
        let records: [[String: Any]] = (min(offset, total)..<min(offset + limit, total)).map { i in
            let r = snapshot.chain!.records(at: i)
            return ["nvs_key": r.names.first ?? "", "phone_number": r.number.description,
                    "sip_uri": Self.dialURI(r.naptrs, r.number) ?? "", "expires_in": r.expiresAt - tip]
        }
        var body: [String: Any] = ["count": records.count, "records": records, "total": total,
                                   "offset": offset, "limit": limit]
        body["next_offset"] = offset + records.count < total ? offset + records.count : NSNull()
        return json(.ok, body)
    }
}
