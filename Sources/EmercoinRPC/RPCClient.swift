import Foundation

/// Errors from a JSON-RPC call, one case per thing an operator would do differently.
public enum RPCError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The HTTP exchange failed: unreachable, timed out, oversized (see `TransportError`).
    case transport(TransportError)
    /// HTTP 401: the node refused the credentials.
    case unauthorized
    /// HTTP 403: the node does not allow this client address (rpcallowip).
    case forbidden
    /// HTTP 404 or -32601: no such method here (e.g. a wallet method with the wallet disabled).
    case methodNotFound(method: String, message: String)
    /// Another HTTP status with a body that is not a JSON-RPC reply.
    case http(status: Int, method: String)
    /// The node answered with an error object.
    case rpc(code: Int, message: String, method: String)
    /// The reply is not JSON, or not the shape the method returns.
    case badReply(method: String, detail: String)

    public var description: String {
        switch self {
        case .transport(let t): return t.description
        case .unauthorized: return "the node refused the RPC credentials (HTTP 401)"
        case .forbidden: return "the node refuses RPC from this address (HTTP 403; see rpcallowip)"
        case .methodNotFound(let m, let msg): return "\(m): method not found (\(msg))"
        case .http(let s, let m): return "\(m): HTTP \(s) without a JSON-RPC reply"
        case .rpc(let c, let msg, let m): return "\(m): RPC error \(c): \(msg)"
        case .badReply(let m, let d): return "\(m): the node's reply is not valid: \(d)"
        }
    }

    /// RPC_IN_WARMUP (-28) and RPC_CLIENT_IN_INITIAL_DOWNLOAD (-10): the node is not ready yet.
    public var nodeNotReady: Bool {
        if case .rpc(let code, _, _) = self { return code == -28 || code == -10 }
        return false
    }
}

/// Where the credentials came from; said in logs instead of the credentials themselves.
public struct RPCCredentials: Sendable, Equatable {
    public var user: String
    public var password: String
    public var source: String

    public init(user: String, password: String, source: String) {
        self.user = user; self.password = password; self.source = source
    }
}

/// emercoind's JSON-RPC (reference §1.1): "1.0 with 2.0 error objects", POST to `/`, HTTP Basic
/// auth, one request at a time (no batches: batch replies escape bytes >= 0x80 per byte).
/// Knows nothing of ENUM.
public final class RPCClient: Sendable {
    public let url: String
    let credentials: RPCCredentials?
    let transport: HTTPTransport

    public init(url: String, credentials: RPCCredentials?, options: HTTPTransport.Options = .init()) throws(RPCError) {
        self.url = url
        self.credentials = credentials
        do { transport = try HTTPTransport(options: options) } catch { throw .transport(error) }
    }

    /// Calls `method` and returns its `result` (any JSON value; `NSNull` for null).
    public func call(_ method: String, _ params: [Any] = []) throws(RPCError) -> Any {
        try decode(method, try post(method, params))
    }

    /// Sends one request; returns the HTTP response after the status checks that need no body.
    func post(_ method: String, _ params: [Any]) throws(RPCError) -> HTTPResponse {
        let request: [String: Any] = ["method": method, "params": params, "id": 1]
        let body: Data
        do { body = try JSONSerialization.data(withJSONObject: request) } catch {
            throw .badReply(method: method, detail: "cannot encode the request: \(error)")
        }
        let response: HTTPResponse
        do {
            response = try transport.post(url: url, body: Array(body), user: credentials?.user, password: credentials?.password)
        } catch { throw .transport(error) }
        switch response.status {
        case 401: throw .unauthorized
        case 403: throw .forbidden
        default: return response
        }
    }

