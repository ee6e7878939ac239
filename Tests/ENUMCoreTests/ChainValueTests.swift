import Testing
@testable import ENUMCore

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct ENUMNameTests {
    @Test(arguments: [
        ("enum:0.9.8.7.6.5.4.3.2.1.e164.arpa", ENUMName.seed(try! E164Number(digits: "1234567890"))),
        ("enum:0.9.8.7.6.5.4.3.2.1.E164.ARPA", ENUMName.seed(try! E164Number(digits: "1234567890"))),
        ("enum:1234567890:0", ENUMName.enumer(try! E164Number(digits: "1234567890"), index: 0)),
        ("enum:12027139373:12", ENUMName.enumer(try! E164Number(digits: "12027139373"), index: 12)),
    ])
    func recognises(name: String, expected: ENUMName) {
        #expect(ENUMName(bytes(name)) == expected)
    }

    @Test(arguments: ["dns:enum:x", "dns:example.coin", "enum:", "enum:abc", "enum:123", "enum:123:", "enum:123:01",
                      "enum:123:x", "enum:0123:0", "enum:1234567890123456:0", "enum:12.3.e164.arpa", "enum:1..2.e164.arpa",
                      "enum:.1.e164.arpa", "enum:e164.arpa", "enum:1.2.e164.arpa.", "ENUM:123:0", "enum:123:0:1", "enum:+123:0"])
    func ignores(name: String) {
        #expect(ENUMName(bytes(name)) == nil)
    }
}

@Suite struct SeedValueTests {
    @Test func theFlaskExample() {
        let v = SeedValue.parse(bytes(#""!^.*$!sip:primary@example.com!"|"!^.*$!sip:backup@example.com!""#))
        #expect(v.problems.isEmpty)
        #expect(v.naptrs == [
            NAPTR(order: 100, preference: 10, services: "E2U+sip", regexp: "!^.*$!sip:primary@example.com!"),
            NAPTR(order: 100, preference: 20, services: "E2U+sip", regexp: "!^.*$!sip:backup@example.com!"),
        ])
    }

