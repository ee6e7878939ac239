/// A reader for one reply shape, `name_filter`'s array of `{"name", "value", "expires_in", ...}`,
/// that goes straight from bytes to items. It is the hot part of a full sync (15 MB for 100,000
/// names); Foundation's general decoder builds a dictionary per item and took most of the sync.
/// Strict JSON (RFC 8259): anything it does not expect makes it return nil, and the caller then
/// decodes the reply the general way, which names what is wrong.
struct NameFilterReader {
    struct Item {
        var name: [UInt8]
        var value: [UInt8]
        var expiresIn: Int
    }

    private let b: UnsafeRawBufferPointer
    private var p = 0

    private init(_ bytes: UnsafeRawBufferPointer) { b = bytes }

    /// The items of `{"result": [...], "error": null, "id": ...}`; nil if the reply has another
    /// shape (an error object, a non-array result, malformed JSON).
    static func items(in reply: [UInt8]) -> [Item]? {
        reply.withUnsafeBytes { raw in
            var r = NameFilterReader(raw)
            return r.envelope()
        }
    }

    private mutating func envelope() -> [Item]? {
        var items: [Item]? = nil
        guard object({ r, key in
            switch key {
            case Array("result".utf8):
                items = r.array()
                return items != nil
            case Array("error".utf8):
                return r.literal("null")  // an error object: let the general decoder report it
            default:
                return r.skipValue()
            }
        }) else { return nil }
        space()
        return p == b.count ? items : nil
    }

    private mutating func array() -> [Item]? {
        space()
        guard take(UInt8(ascii: "[")) else { return nil }
        var out: [Item] = []
        space()
        if take(UInt8(ascii: "]")) { return out }
        while true {
            var name: [UInt8]? = nil, value: [UInt8]? = nil, expires: Int? = nil
            guard object({ r, key in
                switch key {
                case Array("name".utf8): name = r.string(); return name != nil
                case Array("value".utf8): value = r.string(); return value != nil
                case Array("expires_in".utf8): expires = r.integer(); return expires != nil
                default: return r.skipValue()
                }
            }), let name, let value, let expires else { return nil }
            out.append(Item(name: name, value: value, expiresIn: expires))
            space()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "]")) ? out : nil
        }
    }

    /// Calls `member` for each key with the reader positioned at the value.
    private mutating func object(_ member: (inout NameFilterReader, [UInt8]) -> Bool) -> Bool {
        space()
        guard take(UInt8(ascii: "{")) else { return false }
        space()
        if take(UInt8(ascii: "}")) { return true }
        while true {
            space()
            guard let key = string() else { return false }
            space()
            guard take(UInt8(ascii: ":")) else { return false }
            space()
            guard member(&self, key) else { return false }
            space()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "}"))
        }
    }

    private mutating func skipValue() -> Bool {
        space()
        guard p < b.count else { return false }
        switch b[p] {
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "{"): return object { r, _ in r.skipValue() }
        case UInt8(ascii: "["):
            p += 1; space()
            if take(UInt8(ascii: "]")) { return true }
            while true {
                guard skipValue() else { return false }
                space()
                if take(UInt8(ascii: ",")) { continue }
                return take(UInt8(ascii: "]"))
            }
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number()
        }
    }

    /// A string's bytes with escapes resolved (`\uXXXX` to UTF-8, surrogate pairs joined).
    private mutating func string() -> [UInt8]? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        var out: [UInt8] = []
        var start = p
        while p < b.count {
            let c = b[p]
            if c == UInt8(ascii: "\"") {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[start..<p]))
                p += 1
                return out
            }
            if c < 0x20 { return nil }
            if c != UInt8(ascii: "\\") { p += 1; continue }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[start..<p]))
            p += 1
            guard p < b.count else { return nil }
            let e = b[p]; p += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "u"):
                guard var scalar = hex4() else { return nil }
                if (0xD800..<0xDC00).contains(scalar) {
                    guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { return nil }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: return nil
            }
            start = p
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard p + 4 <= b.count else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[p]; p += 1
            switch c {
            case 0x30...0x39: v = v << 4 | UInt32(c - 0x30)
            case 0x41...0x46: v = v << 4 | UInt32(c - 0x37)
            case 0x61...0x66: v = v << 4 | UInt32(c - 0x57)
            default: return nil
            }
        }
        return v
    }

    private mutating func integer() -> Int? {
        let start = p
        if p < b.count && b[p] == UInt8(ascii: "-") { p += 1 }
        var v = 0, digits = 0
        while p < b.count, b[p] >= 0x30, b[p] <= 0x39, digits < 18 { v = v * 10 + Int(b[p] - 0x30); p += 1; digits += 1 }
        guard digits > 0 else { return nil }
        if p < b.count, b[p] == UInt8(ascii: ".") || b[p] == UInt8(ascii: "e") || b[p] == UInt8(ascii: "E") || (b[p] >= 0x30 && b[p] <= 0x39) {
            return nil  // not a plain integer: the general decoder decides
        }
        return b[start] == UInt8(ascii: "-") ? -v : v
    }

    private mutating func number() -> Bool {
        let start = p
        while p < b.count, "+-0123456789.eE".utf8.contains(b[p]) { p += 1 }
        return p > start
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard p + n <= b.count else { return false }
        for i in 0..<n where b[p + i] != word.utf8Start[i] { return false }
        p += n
        return true
    }

    @inline(__always) private mutating func take(_ c: UInt8) -> Bool {
        guard p < b.count, b[p] == c else { return false }
        p += 1
        return true
    }

    @inline(__always) private mutating func space() {
        while p < b.count, b[p] == 0x20 || b[p] == 0x0A || b[p] == 0x0D || b[p] == 0x09 { p += 1 }
    }
}
