import ENUMCore
import Synchronization

/// Rendered `/enum/lookup` bodies of the numbers asked for lately. A body depends only on the
/// snapshot (records, expiry, tip) and the owner address, so it is reused while the snapshot is
/// the same and for at most `maxAge` seconds (the owner is re-read daily; a transfer keeps the
/// value); a body made while the owner could not be read, for a few seconds only. Bounded: at most `capacity` numbers; when full, an arbitrary entry makes room.
///
/// Decoding the records, expanding the regexps and writing the JSON was most of a lookup's cost;
/// clients ask for the same few numbers over and over (a SIP proxy per call), so most lookups
/// become a dictionary read.
final class LookupCache: Sendable {
    struct Entry {
        let snapshot: UInt64
        let expires: Double
        let body: [UInt8]
    }
    let capacity: Int
    let maxAge: Double
    private let entries = Mutex<[String: Entry]>([:])

    init(capacity: Int = 10_000, maxAge: Double = 60) {
        self.capacity = capacity
        self.maxAge = maxAge
    }

    func body(for digits: String, snapshot: Snapshot, now: Double) -> [UInt8]? {
        entries.withLock { e in
            guard let hit = e[digits], hit.snapshot == snapshot.generation, now < hit.expires else { return nil }
            return hit.body
        }
    }

    func keep(_ body: [UInt8], for digits: String, snapshot: Snapshot, now: Double, maxAge: Double) {
        entries.withLock { e in
            if e.count >= capacity, e[digits] == nil { e.remove(at: e.startIndex) }
            e[digits] = Entry(snapshot: snapshot.generation, expires: now + maxAge, body: body)
        }
    }
}