    /// Each row: value, expected (service, regexp) per NAPTR, number of problems.
    @Test(arguments: [
        ("!^.*$!sip:a@b!", [("E2U+sip", "!^.*$!sip:a@b!")], 0),
        (" !^.*$!sip:a@b! | !^.*$!tel:+1234! ", [("E2U+sip", "!^.*$!sip:a@b!"), ("E2U+pstn:tel", "!^.*$!tel:+1234!")], 0),
        // A '|' inside the URI and inside the pattern: the entry structure keeps them whole.
        ("!^.*$!sip:a@b;x=1|2!|!^(1|2).*$!mailto:m@x!", [("E2U+sip", "!^.*$!sip:a@b;x=1|2!"), ("E2U+email:mailto", "!^(1|2).*$!mailto:m@x!")], 0),
        (#""!^.*$!sip:a|b@c!""#, [("E2U+sip", "!^.*$!sip:a|b@c!")], 0),
        ("!^.*$!https://x.example/!i", [("E2U+web:https", "!^.*$!https://x.example/!i")], 0),
        ("!^.*$!SIPS:a@b!", [("E2U+sip", "!^.*$!SIPS:a@b!")], 0),
        ("/^\\+1(.*)$/sip:\\1@pbx/", [("E2U+sip", "/^\\+1(.*)$/sip:\\1@pbx/")], 0),
        ("sip:a@b", [], 1),                                      // no delimiters
        ("!^.*$!gopher:x!", [], 1),                              // no Enumservice for the scheme
        ("!^.*$!sip:a@b!x", [], 1),                              // bad flags
        ("!^.*$!sip:a@b!|garbage", [("E2U+sip", "!^.*$!sip:a@b!")], 1),
        ("!^.*$!sip:a@b! junk", [("E2U+sip", "!^.*$!sip:a@b!")], 1),
        (#""!^.*$!sip:a@b!"#, [], 1),                           // unterminated quote
        ("", [], 1),
        ("1^.*1sip:a@b1", [], 1),                                // a digit cannot delimit
    ])
    func entries(value: String, expected: [(String, String)], problems: Int) {
        let v = SeedValue.parse(bytes(value))
        #expect(v.naptrs.map { [$0.services, $0.regexp] } == expected.map { [$0.0, $0.1] }, "\(value)")
        #expect(v.problems.count == problems, "\(value): \(v.problems)")
        #expect(v.naptrs.allSatisfy { $0.flags == "u" && $0.replacement == .root && $0.order == 100 })
    }

    @Test func hostileValuesAreBounded() {
        let many = Array(repeating: "!^.*$!sip:a@b!", count: 2000).joined(separator: "|")
        let v = SeedValue.parse(bytes(String(many.prefix(20 * 1024))))
        #expect(v.naptrs.count == ChainLimits.maxNAPTRsPerNumber)
        #expect(SeedValue.parse([UInt8](repeating: 0x21, count: 20 * 1024 + 1)).naptrs.isEmpty)
        #expect(SeedValue.parse([0x21, 0xFF, 0xFE, 0x21]).problems == ["value is not UTF-8"])
        let long = "!^.*$!sip:" + String(repeating: "a", count: 300) + "@b!"
        #expect(SeedValue.parse(bytes(long)).problems == ["entry 1: longer than 255 bytes"])
    }
}

@Suite struct EnumerValueTests {
    @Test func theEmercoinDocsExample() {
        let v = EnumerValue.parse(bytes("SIG=ver:enum|HxQY4nUHtf+nK/btxa0jT4U=\nE2U+sip=100|10|!^.*$!sip:17772328716@in.callcentric.com!"))
        #expect(v.problems.isEmpty && v.ttl == nil)
        #expect(v.naptrs == [NAPTR(order: 100, preference: 10, services: "E2U+sip", regexp: "!^.*$!sip:17772328716@in.callcentric.com!")])
    }

    @Test(arguments: [
        ("E2U+sip=100|10|!^(.*)$!sip:\\1@host!", 1, nil as UInt32?, 0),
        ("E2U+sip=100|10|!^.*$!sip:a@b!\r\nE2U+pstn:tel=100|20|!^.*$!tel:+1!\rTTL=600", 2, 600, 0),
        ("e2u+SIP = 5 | 6 | !^.*$!sip:a@b!  trailing words", 1, nil, 0),   // sscanf "%u | %u | %s"
        ("TTL=60\nE2U+sip=1|2|!^.*$!sip:a@b!\nNOTE=hello", 1, 60, 0),
        ("E2U+sip=100|10", 0, nil, 1),
        ("E2U+sip=100|x|!^.*$!sip:a@b!", 0, nil, 1),
        ("E2U+sip=70000|10|!^.*$!sip:a@b!", 0, nil, 1),
        ("E2U+sip 100|10|!^.*$!sip:a@b!", 0, nil, 1),
        ("E2U+sip=100|10|sip:a@b", 0, nil, 1),
        ("TTL=abc\nE2U+sip=1|2|!^.*$!sip:a@b!", 1, nil, 1),
        ("just text", 0, nil, 1),
        ("", 0, nil, 1),
    ])
    func lines(value: String, naptrs: Int, ttl: UInt32?, problems: Int) {
        let v = EnumerValue.parse(bytes(value))
        #expect(v.naptrs.count == naptrs, "\(value): \(v)")
        #expect(v.ttl == ttl)
        #expect(v.problems.count == problems, "\(value): \(v.problems)")
    }

    @Test func serviceAndFieldsKeptAsWritten() {
        let v = EnumerValue.parse(bytes("E2U+iax=7|8|!^.*$!iax:a@b!"))
        #expect(v.naptrs.first == NAPTR(order: 7, preference: 8, services: "E2U+iax", regexp: "!^.*$!iax:a@b!"))
    }
}

@Suite struct ChainRecordsTests {
    func item(_ name: String, _ value: String, expiresAt: Int = 2000) -> NVSItem {
        NVSItem(name: bytes(name), value: bytes(value), expiresAt: expiresAt)
    }

    @Test func bothConventionsMergeAndGapsStopTheIndexWalk() throws {
        let records = ChainRecords.build([
            item("enum:1234567890:0", "E2U+sip=100|10|!^.*$!sip:zero@x!"),
            item("enum:1234567890:1", "E2U+sip=100|20|!^.*$!sip:one@x!\nTTL=600"),
            item("enum:1234567890:3", "E2U+sip=100|40|!^.*$!sip:three@x!"),   // after the gap at :2
            item("enum:0.9.8.7.6.5.4.3.2.1.e164.arpa", "!^.*$!sip:seed@x!"),
            item("dns:enum:x", "whatever"),
        ], height: 1000, defaultTTL: 3600)
        let r = try #require(records.numbers.first)
        #expect(records.numbers.count == 1 && r.number.digits == "1234567890")
        #expect(r.naptrs.map(\.regexp) == ["!^.*$!sip:zero@x!", "!^.*$!sip:one@x!", "!^.*$!sip:seed@x!"])
        #expect(r.ttl == 600)
        #expect(r.names == ["enum:1234567890:0", "enum:1234567890:1", "enum:0.9.8.7.6.5.4.3.2.1.e164.arpa"])
        #expect(records.skipped == ["not an ENUM name": 1, "after a gap in the :0, :1, ... indices": 1])
    }

    @Test func activeThroughTheExpiryHeightThenGone() {
        let at = ChainRecords.build([item("enum:123:0", "E2U+sip=1|1|!^.*$!sip:a@b!", expiresAt: 1000)], height: 1000, defaultTTL: 3600)
        #expect(at.numbers.count == 1)
        #expect(at.numbers[0].ttl == 493)  // one block left: 86400 / 175 seconds, not the default hour
        let after = ChainRecords.build([item("enum:123:0", "E2U+sip=1|1|!^.*$!sip:a@b!", expiresAt: 1000)], height: 1001, defaultTTL: 3600)
        #expect(after.numbers.isEmpty && after.skipped["expired"] == 1)
    }

    @Test func anInactiveZeroHidesTheRest() {
        let r = ChainRecords.build([
            item("enum:123:0", "E2U+sip=1|1|!^.*$!sip:a@b!", expiresAt: 10),
            item("enum:123:1", "E2U+sip=1|2|!^.*$!sip:c@d!"),
        ], height: 1000, defaultTTL: 3600)
        #expect(r.numbers.isEmpty)
    }

    @Test func brokenValuesAreCountedNotFatal() {
        let r = ChainRecords.build([
            item("enum:111:0", "no delimiters here"),
            item("enum:222:0", "E2U+sip=1|1|!^.*$!sip:ok@x!"),
            NVSItem(name: bytes("enum:333:0"), value: [0xC3, 0x28], expiresAt: 5000),
        ], height: 1000, defaultTTL: 3600)
        #expect(r.numbers.map(\.number.digits) == ["222"])
        #expect(r.skipped["value is not UTF-8"] == 1 && r.skipped["no E2U lines"] == 1)
        #expect(!r.skipped.keys.contains { $0.contains("111") || $0.contains("333") })  // no numbers in reasons
    }

    @Test func perNumberCapsKeepAnswersInsideATCPMessage() {
        let big = (0..<40).map { "E2U+sip=1|\($0)|!^.*$!sip:\(String(repeating: "u", count: 200))\($0)@x!" }.joined(separator: "\n")
        let r = ChainRecords.build([item("enum:123:0", big)], height: 1000, defaultTTL: 3600)
        #expect(r.numbers[0].naptrs.count <= ChainLimits.maxNAPTRsPerNumber)
        let size = r.numbers[0].naptrs.reduce(0) { $0 + 7 + $1.services.utf8.count + $1.regexp.utf8.count + 2 }
        #expect(size <= ChainLimits.maxRDATAPerNumber)
    }
}

@Suite struct RegexpTests {
    @Test(arguments: [
        ("!^.*$!sip:a@b!", "sip:a@b"), ("!^(.*)$!sip:\\1@b!", "sip:\\1@b"), ("/a\\/b/x/i", "x"), ("#^.*$#tel:+1#", "tel:+1"),
    ])
    func valid(re: String, repl: String) throws {
        #expect(try naptrRegexpReplacement(re).get() == repl)
    }

    @Test(arguments: ["", "!a!b", "1a1b1", "\\a\\b\\", "!!x!", "!a!b!c", "ia!b!"])
    func invalid(re: String) {
        #expect((try? naptrRegexpReplacement(re).get()) == nil)
    }
}
