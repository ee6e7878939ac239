import CCurl
import CCurlShim
import Synchronization

/// An HTTP response: status and body bytes.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]
}

/// What went wrong with one HTTP exchange, said so that an operator can act on it.
/// Messages never contain credentials.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing listens there, or the host is unknown.
    case unreachable(url: String, detail: String)
    /// Connecting or the whole exchange took longer than allowed.
    case timeout(url: String, detail: String)
    /// The body passed `limit` bytes; the rest was not read.
    case bodyTooLarge(url: String, limit: Int)
    /// Any other libcurl failure: which call and libcurl's text for the code.
    case curl(function: String, code: Int, message: String)

    public var description: String {
        switch self {
        case .unreachable(let u, let d): return "node unreachable at \(u): \(d)"
        case .timeout(let u, let d): return "timed out talking to \(u): \(d)"
        case .bodyTooLarge(let u, let l): return "reply from \(u) is larger than \(l) bytes"
        case .curl(let f, let c, let m): return "\(f) failed (\(c)): \(m)"
        }
    }
}

/// HTTP POST over one reused libcurl easy handle (keep-alive to the node). The handle is used by
/// one request at a time; concurrent callers wait. The only module that touches libcurl.
public final class HTTPTransport: Sendable {
    public struct Options: Sendable {
        /// Time allowed to open the TCP connection. Default 3 s.
        public var connectTimeoutMilliseconds = 3_000
        /// Time allowed for the whole exchange. Default 30 s (emercoind's own rpcservertimeout).
        public var totalTimeoutMilliseconds = 30_000
        /// Largest body read; past it the exchange fails. Default 64 MiB.
        public var maxBodyBytes = 64 << 20
        public init() {}
    }

    private let handle: Mutex<Handle>
    public let options: Options

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// Owns the CURL pointer; freed in deinit.
    final class Handle: @unchecked Sendable {
        let curl: UnsafeMutableRawPointer
        init() throws(TransportError) {
            _ = HTTPTransport.globalInit
            guard let c = curl_easy_init() else { throw .curl(function: "curl_easy_init", code: -1, message: "no handle") }
            curl = c
        }
        deinit { curl_easy_cleanup(curl) }
    }

    public init(options: Options = Options()) throws(TransportError) {
        self.options = options
        self.handle = Mutex(try Handle())
    }

    /// Posts `body` to `url`, with HTTP Basic credentials if given.
    public func post(url: String, body: [UInt8], contentType: String = "application/json",
                     user: String? = nil, password: String? = nil) throws(TransportError) -> HTTPResponse {
        try handle.withLock { h throws(TransportError) -> HTTPResponse in
            try perform(h.curl, url: url, body: body, contentType: contentType, user: user, password: password)
        }
    }

    /// Accumulates the body, refusing to grow past the limit.
    final class Sink {
        var bytes: [UInt8] = []
        let limit: Int
        var overflowed = false
        init(limit: Int) { self.limit = limit }
    }

    private func perform(_ curl: UnsafeMutableRawPointer, url: String, body: [UInt8], contentType: String,
                         user: String?, password: String?) throws(TransportError) -> HTTPResponse {
        curl_easy_reset(curl)  // options only; the connection cache survives
        func set(_ rc: CURLcode, _ what: String) throws(TransportError) {
            guard rc == CURLE_OK else {
                throw .curl(function: "curl_easy_setopt(\(what))", code: Int(rc.rawValue), message: String(cString: curl_easy_strerror(rc)))
            }
        }
        try set(enumd_curl_setopt_string(curl, CURLOPT_URL, url), "URL")
        try set(enumd_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1), "NOSIGNAL")
        try set(enumd_curl_setopt_long(curl, CURLOPT_POST, 1), "POST")
        try set(enumd_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeoutMilliseconds), "CONNECTTIMEOUT_MS")
        try set(enumd_curl_setopt_long(curl, CURLOPT_TIMEOUT_MS, options.totalTimeoutMilliseconds), "TIMEOUT_MS")
        try set(enumd_curl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 0), "FOLLOWLOCATION")
        if let user {
            try set(enumd_curl_setopt_long(curl, CURLOPT_HTTPAUTH, 1 /* CURLAUTH_BASIC, a macro Swift cannot import */), "HTTPAUTH")
            try set(enumd_curl_setopt_string(curl, CURLOPT_USERNAME, user), "USERNAME")
            try set(enumd_curl_setopt_string(curl, CURLOPT_PASSWORD, password ?? ""), "PASSWORD")
        }
        var headers: UnsafeMutablePointer<curl_slist>? = nil
        headers = curl_slist_append(headers, "Content-Type: \(contentType)")
        headers = curl_slist_append(headers, "Expect:")  // no 100-continue round trip
        defer { curl_slist_free_all(headers) }
        try set(enumd_curl_setopt_slist(curl, CURLOPT_HTTPHEADER, headers), "HTTPHEADER")

        let sink = Sink(limit: options.maxBodyBytes)
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        try set(enumd_curl_setopt_write_function(curl) { data, size, count, context in
            let s = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            if s.bytes.count + n > s.limit { s.overflowed = true; return 0 }
            data!.withMemoryRebound(to: UInt8.self, capacity: n) { s.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
            return n
        }, "WRITEFUNCTION")
        try set(enumd_curl_setopt_pointer(curl, CURLOPT_WRITEDATA, sinkPointer), "WRITEDATA")

        let rc: CURLcode = body.withUnsafeBufferPointer { b in
            _ = enumd_curl_setopt_long(curl, CURLOPT_POSTFIELDSIZE, b.count)
            _ = enumd_curl_setopt_pointer(curl, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: b.baseAddress ?? UnsafePointer(bitPattern: 1)!))
            return withExtendedLifetime(sink) { curl_easy_perform(curl) }
        }
        let message = String(cString: curl_easy_strerror(rc))
        switch rc {
        case CURLE_OK: break
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_GOT_NOTHING,
             CURLE_RECV_ERROR, CURLE_SEND_ERROR:
            throw .unreachable(url: url, detail: message)
        case CURLE_OPERATION_TIMEDOUT:
            throw .timeout(url: url, detail: message)
        case CURLE_WRITE_ERROR where sink.overflowed:
            throw .bodyTooLarge(url: url, limit: options.maxBodyBytes)
        default:
            throw .curl(function: "curl_easy_perform", code: Int(rc.rawValue), message: message)
        }
        var status = 0
        _ = enumd_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, body: sink.bytes)
    }
}
