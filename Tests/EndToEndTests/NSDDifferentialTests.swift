import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// NSD (Debian's `nsd`) on the same zone file, on a loopback port of its own.
final class NSDServer {
    var process: SpawnedProcess? = nil
    let port: Int
    let dir: String

    init(zone: String, apex: String) throws {
        port = freePort()
        dir = NSTemporaryDirectory() + "enumd-nsd-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let conf = nsdServerSection(port: port, dir: dir, verbosity: 0) + """
        zone:
          name: \(apex)
          zonefile: \(zone)

        """
        FileManager.default.createFile(atPath: dir + "/nsd.conf", contents: Data(conf.utf8))
        process = try SpawnedProcess(try tool("nsd"), ["-d", "-c", dir + "/nsd.conf"])
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if (try? dig(port, [apex, "SOA"]).status) == "NOERROR" { return }
            usleep(100_000)
        }
        stop()
        throw TestFailure("nsd did not answer on port \(port)")
    }

    func stop() { process?.stop() }

    deinit { stop(); try? FileManager.default.removeItem(atPath: dir) }
}

/// The same zone served by enumd and by NSD, the same queries to both, answers compared section
/// by section (status, header flags, OPT pseudo-section, question, answer, authority, additional).
/// The question and the answer owners must match to the letter (the question is echoed as
/// asked); names elsewhere are compared without case, since NSD compresses RDATA names against
/// the question and so prints them in the asker's case (both are right, RFC 4343).
@Suite(.serialized) struct NSDDifferentialTests {
    static let number = "0.9.8.7.6.5.4.3.2.1.e164.arpa"
    static let uk = "8.5.9.0.6.4.9.7.0.2.4.4.e164.arpa"

    /// Each entry is the dig arguments for one query.
    static let queries: [[String]] = {
        var q: [[String]] = []
        let names = [number, uk, "e164.arpa", "ns2.e164.arpa", "NS2.E164.ARPA",
                     "0.9.8.7.6.5.4.3.2.1.E164.arpa", "5.4.3.2.1.e164.arpa", "1.e164.arpa", "4.4.e164.arpa",
                     "9.9.9.e164.arpa", "1.0.9.8.7.6.5.4.3.2.1.e164.arpa", "7.6.5.4.3.2.1.0.3.9.4.e164.arpa",
                     "8.7.6.5.4.3.2.1.0.3.9.4.e164.arpa", "5.4.3.2.1.0.3.9.4.e164.arpa", "*.5.4.3.2.1.0.3.9.4.e164.arpa",
                     "example.com", "arpa", "xe164.arpa", "."]
        for n in names {
            for t in ["NAPTR", "SOA", "NS", "A", "AAAA", "TXT", "ANY", "MX", "TYPE65280"] { q.append([n, t]) }
        }
        for opts in [["+noedns"], ["+dnssec"], ["+bufsize=512"], ["+tcp"], ["+edns=1", "+noednsnegotiation"]] {
            for (n, t) in [(number, "NAPTR"), (uk, "NAPTR"), ("9.9.e164.arpa", "NAPTR"), ("example.com", "A")] {
                q.append(opts + [n, t])
            }
        }
        return q
    }()

    @Test func demoZoneAnswersMatchNSD() throws {
        try compare(zone: Paths.demoZone, apex: "e164.arpa", queries: Self.queries)
    }

    /// The generator's shape of data (as used by the benchmarks): 300 random numbers.
    @Test func generatedZoneAnswersMatchNSD() throws {
        var text = "$ORIGIN e164.arpa.\n$TTL 3600\n@ IN SOA ns1.example.net. hostmaster.example.net. 2024010101 7200 3600 1209600 300\n@ IN NS ns1.example.net.\n@ IN NS ns2.example.net.\n"
        var rng = SystemRandomNumberGenerator()
        var numbers: [String] = []
        for i in 0..<300 {
            let n = String(Int.random(in: 1...9, using: &rng)) + (0..<Int.random(in: 7...14, using: &rng)).map { _ in String(Int.random(in: 0...9, using: &rng)) }.joined()
            numbers.append(n)
            let rel = n.reversed().map(String.init).joined(separator: ".")
            text += "\(rel) IN NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:user\(i)@example.net!\" .\n"
            if i % 10 == 0 { text += "\(rel) IN NAPTR 100 20 \"u\" \"E2U+pstn:tel\" \"!^.*$!tel:+\(n)!\" .\n" }
        }
        var queries: [[String]] = []
        for n in numbers.prefix(60) {
            let name = n.reversed().map(String.init).joined(separator: ".") + ".e164.arpa"
            queries.append([name, "NAPTR"])
            queries.append([name, "TXT"])
            queries.append([String(name.dropFirst(2)), "NAPTR"])  // parent: ENT or a number
            queries.append(["9." + name, "NAPTR"])
        }
        try compare(zone: writeTemp(text), apex: "e164.arpa", queries: queries)
    }

    func compare(zone: String, apex: String, queries: [[String]]) throws {
        let nsd = try NSDServer(zone: zone, apex: apex)
        defer { nsd.stop() }
        let enumd = try EnumdServer(zone: zone)
        var mismatches = 0
        var nsdAnswers = try digBatch(nsd.port, queries)
        var enumdAnswers = try digBatch(enumd.port, queries)
        // A reply lost to a busy machine is asked again (dig's own retry is off to keep it fast).
        for (i, q) in queries.enumerated() {
            for _ in 0..<3 where nsdAnswers[i].status.isEmpty { nsdAnswers[i] = try dig(nsd.port, q) }
            for _ in 0..<3 where enumdAnswers[i].status.isEmpty { enumdAnswers[i] = try dig(enumd.port, q) }
        }
        for (i, q) in queries.enumerated() {
            let theirs = nsdAnswers[i].caseFoldedOutsideQuestionAndAnswer
            let ours = enumdAnswers[i].caseFoldedOutsideQuestionAndAnswer
            #expect(!theirs.status.isEmpty, "NSD gave no answer to \(q)")
            if ours != theirs {
                mismatches += 1
                Issue.record("\(q.joined(separator: " ")):\nNSD:   \(theirs)\nenumd: \(ours)")
            }
        }
        #expect(mismatches == 0)
    }
}

extension DigAnswer {
    var caseFoldedOutsideQuestionAndAnswer: DigAnswer {
        var d = self
        d.authority = authority.map { $0.lowercased() }.sorted()
        d.additional = additional.map { $0.lowercased() }.sorted()
        return d
    }
}
