import DNSWire
import ENUMCore
#if canImport(Glibc)
import Glibc
#endif

/// A TSIG key (RFC 8945): its name, written `NAME:hmac-sha256:BASE64` in the config
/// (`tsig-key`), as `dig -y` and `tsig-keygen` write it. Only HMAC-SHA256 is offered: RFC 8945
/// section 6 makes it the one algorithm every implementation must have, and NSD, Knot and BIND do.
public struct TSIGKey: Sendable, Equatable, CustomStringConvertible {
    public var name: DomainName
    public var secret: [UInt8]

    public static let algorithm = try! DomainName(parsing: "hmac-sha256.")

    public init(name: DomainName, secret: [UInt8]) { self.name = name.lowercased; self.secret = secret }

    public init(parsing text: String) throws(TransferConfigError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .badKey(text, "write NAME:hmac-sha256:BASE64") }
        guard parts[1].lowercased() == "hmac-sha256" else {
            throw .badKey(text, "algorithm '\(parts[1])' is not supported; use hmac-sha256")
        }
        guard let name = try? DomainName(parsing: String(parts[0])), name != .root else {
            throw .badKey(text, "'\(parts[0])' is not a key name")
        }
        guard let secret = Base64.decode(String(parts[2])), !secret.isEmpty else {
            throw .badKey(text, "the secret is not base64")
        }
        guard secret.count >= 16 else { throw .badKey(text, "the secret is shorter than 16 octets; use 32 random octets (head -c 32 /dev/urandom | base64)") }
        self.init(name: name, secret: secret)
    }

    /// The secret is never printed.
    public var description: String { "\(name) (hmac-sha256)" }
}

/// TSIG error codes (RFC 8945 section 4.3 and the IANA registry).
public enum TSIGError: UInt16, Sendable {
    case noError = 0, badSig = 16, badKey = 17, badTime = 18, badTrunc = 22
}

/// A TSIG record as read from a message (RFC 8945 section 4.2).
struct TSIGRecord: Equatable {
    var keyName: DomainName
    var algorithm: DomainName
    var timeSigned: UInt64
    var fudge: UInt16
    var mac: [UInt8]
    var originalID: UInt16
    var error: UInt16
    var other: [UInt8]
    /// Offset of the record in the message; the signed part ends here.
    var start: Int
}

/// What the check of a request's TSIG says (RFC 8945 section 5.2).
enum TSIGCheck {
    /// No TSIG record.
    case unsigned
    /// Verified: sign the response with this state.
    case valid(TSIGSigner)
    /// Failed: answer NOTAUTH with this TSIG error; the signer is set only for BADTIME, whose
    /// answer is signed (section 5.2.3).
    case failed(TSIGError, record: TSIGRecord, signer: TSIGSigner?)
    /// A TSIG record that is not the last record, or cannot be read: FORMERR (section 5.2).
    case malformed
}

/// Signs the messages of one response (RFC 8945 section 5.3): the first with the request's MAC
/// and all TSIG variables; each later one with the previous MAC and the timers only (section
/// 5.3.1). Every message is signed (allowed: "at least every 100th").
struct TSIGSigner {
    let key: TSIGKey
    /// The MAC that the next signature covers first: the request's, then our previous one.
    var priorMAC: [UInt8]
    var signed = 0
    var fudge: UInt16 = 300

    init(key: TSIGKey, requestMAC: [UInt8]) { self.key = key; self.priorMAC = requestMAC }

    /// Appends a TSIG record to `message` (whose ARCOUNT does not count it yet) and counts it.
    mutating func sign(_ message: inout [UInt8], now: UInt64, error: TSIGError = .noError, timeSigned: UInt64? = nil,
                       other: [UInt8] = []) {
        let time = timeSigned ?? now
        let originalID = UInt16(message[0]) << 8 | UInt16(message[1])
        let prior: [[UInt8]] = priorMAC.isEmpty ? [] : [u16(UInt16(priorMAC.count)) + priorMAC]
        let variables = signed == 0
            ? TSIG.variables(key: key, time: time, fudge: fudge, error: error, other: other)
            : u48(time) + u16(fudge)
        let mac = HMACSHA256.mac(key: key.secret, message: prior + [message, variables])
        TSIG.append(to: &message, key: key, time: time, fudge: fudge, mac: mac, originalID: originalID, error: error, other: other)
        priorMAC = mac
        signed += 1
    }
}

