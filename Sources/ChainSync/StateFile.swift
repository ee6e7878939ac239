import ENUMCore
#if canImport(Glibc)
import Glibc
#endif

/// The last published chain data on disk, for a warm start (DESIGN.md "the disk is the warm
/// start"). Written atomically: a temporary file in the same directory, fsync, rename over the
/// old one, fsync of the directory. A file that fails any check is reported and not used.
///
/// Layout (big-endian):
///
///     "ENUMDST1" | height u64 | count u64 | count × (nameLen u16 | name | valueLen u32 | value |
///     expiresAt i64) | FNV-1a-64 of everything before it (u64)
public enum StateFile {
    public static let fileName = "chain.state"
    static let magic = Array("ENUMDST1".utf8)

    public static func path(in directory: String) -> String { directory + "/" + fileName }

    public static func encode(height: Int, items: [NVSItem]) -> [UInt8] {
        var out = magic
        out.reserveCapacity(64 + items.reduce(0) { $0 + 14 + $1.name.count + $1.value.count })
        put64(&out, UInt64(height))
        put64(&out, UInt64(items.count))
        for item in items {
            out.append(UInt8(item.name.count >> 8)); out.append(UInt8(item.name.count & 0xFF))
            out += item.name
            put32(&out, UInt32(item.value.count))
            out += item.value
            put64(&out, UInt64(bitPattern: Int64(item.expiresAt)))
        }
        put64(&out, fnv(out))
        return out
    }

    public static func decode(_ data: [UInt8]) throws(StateFileError) -> (height: Int, items: [NVSItem]) {
        guard data.count >= 32, Array(data.prefix(8)) == magic else { throw .corrupt("not an enumd state file") }
        let body = data.count - 8
        guard get64(data, body) == fnv(data[0..<body]) else { throw .corrupt("checksum mismatch (truncated or damaged)") }
        var p = 8
        func need(_ n: Int) throws(StateFileError) { guard p + n <= body else { throw .corrupt("record runs past the end") } }
        let height = Int(truncatingIfNeeded: get64(data, p)); p += 8
        let count = get64(data, p); p += 8
        guard count <= UInt64(body) / 14 else { throw .corrupt("impossible record count") }
        var items: [NVSItem] = []
        items.reserveCapacity(Int(count))
        for _ in 0..<count {
            try need(2)
            let nameLen = Int(data[p]) << 8 | Int(data[p + 1]); p += 2
            try need(nameLen + 4)
            let name = Array(data[p..<(p + nameLen)]); p += nameLen
            let valueLen = Int(get32(data, p)); p += 4
            try need(valueLen + 8)
            let value = Array(data[p..<(p + valueLen)]); p += valueLen
            let expiresAt = Int(Int64(bitPattern: get64(data, p))); p += 8
            items.append(NVSItem(name: name, value: value, expiresAt: expiresAt))
        }
        guard p == body else { throw .corrupt("bytes after the last record") }
        return (height, items)
    }

    /// Writes atomically; the old file stays whole if anything fails.
    public static func write(height: Int, items: [NVSItem], directory: String) throws(StateFileError) {
        let data = encode(height: height, items: items)
        let final = path(in: directory), temp = final + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: temp, call: "open", reason: String(cString: strerror(errno))) }
        var written = 0
        let ok: Bool = data.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 { if errno == EINTR { continue }; return false }
                written += n
            }
            return true
        }
        let reason = String(cString: strerror(errno))
        guard ok else { close(fd); unlink(temp); throw .io(path: temp, call: "write", reason: reason) }
        guard fsync(fd) == 0 else { let r = String(cString: strerror(errno)); close(fd); unlink(temp); throw .io(path: temp, call: "fsync", reason: r) }
        close(fd)
        guard rename(temp, final) == 0 else { let r = String(cString: strerror(errno)); unlink(temp); throw .io(path: final, call: "rename", reason: r) }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// nil when there is no state file yet.
    public static func read(directory: String) throws(StateFileError) -> (height: Int, items: [NVSItem])? {
        let p = path(in: directory)
        guard let fp = fopen(p, "rb") else {
            if errno == ENOENT { return nil }
            throw .io(path: p, call: "open", reason: String(cString: strerror(errno)))
        }
        defer { fclose(fp) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = fread(&chunk, 1, chunk.count, fp)
            if n <= 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        do { return try decode(data) } catch {
            if case .corrupt(let why) = error { throw .corrupt("\(p): \(why)") }
            throw error
        }
    }

    static func fnv<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }
    static func put64(_ a: inout [UInt8], _ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { a.append(UInt8(v >> UInt64(s) & 0xFF)) } }
    static func put32(_ a: inout [UInt8], _ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { a.append(UInt8(v >> UInt32(s) & 0xFF)) } }
    static func get64(_ a: [UInt8], _ p: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(a[p + $1]) } }
    static func get32(_ a: [UInt8], _ p: Int) -> UInt32 { (0..<4).reduce(0) { $0 << 8 | UInt32(a[p + $1]) } }
}

public enum StateFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case corrupt(String)
    case io(path: String, call: String, reason: String)
    public var description: String {
        switch self {
        case .corrupt(let why): return "state file not used: \(why)"
        case .io(let p, let c, let r): return "\(p): \(c) failed: \(r)"
        }
    }
}
