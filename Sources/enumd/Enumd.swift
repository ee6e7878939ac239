import ArgumentParser
import DNSServer
import DNSWire
import ENUMCore
import Logging
import ServerConfig
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

@main
struct Enumd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enumd",
        abstract: "An authoritative ENUM (RFC 6116) DNS server fed by the Emercoin chain.",
        subcommands: [Serve.self, Key.self, Register.self, CheckZone.self, CheckConfig.self, ExportZone.self, GenToken.self]
    )
}

/// Prints `message` to standard error and exits with `code`.
func fail(_ message: String, code: Int32) -> ExitCode {
    let line = Array("enumd: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    return ExitCode(code)
}

struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the ENUM domain and the chain (NVS) names of a telephone number.")

    @Argument(help: "A number in E.164 form, e.g. '+1 234-567-890'.")
    var number: String

    func run() throws {
        let n: E164Number
        do { n = try E164Number(parsing: number) } catch { throw fail(error.description, code: 2) }
        print("number:       \(n)")
        print("domain:       \(n.domain())")
        print("nvs-seed:     \(n.seedNVSName)")
        print("nvs-enumer:   \(n.enumerNVSName(index: 0))  (then :1, :2, ... up to the first gap)")
    }
}

struct CheckZone: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-zone", abstract: "Parse a zone file and report the first error with its line.")

    @Argument(help: "An RFC 1035 master file.")
    var file: String

    func run() throws {
        do {
            let zone = try ZoneFile.load(path: file)
            let records = zone.nodes.reduce(0) { $0 + $1.rrsets.reduce(0) { $0 + $1.rdatas.count } }
            print("\(file): zone \(zone.apex) serial \(zone.serial): \(zone.nodes.count) names, \(records) records")
        } catch {
            throw fail(error.description, code: 1)
        }
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a config file and report the first error with its line.")

    @Argument(help: "A config file (key = value lines).")
    var file: String

    func run() throws {
        do {
            _ = try loadConfig(file)
            print("\(file): ok")
        } catch let e as ExitCode { throw e }
    }
}

struct GenToken: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen-token",
        abstract: "Print a new register token: random bytes from the kernel CSPRNG (getrandom), base64url.")

    @Option(help: "Random bytes in the token, 16 to 256 (default 32: 256 bits).")
    var bytes = 32

    func run() throws {
        guard (16...256).contains(bytes) else { throw fail("--bytes must be 16 to 256", code: 2) }
        do { print(try Secret.token(bytes: bytes)) } catch { throw fail(error.description, code: 1) }
    }
}

func loadConfig(_ path: String) throws -> Configuration {
    guard let text = readFile(path) else { throw fail("\(path): cannot read: \(String(cString: strerror(errno)))", code: 1) }
    do { return try Configuration.parse(text, path: path) } catch { throw fail(error.description, code: 1) }
}

func readFile(_ path: String) -> String? {
    guard let fp = fopen(path, "r") else { return nil }
    defer { fclose(fp) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, fp)
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}