/// TSIG (RFC 8945) over our own wire handling: reading the record, the MAC input of section
/// 4.3, verification in the order of section 5.2 (key, then MAC, then time), and signing.
enum TSIG {
    static let type: UInt16 = 250
    static let classANY: UInt16 = 255
    /// RFC 8945 section 10: 300 seconds is the recommended fudge.
    static let fudge: UInt16 = 300

    /// The TSIG variables of section 4.3.3, names in canonical (lowercase, uncompressed) form.
    static func variables(key: TSIGKey, time: UInt64, fudge: UInt16, error: TSIGError, other: [UInt8]) -> [UInt8] {
        key.name.lowercased.wire + u16(classANY) + [0, 0, 0, 0] + TSIGKey.algorithm.wire
            + u48(time) + u16(fudge) + u16(error.rawValue) + u16(UInt16(other.count)) + other
    }

    /// Appends a TSIG RR and increments ARCOUNT.
    static func append(to m: inout [UInt8], key: TSIGKey, time: UInt64, fudge: UInt16, mac: [UInt8],
                       originalID: UInt16, error: TSIGError, other: [UInt8]) {
        var rdata = TSIGKey.algorithm.wire + u48(time) + u16(fudge) + u16(UInt16(mac.count)) + mac
        rdata += u16(originalID) + u16(error.rawValue) + u16(UInt16(other.count)) + other
        m += key.name.lowercased.wire + u16(type) + u16(classANY) + [0, 0, 0, 0] + u16(UInt16(rdata.count)) + rdata
        let ar = (UInt16(m[10]) << 8 | UInt16(m[11])) &+ 1
        m[10] = UInt8(ar >> 8); m[11] = UInt8(ar & 0xFF)
    }

    /// Signs a request (a NOTIFY we send): section 4.3.1, no prior MAC. Returns the MAC, which
    /// the answer's signature covers.
    @discardableResult
    static func signRequest(_ message: inout [UInt8], key: TSIGKey, now: UInt64) -> [UInt8] {
        var s = TSIGSigner(key: key, requestMAC: [])
        s.sign(&message, now: now)
        return s.priorMAC
    }

    /// What a message holds in the way of TSIG.
    enum Found: Equatable {
        case none
        case record(TSIGRecord)
        /// More than one, not the last record, or unreadable: FORMERR (section 5.2).
        case malformed
    }

    /// Finds and reads the TSIG record, which must be the last record of the additional
    /// section (section 5.2).
    static func find(_ m: [UInt8]) -> Found {
        switch read(m) {
        case .none: return .malformed
        case .some(.none): return .none
        case .some(.some(let r)): return .record(r)
        }
    }

