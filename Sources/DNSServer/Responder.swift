import ENUMCore

/// Options that change answers. Each default is what NSD does.
public struct ResponderOptions: Sendable, Equatable {
    /// Largest UDP response we send, whatever larger size a client offers. 1232 octets is the
    /// DNS Flag Day 2020 value, NSD's and Knot's default; clients offering less get what they ask,
    /// and never less than 512 (RFC 6891 section 6.2.5).
    public var maxUDPPayload: Int = 1232
    /// Leave the apex NS set and its glue out of positive answers (NSD `minimal-responses: yes`).
    /// Default false, as in NSD.
    public var minimalResponses: Bool = false
    /// TSIG keys (RFC 8945) for signed queries such as a secondary's SOA check. Default none.
    public var tsigKeys: [TSIGKey] = []

    public init(maxUDPPayload: Int = 1232, minimalResponses: Bool = false, tsigKeys: [TSIGKey] = []) {
        self.maxUDPPayload = maxUDPPayload
        self.minimalResponses = minimalResponses
        self.tsigKeys = tsigKeys
    }
}

public enum Transport: Sendable { case udp, tcp }

/// Answers queries from one snapshot: bytes in, bytes out, no sockets and no allocation on the
/// common path. A new `Responder` is built (and its answers rendered) for every snapshot.
public final class Responder: Sendable {
    public let snapshot: Snapshot
    public let options: ResponderOptions
    let zones: [RenderedZone]

    /// The largest response this responder writes; `respond`'s output buffer must hold it.
    public static let maxMessageSize = 65535

    public init(snapshot: Snapshot, options: ResponderOptions = ResponderOptions()) {
        self.snapshot = snapshot
        self.options = options
        self.zones = snapshot.zones.map(RenderedZone.init)
    }

    /// Writes the response to `query` into `out` and returns its length; 0 means send nothing.
    public func respond(to query: UnsafeRawBufferPointer, transport: Transport,
                        into out: UnsafeMutableRawBufferPointer) -> Int {
        var info = ResponseInfo()
        return respond(to: query, transport: transport, client: ClientAddress(), cookies: nil, into: out, info: &info)
    }

    /// As above, for a client at `client`: with `cookies`, DNS Cookies are checked and sent
    /// (RFC 7873); `info` says what kind of response it was, for rate limiting (RateLimiter.swift).
    public func respond(to query: UnsafeRawBufferPointer, transport: Transport, client: ClientAddress,
                        cookies: ServerCookies?, into out: UnsafeMutableRawBufferPointer,
                        info: inout ResponseInfo) -> Int {
        info = ResponseInfo()
        switch checkQuery(query) {
        case .drop:
            return 0
        case .headerOnly(let rcode):
            guard out.count >= 12 else { return 0 }
            let flags = UInt16(query[2]) << 8 | UInt16(query[3])
            out[0] = query[0]; out[1] = query[1]
            let f = HeaderFlag.qr | (flags & (0x7800 | HeaderFlag.rd)) | rcode.rawValue
            out[2] = UInt8(f >> 8); out[3] = UInt8(f & 0xFF)
            for i in 4..<12 { out[i] = 0 }
            return 12
        case .query(let pq):
            if pq.hasTSIG { return answerSigned(pq, query, transport, out) }  // TSIG.swift
            return answer(pq, query, transport, out, client, cookies, &info)
        case .cookieOnly(let pq):
            // NOERROR, no question, our OPT (with a server cookie if asked: RFC 7873 section 5.4).
            guard out.count >= 12 + 11 + 28 else { return 0 }
            if pq.ednsVersion > 0 {
                var m = Message(id: pq.id, flags: HeaderFlag.qr | (pq.flags & HeaderFlag.rd), edns: true,
                                dnssecOK: pq.dnssecOK, udpSize: UInt16(options.maxUDPPayload))
                var w = MessageWriter(out: out, limit: out.count)
                w.position = 12
                let n = w.finish(&m, rcode: .badVers)
                out[4] = 0; out[5] = 0
                return n
            }
            var w = MessageWriter(out: out, limit: out.count)
            w.position = 12
            var m = Message(id: pq.id, flags: HeaderFlag.qr | (pq.flags & HeaderFlag.rd), edns: true,
                            dnssecOK: pq.dnssecOK, udpSize: UInt16(options.maxUDPPayload))
            if let cookies { setCookie(&m, pq, query, client, cookies, &info) }
            let n = w.finish(&m, rcode: .noError)
            out[4] = 0; out[5] = 0
            return n
        }
    }

