import NIOCore
import Synchronization

/// What the DNS front does against abuse; each field's default is given beside it.
public struct DNSProtection: Sendable {
    /// Response rate limiting over UDP (never TCP). Default 200/s, slip 2.
    public var rrl = RateLimiter.Configuration()
    /// DNS Cookies (RFC 7873, RFC 9018 server cookies); nil turns them off. Default on, with a
    /// fresh secret (as BIND, which answers cookies by default).
    public var cookies: ServerCookies? = ServerCookies()
    /// TCP connection limits and timeouts (TCPLimits.swift).
    public var tcp = TCPLimits()
    public let rrlStatistics = RRLStatistics()
    public init() {}
}

/// Bounds on DNS over TCP (RFC 7766 section 6.2: servers "need to defend against" clients that
/// hold connections or never finish a message). Each default is given beside it.
public struct TCPLimits: Sendable {
    /// Open connections in total on one listening address; a new one past this is closed at
    /// once. Default 1024.
    public var maxConnections: Int = 1024
    /// Open connections from one address. Default 32.
    public var maxPerClient: Int = 32
    /// Time a client has to finish a message it has started: a slowloris sending a byte now and
    /// then never holds a connection past this (Knot's tcp-io-timeout; RFC 7766 section 6.2.3).
    /// Default 2 s. The idle timeout (no message started) is `tcpIdleTimeout`.
    public var readTimeout: TimeAmount = .seconds(2)
    /// Unsent answers per connection before we stop reading its queries (queries in flight are
    /// bounded by this: a client that does not read its answers gets no more answered).
    /// Default 64 KiB, about 500 typical NAPTR answers.
    public var maxUnsentBytes: Int = 64 * 1024

    public init(maxConnections: Int = 1024, maxPerClient: Int = 32, readTimeout: TimeAmount = .seconds(2)) {
        self.maxConnections = maxConnections
        self.maxPerClient = maxPerClient
        self.readTimeout = readTimeout
    }
}

/// Connection counts of one TCP listener (one listening address). Taken once per connection, not
/// per query.
final class TCPConnectionCounter: Sendable {
    private let state = Mutex<(total: Int, perClient: [ClientAddressKey: Int])>((0, [:]))
    let limits: TCPLimits
    /// Connections refused because a limit was reached.
    let refused = Atomic<Int>(0)

    init(limits: TCPLimits) { self.limits = limits }

    func acquire(_ client: ClientAddress) -> Bool {
        let ok = state.withLock { s -> Bool in
            let key = ClientAddressKey(client)
            let mine = s.perClient[key, default: 0]
            guard s.total < limits.maxConnections, mine < limits.maxPerClient else { return false }
            s.total += 1
            s.perClient[key] = mine + 1
            return true
        }
        if !ok { refused.wrappingAdd(1, ordering: .relaxed) }
        return ok
    }

    func release(_ client: ClientAddress) {
        state.withLock { s in
            let key = ClientAddressKey(client)
            s.total -= 1
            let left = s.perClient[key, default: 1] - 1
            s.perClient[key] = left > 0 ? left : nil
        }
    }

    var open: Int { state.withLock { $0.total } }
}

struct ClientAddressKey: Hashable, Sendable {
    let a: UInt64, b: UInt64, length: Int
    init(_ c: ClientAddress) { a = c.bytes.0; b = c.bytes.1; length = c.length }
}

/// First in each TCP pipeline: admits the connection against the limits, closes a client that
/// starts a message and does not finish it within `readTimeout`, and stops reading while too
/// many answers are unsent. Reads the two-octet framing itself, so the query handler stays as it is.
final class TCPLimitHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let counter: TCPConnectionCounter
    private var client = ClientAddress()
    private var admitted = false
    /// Octets still to come of the message being received (0: between messages); -1 or -2
    /// while the length prefix itself is incomplete (one octet of it seen).
    private var remaining = 0
    private var lengthHigh: UInt8 = 0
    private var deadline: Scheduled<Void>? = nil

    init(counter: TCPConnectionCounter) { self.counter = counter }

    func channelActive(context: ChannelHandlerContext) {
        client = clientAddress(context.channel.remoteAddress)
        guard counter.acquire(client) else {
            context.close(promise: nil)
            return
        }
        admitted = true
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if admitted { counter.release(client); admitted = false }
        deadline?.cancel(); deadline = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admitted else { return }
        let buffer = unwrapInboundIn(data)
        // Follow the framing: is a message left unfinished at the end of this read?
        buffer.withUnsafeReadableBytes { bytes in
            var i = 0
            while i < bytes.count {
                if remaining == 0 { lengthHigh = bytes[i]; remaining = -1; i += 1 }
                else if remaining == -1 {
                    remaining = Int(lengthHigh) << 8 | Int(bytes[i]); i += 1
                    if remaining == 0 { remaining = 0 }
                } else {
                    let take = min(remaining, bytes.count - i)
                    remaining -= take; i += take
                }
            }
        }
        if remaining != 0 {
            if deadline == nil, context.channel.isWritable { scheduleDeadline(context) }
        } else {
            deadline?.cancel(); deadline = nil
        }
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Back-pressure: stop reading queries while the answers already written are unsent.
        // While enumd is not reading, a message it has begun cannot be finished: its deadline
        // waits until reading resumes. A client that reads no answers at all is still closed,
        // by the idle timeout (no query read for `tcp-idle-timeout`).
        let writable = context.channel.isWritable
        context.channel.setOption(ChannelOptions.autoRead, value: writable).whenComplete { _ in }
        if writable {
            if remaining != 0, deadline == nil { scheduleDeadline(context) }
            context.read()
        } else {
            deadline?.cancel(); deadline = nil
        }
        context.fireChannelWritabilityChanged()
    }

    private func scheduleDeadline(_ context: ChannelHandlerContext) {
        let ch = context.channel
        deadline = context.eventLoop.scheduleTask(in: counter.limits.readTimeout) { ch.close(promise: nil) }
    }
}
