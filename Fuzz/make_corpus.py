#!/usr/bin/env python3
"""Writes the seed corpus for scripts/fuzz: real queries for the query target, real chain
names and values for the values target. Rerun after changing it; the files are committed."""
import os, struct

here = os.path.dirname(os.path.abspath(__file__))

def name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"

def query(n, qtype, qclass=1, flags=0, edns=None, qd=1, ar=None, extra=b"", cookie=None, qid=0x1234):
    opt = b""
    if edns is not None:
        options = b""
        if cookie is not None:
            options = struct.pack(">HH", 10, len(cookie)) + cookie
        opt = b"\0" + struct.pack(">HHIH", 41, edns, 0, len(options)) + options
    arcount = (1 if edns is not None else 0) if ar is None else ar
    return struct.pack(">HHHHHH", qid, flags, qd, 0, 0, arcount) + name(n) + struct.pack(">HH", qtype, qclass) + opt + extra

NUM = "0.9.8.7.6.5.4.3.2.1.e164.arpa"
queries = {
    "naptr": query(NUM, 35),
    "naptr-edns": query(NUM, 35, edns=1232),
    "naptr-edns-small": query(NUM, 35, edns=100),
    "naptr-cookie": query(NUM, 35, edns=1232, cookie=bytes(range(8))),
    "naptr-full-cookie": query(NUM, 35, edns=1232, cookie=bytes(range(8)) + bytes([1, 0, 0, 0]) + bytes(12)),
    "wildcard": query("9.9.5.4.3.2.1.0.3.9.4.e164.arpa", 35, edns=4096),
    "nxdomain": query("1.1.1.1.e164.arpa", 35),
    "nodata": query("e164.arpa", 1),
    "ent": query("4.3.2.1.e164.arpa", 35),
    "any": query(NUM, 255),
    "any-apex": query("e164.arpa", 255, edns=4096),
    "soa": query("E164.ArPa", 6),
    "refused": query("example.com", 1),
    "chaos": query("version.bind", 16, qclass=3),
    "axfr": query("e164.arpa", 252),
    "ixfr": query("e164.arpa", 251),
    "notify": query("e164.arpa", 6, flags=4 << 11),
    "qd2": query("e164.arpa", 6, qd=2),
    "edns1": query("e164.arpa", 6, edns=1232) [:-7] + b"\x01" + b"\0\0\0\0\0\0",
    "referral": query("x.sub.fuzz.test", 1, edns=1232),
    "big-udp": query("big.fuzz.test", 16),
    "big-edns": query("big.fuzz.test", 16, edns=4096),
    "many-any": query("many.fuzz.test", 255),
    "glue": query("fuzz.test", 2, edns=1232),
    "trailing": query(NUM, 35, extra=b"\x01\x02\x03"),
    "compressed-ar": query(NUM, 35, ar=1, extra=b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 0, 4) + b"\x7f\0\0\x01"),
}
values = {
    "seed": b"enum:0.9.8.7.6.5.4.3.2.1.e164.arpa\0\"!^.*$!sip:primary@example.com!\"|\"!^.*$!sip:backup@example.com!\"",
    "seed-unquoted": b"enum:1.2.3.4.5.6.7.e164.arpa\0!^.*$!sip:a|b@example.com!|!^.*$!tel:+1234567!",
    "enumer": b"enum:1234567890:0\0E2U+sip=100|10|!^(.*)$!sip:\\1@host!\nTTL=600\nSIG=x|abc",
    "enumer-two": b"enum:4930123:0\0E2U+sip=1|1|!^.*$!sip:a@b!\0enum:4930123:1\0e2u+pstn:tel = 2 | 3 | !^.*$!tel:+4930123!\r\nttl=5",
    "enumer-gap": b"enum:44123:0\0E2U+sip=1|1|!^.*$!sip:a@b!\0enum:44123:2\0E2U+sip=1|1|!^.*$!sip:c@d!",
    "both": b"enum:3.2.1.e164.arpa\0!^.*$!mailto:x@y!\0enum:123:0\0E2U+web:https=10|10|!^.*$!https://x/!",
    "not-enum": b"dns:enum:x\0value\0enum:abc\0x\0enum:123:01\0y",
    "utf8": "enum:7.7.7.e164.arpa\0\"!^.*$!sip:bücher@example.com!\"".encode(),
}
for d, items in (("query", queries), ("values", values)):
    os.makedirs(os.path.join(here, "corpus", d), exist_ok=True)
    for k, v in items.items():
        with open(os.path.join(here, "corpus", d, k), "wb") as f:
            f.write(v if d == "query" else b"\x17" + v)