    /// Checks the query's COOKIE option and puts a fresh server cookie in the response
    /// (RFC 7873 section 5.2, RFC 9018). An invalid or stale server cookie is treated as a client
    /// cookie alone (section 5.2.3-5.2.4): answered normally with a new server cookie, not
    /// BADCOOKIE, as BIND and Knot do by default; only a valid one exempts the client from RRL.
    @inline(__always)
    private func setCookie(_ m: inout Message, _ pq: ParsedQuery, _ q: UnsafeRawBufferPointer,
                           _ client: ClientAddress, _ cookies: ServerCookies, _ info: inout ResponseInfo) {
        guard pq.cookieLength > 0, client.length > 0 else { return }
        let option = UnsafeRawBufferPointer(rebasing: q[pq.cookieOffset..<(pq.cookieOffset + pq.cookieLength)])
        let clientCookie = UnsafeRawBufferPointer(rebasing: option[0..<8])
        info.hadClientCookie = true
        info.cookieValid = cookies.isValid(option: option, client: client)
        m.cookie = (clientCookie.loadUnaligned(as: UInt64.self), cookies.make(clientCookie: clientCookie, client: client))
    }

    func answer(_ pq: ParsedQuery, _ q: UnsafeRawBufferPointer, _ transport: Transport,
                        _ out: UnsafeMutableRawBufferPointer, _ client: ClientAddress, _ cookies: ServerCookies?,
                        _ info: inout ResponseInfo) -> Int {
        let limit: Int
        switch transport {
        case .tcp: limit = min(out.count, Self.maxMessageSize)
        case .udp: limit = min(out.count, pq.hasEDNS ? min(max(Int(pq.udpSize), 512), options.maxUDPPayload) : 512)
        }
        var w = MessageWriter(out: out, limit: limit)
        let questionLength = pq.questionEnd - 12
        guard 12 + questionLength + 11 + 6 <= limit else { return 0 }
        w.position = 12
        w.append(UnsafeRawBufferPointer(rebasing: q[12..<pq.questionEnd]))
        w.questionEnd = w.position
        var m = Message(id: pq.id, flags: HeaderFlag.qr | (pq.flags & HeaderFlag.rd), edns: pq.hasEDNS,
                        dnssecOK: pq.dnssecOK, udpSize: UInt16(options.maxUDPPayload))
        if pq.hasEDNS, let cookies { setCookie(&m, pq, q, client, cookies, &info) }
        guard 12 + questionLength + m.optLength <= limit else { return 0 }
        defer {
            info.kind = m.kind; info.nameOffset = m.kindNameOffset; info.qtype = pq.qtype; info.questionEnd = pq.questionEnd
            info.cookieOPTLength = m.cookie == nil ? 0 : m.optLength
        }

        if pq.hasEDNS && pq.ednsVersion > 0 { return w.finish(&m, rcode: .badVers) }
        if pq.qclass != dnsClassIN && pq.qclass != 255 { return w.finish(&m, rcode: .refused) }
        if pq.qtype == RRType.axfr.rawValue {
            // Zone transfers are not offered yet; over UDP AXFR is not defined (RFC 5936 section 4.2).
            return w.finish(&m, rcode: transport == .udp ? .notImp : .refused)
        }
        if pq.qtype == RRType.ixfr.rawValue { return w.finish(&m, rcode: .refused) }

        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 129) { labelStart in
            // Label start offsets in the query, and the root label's offset at [labelCount].
            var p = 12
            for i in 0..<pq.labelCount { labelStart[i] = p; p += 1 + Int(q[p]) }
            labelStart[pq.labelCount] = p
            guard let zone = findZone(pq, q, labelStart) else {
                m.extendedError = 20  // RFC 8914 "Not Authoritative", as NSD sends
                return w.finish(&m, rcode: .refused)
            }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { keyBuffer in
                var k = 0
                var i = pq.labelCount - zone.apexLabelCount - 1
                while i >= 0 {
                    let s = labelStart[i], len = Int(q[s])
                    for j in (s + 1)..<(s + 1 + len) {
                        let b = q[j]
                        if b <= 1 { keyBuffer[k] = 1; keyBuffer[k + 1] = b; k += 2 } else { keyBuffer[k] = asciiLower(b); k += 1 }
                    }
                    keyBuffer[k] = 0; k += 1
                    i -= 1
                }
                let key = UnsafeBufferPointer(rebasing: keyBuffer[0..<k])
                let apexPointer = UInt16(0xC000 | (12 + pq.qnameLength - zone.apexLower.count))
                return respond(zone.zone.lookup(key: key, type: RRType(pq.qtype)), zone: zone, pq: pq,
                               apexPointer: apexPointer, &m, &w)
            }
        }
    }

    /// The closest zone whose apex is a suffix (on a label boundary) of the query name.
    @inline(__always)
    private func findZone(_ pq: ParsedQuery, _ q: UnsafeRawBufferPointer,
                          _ labelStart: UnsafeMutableBufferPointer<Int>) -> RenderedZone? {
        let qnameEnd = 12 + pq.qnameLength
        outer: for z in zones where z.apexLabelCount <= pq.labelCount {
            let start = qnameEnd - z.apexLower.count
            guard labelStart[pq.labelCount - z.apexLabelCount] == start else { continue }
            for k in 0..<z.apexLower.count where asciiLower(q[start + k]) != z.apexLower[k] { continue outer }
            return z
        }
        return nil
    }

    /// Maps a lookup outcome to rcode and sections: the one place where that mapping lives.
    @inline(__always)
    private func respond(_ result: Zone.Lookup, zone: RenderedZone, pq: ParsedQuery, apexPointer: UInt16,
                         _ m: inout Message, _ w: inout MessageWriter) -> Int {
        let arena = zone.arena
        switch result {
        case .answer(let node, let rrset), .wildcardAnswer(let node, let rrset):
            m.flags |= HeaderFlag.aa
            if case .wildcardAnswer = result {
                // Keyed by the wildcard's parent, the closest encloser (RFC 4592): a suffix of the
                // query name, so it is in the packet. NSD keys by the wildcard's own domain, which
                // is the same bucket per wildcard; random names under one `*` share it.
                m.kind = .wildcard
                m.kindNameOffset = 12 + pq.qnameLength - (zone.zone.nodes[node].owner.wire.count - 2)
            } else { m.kind = .answer; m.kindNameOffset = 12 }
            let e = zone.entry(node: node, rrset: rrset)
            guard w.fits(e.records, reserve: m.optLength) else { return w.finishTruncated(&m) }
            w.appendSpan(arena, e.records, ownerPointer: nil); m.answers = e.records.count
            // NSD's layout: the apex NS set in authority (not for ANY, not when it is the answer),
            // then glue for whichever NS set was sent. Both are optional: left out when they do
            // not fit, without TC (RFC 2181 section 9).
            let isApexNS = RRType(pq.qtype) == .ns && node == zone.zone.apexNode
            let addAuthority = !options.minimalResponses && pq.qtype != RRType.any.rawValue && !isApexNS
            let answeredType = zone.zone.nodes[node].rrsets[rrset].type
            if e.hasGlue { w.appendGlue(zone, e, skipping: (Int32(node), answeredType), &m) }
            if addAuthority && w.fits(zone.apexNS.records, reserve: m.optLength) {
                w.appendSpan(arena, zone.apexNS.records, ownerPointer: apexPointer)
                m.authority = zone.apexNS.records.count
                w.appendGlue(zone, zone.apexNS, skipping: (Int32(node), answeredType), &m)
            }
            return w.finish(&m, rcode: .noError)
        case .number(let i):
            // The chain's NAPTR set, rendered in the number table; the apex NS as for any answer.
            m.flags |= HeaderFlag.aa
            m.kind = .answer; m.kindNameOffset = 12
            let numbers = zone.zone.numbers!
            let r = numbers.answerRange(i)
            let span = RenderedZone.Span(start: r.start, length: r.end - r.start, count: r.count)
            guard w.fits(span, reserve: m.optLength) else { return w.finishTruncated(&m) }
            w.appendSpan(numbers.answers, span, ownerPointer: nil); m.answers = span.count
            if !options.minimalResponses && pq.qtype != RRType.any.rawValue && w.fits(zone.apexNS.records, reserve: m.optLength) {
                w.appendSpan(arena, zone.apexNS.records, ownerPointer: apexPointer)
                m.authority = zone.apexNS.records.count
                w.appendGlue(zone, zone.apexNS, skipping: nil, &m)
            }
            return w.finish(&m, rcode: .noError)
        case .noData, .nameError:
            m.flags |= HeaderFlag.aa
            if result == .noData { m.kind = .nodata; m.kindNameOffset = 12 }
            else { m.kind = .nxdomain; m.kindNameOffset = Int(apexPointer & 0x3FFF) }
            guard w.fits(zone.negativeSOA, reserve: m.optLength) else { return w.finishTruncated(&m) }
            w.appendSpan(arena, zone.negativeSOA, ownerPointer: apexPointer)
            m.authority = 1
            return w.finish(&m, rcode: result == .noData ? .noError : .nxDomain)
        case .delegation(let node):
            // A referral: not authoritative; the cut's NS set in authority, glue required.
            let e = zone.entry(node: node, rrset: zone.zone.nodes[node].rrsetIndex(.ns)!)
            let cutLength = zone.zone.nodes[node].owner.wire.count
            let cutPointer = UInt16(0xC000 | (12 + pq.qnameLength - cutLength))
            m.kind = .referral; m.kindNameOffset = Int(cutPointer & 0x3FFF)
            let glueLength = zone.glue[Int(e.glueStart)..<Int(e.glueEnd)].reduce(0) { $0 + Int($1.span.length) }
            guard w.fits(e.records, reserve: m.optLength + glueLength) else { return w.finishTruncated(&m) }
            w.appendSpan(arena, e.records, ownerPointer: cutPointer); m.authority = e.records.count
            w.appendGlue(zone, e, skipping: nil, &m)
            return w.finish(&m, rcode: .noError)
        }
    }
}

