/// Standard base64 (RFC 4648 section 4) with padding, as emercoind's `EncodeBase64` writes it.
enum Base64 {
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// Nil for anything that is not canonical padded base64 (a value the node cut short, say).
    static func decode(_ text: [UInt8]) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 4 * 3)
        var i = 0
        while i < text.count {
            let a = table[Int(text[i])], b = table[Int(text[i + 1])]
            let c3 = text[i + 2], c4 = text[i + 3]
            guard a != 0xFF, b != 0xFF else { return nil }
            out.append(a << 2 | b >> 4)
            if c3 == UInt8(ascii: "=") {
                guard c4 == UInt8(ascii: "="), i + 4 == text.count, b & 0x0F == 0 else { return nil }
                break
            }
            let c = table[Int(c3)]
            guard c != 0xFF else { return nil }
            out.append(b << 4 | c >> 2)
            if c4 == UInt8(ascii: "=") {
                guard i + 4 == text.count, c & 0x03 == 0 else { return nil }
                break
            }
            let d = table[Int(c4)]
            guard d != 0xFF else { return nil }
            out.append(c << 6 | d)
            i += 4
        }
        return out
    }
}
