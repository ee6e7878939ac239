import Testing
@testable import ENUMCore

@Suite struct E164NumberTests {
    @Test(arguments: [
        ("+1 234-567-890", "1234567890"),
        ("+1234567890", "1234567890"),
        ("1234567890", "1234567890"),
        (" 1234567890", "1234567890"),          // an unencoded '+' in a URL arrives as a space
        ("+44 (20) 7946.0958", "442079460958"),
        ("+49/30/123", "4930123"),
        ("+123456789012345", "123456789012345"),  // 15 digits, the E.164 maximum
        ("7", "7"),
    ])
    func parsesAndNormalizes(input: String, digits: String) throws {
        #expect(try E164Number(parsing: input).digits == digits)
    }

    @Test(arguments: [
        ("", E164Error.noDigits),
        ("+", E164Error.noDigits),
        (" - ", E164Error.noDigits),
        ("abc", E164Error.unexpectedCharacter("a", offset: 0)),
        ("+1 234 x", E164Error.unexpectedCharacter("x", offset: 7)),
        ("1+2", E164Error.unexpectedCharacter("+", offset: 1)),
        ("++1", E164Error.unexpectedCharacter("+", offset: 1)),
        ("+1234567890123456", E164Error.tooLong(16)),
        ("+0123", E164Error.leadingZero),
        ("٣٤٥", E164Error.unexpectedCharacter("٣", offset: 0)),  // non-ASCII digits are not E.164 digits
    ])
    func rejects(input: String, error: E164Error) {
        #expect(throws: error) { try E164Number(parsing: input) }
    }

    @Test func namesForBothChainConventions() throws {
        let n = try E164Number(parsing: "+1 234-567-890")
        #expect(n.description == "+1234567890")
        #expect(n.domain().description == "0.9.8.7.6.5.4.3.2.1.e164.arpa.")
        #expect(n.seedNVSName == "enum:0.9.8.7.6.5.4.3.2.1.e164.arpa")
        #expect(n.enumerNVSName(index: 0) == "enum:1234567890:0")
        #expect(n.enumerNVSName(index: 2) == "enum:1234567890:2")
    }

    @Test(arguments: [
        ("0.9.8.7.6.5.4.3.2.1.e164.arpa.", "1234567890"),
        ("0.9.8.7.6.5.4.3.2.1.E164.ARPA.", "1234567890"),
        ("3.2.1.e164.arpa.", "123"),
    ])
    func numberFromDomain(name: String, digits: String) throws {
        let d = try DomainName(parsing: name)
        #expect(E164Number(domain: d, apex: .e164Arpa)?.digits == digits)
    }

    @Test(arguments: ["e164.arpa.", "12.3.e164.arpa.", "a.1.e164.arpa.", "1.example.com.", "0.1.2.0.e164.arpa."])
    func notANumberDomain(name: String) throws {
        #expect(E164Number(domain: try DomainName(parsing: name), apex: .e164Arpa) == nil)
    }
}

@Suite struct DomainNameTests {
    @Test func parsesAndPrints() throws {
        let n = try DomainName(parsing: "Sip.Example.COM")
        #expect(n.wire == [3, 83, 105, 112, 7] + Array("Example".utf8) + [3] + Array("COM".utf8) + [0])
        #expect(n.description == "Sip.Example.COM.")
        #expect(n.lowercased.description == "sip.example.com.")
        #expect(n.labelCount == 3)
        #expect(n.parent?.description == "Example.COM.")
        #expect(DomainName.root.description == ".")
        #expect(try DomainName(parsing: "a\\.b.c.").labelCount == 2)
        #expect(try DomainName(parsing: "a\\046b.c.").description == "a\\.b.c.")
    }

    @Test func subdomains() throws {
        let apex = DomainName.e164Arpa
        #expect(try DomainName(parsing: "1.E164.Arpa.").isSubdomain(of: apex))
        #expect(apex.isSubdomain(of: apex))
        #expect(!(try DomainName(parsing: "xe164.arpa.").isSubdomain(of: apex)))
        #expect(!(try DomainName(parsing: "arpa.").isSubdomain(of: apex)))
    }

    @Test func limits() {
        #expect(throws: DomainNameError.labelTooLong) { try DomainName(parsing: String(repeating: "a", count: 64) + ".com") }
        let long = Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".")
        #expect(throws: DomainNameError.tooLong) { try DomainName(parsing: long) }
        #expect(throws: DomainNameError.emptyLabel) { try DomainName(parsing: "a..b") }
        #expect(throws: DomainNameError.trailingBytes) { try DomainName(wire: [1, 97, 0, 0]) }
        #expect(throws: DomainNameError.truncated) { try DomainName(wire: [3, 97]) }
    }
}