    /// nil: malformed; .some(nil): no TSIG.
    private static func read(_ m: [UInt8]) -> TSIGRecord?? {
        guard m.count >= 12 else { return .some(nil) }
        let counts = (0..<4).map { Int(m[4 + 2 * $0]) << 8 | Int(m[5 + 2 * $0]) }
        var p = 12
        for _ in 0..<counts[0] {
            guard let e = Wire.skipName(m, p), e + 4 <= m.count else { return .some(nil) }
            p = e + 4
        }
        var last = (start: -1, type: UInt16(0), rdata: 0)
        let records = counts[1] + counts[2] + counts[3]
        var tsigCount = 0
        for _ in 0..<records {
            let start = p
            guard let e = Wire.skipName(m, p), e + 10 <= m.count else { return .some(nil) }
            let type = UInt16(m[e]) << 8 | UInt16(m[e + 1])
            let rdlen = Int(m[e + 8]) << 8 | Int(m[e + 9])
            guard e + 10 + rdlen <= m.count else { return .some(nil) }
            if type == Self.type { tsigCount += 1 }
            last = (start, type, e + 10)
            p = e + 10 + rdlen
        }
        guard tsigCount > 0 else { return .some(nil) }
        guard last.type == Self.type, tsigCount == 1, counts[3] > 0 else { return nil }  // FORMERR
        guard let (owner, _) = Wire.readName(m, last.start),
              let (alg, a) = Wire.readName(m, last.rdata), a + 10 <= m.count else { return nil }
        let time = (0..<6).reduce(UInt64(0)) { $0 << 8 | UInt64(m[a + $1]) }
        let fudge = UInt16(m[a + 6]) << 8 | UInt16(m[a + 7])
        let macLen = Int(m[a + 8]) << 8 | Int(m[a + 9])
        let q = a + 10 + macLen
        guard q + 6 <= m.count else { return nil }
        let otherLen = Int(m[q + 4]) << 8 | Int(m[q + 5])
        guard q + 6 + otherLen <= m.count else { return nil }
        return TSIGRecord(keyName: owner.lowercased, algorithm: alg.lowercased, timeSigned: time, fudge: fudge,
                          mac: Array(m[(a + 10)..<q]), originalID: UInt16(m[q]) << 8 | UInt16(m[q + 1]),
                          error: UInt16(m[q + 2]) << 8 | UInt16(m[q + 3]), other: Array(m[(q + 6)..<(q + 6 + otherLen)]),
                          start: last.start)
    }

    /// Verifies a request's TSIG with the configured keys (RFC 8945 section 5.2).
    static func check(_ m: [UInt8], keys: [TSIGKey], now: UInt64) -> TSIGCheck {
        let r: TSIGRecord
        switch find(m) {
        case .malformed: return .malformed
        case .none: return .unsigned
        case .record(let found): r = found
        }
        // 5.2.1: an unknown key or algorithm is BADKEY, answered unsigned.
        guard r.algorithm == TSIGKey.algorithm, let key = keys.first(where: { $0.name == r.keyName }) else {
            return .failed(.badKey, record: r, signer: nil)
        }
        // 5.2.2.1: a MAC shorter than the digest is refused here (no truncation is offered).
        guard r.mac.count == HMACSHA256.length else { return .failed(r.mac.count < HMACSHA256.length ? .badTrunc : .badSig, record: r, signer: nil) }
        var signedPart = Array(m[0..<r.start])
        signedPart[0] = UInt8(r.originalID >> 8); signedPart[1] = UInt8(r.originalID & 0xFF)
        let ar = (UInt16(signedPart[10]) << 8 | UInt16(signedPart[11])) - 1
        signedPart[10] = UInt8(ar >> 8); signedPart[11] = UInt8(ar & 0xFF)
        let variables = variables(key: key, time: r.timeSigned, fudge: r.fudge,
                                  error: TSIGError(rawValue: r.error) ?? .noError, other: r.other)
        var expected = HMACSHA256.mac(key: key.secret, message: [signedPart, variables])
        if r.error != 0 && TSIGError(rawValue: r.error) == nil {
            // An unknown error value in a request: the variables above used 0; use it as sent.
            expected = HMACSHA256.mac(key: key.secret, message: [signedPart, key.name.lowercased.wire + u16(classANY)
                + [0, 0, 0, 0] + TSIGKey.algorithm.wire + u48(r.timeSigned) + u16(r.fudge) + u16(r.error)
                + u16(UInt16(r.other.count)) + r.other])
        }
        // 5.2.2: compared in constant time.
        guard constantTimeEqual(expected, r.mac) else { return .failed(.badSig, record: r, signer: nil) }
        let signer = TSIGSigner(key: key, requestMAC: r.mac)
        // 5.2.3: outside the fudge window is BADTIME, answered signed.
        let skew = now > r.timeSigned ? now - r.timeSigned : r.timeSigned - now
        guard skew <= UInt64(r.fudge) else { return .failed(.badTime, record: r, signer: signer) }
        return .valid(signer)
    }

