import ArgumentParser
import EmercoinRPC
import ENUMCore
import Foundation

struct Register: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a number's URIs on the chain: name_new, or name_update when the wallet owns the name.")

    @Argument(help: "The number, e.g. '+1 234-567-890'.")
    var number: String

    @Argument(help: "The primary URI, e.g. sip:alice@example.com.")
    var uri: String

    @Option(name: .customLong("fallback"), help: "A fallback URI (repeatable, in order).")
    var fallbacks: [String] = []

    @Option(help: "Days to rent the name for (175 blocks a day). Default 365.")
    var days: Int = 365

    @Option(help: "seed (enum:<reversed digits>.e164.arpa) or enumer (enum:<digits>:0). Default seed.")
    var convention: String = "seed"

    @Flag(help: "Print the name and value; send nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("emercoind's JSON-RPC URL.", valueName: "URL")) var rpcUrl: String?
    @Option(help: "RPC user name.") var rpcUser: String?
    @Option(help: "RPC password.") var rpcPassword: String?
    @Option(help: ArgumentHelp("emercoind's .cookie file.", valueName: "FILE")) var rpcCookie: String?
    @Option(help: ArgumentHelp("emercoin.conf to read credentials from.", valueName: "FILE")) var emercoinConf: String?

    func run() throws {
        let n: E164Number
        do { n = try E164Number(parsing: number) } catch { throw fail(error.description, code: 2) }
        guard let conv = Registration.Convention(rawValue: convention) else { throw fail("--convention must be seed or enumer", code: 2) }
        guard (1...36_500).contains(days) else { throw fail("--days must be 1 to 36500", code: 2) }
        let (name, value): (String, String)
        do { (name, value) = try Registration.nameAndValue(for: n, uris: [uri] + fallbacks, convention: conv) } catch {
            throw fail(error.description, code: 2)
        }
        if dryRun {
            print("name:  \(name)")
            print("value: \(value.replacingOccurrences(of: "\n", with: "\\n"))")
            return
        }
        do {
            let found = try RPCDiscovery.discover(url: rpcUrl, user: rpcUser, password: rpcPassword,
                                                  cookieFile: rpcCookie, emercoinConf: emercoinConf)
            let client = try RPCClient(url: found.url, credentials: found.credentials)
            // A live name is updated (the node refuses if the wallet does not own it); otherwise new.
            let existing = try client.nameShow(name)
            let live = existing.map { !$0.deleted && !$0.expired } ?? false
            let method = live ? "name_update" : "name_new"
            let result = try client.call(method, [name, value, days])
            // name_new and name_update return the txid as a bare string (reference §1.2).
            guard let txid = result as? String else { throw fail("\(method): the node's reply is not a txid", code: 1) }
            print("\(method) \(name)")
            print("txid: \(txid)")
        } catch let e as ExitCode { throw e } catch {
            throw fail("\(error)", code: 1)
        }
    }
}