/// Header fields and section counts of the response being written.
struct Message {
    var id: UInt16
    var flags: UInt16
    var edns: Bool
    var dnssecOK: Bool
    var udpSize: UInt16
    var answers: UInt16 = 0
    var authority: UInt16 = 0
    var additional: UInt16 = 0
    /// An RFC 8914 Extended DNS Error info code to attach to the OPT record.
    var extendedError: UInt16? = nil
    /// The COOKIE option to send (RFC 7873 section 4): the client cookie as received and our
    /// 16-octet server cookie, all in wire order.
    var cookie: (client: UInt64, server: (UInt64, UInt64))? = nil
    /// What kind of response this is, for RRL, and where its RRL name starts in the question.
    var kind: ResponseKind = .error
    var kindNameOffset = 0

    var optLength: Int { edns ? 11 + (extendedError == nil ? 0 : 6) + (cookie == nil ? 0 : 28) : 0 }
}

/// Appends to the output buffer without bounds surprises: every caller checks `fits` first.
struct MessageWriter {
    let out: UnsafeMutableRawBufferPointer
    let limit: Int
    var position = 0

    @inline(__always)
    func fits(_ span: RenderedZone.Span, reserve: Int) -> Bool {
        position + Int(span.length) + reserve <= limit
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        UnsafeMutableRawBufferPointer(rebasing: out[position..<(position + bytes.count)]).copyMemory(from: bytes)
        position += bytes.count
    }

