// libFuzzer target for the chain value parsers (Sources/ENUMCore/ChainValues.swift): ENUMName,
// SeedValue, EnumerValue and ChainRecords.build. Built by scripts/fuzz; not part of the package.
//
// The input is split at NUL bytes into (name, value) pairs; the first byte also picks an expiry
// and a height so that expired names and TTL clamping are reached. Invariants (a violation traps):
// - no parser traps, whatever the bytes (hostile chain values are skipped, never fatal);
// - every NAPTR has FLAGS and SERVICES and REGEXP under 256 octets (RFC 1035 character-strings);
// - one number publishes at most ChainLimits.maxNAPTRsPerNumber records and
//   ChainLimits.maxRDATAPerNumber octets, so every answer fits a TCP message;
// - TTLs never outlive the name (blocks left x 86,400 / 175 seconds);
// - the numbers are sorted and unique, and the number table (what DNS and HTTP read) finds each one.
import ENUMCore

@inline(never)
func check(_ ok: Bool, _ what: StaticString) {
    if !ok { fatalError("invariant broken: \(what)") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzValues(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let parts = bytes.dropFirst().split(separator: 0, omittingEmptySubsequences: false).map(Array.init)

    // Each parser on the whole input, as one name and as one value.
    let whole = Array(bytes.dropFirst())
    _ = ENUMName(whole)
    for parsed in [SeedValue.parse(whole), EnumerValue.parse(whole)] {
        for n in parsed.naptrs {
            check(n.flags.utf8.count < 256 && n.services.utf8.count < 256 && n.regexp.utf8.count < 256,
                  "character-strings under 256 octets")
        }
    }

    // Pairs as chain names, some expired.
    let height = 1000
    var items: [NVSItem] = []
    var i = 0
    while i + 1 < parts.count {
        let expiresAt = height - 2 + Int((first >> UInt8(i % 4)) & 7)
        items.append(NVSItem(name: parts[i], value: parts[i + 1], expiresAt: expiresAt))
        i += 2
    }
    let built = ChainRecords.build(items, height: height, defaultTTL: 3600)
    let table = NumberTable.build(built)
    check(table.count == built.numbers.count, "the number table holds every number")
    var previous: String? = nil
    for r in built.numbers {
        check(!r.naptrs.isEmpty, "no empty number")
        check(r.naptrs.count <= ChainLimits.maxNAPTRsPerNumber, "records per number bounded")
        let rdata = r.naptrs.reduce(0) { $0 + 7 + $1.flags.utf8.count + $1.services.utf8.count + $1.regexp.utf8.count + $1.replacement.wire.count }
        check(rdata <= ChainLimits.maxRDATAPerNumber, "RDATA per number bounded")
        check(r.expiresAt >= height, "only active names served")
        check(Int(r.ttl) <= (r.expiresAt - height + 1) * 86_400 / ChainRecords.blocksPerDay, "TTL within the expiry")
        if let p = previous { check(p < r.number.digits, "numbers sorted and unique") }
        previous = r.number.digits
        check(table.index(of: r.number) != nil, "the number table finds every number")
    }
    return 0
}
