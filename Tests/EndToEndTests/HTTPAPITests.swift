import Foundation
import Testing
import TestSupport

/// The HTTP JSON API of the real binary: the Flask backend's contract (reference/flask-backend.md)
/// route by route, its bugs fixed, CORS, methods, and the chain-backed fields.
@Suite(.serialized) struct HTTPAPITests {
    func get(_ s: EnumdServer, _ path: String, method: String = "GET", headers: [String: String] = [:]) throws -> HTTPReply {
        try httpRequest(port: s.httpPort, method: method, path: path, headers: headers)
    }

    @Test func lookupContractOnZoneData() throws {
        let s = try EnumdServer(["--http", "127.0.0.1:0"])
        let ok = try get(s, "/enum/lookup?number=%2B1234567890")
        #expect(ok.status == 200 && ok.headers["content-type"] == "application/json")
        #expect(ok.headers["access-control-allow-origin"] == "*")
        #expect(ok.text.hasSuffix("}\n"))
        let j = try #require(ok.json)
        #expect(j["status"] as? String == "success" && j["phone_number"] as? String == "+1234567890")
        #expect(j["enum_domain"] as? String == "0.9.8.7.6.5.4.3.2.1.e164.arpa")
        #expect(j["sip_uri"] as? String == "sip:primary@example.com")
        let records = try #require(j["naptr_records"] as? [[String: Any]])
        #expect(records.count == 3)
        #expect(records[0]["service"] as? String == "E2U+sip" && records[0]["pattern"] as? String == "^.*$")
        #expect(records[0]["replacement"] as? String == "sip:primary@example.com" && records[0]["order"] as? Int == 100)
        #expect(records[2]["service"] as? String == "E2U+pstn:tel" && records[2]["preference"] as? Int == 30)
        // Keys sorted as Flask's jsonify wrote them.
        #expect(ok.text.hasPrefix("{\"enum_domain\":"))

        // An unencoded '+', a space where a URL decoder ate the '+', separators: all the same number.
        for q in ["+1234567890", "%201234567890", "%2B1%20234-567-890", "1234567890"] {
            let r = try get(s, "/enum/lookup?number=\(q)")
            #expect(r.status == 200 && r.json?["phone_number"] as? String == "+1234567890", "\(q)")
        }
        // Repeated parameters: the first one counts, as in Flask.
        #expect(try get(s, "/enum/lookup?number=%2B1234567890&number=%2B999").status == 200)
        // A range answered by a wildcard: the backreference is filled in for this number.
        let range = try #require(try get(s, "/enum/lookup?number=%2B4930123451234").json)
        #expect(range["sip_uri"] as? String == "sip:4930123451234@pbx.example.de")
    }

    /// The README's curl example, with curl itself, as an operator would run it.
    @Test func curlLookup() throws {
        let s = try EnumdServer(["--http", "127.0.0.1:0"])
        let r = try run(try tool("curl"), ["-s", "-i", "-H", "Origin: https://antisip.example",
                                          "http://127.0.0.1:\(s.httpPort)/enum/lookup?number=%2B1234567890"])
        #expect(r.status == 0 && r.stdout.hasPrefix("HTTP/1.1 200"))
        #expect(r.stdout.lowercased().contains("access-control-allow-origin: https://antisip.example"))
        #expect(r.stdout.contains("\"sip_uri\":\"sip:primary@example.com\""))
    }

    @Test func lookupErrors() throws {
        let s = try EnumdServer(["--http", "127.0.0.1:0"])
        let missing = try get(s, "/enum/lookup")
        #expect(missing.status == 400 && missing.text == "{\"error\":\"Missing required parameter: number\"}\n")
        #expect(try get(s, "/enum/lookup?number=").status == 400)
        for bad in ["abc", "%2B0123", "1234567890123456", "12a34"] {
            let r = try get(s, "/enum/lookup?number=\(bad)")
            #expect(r.status == 400 && (r.json?["error"] as? String)?.contains("not an E.164 number") == true, "\(bad)")
        }
        let absent = try get(s, "/enum/lookup?number=%2B999")
        #expect(absent.status == 404 && absent.text == "{\"phone_number\":\"+999\",\"status\":\"not_found\"}\n")
    }

    @Test func methodsCORSAndUnknownPaths() throws {
        let s = try EnumdServer(["--http", "127.0.0.1:0"])
        let post = try get(s, "/enum/lookup?number=1", method: "POST")
        #expect(post.status == 405 && post.headers["allow"] == "GET, HEAD, OPTIONS")
        #expect(post.headers["access-control-allow-origin"] == "*")
        let head = try get(s, "/health", method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty)
        let options = try get(s, "/enum/list", method: "OPTIONS")
        #expect(options.status == 200 && options.headers["allow"] == "GET, HEAD, OPTIONS")
        let preflight = try get(s, "/enum/lookup", method: "OPTIONS",
                                headers: ["Origin": "https://app.example", "Access-Control-Request-Method": "GET"])
        #expect([200, 204].contains(preflight.status))
        #expect(preflight.headers["access-control-allow-origin"] == "https://app.example")
        #expect(preflight.headers["access-control-allow-methods"]?.contains("GET") == true)
        let withOrigin = try get(s, "/health", headers: ["Origin": "https://app.example"])
        #expect(withOrigin.headers["access-control-allow-origin"] == "https://app.example" && withOrigin.headers["vary"] == "Origin")
        let unknown = try get(s, "/enum/nothing")
        #expect(unknown.status == 404 && unknown.headers["access-control-allow-origin"] == "*")
    }