    /// Copies a rendered span; with `ownerPointer`, rewrites each record's two-octet owner.
    @inline(__always)
    mutating func appendSpan(_ arena: [UInt8], _ span: RenderedZone.Span, ownerPointer: UInt16?) {
        guard span.count > 0 else { return }
        let start = position
        arena.withUnsafeBytes { a in
            append(UnsafeRawBufferPointer(rebasing: a[Int(span.start)..<Int(span.start + span.length)]))
        }
        guard let ptr = ownerPointer else { return }
        var p = start
        for _ in 0..<span.count {
            out[p] = UInt8(ptr >> 8); out[p + 1] = UInt8(ptr & 0xFF)
            let rdlen = Int(out[p + 10]) << 8 | Int(out[p + 11])
            p += 12 + rdlen
        }
    }

    /// Appends the glue sets of `entry` that fit, except the set already in the answer.
    @inline(__always)
    mutating func appendGlue(_ zone: RenderedZone, _ entry: RenderedZone.Entry, skipping: (Int32, RRType)?,
                             _ m: inout Message) {
        for i in Int(entry.glueStart)..<Int(entry.glueEnd) {
            let g = zone.glue[i]
            if let s = skipping, s.0 == g.node && s.1 == g.type { continue }
            guard fits(g.span, reserve: m.optLength) else { continue }
            appendSpan(zone.arena, g.span, ownerPointer: nil)
            m.additional += g.span.count
        }
    }

