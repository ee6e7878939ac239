import CLDNS
import ENUMCore
#if canImport(Glibc)
import Glibc
#endif

extension ZoneFile {
    /// One record in RFC 1035 section 5 presentation form, written by libldns (`ldns_rr2str`):
    /// absolute owner, TTL, class, type, RDATA with strings quoted and escaped, unknown types as
    /// RFC 3597 `\#` data. No trailing newline.
    public static func presentation(_ record: ResourceRecord) throws(WireError) -> String {
        var wire = record.owner.wire
        for v in [record.type.rawValue, dnsClassIN] { wire.append(UInt8(v >> 8)); wire.append(UInt8(v & 0xFF)) }
        for s in [24, 16, 8, 0] { wire.append(UInt8(truncatingIfNeeded: record.ttl >> UInt32(s))) }
        wire.append(UInt8(record.rdata.count >> 8)); wire.append(UInt8(record.rdata.count & 0xFF))
        wire += record.rdata
        var rr: UnsafeMutablePointer<ldns_rr>? = nil
        var pos = 0
        let status = wire.withUnsafeBufferPointer { ldns_wire2rr(&rr, $0.baseAddress, $0.count, &pos, LDNS_SECTION_ANSWER) }
        try check(status, "ldns_wire2rr")
        guard let rr else { throw .ldns(function: "ldns_wire2rr", status: "no record") }
        defer { ldns_rr_free(rr) }
        guard let s = ldns_rr2str(rr) else { throw .ldns(function: "ldns_rr2str", status: "out of memory") }
        defer { free(s) }
        return String(cString: s).trimmingSuffix("\n")
    }

    /// The whole zone as a master file that NSD, Knot and `ZoneFile.load` read unchanged: the SOA
    /// first, then every other record in canonical name order, all names absolute (no `$ORIGIN`
    /// is needed), `;` comment lines in `header`.
    public static func text(of zone: Zone, header: [String] = []) throws(WireError) -> String {
        var out = header.map { "; " + $0 + "\n" }.joined()
        out += try presentation(zone.soaRecord) + "\n"
        var records: [ResourceRecord] = []
        zone.forEachRecordExceptSOA { records.append($0) }
        for r in records { out += try presentation(r) + "\n" }
        return out
    }
}
