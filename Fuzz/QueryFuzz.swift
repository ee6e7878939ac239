// libFuzzer target for the query path: bytes in -> Responder -> bytes out, over UDP and TCP,
// against the demo zone and Fuzz/fuzz.test.zone. Built by scripts/fuzz (swiftc
// -sanitize=fuzzer,address); not part of the SwiftPM package.
//
// Invariants checked on every input (a violation traps, which libFuzzer reports as a crash):
// - a reply is either nothing or a whole DNS message: at least a header, QR set, the query's ID;
// - over UDP it is never bigger than the client may receive (512 without EDNS, else the smaller
//   of its EDNS size and our maximum, RFC 6891 section 6.2.5), and never bigger than the query
//   times a bounded factor for non-answers (no amplification of garbage);
// - anything longer than a header decodes with libldns, with the question echoed;
// - an RRL slip (TC, question only) is never bigger than the query; a BADCOOKIE slip decodes
//   and is at most 22 octets bigger;
// - an input shorter than a header, or with QR set, gets no reply (RFC 1035 section 4.1.1;
//   a reply to garbage is an amplifier).
@testable import DNSServer
import DNSWire
import ENUMCore
#if canImport(Glibc)
import Glibc
#endif

let fuzzResponder: Responder = {
    let root = String(cString: getenv("ENUMD_REPO") ?? strdup("."))
    do {
        let zones = [try ZoneFile.load(path: root + "/zones/e164.arpa.zone"),
                     try ZoneFile.load(path: root + "/Fuzz/fuzz.test.zone")]
        return Responder(snapshot: try Snapshot(zones: zones), options: ResponderOptions())
    } catch {
        fatalError("fuzz zones: \(error) (run from the repository root or set ENUMD_REPO)")
    }
}()

let fuzzCookies = ServerCookies()
let fuzzClient = ClientAddress(ipv4: (192, 0, 2, 1))
let fuzzRRL = RateLimiter(.init(rate: 1_000_000, slip: 2))
let fuzzOut = UnsafeMutableRawBufferPointer.allocate(byteCount: Responder.maxMessageSize, alignment: 16)

@inline(never)
func check(_ ok: Bool, _ what: StaticString) {
    if !ok { fatalError("invariant broken: \(what)") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQuery(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let q = UnsafeRawBufferPointer(start: data, count: size)
    for transport in [Transport.udp, .tcp] {
        // With DNS Cookies on (RFC 7873), as served; and the RRL classification run on each reply.
        var info = ResponseInfo()
        let n = fuzzResponder.respond(to: q, transport: transport, client: fuzzClient, cookies: fuzzCookies,
                                      into: fuzzOut, info: &info)
        if n > 0 { _ = fuzzRRL.decide(info: info, client: fuzzClient, query: q, now: 1) }
        check(n >= 0 && n <= Responder.maxMessageSize, "length in range")
        if size < 12 || q[2] & 0x80 != 0 { check(n == 0, "silence for garbage and responses"); continue }
        guard n > 0 else { continue }
        check(n >= 12, "at least a header")
        check(fuzzOut[0] == q[0] && fuzzOut[1] == q[1], "ID echoed")
        check(fuzzOut[2] & 0x80 != 0, "QR set")
        if transport == .udp {
            check(n <= 1232, "UDP reply within our maximum payload")
            if case .query(let pq) = checkQuery(q) {
                check(n <= (pq.hasEDNS ? max(512, Int(pq.udpSize)) : 512), "UDP reply within the client's size")
            }
        }
        if n > 12 {
            let bytes = Array(UnsafeRawBufferPointer(rebasing: fuzzOut[0..<n]))
            do {
                let p = try DecodedPacket(bytes)
                // One question, or none for a question-less OPT query (RFC 7873 section 5.4, NSD).
                check(p.question.count == (q[4] == 0 && q[5] == 0 ? 0 : 1), "the question echoed")
            } catch {
                fatalError("reply does not decode: \(error)")
            }
        }
        // What an RRL slip would send instead: TC and the question, never bigger than the query;
        // or, to a client that sent a cookie, BADCOOKIE with the question and our OPT, at most
        // 22 octets more than the query (its OPT held a client cookie: 23 octets at least; ours
        // is 39, 45 with an extended error).
        let badCookie = info.hadClientCookie && info.cookieOPTLength > 0
        let slipped = RateLimiter.slip(fuzzOut, length: n, info: info)
        check(slipped >= 12 && slipped <= max(12, size + (badCookie ? 22 : 0)), "a slipped reply amplifies nothing")
        if badCookie && slipped > 12 {
            check((try? DecodedPacket(Array(UnsafeRawBufferPointer(rebasing: fuzzOut[0..<slipped])))) != nil, "a BADCOOKIE slip decodes")
        }
    }
    return 0
}