    /// The NOTAUTH answer to a request whose TSIG failed (RFC 8945 sections 5.2 and 5.3.2):
    /// header and question of the request, a TSIG record with the error; unsigned (MAC empty)
    /// except for BADTIME, which is signed and carries our time in Other Data.
    static func errorResponse(to request: [UInt8], questionEnd: Int, error: TSIGError, record r: TSIGRecord,
                              signer: TSIGSigner?, now: UInt64) -> [UInt8] {
        var m = Array(request[0..<questionEnd])
        let rd = UInt16(request[2]) & 0x01
        let opcode = UInt16(request[2]) & 0x78
        m[2] = UInt8(0x80 | opcode | rd | 0x04)
        m[3] = 9  // NOTAUTH
        m[4] = 0; m[5] = questionEnd > 12 ? 1 : 0
        for i in 6..<12 { m[i] = 0 }
        if error == .badTime, var s = signer {
            s.fudge = r.fudge
            s.sign(&m, now: now, error: .badTime, timeSigned: r.timeSigned, other: u48(now))
        } else {
            let key = TSIGKey(name: r.keyName, secret: [])
            // The algorithm is echoed as sent (the key may be unknown for it).
            var rdata = r.algorithm.wire + u48(r.timeSigned) + u16(r.fudge) + u16(0)
            rdata += u16(r.originalID) + u16(error.rawValue) + u16(0)
            m += key.name.wire + u16(type) + u16(classANY) + [0, 0, 0, 0] + u16(UInt16(rdata.count)) + rdata
            m[11] = 1
        }
        return m
    }
}

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var d: UInt8 = 0
    for i in 0..<a.count { d |= a[i] ^ b[i] }
    return d == 0
}

@inline(__always) func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
@inline(__always) func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
@inline(__always) func u48(_ v: UInt64) -> [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: v >> UInt64(40 - 8 * $0)) } }

/// Names in received messages, compression pointers followed (RFC 1035 section 4.1.4).
enum Wire {
    /// The offset just past the name at `p` (a pointer ends it); nil when it runs off the end.
    static func skipName(_ m: [UInt8], _ start: Int) -> Int? {
        var p = start
        while p < m.count {
            let len = Int(m[p])
            if len == 0 { return p + 1 }
            if len & 0xC0 == 0xC0 { return p + 2 <= m.count ? p + 2 : nil }
            guard len <= 63 else { return nil }
            p += 1 + len
        }
        return nil
    }

    /// The name at `start`, decompressed, and the offset just past it in place.
    static func readName(_ m: [UInt8], _ start: Int) -> (DomainName, Int)? {
        var labels: [[UInt8]] = []
        var p = start, end: Int? = nil, jumps = 0
        while p < m.count {
            let len = Int(m[p])
            if len == 0 { if end == nil { end = p + 1 }; break }
            if len & 0xC0 == 0xC0 {
                guard p + 1 < m.count, jumps < 64 else { return nil }
                if end == nil { end = p + 2 }
                p = (len & 0x3F) << 8 | Int(m[p + 1]); jumps += 1
                continue
            }
            guard len <= 63, p + 1 + len <= m.count else { return nil }
            labels.append(Array(m[(p + 1)...(p + len)]))
            p += 1 + len
        }
        guard let end, let name = try? DomainName(labels: labels) else { return nil }
        return (name, end)
    }
}

