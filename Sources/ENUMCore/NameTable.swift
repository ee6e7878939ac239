#if canImport(Glibc)
import Glibc
#endif

/// Canonical lookup keys for names below a zone apex, and an immutable table of them.
///
/// A key is the name's labels relative to the apex, **reversed** (closest to the apex first),
/// ASCII-lowercased, each followed by a 0x00 terminator; the octets 0x00 and 0x01 inside a label
/// are escaped as `01 00` and `01 01`. Byte-wise order of keys is then exactly the canonical name
/// order of RFC 4034 section 6.1, and a name's key is a prefix of the keys of all its descendants.
/// That lets the table answer "does anything exist below this name?" (an empty non-terminal,
/// RFC 8020) with one binary search instead of storing every parent label of every number.
/// The apex itself has the empty key.
public enum NameKey {
    /// Appends the key of `labels` (leftmost first, as on the wire) to `out`.
    public static func append<L: Collection>(labels: [L], to out: inout [UInt8]) where L.Element == UInt8 {
        for label in labels.reversed() { appendLabel(label, to: &out) }
    }

    @inline(__always)
    public static func appendLabel<L: Sequence>(_ label: L, to out: inout [UInt8]) where L.Element == UInt8 {
        for b in label {
            if b <= 1 { out.append(1); out.append(b) } else { out.append(asciiLower(b)) }
        }
        out.append(0)
    }

    /// The key of `name` relative to `apex`; nil when `name` is not at or below `apex`.
    public static func relative(_ name: DomainName, to apex: DomainName) -> [UInt8]? {
        guard name.isSubdomain(of: apex) else { return nil }
        let wire = name.wire
        // Label start offsets, walking the wire form once; no per-label arrays.
        var starts: [Int] = []
        starts.reserveCapacity(16)
        var i = 0
        while wire[i] != 0 { starts.append(i); i += 1 + Int(wire[i]) }
        let relative = starts.count - apex.labelCount
        var out: [UInt8] = []
        out.reserveCapacity(wire.count + 8)
        for k in stride(from: relative - 1, through: 0, by: -1) {
            let s = starts[k]
            appendLabel(wire[(s + 1)...(s + Int(wire[s]))], to: &out)
        }
        return out
    }
}

/// An immutable set of name keys in canonical order, with O(1) exact lookup (open addressing on
/// an FNV-1a hash) and O(log n) ordered lookup. All keys live in one byte arena, so a million
/// names cost a few tens of megabytes and no per-name allocation.
public struct NameTable: Sendable {
    private let arena: [UInt8]
    private let offsets: [UInt32]   // count + 1 entries; key i is arena[offsets[i]..<offsets[i+1]]
    private let slots: [UInt32]     // 0 = empty, otherwise index + 1
    private let mask: Int

    public var count: Int { offsets.count - 1 }

    /// `keys` must be sorted and unique (see `sortAndCheck`).
    public init(sortedKeys keys: [[UInt8]]) {
        var arena: [UInt8] = []
        arena.reserveCapacity(keys.reduce(0) { $0 + $1.count })
        var offsets: [UInt32] = [0]
        offsets.reserveCapacity(keys.count + 1)
        for k in keys {
            arena.append(contentsOf: k)
            offsets.append(UInt32(arena.count))
        }
        self.init(arena: arena, offsets: offsets)
    }

    /// Keys already laid out: key i is `arena[offsets[i]..<offsets[i+1]]`, sorted and unique.
    /// Only the hash slots are computed (about 30 ms for a million keys).
    public init(arena: [UInt8], offsets: [UInt32]) {
        let count = offsets.count - 1
        var size = 16
        while size < count * 2 { size <<= 1 }
        var slots = [UInt32](repeating: 0, count: size)
        let mask = size - 1
        arena.withUnsafeBufferPointer { a in
            slots.withUnsafeMutableBufferPointer { sl in
                for i in 0..<count {
                    let k = UnsafeBufferPointer(rebasing: a[Int(offsets[i])..<Int(offsets[i + 1])])
                    var s = Int(truncatingIfNeeded: Self.hash(k)) & mask
                    while sl[s] != 0 { s = (s + 1) & mask }
                    sl[s] = UInt32(i + 1)
                }
            }
        }
        self.arena = arena; self.offsets = offsets; self.slots = slots; self.mask = mask
    }

    /// The key octets and offsets, for writing the table to a file.
    public var storage: (arena: [UInt8], offsets: [UInt32]) { (arena, offsets) }

    /// FNV-1a over 8-octet words (then the tail octet by octet), folded: keys are 10 to 30
    /// octets, so this is 3 or 4 multiplications where the octet-wise hash took 20 to 30.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        guard let base = bytes.baseAddress else { return h ^ (h >> 29) }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= bytes.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x0000_0100_0000_01b3
            h ^= h >> 32
            i += 8
        }
        while i < bytes.count { h = (h ^ UInt64(base[i])) &* 0x0000_0100_0000_01b3; i += 1 }
        return h ^ (h >> 29)
    }

    public func key(at i: Int) -> ArraySlice<UInt8> {
        arena[Int(offsets[i])..<Int(offsets[i + 1])]
    }

    /// The index of `key`, or nil.
    public func find(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        var s = Int(truncatingIfNeeded: Self.hash(key)) & mask
        return arena.withUnsafeBufferPointer { a in
            offsets.withUnsafeBufferPointer { o in
                slots.withUnsafeBufferPointer { sl in
                    while true {
                        let v = sl[s]
                        if v == 0 { return nil }
                        let i = Int(v - 1)
                        let lo = Int(o[i]), hi = Int(o[i + 1])
                        if hi - lo == key.count && (key.isEmpty || memcmp(a.baseAddress! + lo, key.baseAddress!, key.count) == 0) {
                            return i
                        }
                        s = (s + 1) & mask
                    }
                }
            }
        }
    }

    public func find(_ key: [UInt8]) -> Int? { key.withUnsafeBufferPointer { find($0) } }

    /// True when some key equals `prefix` or starts with it: the name exists, as a node or as an
    /// empty non-terminal.
    public func hasKey(withPrefix prefix: UnsafeBufferPointer<UInt8>) -> Bool {
        let i = lowerBound(prefix)
        guard i < count else { return false }
        let k = key(at: i)
        return k.count >= prefix.count && k.prefix(prefix.count).elementsEqual(prefix)
    }

    /// The first index whose key is not less than `key`.
    public func lowerBound(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var lo = 0, hi = count
        arena.withUnsafeBufferPointer { a in
            offsets.withUnsafeBufferPointer { o in
                while lo < hi {
                    let mid = (lo + hi) / 2
                    let s = Int(o[mid]), e = Int(o[mid + 1])
                    if Self.less(a.baseAddress! + s, e - s, key) { lo = mid + 1 } else { hi = mid }
                }
            }
        }
        return lo
    }

    /// Byte-wise order of `x[0..<n]` against `y` (memcmp, then the shorter first).
    @inline(__always)
    static func less(_ x: UnsafePointer<UInt8>, _ n: Int, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
        let m = min(n, y.count)
        if m > 0, let yb = y.baseAddress {
            let c = memcmp(x, yb, m)
            if c != 0 { return c < 0 }
        }
        return n < y.count
    }
}


