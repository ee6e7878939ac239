import ENUMCore
#if canImport(Glibc)
import Glibc
#endif

/// The last published chain data on disk, for a warm start (DESIGN.md "the disk is the warm
/// start"). Written atomically: a temporary file in the same directory, fsync, rename over the
/// old one, fsync of the directory. A file that fails any check is reported and not used.
///
/// It holds the compiled `NumberTable`, array by array, so a start reads it back with a few
/// copies instead of parsing a million chain values again (a million numbers load in well under
/// a second). Layout; integers little-endian, `offsets` arrays count + 1 entries of u32:
///
///     "ENUMDST2" | height u64 | count u64 |
///     keyBytes u64 | keys | keyOffsets | answerBytes u64 | answers | answerOffsets |
///     answerCounts (count × u8) | metaBytes u64 | meta | metaOffsets |
///     checksum u64 (FNV-1a over 8-octet words of everything before it)
///
/// `decode` checks the structure the responder relies on (offsets in bounds and increasing,
/// keys sorted, every rendered record's length), not only the checksum.
public enum StateFile {
    public static let fileName = "chain.state"
    static let magic = Array("ENUMDST2".utf8)

    public static func path(in directory: String) -> String { directory + "/" + fileName }

    public static func encode(_ t: NumberTable) -> [UInt8] {
        var out: [UInt8] = []
        emit(t) { out.append(contentsOf: $0) }
        return out
    }

    /// Hands the file's octets to `sink` section by section, straight from the table's arrays:
    /// writing a million numbers needs no second copy of them in memory.
    static func emit(_ t: NumberTable, to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var hasher = WordHasher()
        func out(_ b: UnsafeRawBufferPointer) throws { hasher.update(b); try sink(b) }
        func u64(_ v: Int) throws { try withUnsafeBytes(of: UInt64(v).littleEndian) { try out($0) } }
        func offsets(_ o: [UInt32]) throws {
            #if _endian(little)
            try o.withUnsafeBytes { try out($0) }
            #else
            try o.map(\.littleEndian).withUnsafeBytes { try out($0) }
            #endif
        }
        let (keys, keyOffsets) = t.keys.storage
        try magic.withUnsafeBytes { try out($0) }
        try u64(t.height); try u64(t.count)
        try u64(keys.count); try keys.withUnsafeBytes { try out($0) }; try offsets(keyOffsets)
        try u64(t.answers.count); try t.answers.withUnsafeBytes { try out($0) }; try offsets(t.answerOffsets)
        try t.answerCounts.withUnsafeBytes { try out($0) }
        try u64(t.meta.count); try t.meta.withUnsafeBytes { try out($0) }; try offsets(t.metaOffsets)
        try withUnsafeBytes(of: hasher.finish().littleEndian) { try sink($0) }
    }

