/// The chain's numbers of one zone, stored flat: a few arrays for a million numbers instead of a
/// million objects, so memory stays near the size of the answers themselves and a snapshot loads
/// from disk with a handful of reads (issue 5: a quarter of Knot's memory, a million numbers
/// served within two seconds of start).
///
/// Number `i` (in digit order, which is also canonical DNS order of the reversed-digit names) has
/// - its key in `keys` (NameKey form relative to the zone apex: each digit followed by 0x00);
/// - its NAPTR RRset rendered once, as the answer section carries it: every record with the
///   owner pointer 0xC00C (the query name, RFC 1035 section 4.1.4), type, class IN, TTL,
///   RDLENGTH and RDATA, in `answers[answerOffsets[i]..<answerOffsets[i+1]]`, `answerCounts[i]`
///   records;
/// - what the HTTP API shows besides the records, in `meta[metaOffsets[i]..<metaOffsets[i+1]]`:
///   expiry height (4 octets), name count (1), each NVS name, then for each record its
///   seed-convention entry index (2 octets, 0xFFFF for an ENUMER record). A name is one octet
///   when it is the number's canonical seed name (`enum:0.9.8...e164.arpa`: 1), three for its
///   canonical ENUMER name (`enum:DIGITS:N`: 2, then N in 2 octets), and only otherwise spelled
///   out (0, a 2-octet length, the octets): the names are most of this data.
///
/// Immutable and `Sendable`; built once per snapshot by `build`, or read back by `StateFile`.
public final class NumberTable: Sendable {
    public let height: Int
    public let keys: NameTable
    public let answers: [UInt8]
    public let answerOffsets: [UInt32]
    public let answerCounts: [UInt8]
    public let meta: [UInt8]
    public let metaOffsets: [UInt32]

    public var count: Int { answerCounts.count }

    public init(height: Int, keys: NameTable, answers: [UInt8], answerOffsets: [UInt32], answerCounts: [UInt8],
                meta: [UInt8], metaOffsets: [UInt32]) {
        self.height = height; self.keys = keys; self.answers = answers; self.answerOffsets = answerOffsets
        self.answerCounts = answerCounts; self.meta = meta; self.metaOffsets = metaOffsets
    }

    /// Compiles `chain`. Every number is kept, also one whose name a zone file serves: the zone
    /// looks its own names up first, so the zone file wins without the table depending on it.
    public static func build(_ chain: ChainRecords) -> NumberTable {
        var keyArena: [UInt8] = [], keyOffsets: [UInt32] = [0]
        var answers: [UInt8] = [], answerOffsets: [UInt32] = [0], answerCounts: [UInt8] = []
        var meta: [UInt8] = [], metaOffsets: [UInt32] = [0]
        let n = chain.numbers.count
        keyArena.reserveCapacity(n * 24); keyOffsets.reserveCapacity(n + 1)
        answers.reserveCapacity(n * 80); answerOffsets.reserveCapacity(n + 1); answerCounts.reserveCapacity(n)
        meta.reserveCapacity(n * 30); metaOffsets.reserveCapacity(n + 1)
        var key: [UInt8] = []
        for r in chain.numbers {
            key.removeAll(keepingCapacity: true)
            for d in r.number.digits.utf8 { key.append(d); key.append(0) }
            // Numbers are sorted by digits, which is the keys' byte order (see the type's comment).
            keyArena.append(contentsOf: key); keyOffsets.append(UInt32(keyArena.count))
            for naptr in r.naptrs {
                let rdata = naptr.wire
                answers.append(0xC0); answers.append(0x0C)
                appendBE(&answers, UInt32(RRType.naptr.rawValue) << 16 | UInt32(dnsClassIN))
                appendBE(&answers, r.ttl)
                answers.append(UInt8(rdata.count >> 8)); answers.append(UInt8(rdata.count & 0xFF))
                answers.append(contentsOf: rdata)
            }
            answerOffsets.append(UInt32(answers.count)); answerCounts.append(UInt8(r.naptrs.count))
            appendBE(&meta, UInt32(clamping: r.expiresAt))
            meta.append(UInt8(min(r.names.count, 255)))
            for name in r.names.prefix(255) {
                switch ENUMName(Array(name.utf8)) {
                case .seed(let n)? where n == r.number && name == Self.seedName(r.number.digits):
                    meta.append(1)
                case .enumer(let n, let index)? where n == r.number && index <= 0xFFFF && name == "enum:\(n.digits):\(index)":
                    meta.append(2); meta.append(UInt8(index >> 8)); meta.append(UInt8(index & 0xFF))
                default:
                    let b = Array(name.utf8.prefix(0xFFFF))
                    meta.append(0); meta.append(UInt8(b.count >> 8)); meta.append(UInt8(b.count & 0xFF)); meta.append(contentsOf: b)
                }
            }
            for s in r.seedIndex {
                let v = UInt16(clamping: s ?? 0xFFFF)
                meta.append(UInt8(v >> 8)); meta.append(UInt8(v & 0xFF))
            }
            metaOffsets.append(UInt32(meta.count))
        }
        return NumberTable(height: chain.height, keys: NameTable(arena: keyArena, offsets: keyOffsets),
                           answers: answers, answerOffsets: answerOffsets, answerCounts: answerCounts,
                           meta: meta, metaOffsets: metaOffsets)
    }

