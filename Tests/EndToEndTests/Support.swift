import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Paths of the repository and the `enumd` binary that `swift test` built beside this bundle.
enum Paths {
    static let repoRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static let enumd: String = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("enumd").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return repoRoot + "/.build/debug/enumd"
    }()

    static let demoZone = repoRoot + "/zones/e164.arpa.zone"
}

/// A running `enumd serve` on a free loopback port, stopped when released.
final class EnumdServer: @unchecked Sendable {
    let process = Process()
    private(set) var port = 0
    /// The HTTP API's port when started with `--http 127.0.0.1:0`.
    private(set) var httpPort = 0
    private let errPipe = Pipe()
    private let lock = NSLock()
    private var errText = ""

    var stderrText: String { lock.lock(); defer { lock.unlock() }; return errText }

    /// - Parameter wrapper: a command that runs enumd (its path and arguments follow), such as
    ///   `unshare`; it must `exec` enumd so that the process is enumd itself.
    init(_ extra: [String] = [], zone: String = Paths.demoZone, dns: String = "127.0.0.1:0", chain: Bool = false,
         wrapper: [String] = []) throws {
        let arguments = ["serve"] + (chain ? [] : ["--no-chain"]) + ["--dns", dns, "--zone", zone, "--udp-threads", "2"]
            + (extra.contains("--http") ? [] : ["--http", "off"]) + extra
        process.executableURL = URL(fileURLWithPath: wrapper.first ?? Paths.enumd)
        process.arguments = wrapper.isEmpty ? arguments : Array(wrapper.dropFirst()) + [Paths.enumd] + arguments
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        errPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self, !d.isEmpty else { return }
            self.lock.lock(); self.errText += String(decoding: d, as: UTF8.self); self.lock.unlock()
        }
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let r = stderrText.range(of: #"DNS listening on \S+:\d+"#, options: .regularExpression) {
                let wantsHTTP = extra.contains("--http") && !extra.contains("off")
                let h = stderrText.range(of: #"HTTP listening on \S+:\d+"#, options: .regularExpression)
                if !wantsHTTP || h != nil {
                    port = Int(stderrText[r].split(separator: ":").last!)!
                    if let h { httpPort = Int(stderrText[h].split(separator: ":").last!)! }
                    return
                }
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        process.terminate()
        throw TestFailure("enumd did not start: \(stderrText)")
    }

    /// Sends `signal` and waits (bounded) for the exit; returns the exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: Double = 10) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit(); return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
}

/// dig's answer, split into what the tests compare.
struct DigAnswer: Equatable, CustomStringConvertible {
    var status = ""
    var flags: Set<String> = []
    /// The OPT pseudo-section lines (EDNS version, flags, udp size, EDE), without the cookie.
    var opt: [String] = []
    var question: [String] = []
    var answer: [String] = []
    var authority: [String] = []
    var additional: [String] = []

    var description: String {
        "status=\(status) flags=\(flags.sorted()) opt=\(opt)\n Q=\(question)\n AN=\(answer)\n NS=\(authority)\n AR=\(additional)"
    }

    /// Parses `dig +nocmd +nostats` output; records within a section are sorted.
    init(_ text: String) {
        var section = ""
        for raw in text.split(separator: "\n") {
            let line = String(raw)
            if line.contains("->>HEADER<<-"), let r = line.range(of: "status: ") {
                status = String(line[r.upperBound...].prefix { $0 != "," })
            } else if line.hasPrefix(";; flags:") {
                flags = Set(line.dropFirst(9).prefix { $0 != ";" }.split(separator: " ").map(String.init))
            } else if line.hasPrefix(";; ") && line.hasSuffix("SECTION:") {
                section = line
            } else if line.hasPrefix("; EDNS:") || line.hasPrefix("; EDE:") {
                opt.append(line)
            } else if section.contains("QUESTION") && line.hasPrefix(";") {
                question.append(line.dropFirst().split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " "))
            } else if !line.hasPrefix(";") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
                if section.contains("ANSWER") { answer.append(fields) }
                else if section.contains("AUTHORITY") { authority.append(fields) }
                else if section.contains("ADDITIONAL") { additional.append(fields) }
            }
        }
        answer.sort(); authority.sort(); additional.sort()
    }
}

