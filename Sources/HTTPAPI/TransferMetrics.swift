import DNSServer
import ENUMCore

extension PrometheusText {
    /// Zone transfer, NOTIFY and serial metrics (README "Zone transfers").
    mutating func transfers(_ s: TransferStatistics, snapshot: Snapshot?) {
        family("enum_xfr_requests_total", "counter", "Zone transfer requests by outcome: axfr, ixfr (differences or SOA only), ixfr_as_axfr (serial not in the journal), refused, tsig_failed.")
        for (kind, n) in [("axfr", s.axfr), ("ixfr", s.ixfr), ("ixfr_as_axfr", s.ixfrFallbacks), ("refused", s.refused), ("tsig_failed", s.tsigFailures)] {
            sample("enum_xfr_requests_total", ["kind": kind], Double(n))
        }
        family("enum_xfr_last_ixfr_records", "gauge", "Records in the last IXFR answered with differences (SOAs included).")
        sample("enum_xfr_last_ixfr_records", [:], Double(s.lastIXFRRecords))
        family("enum_notify_total", "counter", "NOTIFY messages by result: sent (each try), acknowledged, failed (refused or unanswered after every try).")
        for (result, n) in [("sent", s.notifiesSent), ("acknowledged", s.notifiesAcknowledged), ("failed", s.notifiesFailed)] {
            sample("enum_notify_total", ["result": result], Double(n))
        }
        family("enum_zone_serial", "gauge", "SOA serial of each served zone.")
        for z in snapshot?.zones ?? [] { sample("enum_zone_serial", ["zone": z.apex.lowercased.description], Double(z.serial)) }
    }
}
