import Foundation
import Testing
import TestSupport

/// `enumd register` against the fake emercoind: the name and value it builds, the bare-txid
/// reply read correctly (the Flask backend failed on it), and the record reaching DNS.
@Suite(.serialized) struct RegisterTests {
    @Test func dryRunPrintsTheNameAndValueOfEitherConvention() throws {
        let seed = try run(Paths.enumd, ["register", "+44 20 7946 0958", "sip:alice@example.net", "--fallback", "tel:+442079460958", "--dry-run"])
        #expect(seed.status == 0)
        #expect(seed.stdout == "name:  enum:8.5.9.0.6.4.9.7.0.2.4.4.e164.arpa\nvalue: \"!^.*$!sip:alice@example.net!\"|\"!^.*$!tel:+442079460958!\"\n")
        let enumer = try run(Paths.enumd, ["register", "+442079460958", "sip:alice@example.net", "--fallback", "mailto:a@example.net", "--convention", "enumer", "--dry-run"])
        #expect(enumer.stdout == "name:  enum:442079460958:0\nvalue: E2U+sip=100|10|!^.*$!sip:alice@example.net!\\nE2U+email:mailto=100|20|!^.*$!mailto:a@example.net!\n")
    }

    @Test(arguments: [["abc", "sip:a@b"], ["+1234", "gopher:x"], ["+1234", "sip:a!b"], ["+1234", "sip:a@b", "--convention", "x"], ["+1234", "sip:a@b", "--days", "0"]])
    func badInputIsRefused(args: [String]) throws {
        let r = try run(Paths.enumd, ["register"] + args + ["--dry-run"])
        #expect(r.status == 2 && r.stdout.isEmpty && r.stderr.hasPrefix("enumd: "), "\(args): \(r.stderr)")
    }

    @Test func registersThenUpdatesAndTheRecordIsServed() throws {
        let node = try FakeNode()
        let rpc = ["--rpc-url", "http://127.0.0.1:\(node.rpcPort)/", "--rpc-cookie", node.cookieFile]
        let first = try run(Paths.enumd, ["register", "+4930123456789", "sip:first@example.de", "--convention", "enumer", "--days", "30"] + rpc)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.hasPrefix("name_new enum:4930123456789:0\ntxid: "))
        let txid = first.stdout.components(separatedBy: "txid: ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        #expect(txid.count == 64 && txid.allSatisfy(\.isHexDigit))
        try node.mine()
        let again = try run(Paths.enumd, ["register", "+4930123456789", "sip:second@example.de", "--convention", "enumer"] + rpc)
        #expect(again.status == 0 && again.stdout.hasPrefix("name_update enum:4930123456789:0"), "\(again.stderr)")
        try node.mine()
        let s = try EnumdServer(["--poll-interval", "1"] + node.serveArguments, chain: true)
        #expect(eventually(8) {
            (try? dig(s.port, ["9.8.7.6.5.4.3.2.1.0.3.9.4.e164.arpa", "NAPTR"]).answer.first?.contains("sip:second@example.de")) == true
        })
        // A node that refuses: the error is named, exit 1.
        try node.fault("down")
        let down = try run(Paths.enumd, ["register", "+4930123456789", "sip:x@example.de"] + rpc)
        #expect(down.status == 1 && down.stderr.contains("node unreachable"))
    }
}
