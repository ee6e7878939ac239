import Foundation
import Hummingbird
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Limits on the HTTP front: each default is given beside it.
public struct HTTPLimits: Sendable {
    /// Requests per second one client address may make, with bursts of twice that; past it,
    /// 429 with Retry-After. 0 turns it off. Default 50.
    public var requestsPerSecond: Int = 50
    /// `/enum/list` pages per second one client may fetch (bursts of twice that), so that paging
    /// cannot scan the registry faster than this: 5 pages of 1,000 a second. 0 turns it off.
    /// Default 5.
    public var listPagesPerSecond: Int = 5
    /// A connection that does not finish a request head within this is closed (slowloris);
    /// also how long a keep-alive connection may wait for its next request. Default 10 s.
    public var requestHeadTimeout: TimeAmount = .seconds(10)
    /// Closed after this long with no traffic at all. Default 30 s.
    public var idleTimeout: TimeAmount = .seconds(30)
    /// Largest header field, all header fields, and how many (NIO's HTTP decoder refuses more).
    /// Defaults 8 KiB, 16 KiB, 64: a lookup needs a few hundred octets.
    public var maxHeaderFieldSize = 8 * 1024
    public var maxHeaderListSize = 16 * 1024
    public var maxHeaderFieldCount = 64
    /// Request bodies (only POST /enum/register has one) are read up to 64 KiB (Register.swift).
    public init() {}
}

/// The request context: Hummingbird's basic one plus the client's address, for the limits.
public struct EnumdRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Token buckets per client address: `rate` a second, bursts of 2 × rate. The table is bounded:
/// past `maxClients` addresses, buckets idle for a minute are dropped (a full bucket is the same
/// as no bucket, so nothing is lost).
final class ClientBuckets: Sendable {
    struct Bucket { var tokens: Double; var time: Double }
    private let table = Mutex<[String: Bucket]>([:])
    let rate: Double
    let maxClients = 10_000

    init(rate: Int) { self.rate = Double(rate) }

    /// True when the client may go ahead; `now` is monotonic seconds.
    func take(_ client: String, now: Double) -> Bool {
        guard rate > 0 else { return true }
        return table.withLock { t in
            if t.count >= maxClients { t = t.filter { now - $0.value.time < 60 } }
            var b = t[client] ?? Bucket(tokens: 2 * rate, time: now)
            b.tokens = min(2 * rate, b.tokens + max(0, now - b.time) * rate)
            b.time = now
            let ok = b.tokens >= 1
            if ok { b.tokens -= 1 }
            t[client] = b
            return ok
        }
    }
}

/// Per-client fairness: every route under `requestsPerSecond`, `/enum/list` under
/// `listPagesPerSecond`. Refused requests get 429 Too Many Requests with Retry-After: 1
/// (RFC 6585 section 4).
struct ClientRateLimitMiddleware<Context: RequestContext & RemoteAddressRequestContext>: RouterMiddleware {
    let all: ClientBuckets
    let list: ClientBuckets

    init(_ limits: HTTPLimits) {
        all = ClientBuckets(rate: limits.requestsPerSecond)
        list = ClientBuckets(rate: limits.listPagesPerSecond)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let client = context.remoteAddress?.ipAddress ?? "?"
        let now = ProcessInfo.processInfo.systemUptime  // monotonic
        let ok = all.take(client, now: now) && (request.uri.path != "/enum/list" || list.take(client, now: now))
        guard ok else {
            var r = json(.tooManyRequests, ["error": "too many requests; slow down", "status": "rate_limited"])
            r.headers[.retryAfter] = "1"
            return r
        }
        return try await next(request, context)
    }
}

/// Closes a connection that has not sent a whole request head `timeout` after it opened or
/// after its previous request ended. NIO's decoder hands us a head only when it is complete, so a
/// client dribbling header bytes is cut off here; the idle timeout alone would not (every byte
/// resets it).
final class RequestHeadTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) { arm(context) }
    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel(); deadline = nil }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: deadline?.cancel(); deadline = nil
        case .end: arm(context)
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel(); deadline = nil
        context.fireChannelInactive()
    }
}