    /// The rendered answer of number `i`: `count` records at `answers[start..<end]`.
    @inline(__always)
    public func answerRange(_ i: Int) -> (start: UInt32, end: UInt32, count: UInt16) {
        (answerOffsets[i], answerOffsets[i + 1], UInt16(answerCounts[i]))
    }

    /// The index of `number`, or nil.
    public func index(of number: E164Number) -> Int? {
        var key: [UInt8] = []
        for d in number.digits.utf8 { key.append(d); key.append(0) }
        return keys.find(key)
    }

    public func records(for number: E164Number) -> NumberRecords? { index(of: number).map(records(at:)) }

    /// Number `i` as the HTTP API and tests see it, decoded from the flat arrays.
    public func records(at i: Int) -> NumberRecords {
        let k = keys.key(at: i)
        var digits = ""
        var j = k.startIndex
        while j < k.endIndex { digits.unicodeScalars.append(Unicode.Scalar(k[j])); j += 2 }
        // Built from validated numbers only; the fallback keeps a damaged table from trapping.
        let number = (try? E164Number(digits: digits)) ?? (try! E164Number(digits: "1"))
        var naptrs: [NAPTR] = []
        var ttl: UInt32 = 0
        answers.withUnsafeBufferPointer { a in
            var p = Int(answerOffsets[i])
            for _ in 0..<Int(answerCounts[i]) {
                ttl = readBE32(a, p + 6)
                let len = Int(a[p + 10]) << 8 | Int(a[p + 11])
                if let n = NAPTR(rdata: Array(a[(p + 12)..<(p + 12 + len)])) { naptrs.append(n) }
                p += 12 + len
            }
        }
        var names: [String] = [], seedIndex: [Int?] = []
        var expiresAt = 0
        meta.withUnsafeBufferPointer { m in
            var p = Int(metaOffsets[i])
            expiresAt = Int(readBE32(m, p)); p += 4
            let nameCount = Int(m[p]); p += 1
            for _ in 0..<nameCount {
                let kind = m[p]; p += 1
                switch kind {
                case 1: names.append(Self.seedName(digits))
                case 2: names.append("enum:\(digits):\(Int(m[p]) << 8 | Int(m[p + 1]))"); p += 2
                default:
                    let len = Int(m[p]) << 8 | Int(m[p + 1]); p += 2
                    names.append(String(decoding: UnsafeBufferPointer(rebasing: m[p..<(p + len)]), as: UTF8.self)); p += len
                }
            }
            for _ in 0..<Int(answerCounts[i]) {
                let v = Int(m[p]) << 8 | Int(m[p + 1]); p += 2
                seedIndex.append(v == 0xFFFF ? nil : v)
            }
        }
        return NumberRecords(number: number, naptrs: naptrs, seedIndex: seedIndex, ttl: ttl, names: names, expiresAt: expiresAt)
    }

    /// The seed convention's name of a number: `enum:` and its ENUM domain without the dot.
    static func seedName(_ digits: String) -> String {
        "enum:" + digits.utf8.reversed().map { String(UnicodeScalar($0)) }.joined(separator: ".") + ".e164.arpa"
    }

    /// The raw answer and metadata octets of number `i`: equal octets mean an unchanged number.
    public func fingerprint(_ i: Int) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        (answers[Int(answerOffsets[i])..<Int(answerOffsets[i + 1])], meta[Int(metaOffsets[i])..<Int(metaOffsets[i + 1])])
    }
}

extension NAPTR {
    /// RDATA in wire form (RFC 3403 section 4.1); character-strings longer than 255 octets are
    /// cut (the chain parsers refuse them before this point).
    public var wire: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8 + flags.utf8.count + services.utf8.count + regexp.utf8.count + replacement.wire.count)
        out.append(UInt8(order >> 8)); out.append(UInt8(order & 0xFF))
        out.append(UInt8(preference >> 8)); out.append(UInt8(preference & 0xFF))
        for s in [flags, services, regexp] {
            let b = s.utf8.prefix(NAPTR.maxCharacterString)
            out.append(UInt8(b.count)); out.append(contentsOf: b)
        }
        out.append(contentsOf: replacement.wire)
        return out
    }
}

@inline(__always)
func appendBE(_ a: inout [UInt8], _ v: UInt32) {
    a.append(UInt8(v >> 24)); a.append(UInt8(v >> 16 & 0xFF)); a.append(UInt8(v >> 8 & 0xFF)); a.append(UInt8(v & 0xFF))
}

@inline(__always)
func readBE32(_ a: UnsafeBufferPointer<UInt8>, _ p: Int) -> UInt32 {
    UInt32(a[p]) << 24 | UInt32(a[p + 1]) << 16 | UInt32(a[p + 2]) << 8 | UInt32(a[p + 3])
}
