import CLDNS
import ENUMCore

extension NAPTR {
    /// The RDATA in wire form (RFC 3403 section 4.1), built as an ldns_rr from its fields and
    /// written by `ldns_rr_rdata2buffer_wire`. Fails only for fields longer than 255 octets.
    public func rdata() throws(WireError) -> [UInt8] {
        guard let rr = ldns_rr_new() else { throw .ldns(function: "ldns_rr_new", status: "out of memory") }
        defer { ldns_rr_free(rr) }
        ldns_rr_set_type(rr, LDNS_RR_TYPE_NAPTR)
        func push(_ rdf: UnsafeMutablePointer<ldns_rdf>?, _ what: String) throws(WireError) {
            guard let rdf else { throw .ldns(function: "ldns_rdf_new_frm_data(\(what))", status: "failed") }
            guard ldns_rr_push_rdf(rr, rdf) != 0 else {
                ldns_rdf_deep_free(rdf)
                throw .ldns(function: "ldns_rr_push_rdf(\(what))", status: "failed")
            }
        }
        func string(_ s: String, _ what: String) throws(WireError) {
            let b = Array(s.utf8)
            guard b.count <= NAPTR.maxCharacterString else {
                throw .ldns(function: "NAPTR \(what)", status: "longer than 255 octets")
            }
            let data = [UInt8(b.count)] + b
            try push(data.withUnsafeBytes { ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, data.count, $0.baseAddress) }, what)
        }
        try push(ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, order), "order")
        try push(ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, preference), "preference")
        try string(flags, "flags")
        try string(services, "services")
        try string(regexp, "regexp")
        let wire = replacement.wire
        try push(wire.withUnsafeBytes { ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, wire.count, $0.baseAddress) }, "replacement")
        let buffer = LDNSBuffer(capacity: 512)
        try check(ldns_rr_rdata2buffer_wire(buffer.raw, rr), "ldns_rr_rdata2buffer_wire")
        return buffer.bytes
    }
}
