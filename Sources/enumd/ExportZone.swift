import ArgumentParser
import ChainSync
import DNSWire
import ENUMCore
import ServerConfig
#if canImport(Glibc)
import Glibc
#endif

/// `enumd export-zone`: the snapshot `serve` would answer from (zone files plus the chain
/// records saved in the state directory) as an RFC 1035 master file that NSD and Knot load as it
/// is. The node is not asked: the state directory holds what was last synced.
struct ExportZone: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-zone",
        abstract: "Write the current snapshot of a zone as an RFC 1035 zone file.",
        discussion: "Reads the zone files and the state directory's chain snapshot (from --config, or the flags), "
            + "with the SOA serial that 'serve' gives that data. Without a state directory, the zone files only.")

    @Option(help: ArgumentHelp("The apex of the zone to write.", valueName: "APEX"))
    var zone: String = "e164.arpa."

    @Argument(help: "Where to write (default: standard output). Written to a temporary file and renamed.")
    var file: String?

    @Option(help: "A config file, as 'serve' takes; its zone, state-dir, chain and default-ttl are used.")
    var config: String?

    @Option(name: .customLong("zone-file"), help: ArgumentHelp("Zone file to load (repeatable); default: the config's, else zones/e164.arpa.zone.", valueName: "FILE"))
    var zoneFiles: [String] = []

    @Option(help: ArgumentHelp("The state directory with the chain snapshot (default: the config's state-dir).", valueName: "DIR"))
    var stateDir: String?

    @Flag(help: "Leave the chain's records out: the zone files only.")
    var noChain = false

    @Option(help: "TTL of chain records without a TTL= line (default: the config's, else 3600).")
    var defaultTtl: Int?

    func run() throws {
        var c = try config.map(loadConfig) ?? Configuration()
        if !zoneFiles.isEmpty { c.zones = zoneFiles }
        if let stateDir { c.stateDirectory = stateDir }
        if noChain { c.chain = false }
        if let defaultTtl {
            guard (0...604_800).contains(defaultTtl) else { throw fail("--default-ttl must be 0 to 604800", code: 2) }
            c.defaultTTL = defaultTtl
        }
        let apex: DomainName
        do { apex = try DomainName(parsing: zone).lowercased } catch { throw fail("--zone '\(zone)': \(error)", code: 2) }

        var zones: [Zone] = []
        for path in c.zones {
            do { zones.append(try ZoneFile.load(path: path)) } catch { throw fail(error.description, code: 1) }
        }
        var snapshot: Snapshot
        var source = "zone files"
        do {
            snapshot = try Snapshot(zones: zones)
            if c.chain, let dir = c.stateDirectory, zones.contains(where: { $0.apex.lowercased == DomainName.e164Arpa }) {
                if let table = try StateFile.read(directory: dir) {
                    let built = try SnapshotBuilder.build(zones: zones, numbers: table, builtAt: 0, stale: true)
                    snapshot = try ZoneVersions(directory: dir).settle(built, previous: nil).snapshot
                    source = "zone files and the chain at height \(table.height) (\(StateFile.path(in: dir)))"
                }
            }
        } catch let e as ExitCode { throw e } catch { throw fail("\(error)", code: 1) }
        guard let z = snapshot.zones.first(where: { $0.apex.lowercased == apex }) else {
            let served = snapshot.zones.map { "\($0.apex)" }.joined(separator: ", ")
            throw fail("no zone \(apex) in \(c.zones.joined(separator: ", ")) (zones: \(served))", code: 1)
        }
        let text: String
        do {
            text = try ZoneFile.text(of: z, header: ["zone \(z.apex) serial \(z.serial), exported by enumd from \(source)",
                                                     "\(z.recordCount) records"])
        } catch { throw fail(error.description, code: 1) }
        guard let file else { print(text, terminator: ""); return }
        let temp = file + ".tmp"
        guard let fp = fopen(temp, "w") else { throw fail("\(temp): cannot create: \(String(cString: strerror(errno)))", code: 1) }
        let bytes = Array(text.utf8)
        let ok = fwrite(bytes, 1, bytes.count, fp) == bytes.count && fflush(fp) == 0 && fsync(fileno(fp)) == 0
        fclose(fp)
        guard ok, rename(temp, file) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw fail("\(file): cannot write: \(reason)", code: 1)
        }
    }
}
