import ChainSync
import DNSServer
import Foundation
import Hummingbird

/// Prometheus text format 0.0.4. Names follow `enum_<subsystem>_<name>_<unit>`; the README lists
/// them all.
extension HTTPAPI {
    func metrics() -> Response {
        var w = PrometheusText()
        if let dns {
            let c = dns.counts
            w.family("enum_dns_queries_total", "counter", "DNS queries answered (or dropped) by transport and rcode.")
            for (t, transport) in ["udp", "tcp"].enumerated() {
                for (r, rcode) in DNSStatistics.rcodeNames.enumerated() where c.queries[t][r] > 0 || r == 0 {
                    w.sample("enum_dns_queries_total", ["proto": transport, "rcode": rcode], Double(c.queries[t][r]))
                }
            }
            w.family("enum_dns_answer_duration_seconds", "histogram", "Time from receiving a query to sending its reply (per receive batch).")
            var cumulative = 0
            for (i, bound) in DNSStatistics.latencyBucketsMicroseconds.enumerated() {
                cumulative += c.latencyBuckets[i]
                w.sample("enum_dns_answer_duration_seconds_bucket", ["le": String(Double(bound) / 1e6)], Double(cumulative))
            }
            w.sample("enum_dns_answer_duration_seconds_bucket", ["le": "+Inf"], Double(c.latencyCount))
            w.sample("enum_dns_answer_duration_seconds_sum", [:], c.latencySumSeconds)
            w.sample("enum_dns_answer_duration_seconds_count", [:], Double(c.latencyCount))
        }
        if let rrl {
            w.family("enum_dns_rrl_responses_total", "counter", "UDP responses rate-limited by RRL: dropped, or sent truncated (slipped).")
            w.sample("enum_dns_rrl_responses_total", ["action": "dropped"], Double(rrl.dropped))
            w.sample("enum_dns_rrl_responses_total", ["action": "slipped"], Double(rrl.slipped))
        }
        let t = requests.totals.withLock { $0 }
        w.family("enum_http_requests_total", "counter", "HTTP requests by route and status.")
        for (k, v) in t.requests.sorted(by: { ($0.key.route, $0.key.status) < ($1.key.route, $1.key.status) }) {
            w.sample("enum_http_requests_total", ["route": k.route, "status": String(k.status)], Double(v))
        }
        w.family("enum_http_request_duration_seconds", "histogram", "HTTP request durations.")
        var cumulative = 0
        for (i, bound) in HTTPStatistics.bucketsSeconds.enumerated() {
            cumulative += t.buckets[i]
            w.sample("enum_http_request_duration_seconds_bucket", ["le": String(bound)], Double(cumulative))
        }
        w.sample("enum_http_request_duration_seconds_bucket", ["le": "+Inf"], Double(t.count))
        w.sample("enum_http_request_duration_seconds_sum", [:], t.sum)
        w.sample("enum_http_request_duration_seconds_count", [:], Double(t.count))

        let snapshot = store.responder?.snapshot
        w.family("enum_snapshot_records_served", "gauge", "Names with NAPTR records in the served snapshot.")
        w.sample("enum_snapshot_records_served", [:], Double(snapshot?.zones.reduce(0) { $0 + $1.naptrNameCount } ?? 0))
        w.family("enum_snapshot_stale", "gauge", "1 while the served data comes from the state file and no sync has confirmed it.")
        w.sample("enum_snapshot_stale", [:], snapshot?.stale == true ? 1 : 0)
        if let sync {
            let s = sync.status.withLock { $0 }
            w.family("enum_chain_height_blocks", "gauge", "Chain height of the served snapshot.")
            w.sample("enum_chain_height_blocks", [:], Double(s.servedHeight ?? 0))
            w.family("enum_chain_tip_blocks", "gauge", "Chain tip last reported by the node.")
            w.sample("enum_chain_tip_blocks", [:], Double(s.tip ?? 0))
            w.family("enum_sync_duration_seconds", "gauge", "How long the last successful full sync took.")
            w.sample("enum_sync_duration_seconds", [:], s.lastSyncSeconds ?? 0)
            w.family("enum_sync_last_success_timestamp_seconds", "gauge", "Unix time of the last successful sync.")
            w.sample("enum_sync_last_success_timestamp_seconds", [:], s.lastSuccess ?? 0)
            w.family("enum_sync_errors_total", "counter", "Failed syncs by kind.")
            for kind in ["unreachable", "timeout", "http", "rpc", "bad_reply", "not_ready", "other"] {
                w.sample("enum_sync_errors_total", ["kind": kind], Double(s.errors[kind] ?? 0))
            }
        }
        w.transfers(store.transfers.statistics, snapshot: snapshot)
        let heap = StateStore.heapBytes()
        w.family("enum_process_heap_bytes", "gauge", "The malloc heap (glibc mallinfo2): octets in use, and octets free but held in the arenas.")
        w.sample("enum_process_heap_bytes", ["state": "in_use"], Double(heap.inUse))
        w.sample("enum_process_heap_bytes", ["state": "free"], Double(heap.free))
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: w.text)))
    }
}

struct PrometheusText {
    var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [String: String], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(escape($0.value))\"" }.joined(separator: ",") + "}"
        }
        text += " " + (value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)) + "\n"
    }

    func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
