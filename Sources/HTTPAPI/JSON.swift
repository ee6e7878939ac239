import Foundation
import Hummingbird

/// JSON bodies as the Flask backend's `jsonify` wrote them: keys sorted (by code point, as
/// Python's `sort_keys`), compact, one trailing newline, `Content-Type: application/json`.
/// Written by hand: Foundation's writer sorts keys with ICU collation, which made it most of the
/// cost of a lookup.
func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
    jsonResponse(status, jsonBody(object))
}

func jsonBody(_ object: [String: Any]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(512)
    JSONText.write(object, into: &out)
    out.append(0x0A)
    return out
}

func jsonResponse(_ status: HTTPResponse.Status, _ body: [UInt8]) -> Response {
    Response(status: status, headers: [.contentType: "application/json"],
             body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
}

enum JSONText {
    /// Strings, integers, doubles, booleans, NSNull (null), arrays and string-keyed dictionaries.
    static func write(_ value: Any, into out: inout [UInt8]) {
        // Exact types first: through Foundation's bridging an Int can pass `as? Bool` and back.
        if let b = value as? Bool, type(of: value) == Bool.self { out += Array((b ? "true" : "false").utf8); return }
        if let i = value as? Int, type(of: value) == Int.self { out += Array(String(i).utf8); return }
        switch value {
        case let s as String: string(s, into: &out)
        case let d as Double: out += Array((d.isFinite ? String(d) : "null").utf8)
        case let a as [Any]:
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(v, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let o as [String: Any]:
            out.append(UInt8(ascii: "{"))
            for (i, key) in o.keys.sorted(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                string(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(o[key]!, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        default:
            out += Array("null".utf8)  // NSNull and anything unexpected
        }
    }

    /// RFC 8259 section 7: quote, backslash and control characters escaped; the rest as UTF-8.
    static func string(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [0x5C, 0x22]
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
