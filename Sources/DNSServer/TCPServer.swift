import Logging
import NIOCore
import NIOPosix

/// DNS over TCP (RFC 1035 section 4.2.2, RFC 7766): two-octet length-prefixed messages, any
/// number of queries per connection answered in order, and the connection closed after
/// `idleTimeout` without a complete query.
final class TCPQueryHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let store: StateStore
    private let statistics: DNSStatistics
    private var counts = DNSStatistics.Counts()
    private var pending: ByteBuffer?
    private var scratch = [UInt8](repeating: 0, count: Responder.maxMessageSize)
    private var wrote = false
    /// From an AXFR/IXFR request until its last message is written (ZoneTransfer.swift): later
    /// queries wait their turn, and the idle timeout does not cut the transfer.
    var transferring = false
    private let cookies: ServerCookies?
    private var client = ClientAddress()

    init(store: StateStore, statistics: DNSStatistics, cookies: ServerCookies? = nil) {
        self.store = store; self.statistics = statistics; self.cookies = cookies
    }

    func channelActive(context: ChannelHandlerContext) {
        client = clientAddress(context.channel.remoteAddress)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let received = monotonicMicroseconds()
        let before = counts.queries[1].reduce(0, +)
        var incoming = unwrapInboundIn(data)
        if pending == nil { pending = incoming } else { pending!.writeBuffer(&incoming) }
        drain(context: context)
        let answered = counts.queries[1].reduce(0, +) - before
        if answered > 0 {
            counts.observe(latencyMicroseconds: monotonicMicroseconds() - received, queries: answered)
            statistics.add(&counts)
        }
    }

    /// Answers every complete query in `pending`, in order (stopping at a zone transfer).
    func drain(context: ChannelHandlerContext) {
        while !transferring, let length = pending?.getInteger(at: pending!.readerIndex, as: UInt16.self),
              pending!.readableBytes >= 2 + Int(length) {
            pending!.moveReaderIndex(forwardBy: 2)
            let query = pending!.readSlice(length: Int(length))!
            answer(query, context: context)
        }
        if pending?.readableBytes == 0 { pending = nil } else { pending?.discardReadBytes() }
    }

    private func answer(_ query: ByteBuffer, context: ChannelHandlerContext) {
        guard let responder = store.responder else { return }
        if query.withUnsafeReadableBytes(ZoneTransfers.isTransferRequest) {
            transfer(query, transfers: store.transfers, snapshot: responder.snapshot, context: context)
            return
        }
        let n = query.withUnsafeReadableBytes { q in
            scratch.withUnsafeMutableBytes { out in
                var info = ResponseInfo()
                let n = responder.respond(to: q, transport: .tcp, client: client, cookies: cookies, into: out, info: &info)
                counts.count(transport: .tcp, reply: UnsafeRawBufferPointer(out), length: n)
                return n
            }
        }
        guard n > 0 else { return }
        var buffer = context.channel.allocator.buffer(capacity: n + 2)
        buffer.writeInteger(UInt16(n))
        scratch.withUnsafeBytes { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        context.write(wrapOutboundOut(buffer), promise: nil)
        wrote = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if wrote { context.flush(); wrote = false }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { if !transferring { context.close(promise: nil) } }
        else { context.fireUserInboundEventTriggered(event) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// The TCP listener for one address.
final class TCPServer: Sendable {
    let channel: Channel
    let address: ListenAddress

    init(address: ListenAddress, group: EventLoopGroup, store: StateStore, statistics: DNSStatistics,
         idleTimeout: TimeAmount, protection: DNSProtection = DNSProtection()) async throws {
        let counter = TCPConnectionCounter(limits: protection.tcp)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: protection.tcp.maxUnsentBytes / 2,
                                                                     high: protection.tcp.maxUnsentBytes))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TCPLimitHandler(counter: counter))
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(TCPQueryHandler(store: store, statistics: statistics, cookies: protection.cookies))
                }
            }
        let channel = try await bootstrap.bind(host: address.host, port: address.port).get()
        self.channel = channel
        self.address = ListenAddress(host: address.host, port: channel.localAddress?.port ?? address.port)
    }

    func stop() async {
        try? await channel.close()
    }
}

/// The client's address for cookies, from NIO's socket address.
func clientAddress(_ address: NIOCore.SocketAddress?) -> ClientAddress {
    switch address {
    case .v4(let a)?:
        var sin = a.address
        return withUnsafeBytes(of: &sin) { ClientAddress($0.baseAddress!) }
    case .v6(let a)?:
        var sin6 = a.address
        return withUnsafeBytes(of: &sin6) { ClientAddress($0.baseAddress!) }
    default:
        return ClientAddress()
    }
}
