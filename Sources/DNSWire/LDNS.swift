import CLDNS
import ENUMCore

/// Errors from the libldns wrapper. Every case names the C function or the file and line.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A libldns call failed; `status` is libldns's own message.
    case ldns(function: String, status: String)
    case cannotOpen(path: String, reason: String)
    /// A zone file is wrong at `line` (1-based; 0 when the problem is the whole file).
    case zoneFile(path: String, line: Int, message: String)

    public var description: String {
        switch self {
        case .ldns(let f, let s): return "\(f) failed: \(s)"
        case .cannotOpen(let p, let r): return "\(p): cannot open: \(r)"
        case .zoneFile(let p, let l, let m): return l > 0 ? "\(p):\(l): \(m)" : "\(p): \(m)"
        }
    }
}

/// The one helper through which ldns statuses become Swift errors.
@inline(__always)
func check(_ status: ldns_status, _ function: String) throws(WireError) {
    guard status == LDNS_STATUS_OK else { throw .ldns(function: function, status: statusText(status)) }
}

func statusText(_ status: ldns_status) -> String {
    guard let c = ldns_get_errorstr_by_id(status) else { return "ldns status \(status.rawValue)" }
    return String(cString: c)
}

/// An ldns_buffer owned by Swift.
final class LDNSBuffer {
    let raw: UnsafeMutablePointer<ldns_buffer>
    init(capacity: Int = 4096) { raw = ldns_buffer_new(capacity) }
    deinit { ldns_buffer_free(raw) }
    var bytes: [UInt8] {
        let n = ldns_buffer_position(raw)
        return Array(UnsafeBufferPointer(start: ldns_buffer_begin(raw), count: n))
    }
    func clear() { ldns_buffer_clear(raw) }
}

/// Wire bytes of an ldns dname rdf.
func rdfBytes(_ rdf: UnsafePointer<ldns_rdf>?) -> [UInt8] {
    guard let rdf, let data = ldns_rdf_data(rdf) else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: ldns_rdf_size(rdf)))
}

/// Converts one parsed ldns_rr into the Swift model: owner, type, TTL and RDATA in uncompressed
/// wire form (written by `ldns_rr_rdata2buffer_wire`).
func resourceRecord(_ rr: UnsafeMutablePointer<ldns_rr>, buffer: LDNSBuffer) throws(WireError) -> ResourceRecord {
    buffer.clear()
    try check(ldns_rr_rdata2buffer_wire(buffer.raw, rr), "ldns_rr_rdata2buffer_wire")
    let owner: DomainName
    do { owner = try DomainName(wire: rdfBytes(ldns_rr_owner(rr))) } catch {
        throw .ldns(function: "ldns_rr_owner", status: error.description)
    }
    return ResourceRecord(owner: owner, type: RRType(UInt16(truncatingIfNeeded: ldns_rr_get_type(rr).rawValue)),
                          ttl: ldns_rr_ttl(rr), rdata: buffer.bytes)
}