    @Test func healthListAndMetricsWithoutTheChain() throws {
        let s = try EnumdServer(["--http", "127.0.0.1:0"])
        let h = try get(s, "/health")
        #expect(h.status == 200 && h.json?["status"] as? String == "healthy" && h.json?["chain"] as? String == "off")
        #expect(h.text.contains("\"emercoin_connected\":false") && h.text.contains("\"stale\":false") && h.text.contains("\"blocks\":0"))
        #expect(h.json?["records_served"] as? Int == 3)
        let l = try #require(try get(s, "/enum/list").json)
        #expect(l["count"] as? Int == 0 && (l["records"] as? [Any])?.isEmpty == true)
        #expect(try get(s, "/enum/list?limit=0").status == 400)
        #expect(try get(s, "/enum/list?limit=5000").status == 400)
        #expect(try get(s, "/enum/list?offset=-1").status == 400)
        _ = try dig(s.port, ["0.9.8.7.6.5.4.3.2.1.e164.arpa", "NAPTR"])
        _ = try dig(s.port, ["+tcp", "9.9.e164.arpa", "NAPTR"])
        let m = try get(s, "/metrics")
        #expect(m.status == 200 && m.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(m.text.contains("enum_dns_queries_total{proto=\"udp\",rcode=\"NOERROR\"} 1"))
        #expect(m.text.contains("enum_dns_queries_total{proto=\"tcp\",rcode=\"NXDOMAIN\"} 1"))
        #expect(m.text.contains("enum_http_requests_total{route=\"/health\",status=\"200\"} 1"))
        #expect(m.text.contains("enum_http_requests_total{route=\"/enum/list\",status=\"400\"} 3"))
        #expect(m.text.contains("enum_snapshot_records_served 3"))
        #expect(m.text.contains("# TYPE enum_dns_answer_duration_seconds histogram"))
        // The malloc heap (glibc mallinfo2): a running server has some in use.
        let heap = m.text.split(separator: "\n").first { $0.hasPrefix("enum_process_heap_bytes{state=\"in_use\"}") }
        #expect((heap.flatMap { Double($0.split(separator: " ").last!) } ?? 0) > 1_000_000, "\(heap ?? "no heap metric")")
    }