func dig(_ port: Int, _ args: [String]) throws -> DigAnswer {
    let r = try run(try tool("dig"), ["@127.0.0.1", "-p", String(port), "+norec", "+nocmd", "+nostats", "+time=2", "+tries=1"] + args)
    return DigAnswer(r.stdout)
}

/// Many queries in one `dig -f` run (one line of arguments each); answers in the same order.
func digBatch(_ port: Int, _ queries: [[String]]) throws -> [DigAnswer] {
    let file = writeTemp(queries.map { $0.joined(separator: " ") }.joined(separator: "\n") + "\n", suffix: ".queries")
    defer { try? FileManager.default.removeItem(atPath: file) }
    let r = try run(try tool("dig"), ["@127.0.0.1", "-p", String(port), "+norec", "+nocmd", "+nostats", "+time=2", "+tries=1", "-f", file], timeout: 120)
    let blocks = r.stdout.components(separatedBy: ";; Got answer:").dropFirst()
    guard blocks.count == queries.count else {
        throw TestFailure("dig -f answered \(blocks.count) of \(queries.count) queries:\n\(r.stdout.suffix(2000))\n\(r.stderr)")
    }
    return blocks.map { DigAnswer($0) }
}

/// One UDP exchange with raw bytes; nil when nothing came back within `timeout`.
func udpExchange(port: Int, _ query: [UInt8], timeout: Int = 400_000) -> [UInt8]? {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var tv = timeval(tv_sec: 0, tv_usec: timeout)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    _ = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    _ = query.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var buf = [UInt8](repeating: 0, count: 65535)
    let n = recv(fd, &buf, buf.count, 0)
    return n >= 0 ? Array(buf[0..<n]) : nil
}

/// A TCP connection to the server with blocking, time-limited reads.
final class TCPClient {
    let fd: Int32
    init(port: Int, timeoutSeconds: Int = 3) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw TestFailure("TCP connect failed") }
    }
    deinit { close(fd) }

    func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) } }

    /// Reads exactly `n` bytes; nil on close or timeout.
    func read(_ n: Int) -> [UInt8]? {
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: n)
        while out.count < n {
            let r = recv(fd, &buf, n - out.count, 0)
            if r <= 0 { return nil }
            out += buf[0..<r]
        }
        return out
    }

    func readMessage() -> [UInt8]? {
        guard let len = read(2) else { return nil }
        return read(Int(len[0]) << 8 | Int(len[1]))
    }

    /// True when the server closed the connection (recv returned 0) within the timeout.
    func closedByPeer() -> Bool {
        var b: UInt8 = 0
        return recv(fd, &b, 1, 0) == 0
    }
}

func lengthPrefixed(_ m: [UInt8]) -> [UInt8] { [UInt8(m.count >> 8), UInt8(m.count & 0xFF)] + m }

func writeTemp(_ text: String, suffix: String = ".zone") -> String {
    let path = NSTemporaryDirectory() + "enumd-e2e-\(UUID().uuidString)\(suffix)"
    FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
}


/// The `server:` and `remote-control:` sections of an nsd.conf for a test NSD on loopback that
/// keeps all its files (pid, zone list, transfer state, log) in `dir`, runs as the caller and
/// serves from one process.
func nsdServerSection(port: Int, dir: String, verbosity: Int) -> String {
    """
    server:
      ip-address: 127.0.0.1@\(port)
      username: ""
      chroot: ""
      pidfile: "\(dir)/nsd.pid"
      database: ""
      zonelistfile: "\(dir)/zone.list"
      xfrdfile: "\(dir)/xfrd.state"
      xfrdir: "\(dir)"
      logfile: "\(dir)/nsd.log"
      server-count: 1
      verbosity: \(verbosity)
    remote-control:
      control-enable: no

    """
}
