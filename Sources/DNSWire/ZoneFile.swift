import CLDNS
import ENUMCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads RFC 1035 section 5 master files with libldns, one record at a time so that every error
/// names its line. `$ORIGIN` and `$TTL` are honoured (a missing `$TTL` defaults to 3600, as in
/// libldns); `$INCLUDE` is refused. The zone's apex is the owner of its SOA record.
public enum ZoneFile {
    /// A parsed, checked zone ready to serve.
    public static func load(path: String) throws(WireError) -> Zone {
        let (apex, records) = try readRecords(path: path)
        do {
            return try Zone(apex: apex, records: records.map(\.record))
        } catch {
            let line: Int
            switch error {
            case .cnameAndOtherData(let owner):
                line = records.first { $0.record.owner.lowercased == owner.lowercased }?.line ?? 0
            default: line = 0
            }
            throw .zoneFile(path: path, line: line, message: error.description)
        }
    }

    /// The apex and every record with the line it ends on.
    public static func readRecords(path: String) throws(WireError) -> (apex: DomainName, records: [(record: ResourceRecord, line: Int)]) {
        guard let fp = fopen(path, "r") else {
            throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(fp) }
        var ttl: UInt32 = 3600
        var origin: UnsafeMutablePointer<ldns_rdf>? = nil
        var prev: UnsafeMutablePointer<ldns_rdf>? = nil
        defer { if let origin { ldns_rdf_deep_free(origin) }; if let prev { ldns_rdf_deep_free(prev) } }
        var lineNr: Int32 = 0
        let buffer = LDNSBuffer()
        var out: [(ResourceRecord, Int)] = []
        var apex: DomainName?
        while feof(fp) == 0 {
            let startLine = Int(lineNr) + 1
            var rr: UnsafeMutablePointer<ldns_rr>? = nil
            let status = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &lineNr)
            switch status {
            case LDNS_STATUS_OK:
                guard let rr else { continue }
                defer { ldns_rr_free(rr) }
                if ldns_dname_absolute(ldns_rr_owner(rr)) == 0 {
                    throw .zoneFile(path: path, line: startLine, message: "relative owner name with no $ORIGIN")
                }
                guard ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN else {
                    throw .zoneFile(path: path, line: Int(lineNr), message: "record class is not IN")
                }
                let record: ResourceRecord
                do { record = try resourceRecord(rr, buffer: buffer) } catch {
                    throw .zoneFile(path: path, line: Int(lineNr), message: error.description)
                }
                if record.type == .soa {
                    if apex != nil { throw .zoneFile(path: path, line: Int(lineNr), message: "second SOA record") }
                    apex = record.owner
                }
                out.append((record, Int(lineNr)))
            case LDNS_STATUS_SYNTAX_EMPTY, LDNS_STATUS_SYNTAX_TTL, LDNS_STATUS_SYNTAX_ORIGIN:
                continue
            case LDNS_STATUS_SYNTAX_INCLUDE:
                throw .zoneFile(path: path, line: Int(lineNr), message: "$INCLUDE is not supported")
            default:
                if feof(fp) != 0 && status == LDNS_STATUS_SYNTAX_ERR && lineNr < startLine { break }
                throw .zoneFile(path: path, line: Int(lineNr), message: statusText(status))
            }
        }
        guard let apex else { throw .zoneFile(path: path, line: 0, message: "no SOA record: the SOA owner is the zone apex") }
        for (r, line) in out where !r.owner.isSubdomain(of: apex) {
            throw .zoneFile(path: path, line: line, message: "record owner \(r.owner) is outside the zone \(apex)")
        }
        return (apex, out.map { (record: $0.0, line: $0.1) })
    }
}