    @Test func chainBackedLookupListAndHealth() throws {
        let node = try FakeNode()
        let reply = try node.control(["op": "register", "name": "enum:0.9.8.7.6.5.4.3.2.1.4.4.e164.arpa",
                                      "value": #""!^.*$!sip:seed@example.net!"|"!^.*$!tel:+441234567890!""#, "days": 10])
        try node.register("enum:4915123456789:0", "E2U+sip=100|10|!^(.*)$!sip:\\1@enumer.example!")
        for i in 0..<5 { try node.register("enum:3361234567\(i):0", "E2U+sip=1|1|!^.*$!sip:u\(i)@x!") }
        try node.fault("down")  // no data yet: the API says so
        let s = try EnumdServer(["--http", "127.0.0.1:0", "--poll-interval", "1"] + node.serveArguments, chain: true)
        let early = try get(s, "/enum/lookup?number=%2B441234567890")
        #expect(early.status == 503)
        #expect(try get(s, "/health").status == 503)
        try node.fault("none")
        try node.mine()
        #expect(eventually(8) { (try? get(s, "/health").status) == 200 })

        let seed = try #require(try get(s, "/enum/lookup?number=%2B441234567890").json)
        let records = try #require(seed["naptr_records"] as? [[String: Any]])
        // Seed entries keep the Flask numbering: order = entry index, preference 10.
        #expect(records.map { $0["order"] as? Int } == [0, 1] && records.allSatisfy { $0["preference"] as? Int == 10 })
        #expect(seed["expires_in"] as? Int == 10 * 175 - 1)
        #expect(seed["nvs_key"] as? String == "enum:0.9.8.7.6.5.4.3.2.1.4.4.e164.arpa")
        #expect(eventually(5) {
            (try? get(s, "/enum/lookup?number=%2B441234567890").json?["owner_address"] as? String) == reply["address"] as? String
        })
        let enumer = try #require(try get(s, "/enum/lookup?number=%2B4915123456789").json)
        #expect(enumer["sip_uri"] as? String == "sip:+4915123456789@enumer.example")  // RFC 6116: the AUS keeps its +
        #expect((enumer["naptr_records"] as? [[String: Any]])?.first?["order"] as? Int == 100)
        // Lookups are cached per snapshot: a change on the chain shows at the next sync.
        try node.update("enum:4915123456789:0", "E2U+sip=100|10|!^(.*)$!sip:\\1@moved.example!")
        try node.mine()
        #expect(eventually(8) {
            (try? get(s, "/enum/lookup?number=%2B4915123456789").json?["sip_uri"] as? String) == "sip:+4915123456789@moved.example"
        })

        let page = try #require(try get(s, "/enum/list?limit=3").json)
        #expect(page["count"] as? Int == 3 && page["total"] as? Int == 7 && page["next_offset"] as? Int == 3)
        let lastText = try get(s, "/enum/list?limit=3&offset=6").text
        #expect(lastText.contains("\"count\":1,") && lastText.contains("\"next_offset\":null"))
        let last = try #require(try get(s, "/enum/list?limit=3&offset=6").json)
        #expect(last["count"] as? Int == 1 && last["next_offset"] is NSNull)
        let first = try #require((page["records"] as? [[String: Any]])?.first)
        #expect(Set(first.keys) == ["nvs_key", "phone_number", "sip_uri", "expires_in"])

        // The node goes away: degraded, DNS and lookups keep answering; it comes back: healthy.
        try node.fault("down")
        try node.mine()
        #expect(eventually(6) { (try? get(s, "/health").status) == 503 })
        #expect(try get(s, "/health").json?["emercoin_connected"] as? Bool == false)
        #expect(try get(s, "/enum/lookup?number=%2B4915123456789").status == 200)
        try node.fault("none")
        try node.mine()
        #expect(eventually(8) { (try? get(s, "/health").status) == 200 })
        let m = try get(s, "/metrics").text
        #expect(m.contains("enum_sync_errors_total{kind=\"unreachable\"}") && m.contains("enum_chain_height_blocks"))
    }

    @Test func registrationNeedsTheTokenAndReachesDNSAndHTTP() throws {
        let node = try FakeNode()
        let token = "test-token-0123456789abcdef"
        let off = try EnumdServer(["--http", "127.0.0.1:0"] + node.serveArguments, chain: true)
        #expect(try httpPost(port: off.httpPort, path: "/enum/register", body: Array("{}".utf8)).status == 403)

        let s = try EnumdServer(["--http", "127.0.0.1:0", "--poll-interval", "1", "--register-token", token] + node.serveArguments, chain: true)
        func post(_ body: String, auth: String? = "Bearer \(token)") throws -> HTTPReply {
            try httpRequest(port: s.httpPort, method: "POST", path: "/enum/register", body: Array(body.utf8),
                            headers: ["Content-Type": "application/json"].merging(auth.map { ["Authorization": $0] } ?? [:]) { $1 })
        }
        let good = #"{"phone_number": "+33 1 23 45 67 89", "sip_uri": "sip:marie@example.fr", "fallback_uris": ["tel:+33123456789"], "days": 30}"#
        #expect(try post(good, auth: nil).status == 401)
        #expect(try post(good, auth: "Bearer wrong-token-0123456789").status == 401)
        #expect(try post("not json").status == 400)
        #expect(try post(#"{"phone_number": "+331"}"#).status == 400)
        #expect(try post(#"{"phone_number": "abc", "sip_uri": "sip:a@b"}"#).status == 400)
        #expect(try post(#"{"phone_number": "+331", "sip_uri": "sip:a@b", "fallback_uris": "tel:+1"}"#).status == 400)
        #expect(try post(#"{"phone_number": "+331", "sip_uri": "gopher:a"}"#).status == 400)

        let created = try post(good)
        #expect(created.status == 201, "\(created.text)")
        let j = try #require(created.json)
        #expect((j["txid"] as? String)?.count == 64 && j["nvs_key"] as? String == "enum:9.8.7.6.5.4.3.2.1.3.3.e164.arpa")
        #expect(j["enum_domain"] as? String == "9.8.7.6.5.4.3.2.1.3.3.e164.arpa")
        try node.mine()
        #expect(eventually(6) { (try? dig(s.port, ["9.8.7.6.5.4.3.2.1.3.3.e164.arpa", "NAPTR"]).answer.count) == 2 })
        #expect(try get(s, "/enum/lookup?number=%2B33123456789").json?["sip_uri"] as? String == "sip:marie@example.fr")
        // The same number again: the wallet owns it, so it is an update.
        let updated = try post(good.replacingOccurrences(of: "marie", with: "pierre"))
        #expect(updated.status == 200 && updated.json?["operation"] as? String == "name_update")
        // A live name the wallet does not own: 409.
        try node.control(["op": "register", "name": "enum:0.0.0.0.0.0.0.0.9.4.e164.arpa", "value": "!^.*$!sip:x@y!", "address": "EforeignOwnerAddressxxxxxxxxxxxxxx"])
        let conflict = try post(#"{"phone_number": "+4900000000", "sip_uri": "sip:me@example.de"}"#)
        #expect(conflict.status == 409, "\(conflict.text)")
        // The node down: 502 with what failed.
        try node.fault("down")
        let down = try post(#"{"phone_number": "+4911111111", "sip_uri": "sip:me@example.de"}"#)
        #expect(down.status == 502 && (down.json?["error"] as? String)?.contains("unreachable") == true)
    }
}
