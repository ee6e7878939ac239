/// One name as read from the chain: raw name and value bytes and the height it expires at.
public struct NVSItem: Hashable, Sendable {
    public var name: [UInt8]
    public var value: [UInt8]
    public var expiresAt: Int

    public init(name: [UInt8], value: [UInt8], expiresAt: Int) {
        self.name = name; self.value = value; self.expiresAt = expiresAt
    }

    /// Consensus and EmerDNS: a name is active while the tip height is at most its expiry height
    /// (`NameActive`). name_show already says "expired" when expires_in == 0; we follow consensus.
    public func isActive(atHeight height: Int) -> Bool { height <= expiresAt }
}

/// What one number publishes, merged from every active name of both conventions.
public struct NumberRecords: Sendable, Equatable {
    public var number: E164Number
    /// In the order the names were read: ENUMER `:0`, `:1`, ... then the seed name.
    public var naptrs: [NAPTR]
    /// For each record in `naptrs`, its 0-based entry index if it came from the seed name
    /// (the HTTP API shows those as the Flask backend did), nil for ENUMER records.
    public var seedIndex: [Int?] = []
    /// One TTL for the set (RFC 2181 section 5.2): the smallest of the names' TTLs, capped by
    /// the time until the first of them expires.
    public var ttl: UInt32
    /// The NVS names that contributed, as written on the chain.
    public var names: [String]
    /// The smallest expiry height among those names.
    public var expiresAt: Int
}

/// Every number the chain publishes at one height, with counts of what was skipped and why.
public struct ChainRecords: Sendable {
    public var height: Int
    /// Sorted by digits.
    public var numbers: [NumberRecords]
    /// Skipped names and values by reason; a reason never includes the name or number.
    public var skipped: [String: Int]
    /// Details for the debug log: NVS name and what was wrong with it (first 100 only).
    public var problems: [(name: String, problem: String)]

    /// Average blocks per day on Emercoin (a block every ~8.2 minutes); names are rented in days
    /// of 175 blocks.
    public static let blocksPerDay = 175

    /// Builds the published records from the names read at `height`. ENUMER indices are followed
    /// as EmerDNS does: `:0`, `:1`, ... up to the first missing or inactive one.
    public static func build(_ items: [NVSItem], height: Int, defaultTTL: UInt32) -> ChainRecords {
        var skipped: [String: Int] = [:]
        var problems: [(name: String, problem: String)] = []
        func skip(_ item: NVSItem, _ reason: String, detail: String? = nil) {
            skipped[reason, default: 0] += 1
            if problems.count < 100 {
                problems.append((String(decoding: item.name.prefix(80), as: UTF8.self), detail ?? reason))
            }
        }
        var seed: [E164Number: NVSItem] = [:]
        var enumer: [E164Number: [Int: NVSItem]] = [:]
        for item in items {
            guard let kind = ENUMName(item.name) else { skip(item, "not an ENUM name"); continue }
            guard item.isActive(atHeight: height) else { skip(item, "expired"); continue }
            switch kind {
            case .seed(let n): seed[n] = item
            case .enumer(let n, let index): enumer[n, default: [:]][index] = item
            }
        }
        var numbers: [NumberRecords] = []
        let all = Set(seed.keys).union(enumer.keys)
        for number in all.sorted(by: { $0.digits < $1.digits }) {
            var contributing: [(item: NVSItem, parsed: ParsedValue, isSeed: Bool)] = []
            if let byIndex = enumer[number] {
                var i = 0
                while i < ChainLimits.maxIndex, let item = byIndex[i] {
                    contributing.append((item, EnumerValue.parse(item.value), false))
                    i += 1
                }
                for (index, item) in byIndex where index >= i { skip(item, "after a gap in the :0, :1, ... indices") }
            }
            if let item = seed[number] { contributing.append((item, SeedValue.parse(item.value), true)) }

            var r = NumberRecords(number: number, naptrs: [], seedIndex: [], ttl: defaultTTL, names: [], expiresAt: Int.max)
            var rdataBytes = 0
            for (item, parsed, isSeed) in contributing {
                for p in parsed.problems { skip(item, category(p), detail: p) }
                var used = false
                for (entry, n) in parsed.naptrs.enumerated() where !r.naptrs.contains(n) {
                    let size = 7 + n.flags.utf8.count + n.services.utf8.count + n.regexp.utf8.count + n.replacement.wire.count
                    guard r.naptrs.count < ChainLimits.maxNAPTRsPerNumber, rdataBytes + size <= ChainLimits.maxRDATAPerNumber else {
                        skip(item, "over the per-number limit"); break
                    }
                    r.naptrs.append(n); r.seedIndex.append(isSeed ? entry : nil); rdataBytes += size; used = true
                }
                guard used else { continue }
                r.names.append(String(decoding: item.name, as: UTF8.self))
                r.ttl = min(r.ttl, parsed.ttl ?? defaultTTL)
                r.expiresAt = min(r.expiresAt, item.expiresAt)
            }
            guard !r.naptrs.isEmpty else { continue }
            // Never cache past the expiry: the name is active through block expiresAt.
            let blocksLeft = max(0, r.expiresAt - height + 1)
            let secondsLeft = blocksLeft * 86_400 / blocksPerDay
            r.ttl = UInt32(min(Int(r.ttl), secondsLeft))
            numbers.append(r)
        }
        return ChainRecords(height: height, numbers: numbers, skipped: skipped, problems: problems)
    }

    /// A reason without entry or line numbers, for counting.
    static func category(_ problem: String) -> String {
        guard let colon = problem.firstIndex(of: ":"), problem.hasPrefix("entry ") || problem.hasPrefix("line ") else {
            return problem
        }
        return String(problem[problem.index(after: colon)...].drop { $0 == " " }.prefix { $0 != "'" })
            .trimmingTrailingSpaces()
    }
}