    public static func decode(_ data: [UInt8]) throws(StateFileError) -> NumberTable {
        guard data.count >= 24, Array(data.prefix(8)) == magic else {
            if data.count >= 8, data.starts(with: Array("ENUMDST".utf8)) { throw .corrupt("written by an older enumd (format \(Character(Unicode.Scalar(data[7]))))") }
            throw .corrupt("not an enumd state file")
        }
        let body = data.count - 8
        guard get64(data, body) == hash(data[0..<body]) else { throw .corrupt("checksum mismatch (truncated or damaged)") }
        var p = 8
        func need(_ n: UInt64) throws(StateFileError) -> Int {
            guard n <= UInt64(body - p) else { throw .corrupt("a section runs past the end") }
            return Int(n)
        }
        func bytes(_ n: Int) -> [UInt8] { defer { p += n }; return Array(data[p..<(p + n)]) }
        func offsets(_ count: Int, total: Int, _ what: String) throws(StateFileError) -> [UInt32] {
            _ = try need(UInt64(count + 1) * 4)
            var o = [UInt32](repeating: 0, count: count + 1)
            o.withUnsafeMutableBytes { dst in data.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[p..<(p + dst.count)])) } }
            p += (count + 1) * 4
            #if _endian(big)
            for i in o.indices { o[i] = o[i].byteSwapped }
            #endif
            guard o[0] == 0, Int(o[count]) == total else { throw .corrupt("\(what) offsets do not span their data") }
            for i in 0..<count where o[i] > o[i + 1] { throw .corrupt("\(what) offsets go backwards at \(i)") }
            return o
        }
        let height = Int(truncatingIfNeeded: get64(data, p)); p += 8
        let rawCount = get64(data, p); p += 8
        guard rawCount <= UInt64(body) / 9 else { throw .corrupt("impossible number count") }
        let n = Int(rawCount)
        let keyBytes = try need(get64(data, p)); p += 8
        let keys = bytes(keyBytes)
        let keyOffsets = try offsets(n, total: keyBytes, "key")
        let answerBytes = try need(get64(data, p)); p += 8
        let answers = bytes(answerBytes)
        let answerOffsets = try offsets(n, total: answerBytes, "answer")
        let answerCounts = bytes(try need(UInt64(n)))
        let metaBytes = try need(get64(data, p)); p += 8
        let meta = bytes(metaBytes)
        let metaOffsets = try offsets(n, total: metaBytes, "metadata")
        guard p == body else { throw .corrupt("bytes after the last section") }
        try check(keys: keys, keyOffsets, answers: answers, answerOffsets, answerCounts, meta: meta, metaOffsets)
        return NumberTable(height: height, keys: NameTable(arena: keys, offsets: keyOffsets), answers: answers,
                           answerOffsets: answerOffsets, answerCounts: answerCounts, meta: meta, metaOffsets: metaOffsets)
    }

    /// What the responder and the lookups trust: strictly increasing keys, answers made of
    /// whole records (12-octet header with a length that ends inside the number's span), and
    /// metadata laid out as `NumberTable` reads it (names, then one index per record).
    static func check(keys: [UInt8], _ keyOffsets: [UInt32], answers: [UInt8], _ answerOffsets: [UInt32],
                      _ answerCounts: [UInt8], meta: [UInt8], _ metaOffsets: [UInt32]) throws(StateFileError) {
        let bad: String? = keys.withUnsafeBufferPointer { k in
            answers.withUnsafeBufferPointer { a in meta.withUnsafeBufferPointer { m in
                var previous = UnsafeBufferPointer<UInt8>(rebasing: k[0..<0])
                for i in 0..<answerCounts.count {
                    let key = UnsafeBufferPointer(rebasing: k[Int(keyOffsets[i])..<Int(keyOffsets[i + 1])])
                    if i > 0 && !previous.lexicographicallyPrecedes(key) { return "keys out of order at \(i)" }
                    previous = key
                    var q = Int(answerOffsets[i])
                    let end = Int(answerOffsets[i + 1])
                    for _ in 0..<Int(answerCounts[i]) {
                        guard q + 12 <= end else { return "answer \(i) is cut short" }
                        q += 12 + (Int(a[q + 10]) << 8 | Int(a[q + 11]))
                    }
                    if q != end { return "answer \(i) has a wrong length" }
                    var p = Int(metaOffsets[i]) + 5
                    let metaEnd = Int(metaOffsets[i + 1])
                    guard p <= metaEnd else { return "metadata \(i) is cut short" }
                    for _ in 0..<Int(m[p - 1]) {
                        guard p < metaEnd else { return "metadata \(i) is cut short" }
                        switch m[p] {
                        case 1: p += 1
                        case 2: p += 3
                        case 0:
                            guard p + 3 <= metaEnd else { return "metadata \(i) is cut short" }
                            p += 3 + (Int(m[p + 1]) << 8 | Int(m[p + 2]))
                        default: return "metadata \(i) has an unknown name kind"
                        }
                    }
                    if p + 2 * Int(answerCounts[i]) != metaEnd { return "metadata \(i) has a wrong length" }
                }
                return nil
            } }
        }
        if let bad { throw .corrupt(bad) }
    }

    /// Writes atomically; the old file stays whole if anything fails.
    public static func write(_ table: NumberTable, directory: String) throws(StateFileError) {
        let final = path(in: directory), temp = final + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: temp, call: "open", reason: String(cString: strerror(errno))) }
        struct WriteFailed: Error { let reason: String }
        do {
            try emit(table) { raw in
                var written = 0
                while written < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                    if n < 0 { if errno == EINTR { continue }; throw WriteFailed(reason: String(cString: strerror(errno))) }
                    written += n
                }
            }
        } catch {
            close(fd); unlink(temp)
            throw .io(path: temp, call: "write", reason: (error as? WriteFailed)?.reason ?? "\(error)")
        }
        guard fsync(fd) == 0 else { let r = String(cString: strerror(errno)); close(fd); unlink(temp); throw .io(path: temp, call: "fsync", reason: r) }
        close(fd)
        guard rename(temp, final) == 0 else { let r = String(cString: strerror(errno)); unlink(temp); throw .io(path: final, call: "rename", reason: r) }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// nil when there is no state file yet.
    public static func read(directory: String) throws(StateFileError) -> NumberTable? {
        let p = path(in: directory)
        guard let fp = fopen(p, "rb") else {
            if errno == ENOENT { return nil }
            throw .io(path: p, call: "open", reason: String(cString: strerror(errno)))
        }
        defer { fclose(fp) }
        // fstat, not fseek/ftell: on a directory (fopen opens one for reading) ftell says
        // LONG_MAX, which would be the size of the buffer.
        var st = stat()
        guard fstat(fileno(fp), &st) == 0 else { throw .io(path: p, call: "fstat", reason: String(cString: strerror(errno))) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw .corrupt("\(p): not a regular file") }
        let size = Int(st.st_size)
        var data: [UInt8] = []
        if size > 0 {
            data = [UInt8](unsafeUninitializedCapacity: size) { buf, n in n = fread(buf.baseAddress, 1, size, fp) }
        }
        do { return try decode(data) } catch {
            if case .corrupt(let why) = error { throw .corrupt("\(p): \(why)") }
            throw error
        }
    }

    /// FNV-1a over 8-octet little-endian words (and the tail octet by octet): a few
    /// milliseconds for a hundred megabytes, where the octet-wise hash took a few hundred.
    static func hash(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        bytes.withUnsafeBytes { raw in
            let words = raw.count / 8
            for i in 0..<words { h = (h ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))) &* 0x0000_0100_0000_01b3 }
            for i in (words * 8)..<raw.count { h = (h ^ UInt64(raw[i])) &* 0x0000_0100_0000_01b3 }
        }
        return h
    }
    static func hash(_ bytes: [UInt8]) -> UInt64 { hash(bytes[...]) }

    /// `hash` computed over octets that arrive in pieces of any length.
    struct WordHasher {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var pending: UInt64 = 0
        var pendingCount = 0

        mutating func update(_ raw: UnsafeRawBufferPointer) {
            var i = 0
            while pendingCount > 0 && pendingCount < 8 && i < raw.count {
                pending |= UInt64(raw[i]) << (8 * UInt64(pendingCount)); pendingCount += 1; i += 1
            }
            if pendingCount == 8 { mix(pending); pending = 0; pendingCount = 0 }
            while i + 8 <= raw.count {
                mix(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))); i += 8
            }
            while i < raw.count { pending |= UInt64(raw[i]) << (8 * UInt64(pendingCount)); pendingCount += 1; i += 1 }
        }
        @inline(__always) mutating func mix(_ w: UInt64) { h = (h ^ w) &* 0x0000_0100_0000_01b3 }
        func finish() -> UInt64 {
            var h = self.h
            for k in 0..<pendingCount { h = (h ^ (pending >> (8 * UInt64(k)) & 0xFF)) &* 0x0000_0100_0000_01b3 }
            return h
        }
    }
    static func get64(_ a: [UInt8], _ p: Int) -> UInt64 { (0..<8).reversed().reduce(0) { $0 << 8 | UInt64(a[p + $1]) } }
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
