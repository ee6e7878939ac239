import ENUMCore
import Synchronization

/// Holds the responder for the current snapshot. The one writer (zone loading now, chain sync
/// later) publishes a complete new `Responder` with one assignment; readers take a reference per
/// request and never wait on the writer (DESIGN.md "One writer, many readers").
public final class StateStore: Sendable {
    private let current: Mutex<Responder?>
    /// Zone transfers, their journal of changes and NOTIFY (ZoneTransfer.swift).
    public let transfers = ZoneTransfers()

    public init(_ initial: Responder? = nil) { current = Mutex(initial) }

    public var responder: Responder? { current.withLock { $0 } }

    public func publish(_ responder: Responder) { current.withLock { $0 = responder } }
}
