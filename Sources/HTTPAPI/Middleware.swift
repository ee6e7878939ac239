import Hummingbird
import Synchronization

/// flask-cors sent `Access-Control-Allow-Origin: *` on responses to requests without an
/// `Origin` header; Hummingbird's CORSMiddleware (which handles requests with one, and preflight)
/// sends nothing then. This adds the `*` for those, so every response carries the header.
struct AllowAnyOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !request.headers.contains(.origin) else { return try await next(request, context) }
        do {
            var response = try await next(request, context)
            response.headers[.accessControlAllowOrigin] = "*"
            return response
        } catch let error as HTTPResponseError {
            var response = try error.response(from: request, context: context)
            response.headers[.accessControlAllowOrigin] = "*"
            return response
        }
    }
}

/// Requests by route and status, and their durations, for /metrics.
final class HTTPStatistics: Sendable {
    struct Key: Hashable { var route: String; var status: Int }
    static let bucketsSeconds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
    struct Totals {
        var requests: [Key: Int] = [:]
        var buckets = [Int](repeating: 0, count: 11)
        var sum = 0.0
        var count = 0
    }
    let totals = Mutex(Totals())

    func record(route: String, status: Int, seconds: Double) {
        totals.withLock { t in
            t.requests[Key(route: route, status: status), default: 0] += 1
            var b = 0
            while b < Self.bucketsSeconds.count && seconds > Self.bucketsSeconds[b] { b += 1 }
            t.buckets[b] += 1
            t.sum += seconds
            t.count += 1
        }
    }
}

/// The routes and the methods each takes, built once (a generic middleware cannot hold a static
/// stored property, and rebuilding these per request was a visible part of a lookup's cost).
enum Routes {
    static let get: [HTTPRequest.Method] = [.get, .head, .options]
    static let allowed: [String: (methods: [HTTPRequest.Method], header: String)] = [
        "/health": get, "/enum/lookup": get, "/enum/list": get, "/metrics": get, "/enum/register": [.post, .options],
    ].mapValues { ($0, $0.map(\.rawValue).joined(separator: ", ")) }
}

/// Counts every request by its route (the known paths, else "other") and status.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let statistics: HTTPStatistics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let path = request.uri.path
        let route = Routes.allowed[path] != nil ? path : "other"
        do {
            let response = try await next(request, context)
            statistics.record(route: route, status: response.status.code, seconds: seconds(since: start))
            return response
        } catch let error as HTTPResponseError {
            statistics.record(route: route, status: error.status.code, seconds: seconds(since: start))
            throw error
        }
    }

    func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// The methods each route takes, answered the way Flask/Werkzeug did: `OPTIONS` gets 200 with
/// `Allow`, `HEAD` gets the `GET` answer without the body, and any other method gets 405 with `Allow`
/// (Hummingbird alone would say 404). Preflight requests never get here: CORSMiddleware runs first.
struct MethodMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let (methods, allow) = Routes.allowed[request.uri.path] else { return try await next(request, context) }
        switch request.method {
        case .options:
            return Response(status: .ok, headers: [.allow: allow])
        case .head where methods.contains(.get):
            let response = try await next(request, context)  // routed to the GET handler (see HTTPAPI.router)
            return Response(status: response.status, headers: response.headers, body: ResponseBody())
        case let m where !methods.contains(m):
            var response = json(.methodNotAllowed, ["error": "\(m.rawValue) is not allowed on \(request.uri.path); use \(allow)"])
            response.headers[.allow] = allow
            return response
        default:
            return try await next(request, context)
        }
    }
}