    @inline(__always)
    mutating func put16(_ v: UInt16) {
        out[position] = UInt8(v >> 8); out[position + 1] = UInt8(v & 0xFF); position += 2
    }

    /// Truncated: the question and OPT only, TC set (RFC 2181 section 9, RFC 7766 section 5).
    mutating func finishTruncated(_ m: inout Message) -> Int {
        m.flags |= HeaderFlag.tc
        m.answers = 0; m.authority = 0; m.additional = 0
        return finish(&m, rcode: .noError, truncatedAt: questionEnd)
    }

    /// The end of the question, remembered by the first append after the header.
    var questionEnd: Int = 0

    /// Writes the OPT record (if the query had one) and the header; returns the message length.
    mutating func finish(_ m: inout Message, rcode: Rcode, truncatedAt: Int? = nil) -> Int {
        if let t = truncatedAt { position = t }
        var arcount = m.additional
        if m.edns {
            // RFC 6891 section 6.1.2: root owner, TYPE 41, CLASS = our UDP size,
            // TTL = extended rcode | version 0 | DO copied from the query (RFC 3225 section 3).
            out[position] = 0; position += 1
            put16(RRType.opt.rawValue)
            put16(m.udpSize)
            put16(UInt16(rcode.rawValue >> 4) << 8)
            put16(m.dnssecOK ? 0x8000 : 0)
            put16(UInt16(m.optLength - 11))
            if let ede = m.extendedError { put16(15); put16(2); put16(ede) }
            if let c = m.cookie {
                put16(10); put16(24)
                var words = (c.client, c.server.0, c.server.1)  // already in wire order
                withUnsafeBytes(of: &words) { append($0) }
            }
            arcount += 1
        }
        let end = position
        position = 0
        put16(m.id)
        put16(m.flags | (rcode.rawValue & 0xF))
        put16(1); put16(m.answers); put16(m.authority); put16(arcount)
        return end
    }
}