/// RFC 4648 section 4 base64, for key secrets.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func decode(_ text: String) -> [UInt8]? {
        var table = [Int](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = i }
        var bits = 0, count = 0, pad = 0
        var out: [UInt8] = []
        for c in text.utf8 {
            if c == UInt8(ascii: "=") { pad += 1; continue }
            guard pad == 0, table[Int(c)] >= 0 else { return nil }
            bits = bits << 6 | table[Int(c)]; count += 6
            if count >= 8 { count -= 8; out.append(UInt8(truncatingIfNeeded: bits >> count)) }
        }
        guard pad <= 2 else { return nil }
        return out
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            let v = (Int(bytes[i]) << 16) | (n > 1 ? Int(bytes[i + 1]) << 8 : 0) | (n > 2 ? Int(bytes[i + 2]) : 0)
            for k in 0..<4 { out.append(k <= n ? alphabet[(v >> (18 - 6 * k)) & 63] : UInt8(ascii: "=")) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Responder {
    /// A query carrying TSIG (a secondary's signed SOA check, RFC 8945 section 5): verified, then
    /// answered as usual in a window that leaves room for the TSIG record, then signed; a failed
    /// check is answered NOTAUTH with the TSIG error (section 5.2). Off the hot path: only signed
    /// queries come here.
    func answerSigned(_ pq: ParsedQuery, _ q: UnsafeRawBufferPointer, _ transport: Transport,
                      _ out: UnsafeMutableRawBufferPointer) -> Int {
        let bytes = Array(q)
        let now = wallClockSeconds()
        func put(_ m: [UInt8]) -> Int {
            guard m.count <= out.count else { return 0 }
            m.withUnsafeBytes { out.copyMemory(from: $0) }
            return m.count
        }
        switch TSIG.check(bytes, keys: options.tsigKeys, now: now) {
        case .unsigned:
            var info = ResponseInfo()
            return answer(pq, q, transport, out, ClientAddress(), nil, &info)
        case .malformed:
            guard out.count >= 12 else { return 0 }
            var m = Array(bytes[0..<12])
            m[2] = 0x80 | (bytes[2] & 0x79); m[3] = 1
            for i in 4..<12 { m[i] = 0 }
            return put(m)
        case .failed(let error, let record, let signer):
            return put(TSIG.errorResponse(to: bytes, questionEnd: pq.questionEnd, error: error, record: record,
                                          signer: signer, now: now))
        case .valid(var signer):
            let limit = transport == .tcp ? Responder.maxMessageSize
                : (pq.hasEDNS ? min(max(Int(pq.udpSize), 512), options.maxUDPPayload) : 512)
            let reserve = signer.key.name.wire.count + 10 + TSIGKey.algorithm.wire.count + 16 + HMACSHA256.length
            let window = min(out.count, limit) - reserve
            guard window >= 12 + pq.questionEnd else { return 0 }
            var info = ResponseInfo()
            let n = answer(pq, q, transport, UnsafeMutableRawBufferPointer(rebasing: out[0..<window]), ClientAddress(), nil, &info)
            guard n > 0 else { return 0 }
            var m = Array(UnsafeRawBufferPointer(rebasing: out[0..<n]))
            signer.sign(&m, now: now)
            return put(m)
        }
    }
}

/// What is wrong with an `allow-transfer`, `notify` or `tsig-key` setting (ZoneTransfer.swift).
/// Here, beside the key parser, so that the responder and TSIG build without SwiftNIO (the fuzz
/// targets, `scripts/fuzz`).
public enum TransferConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case badNetwork(String)
    case badRule(String)
    case badKey(String, String)
    case badNotify(String, String)
    case unknownKey(DomainName)
    case duplicateKey(DomainName)

    public var description: String {
        switch self {
        case .badNetwork(let t): return "'\(t)' is not an address or network (write 192.0.2.0/24, 2001:db8::/32 or 127.0.0.1)"
        case .badRule(let t): return "'\(t)' is not 'CIDR' or 'CIDR KEYNAME'"
        case .badKey(let t, let why):
            let shown = t.split(separator: ":").prefix(2).joined(separator: ":")
            return "tsig-key '\(shown):...': \(why)"
        case .badNotify(let t, let why): return "notify '\(t)': \(why)"
        case .unknownKey(let k): return "TSIG key \(k) is used but not defined with tsig-key"
        case .duplicateKey(let k): return "TSIG key \(k) is defined twice"
        }
    }
}

/// Seconds since 1970: TSIG's time signed (RFC 8945 section 4.3.2).
public func wallClockSeconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec)
}
