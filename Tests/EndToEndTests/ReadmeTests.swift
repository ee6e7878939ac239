import Foundation
import Testing
import TestSupport

/// The README's examples are run, so they cannot rot.
@Suite struct ReadmeTests {
    /// The lines after `$ COMMAND` up to the end of the code block.
    func example(after command: String) throws -> [String] {
        let readme = try String(contentsOfFile: Paths.repoRoot + "/README.md", encoding: .utf8)
        let lines = readme.components(separatedBy: "\n")
        guard let i = lines.firstIndex(of: "$ " + command) else { throw TestFailure("README has no `$ \(command)`") }
        return Array(lines[(i + 1)...].prefix { $0 != "```" })
    }

    @Test func keyExample() throws {
        let expected = try example(after: "enumd key '+1 234-567-890'")
        let r = try run(Paths.enumd, ["key", "+1 234-567-890"])
        #expect(r.stdout.split(separator: "\n").map(String.init) == expected)
    }

    @Test func digExample() throws {
        let expected = try example(after: "dig @127.0.0.1 -p 5353 +norec NAPTR 0.9.8.7.6.5.4.3.2.1.e164.arpa +short")
        let s = try EnumdServer()
        let r = try run(try tool("dig"), ["@127.0.0.1", "-p", String(s.port), "+norec", "NAPTR", "0.9.8.7.6.5.4.3.2.1.e164.arpa", "+short"])
        #expect(r.stdout.split(separator: "\n").map(String.init) == expected)
    }
}
