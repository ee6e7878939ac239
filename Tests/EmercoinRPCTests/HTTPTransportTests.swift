import Foundation
import Testing
import TestSupport
@testable import EmercoinRPC

/// The Python fixture server, started per suite and killed at the end.
final class FixtureHTTPServer {
    let process: SpawnedProcess
    let port: Int

    init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fixture_http.py").path
        let portFile = NSTemporaryDirectory() + "enumd-http-fixture-\(UUID().uuidString)"
        process = try SpawnedProcess(try tool("python3"), [script], stdout: portFile)
        let deadline = Date().addingTimeInterval(10)
        var port: Int? = nil
        while port == nil && Date() < deadline {
            usleep(20_000)
            port = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        guard let port else { process.stop(); throw TestFailure("the HTTP fixture did not start") }
        self.port = port
    }
}

@Suite(.serialized) struct HTTPTransportTests {
    let server: FixtureHTTPServer
    init() throws { server = try FixtureHTTPServer() }
    var base: String { "http://127.0.0.1:\(server.port)" }

    @Test func postsWithBasicAuthAndReusesTheHandle() throws {
        let t = try HTTPTransport()
        for i in 0..<3 {
            let r = try t.post(url: base + "/echo", body: Array("{\"n\":\(i)}".utf8), user: "rpcuser", password: "s3cret:with:colons")
            #expect(r.status == 200)
            let json = try JSONSerialization.jsonObject(with: Data(r.body)) as! [String: Any]
            #expect(json["auth"] as? String == "rpcuser:s3cret:with:colons")
            #expect(json["content_type"] as? String == "application/json")
            #expect(json["body"] as? String == "{\"n\":\(i)}")
        }
        let anonymous = try t.post(url: base + "/echo", body: [])
        #expect((try JSONSerialization.jsonObject(with: Data(anonymous.body)) as! [String: Any])["auth"] as? String == "")
    }

    @Test(arguments: [401, 403, 404, 500])
    func statusCodesComeBackAsTheyAre(status: Int) throws {
        let r = try HTTPTransport().post(url: base + "/status/\(status)", body: [])
        #expect(r.status == status)
    }

    @Test func timeoutIsNamed() throws {
        var o = HTTPTransport.Options()
        o.totalTimeoutMilliseconds = 500
        #expect {
            try HTTPTransport(options: o).post(url: base + "/slow", body: [])
        } throws: { error in
            guard case .timeout(let url, _) = error as? TransportError else { return false }
            return url.hasSuffix("/slow")
        }
    }

    @Test func unreachableNodeIsNamed() throws {
        // Port 1 on loopback: nothing listens there.
        #expect {
            try HTTPTransport().post(url: "http://127.0.0.1:1/", body: [])
        } throws: { error in
            guard case .unreachable = error as? TransportError else { return false }
            return true
        }
    }

    @Test func bodiesPastTheLimitAreRefused() throws {
        var o = HTTPTransport.Options()
        o.maxBodyBytes = 1 << 20
        #expect(throws: TransportError.bodyTooLarge(url: base + "/big", limit: 1 << 20)) {
            try HTTPTransport(options: o).post(url: base + "/big", body: [])
        }
        // With room for it, the same body is read whole.
        #expect(try HTTPTransport().post(url: base + "/big", body: []).body.count == 2 << 20)
    }

    @Test func errorsNeverShowCredentials() throws {
        do {
            _ = try HTTPTransport().post(url: "http://127.0.0.1:1/", body: [], user: "alice", password: "hunter2")
        } catch {
            #expect(!error.description.contains("hunter2") && !error.description.contains("alice"))
        }
    }
}

/// How RPCClient names each way a call can fail, against the HTTP fixture and the fake node.
@Suite(.serialized) struct RPCClientErrorTests {
    let server: FixtureHTTPServer
    init() throws { server = try FixtureHTTPServer() }

    func client(_ path: String) throws -> RPCClient {
        try RPCClient(url: "http://127.0.0.1:\(server.port)\(path)", credentials: nil)
    }

    @Test func statusCodesBecomeNamedErrors() throws {
        #expect(throws: RPCError.unauthorized) { try client("/status/401").call("getblockcount") }
        #expect(throws: RPCError.forbidden) { try client("/status/403").call("getblockcount") }
        #expect(throws: RPCError.http(status: 500, method: "getblockcount")) { try client("/status/500").call("getblockcount") }
        // A 404 whose body is not a JSON-RPC error (a wrong URL path, say) is named by its status;
        // the node's own -32601 is tested against the fake node below.
        #expect(throws: RPCError.http(status: 404, method: "getblockcount")) { try client("/status/404").call("getblockcount") }
    }

    @Test func aReplyThatIsNotJSONIsNamed() throws {
        #expect(throws: RPCError.badReply(method: "getblockcount", detail: "no \"result\" member")) {
            try client("/echo").blockCount()  // JSON, but not a JSON-RPC envelope
        }
        #expect(throws: RPCError.badReply(method: "getblockcount", detail: "not JSON (2097152 bytes)")) {
            try client("/big").blockCount()
        }
    }

    @Test func unreachableNodeIsATransportError() throws {
        let c = try RPCClient(url: "http://127.0.0.1:1/", credentials: nil)
        #expect {
            try c.blockCount()
        } throws: { error in
            guard case .transport(.unreachable) = error as? RPCError else { return false }
            return true
        }
    }

    @Test func rpcErrorsFromTheFakeNode() throws {
        let node = try FakeNode()
        let c = try RPCClient(url: "http://127.0.0.1:\(node.rpcPort)/",
                              credentials: RPCCredentials(user: node.user, password: node.password, source: "test"))
        #expect(try c.blockCount() == 1000)
        #expect(try c.nameShow("enum:999:0") == nil)  // -4 "failed to read from name DB"
        #expect {
            try c.call("no_such_method")
        } throws: { error in
            guard case .methodNotFound(let m, _) = error as? RPCError else { return false }
            return m == "no_such_method"
        }
        #expect {
            try c.call("name_show", [12])
        } throws: { error in
            guard case .rpc(let code, _, _) = error as? RPCError else { return false }
            return code == -1
        }
        try node.fault("warmup")
        #expect {
            try c.blockCount()
        } throws: { error in (error as? RPCError)?.nodeNotReady == true }
        try node.fault("garbage")
        #expect {
            try c.blockCount()
        } throws: { error in
            guard case .badReply = error as? RPCError else { return false }
            return true
        }
    }
}
