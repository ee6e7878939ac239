import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.0 POST to 127.0.0.1 over a plain socket (no client library needed in tests).
public func httpPost(port: Int, path: String = "/", body: [UInt8], headers: [String: String] = [:],
                     timeoutSeconds: Int = 30) throws -> (status: Int, body: [UInt8]) {
    let r = try httpRequest(port: port, method: "POST", path: path, body: body,
                            headers: ["Content-Type": "application/json"].merging(headers) { $1 }, timeoutSeconds: timeoutSeconds)
    return (r.status, r.body)
}

/// An HTTP reply: status, headers (names lower-cased) and body.
public struct HTTPReply {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
    public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
}

/// One HTTP/1.0 request to 127.0.0.1 over a plain socket; the path is sent as given.
public func httpRequest(port: Int, method: String = "GET", path: String, body: [UInt8] = [], headers: [String: String] = [:],
                        timeoutSeconds: Int = 30) throws -> HTTPReply {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { throw TestFailure("connect to 127.0.0.1:\(port) failed") }
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
    for (k, v) in headers { head += "\(k): \(v)\r\n" }
    let request = Array((head + "\r\n").utf8) + body
    var sent = 0
    while sent < request.count {
        let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw TestFailure("send failed") }
        sent += n
    }
    // Read until the server closes, or until Content-Length says the body is complete
    // (a HEAD reply has a Content-Length but no body: stop at the headers then).
    var response: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        if let end = response.firstRange(of: Array("\r\n\r\n".utf8)) {
            let head = String(decoding: response[..<end.lowerBound], as: UTF8.self).lowercased()
            if method == "HEAD" { break }
            if let r = head.range(of: "content-length:") {
                let n = Int(head[r.upperBound...].prefix { $0 != "\r" }.trimmingCharacters(in: .whitespaces)) ?? -1
                if n >= 0 && response.count - end.upperBound >= n { break }
            }
        }
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        response += buf[0..<n]
    }
    guard let split = response.firstRange(of: Array("\r\n\r\n".utf8)) else { throw TestFailure("no HTTP response") }
    let lines = String(decoding: response[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
    let statusLine = lines[0].split(separator: " ")
    guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw TestFailure("bad status line") }
    var headers: [String: String] = [:]
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return HTTPReply(status: status, headers: headers, body: Array(response[split.upperBound...]))
}

/// The fake emercoind of Tests/Fakes/fake_emercoind.py: JSON-RPC as the reference describes,
/// and a control API to mine, register, update, transfer, delete and inject faults.
public final class FakeNode {
    public let process: SpawnedProcess
    public let rpcPort: Int
    public let controlPort: Int
    public let user = "enumd-test"
    public let password = "not-a-real-password"
    public let cookieFile: String

    public static var script: String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)  // TestSupport/FakeNode.swift
        return parts.joined(separator: "/") + "/Fakes/fake_emercoind.py"
    }

    public init(height: Int = 1000, extra: [String] = []) throws {
        let dir = NSTemporaryDirectory() + "enumd-fake-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ports = dir + "/ports.json"
        cookieFile = dir + "/.cookie"
        process = try SpawnedProcess(try tool("python3"), [Self.script, "--state-file", ports, "--rpc-user", user,
                                                             "--rpc-password", password, "--cookie-file", cookieFile,
                                                             "--height", String(height)] + extra)
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if let d = FileManager.default.contents(atPath: ports),
               let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any],
               let r = o["rpc_port"] as? Int, let c = o["control_port"] as? Int {
                rpcPort = r; controlPort = c
                return
            }
            usleep(20_000)
        }
        process.stop()
        throw TestFailure("the fake emercoind did not start")
    }

    /// Sends a control operation; returns the reply object. Throws when it says ok: false.
    @discardableResult
    public func control(_ op: [String: Any]) throws -> [String: Any] {
        let body = try JSONSerialization.data(withJSONObject: op)
        let r = try httpPost(port: controlPort, body: Array(body))
        guard let o = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any] else {
            throw TestFailure("control reply is not JSON")
        }
        guard o["ok"] as? Bool == true else { throw TestFailure("control \(op["op"] ?? "?") failed: \(o["error"] ?? "?")") }
        return o
    }

    public func mine(_ n: Int = 1) throws { try control(["op": "mine", "n": n]) }
    public func register(_ name: String, _ value: String, days: Int = 365) throws { try control(["op": "register", "name": name, "value": value, "days": days]) }
    public func update(_ name: String, _ value: String) throws { try control(["op": "update", "name": name, "value": value]) }
    public func delete(_ name: String) throws { try control(["op": "delete", "name": name]) }
    /// `seconds` is the delay of the `slow` mode (the fake's default is 5).
    public func fault(_ mode: String, seconds: Double? = nil) throws {
        var op: [String: Any] = ["op": "fault", "mode": mode]
        if let seconds { op["seconds"] = seconds }
        try control(op)
    }
    public func calls() throws -> [String: Int] { (try control(["op": "calls"])["calls"] as? [String: Int]) ?? [:] }

    /// Flags that point `enumd serve` at this node.
    public var serveArguments: [String] {
        ["--rpc-url", "http://127.0.0.1:\(rpcPort)/", "--rpc-user", user, "--rpc-password", password]
    }
}