    /// The `result` of a JSON-RPC reply, or the error it carries.
    func decode(_ method: String, _ response: HTTPResponse) throws(RPCError) -> Any {
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed]) } catch {
            if response.status == 404 { throw .methodNotFound(method: method, message: "HTTP 404") }
            if response.status != 200 { throw .http(status: response.status, method: method) }
            throw .badReply(method: method, detail: "not JSON (\(response.body.count) bytes)")
        }
        guard let envelope = json as? [String: Any] else {
            throw .badReply(method: method, detail: "not a JSON-RPC reply object")
        }
        if let error = envelope["error"] as? [String: Any] {
            let code = (error["code"] as? NSNumber)?.intValue ?? 0
            let message = error["message"] as? String ?? ""
            if code == -32601 { throw .methodNotFound(method: method, message: message) }
            throw .rpc(code: code, message: message, method: method)
        }
        guard response.status == 200 else { throw .http(status: response.status, method: method) }
        guard let result = envelope["result"] else { throw .badReply(method: method, detail: "no \"result\" member") }
        return result
    }

    // MARK: Typed calls

    /// `getblockcount`: the tip height.
    public func blockCount() throws(RPCError) -> Int {
        let r = try call("getblockcount")
        guard let n = (r as? NSNumber)?.intValue else { throw .badReply(method: "getblockcount", detail: "not a number") }
        return n
    }

    /// `getblockchaininfo`: tip height and whether the node is still in initial block download.
    public func blockchainInfo() throws(RPCError) -> (blocks: Int, initialBlockDownload: Bool) {
        let r = try call("getblockchaininfo")
        guard let o = r as? [String: Any], let blocks = (o["blocks"] as? NSNumber)?.intValue else {
            throw .badReply(method: "getblockchaininfo", detail: "no blocks")
        }
        return (blocks, (o["initialblockdownload"] as? NSNumber)?.boolValue ?? false)
    }

    /// One item of `name_filter` with `valuetype` base64, the value decoded to bytes.
    public struct FilteredName: Sendable, Equatable {
        public var name: [UInt8]
        /// Nil when the node cut the value short (builds that limit name_filter values to 300
        /// characters and append "...(value too large - use name_show to see full value)"):
        /// read it with `nameShow`.
        public var value: [UInt8]?
        public var expiresIn: Int
    }

    /// `name_filter regexp 0 from count "" base64` (reference §1.2): `from` and `count` page in
    /// index order; expired names are included (the caller decides), deleted ones are not.
    public func nameFilter(regexp: String, from: Int, count: Int) throws(RPCError) -> [FilteredName] {
        let response = try post("name_filter", [regexp, 0, from, count, "", "base64"])
        if response.status == 200, let fast = NameFilterReader.items(in: response.body) {
            return fast.map { item in
                FilteredName(name: item.name, value: Base64.decode(item.value), expiresIn: item.expiresIn)
            }
        }
        let r = try decode("name_filter", response)
        guard let items = r as? [Any] else { throw .badReply(method: "name_filter", detail: "not an array") }
        var out: [FilteredName] = []
        out.reserveCapacity(items.count)
        for case let item as [String: Any] in items {
            guard let name = item["name"] as? String, let value = item["value"] as? String,
                  let expiresIn = (item["expires_in"] as? NSNumber)?.intValue else {
                throw .badReply(method: "name_filter", detail: "an item lacks name, value or expires_in")
            }
            out.append(FilteredName(name: Array(name.utf8), value: Data(base64Encoded: value).map { Array($0) }, expiresIn: expiresIn))
        }
        guard out.count == items.count else { throw .badReply(method: "name_filter", detail: "an item is not an object") }
        return out
    }

    /// What `name_show` says of one name.
    public struct NameInfo: Sendable, Equatable {
        public var name: String
        public var value: [UInt8]
        public var txid: String
        public var address: String
        public var expiresAt: Int
        public var deleted: Bool
        public var expired: Bool
    }

    /// `name_show name base64`; nil when the name does not exist (-4 "failed to read from name DB").
    public func nameShow(_ name: String) throws(RPCError) -> NameInfo? {
        let r: Any
        do { r = try call("name_show", [name, "base64"]) } catch {
            if case .rpc(-4, let message, _) = error, message.contains("failed to read from name DB") { return nil }
            throw error
        }
        guard let o = r as? [String: Any], let value = (o["value"] as? String).flatMap({ Data(base64Encoded: $0) }),
              let txid = o["txid"] as? String, let address = o["address"] as? String,
              let expiresAt = (o["expires_at"] as? NSNumber)?.intValue else {
            throw .badReply(method: "name_show", detail: "missing value, txid, address or expires_at")
        }
        return NameInfo(name: o["name"] as? String ?? name, value: Array(value), txid: txid, address: address,
                        expiresAt: expiresAt, deleted: (o["deleted"] as? NSNumber)?.boolValue ?? false,
                        expired: (o["expired"] as? NSNumber)?.boolValue ?? false)
    }
}
