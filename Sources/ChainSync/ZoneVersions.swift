import ENUMCore
#if canImport(Glibc)
import Glibc
#endif

/// Chooses SOA serials so that a serial changes exactly when a zone's served data changes, and
/// never goes back (RFC 1982 arithmetic), across restarts too.
///
/// The chain zone is built with the block height as its serial. Compared with the snapshot
/// served before it: the same data keeps the old zone (and serial) whatever the height; changed
/// data takes the height, or the old serial + 1 when the height is not greater (a reorg, or a
/// serial carried over a restart). Each change is returned with its differences for the IXFR
/// journal. With a state directory, each zone's serial and a digest of its content are saved in
/// `DIR/zone.serials` (atomically), so that after a restart the same data gets the same serial
/// and different data a greater one.
public final class ZoneVersions: Sendable {
    public static let fileName = "zone.serials"
    let directory: String?

    public init(directory: String?) { self.directory = directory }

    /// `built`'s zones with their serials settled, and the changes from `previous` (nil: compare
    /// with the saved serials instead).
    public func settle(_ built: Snapshot, previous: Snapshot?) throws -> (snapshot: Snapshot, changes: [(apex: DomainName, change: ZoneChange)]) {
        let saved = previous == nil ? ((try? load()) ?? [:]) : [:]
        var zones: [Zone] = []
        var changes: [(apex: DomainName, change: ZoneChange)] = []
        for z in built.zones {
            let apex = z.apex.lowercased
            if let old = previous?.zones.first(where: { $0.apex.lowercased == apex }) {
                let diff = ZoneDiff(from: old, to: z)
                if diff.isEmpty { zones.append(old); continue }
                let settled = try z.withSerial(serialGreater(z.serial, old.serial) ? z.serial : old.serial &+ 1)
                zones.append(settled)
                changes.append((apex, ZoneChange(fromSOA: old.soaRecord, toSOA: settled.soaRecord, diff: diff)))
            } else if let (serial, digest) = saved[apex] {
                if z.contentDigest == digest {
                    zones.append(try z.withSerial(serial))
                } else {
                    zones.append(try z.withSerial(serialGreater(z.serial, serial) ? z.serial : serial &+ 1))
                }
            } else {
                zones.append(z)
            }
        }
        let snapshot = try Snapshot(zones: zones, chainHeight: built.chainHeight, builtAt: built.builtAt,
                                    stale: built.stale, chain: built.chain)
        return (snapshot, changes)
    }

    /// The saved serial and content digest of each apex.
    public func load() throws(StateFileError) -> [DomainName: (UInt32, UInt64)] {
        guard let directory else { return [:] }
        let path = directory + "/" + Self.fileName
        guard let fp = fopen(path, "r") else {
            if errno == ENOENT { return [:] }
            throw .io(path: path, call: "open", reason: String(cString: strerror(errno)))
        }
        defer { fclose(fp) }
        var out: [DomainName: (UInt32, UInt64)] = [:]
        var line = [CChar](repeating: 0, count: 1024)
        var number = 0
        while fgets(&line, Int32(line.count), fp) != nil {
            number += 1
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            if f.isEmpty || f[0].hasPrefix("#") { continue }
            guard f.count == 3, let apex = try? DomainName(parsing: String(f[0])), let serial = UInt32(f[1]),
                  let digest = UInt64(f[2], radix: 16) else {
                throw .corrupt("\(path):\(number): expected 'APEX SERIAL DIGEST'")
            }
            out[apex.lowercased] = (serial, digest)
        }
        return out
    }

    /// Saves each zone's serial and content digest (temporary file, fsync, rename).
    public func save(_ snapshot: Snapshot) throws(StateFileError) {
        guard let directory else { return }
        var text = "# enumd: the SOA serial and content digest of each zone last served\n"
        for z in snapshot.zones {
            text += "\(z.apex.lowercased) \(z.serial) \(String(z.contentDigest, radix: 16))\n"
        }
        let path = directory + "/" + Self.fileName, temp = path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: temp, call: "open", reason: String(cString: strerror(errno))) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count, fsync(fd) == 0 else {
            let r = String(cString: strerror(errno)); close(fd); unlink(temp)
            throw .io(path: temp, call: "write", reason: r)
        }
        close(fd)
        guard rename(temp, path) == 0 else {
            let r = String(cString: strerror(errno)); unlink(temp)
            throw .io(path: path, call: "rename", reason: r)
        }
    }
}
