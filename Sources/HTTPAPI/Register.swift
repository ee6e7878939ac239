import Dispatch
import EmercoinRPC
import ENUMCore
import Foundation
import Hummingbird

/// `POST /enum/register` with the Flask body (`phone_number`, `sip_uri`, optional
/// `fallback_uris`, `days`; optional `convention` seed|enumer). Off unless a register token is
/// configured; then it needs `Authorization: Bearer TOKEN`, compared in constant time.
/// 201 with `txid`, `nvs_key`, `enum_domain`; 400 bad input; 401 no or wrong token; 409 the name
/// is live and the wallet does not own it; 502 the node failed.
struct RegisterRoute: Sendable {
    /// The bearer token, read per request (a reload can change it); nil: registration off.
    let token: @Sendable () -> String?
    let client: RPCClient?
    private static let queue = DispatchQueue(label: "enumd.http-register")

    func handle(_ request: Request) async -> Response {
        guard let token = token(), let client else {
            return json(.forbidden, ["error": "registration is disabled on this server (no register token is configured)"])
        }
        guard let auth = request.headers[.authorization], auth.hasPrefix("Bearer "),
              constantTimeEqual(Array(auth.dropFirst(7).utf8), Array(token.utf8)) else {
            var r = json(.unauthorized, ["error": "a valid 'Authorization: Bearer <token>' header is required"])
            r.headers[.wwwAuthenticate] = "Bearer"
            return r
        }
        var request = request
        guard let body = try? await request.collectBody(upTo: 64 * 1024),
              let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            return json(.badRequest, ["error": "the body must be a JSON object of at most 64 KiB"])
        }
        guard let phone = object["phone_number"] as? String, let sip = object["sip_uri"] as? String else {
            return json(.badRequest, ["error": "Missing required fields: phone_number, sip_uri (both strings)"])
        }
        let fallbacks: [String]
        switch object["fallback_uris"] {
        case nil, is NSNull: fallbacks = []
        case let list as [String]: fallbacks = list
        default: return json(.badRequest, ["error": "fallback_uris must be a list of strings"])
        }
        var days = 365
        if let d = object["days"] {
            guard let n = d as? Int, !(d is Bool), (1...36_500).contains(n) else {
                return json(.badRequest, ["error": "days must be a whole number from 1 to 36500"])
            }
            days = n
        }
        let convention = Registration.Convention(rawValue: object["convention"] as? String ?? "seed")
        guard let convention else { return json(.badRequest, ["error": "convention must be seed or enumer"]) }
        let number: E164Number
        do { number = try E164Number(parsing: phone) } catch { return json(.badRequest, ["error": error.description]) }
        let built: (name: String, value: String)
        do { built = try Registration.nameAndValue(for: number, uris: [sip] + fallbacks, convention: convention) } catch {
            return json(.badRequest, ["error": error.description])
        }
        let rentDays = days
        let outcome: Result<(String, String), RPCError> = await withCheckedContinuation { cont in
            Self.queue.async {
                do {
                    let existing = try client.nameShow(built.name)
                    let live = existing.map { !$0.deleted && !$0.expired } ?? false
                    let method = live ? "name_update" : "name_new"
                    let r = try client.call(method, [built.name, built.value, rentDays])
                    guard let txid = r as? String else { throw RPCError.badReply(method: method, detail: "not a txid") }
                    cont.resume(returning: .success((method, txid)))
                } catch let e as RPCError {
                    cont.resume(returning: .failure(e))
                } catch {
                    cont.resume(returning: .failure(.badReply(method: "register", detail: "\(error)")))
                }
            }
        }
        switch outcome {
        case .success(let (method, txid)):
            return json(method == "name_new" ? .created : .ok,
                        ["status": "success", "txid": txid, "nvs_key": built.name, "operation": method,
                         "enum_domain": String(number.domain().description.dropLast()), "phone_number": number.description])
        case .failure(let e):
            if case .rpc(_, let message, _) = e, message.contains("not yours") {
                return json(.conflict, ["error": "\(built.name) is registered and this node's wallet does not own it", "nvs_key": built.name])
            }
            return json(.badGateway, ["error": "the Emercoin node failed: \(e)", "nvs_key": built.name])
        }
    }
}

/// Compares without an early exit, so the time taken says nothing about where a guess went wrong.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var diff = UInt8(a.count == b.count ? 0 : 1)
    for i in 0..<max(a.count, b.count) {
        diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
    }
    return diff == 0
}
