#!/usr/bin/env python3
"""fake_emercoind: a faithful stand-in for emercoind's JSON-RPC server, for tests.

Built from /work/shared/reference/emercoin-rpc.md ("the reference"; section numbers like §1.1
below point into it) and checked against emercoin/emercoin src/namecoin.cpp. Standard library only.

Usage:
  python3 fake_emercoind.py --state-file PORTS_JSON
        [--rpc-user U --rpc-password P] [--cookie-file PATH] [--height N] [--rpc-port P]
        [--seed S] [--start-time UNIX] [--no-wallet] [--wallet-name NAME] [--nameaddress]
        [--filter-value-limit N] [--verbose]

  Two listeners on 127.0.0.1: the JSON-RPC port (kernel-picked unless --rpc-port) and a control
  port (always kernel-picked). Once both listen, {"rpc_port", "control_port", "pid"} is written to
  PORTS_JSON atomically (temp file + rename). SIGTERM/SIGINT stop it (exit 0) and delete the cookie.

Control API: POST a JSON object {"op": ...} to http://127.0.0.1:CONTROL_PORT/ ; the reply is
{"ok": true, ...} or {"ok": false, "error": "..."} (always HTTP 200). See CONTROL OPS below.
"""

import argparse
import base64
import binascii
import bisect
import hashlib
import json
import os
import random
import re
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# =================================================================================================
# Constants (§1.1, §1.2, §2)
# =================================================================================================

BLOCKS_PER_DAY = 175                 # §2 "175ULL * nti.nRentalDays"
MAX_NAME_LENGTH = 512                # §2
MAX_VALUE_LENGTH = 20 * 1024         # §2
MAX_RENTAL_DAYS = 366000000          # §2
MAX_BODY = 0x02000000                # §1.1 request body cap (32 MiB)
INT_MAX = 2**31 - 1
RPC_SERVER_TIMEOUT = 30              # §1.1 -rpcservertimeout default
SECONDS_PER_BLOCK = 86400 // BLOCKS_PER_DAY
TRUNCATE_MSG = "\n...(value too large - use name_show to see full value)"
WWW_AUTH = 'Basic realm="jsonrpc"'
LIBEVENT_CONTENT_TYPE = "text/html; charset=ISO-8859-1"   # evhttp's default for non-JSON replies
HUGE_DEFAULT = 100 * 1024 * 1024

# Error codes (Bitcoin Core 0.19 rpc/protocol.h)
RPC_MISC_ERROR = -1
RPC_TYPE_ERROR = -3
RPC_WALLET_ERROR = -4
RPC_INVALID_ADDRESS_OR_KEY = -5
RPC_WALLET_INSUFFICIENT_FUNDS = -6
RPC_INVALID_PARAMETER = -8
RPC_CLIENT_IN_INITIAL_DOWNLOAD = -10
RPC_WALLET_NOT_FOUND = -18
RPC_DATABASE_ERROR = -20
RPC_IN_WARMUP = -28
RPC_INVALID_REQUEST = -32600
RPC_METHOD_NOT_FOUND = -32601
RPC_INTERNAL_ERROR = -32603
RPC_PARSE_ERROR = -32700

MSG_IBD = "Emercoin is downloading blocks..."
MSG_NO_WALLET = "Method not found (wallet method is disabled because no wallet is loaded)"
DEFAULT_WARMUP_MSG = "Loading block index..."


class RPCError(Exception):
    """A JSONRPCError(code, message) thrown by a handler."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class RuntimeErr(Exception):
    """A std::runtime_error / std::exception inside a handler: becomes -1 (§1.1 "Warmup and
    uncaught exceptions"): wrong arity (message = help text), JSON type errors."""


class Crash(Exception):
    """The real daemon would crash here (getinfo with no wallet, §1.3): drop the connection."""


# =================================================================================================
# Text and JSON encoding (§1.1 "Text encoding")
#
# Inside the fake every string that came from, or goes to, the wire is a "byte string": a Python
# str whose characters are all <= U+00FF, one per byte (latin-1). Names and values live as bytes.
# =================================================================================================

def bstr(b):
    """bytes -> byte string (one char per byte)."""
    return b.decode("latin-1")


def _fold(s):
    """json_spirit legacy mode: raw bytes stay raw, and every \\uXXXX escape becomes ONE byte, its
    low 8 bits (§1.1). Python joins surrogate pairs, so split them again to fold each half."""
    try:
        s.encode("latin-1")
        return s
    except UnicodeEncodeError:
        out = []
        for ch in s:
            c = ord(ch)
            if c > 0xFFFF:
                c -= 0x10000
                out.append(chr((0xD800 + (c >> 10)) & 0xFF))
                out.append(chr((0xDC00 + (c & 0x3FF)) & 0xFF))
            else:
                out.append(chr(c & 0xFF))
        return "".join(out)


def _fold_tree(v):
    if isinstance(v, str):
        return _fold(v)
    if isinstance(v, list):
        return [_fold_tree(x) for x in v]
    if isinstance(v, dict):
        return {k: _fold_tree(x) for k, x in v.items()}   # keys folded by the pairs hook
    return v


def _pairs_first_wins(pairs):
    d = {}
    for k, v in pairs:
        k = _fold(k)
        if k not in d:          # UniValue find_value() returns the first of duplicate keys
            d[k] = v
    return d


def _reject_constant(name):
    raise ValueError("not JSON: " + name)


def parse_request_body(body):
    """Parse a request body the way emercoind does (json_spirit legacy mode). Raises ValueError."""
    text = body.decode("latin-1")
    val = json.loads(text, strict=False, object_pairs_hook=_pairs_first_wins,
                     parse_constant=_reject_constant)
    return _fold_tree(val)


def write_single(obj):
    """UniValue writer (single replies): escapes controls (\\b \\t \\n \\f \\r short, others
    \\u00xx lowercase), '"', '\\' and 0x7f (\\u007f); bytes >= 0x80 are written RAW."""
    b = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("latin-1")
    if b"\x7f" in b:        # 0x7f only ever occurs inside strings
        b = b.replace(b"\x7f", b"\\u007f")
    return b


_ESC_PAIR = re.compile(r"\\(\\|u[0-9a-f]{4})")


def write_batch(obj):
    """json_spirit writer (batch replies, C locale): every byte that is not printable ASCII,
    0x7f and every byte >= 0x80 included, becomes \\u00XX with UPPERCASE hex, one per byte."""
    s = json.dumps(obj, ensure_ascii=True, separators=(",", ":"))
    s = _ESC_PAIR.sub(lambda m: "\\" + (m.group(1) if m.group(1) == "\\" else "u" + m.group(1)[1:].upper()), s)
    return s.encode("ascii")


def encode_name_val(value, fmt):
    """encodeNameVal (§1.1 "valuetype"): hex -> lowercase hex, base64 -> standard base64 with
    padding, anything else -> the raw bytes as a string."""
    if fmt == "hex":
        return value.hex()
    if fmt == "base64":
        return base64.b64encode(value).decode("ascii")
    return bstr(value)


def limit_string(s, size, message=TRUNCATE_MSG):
    """limitString(): 0 = whole value; the size is an unsigned int, so negative = no limit."""
    if size <= 0 or len(s) <= size:
        return s
    return s[:size] + message


# =================================================================================================
# JSON value accessors with UniValue's exceptions (-1 through RuntimeErr)
# =================================================================================================

def get_str(v):
    if not isinstance(v, str):
        raise RuntimeErr("JSON value is not a string as expected")
    return v


def get_int(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise RuntimeErr("JSON value is not an integer as expected")
    if isinstance(v, float) or not (-2**31 <= v <= INT_MAX):
        raise RuntimeErr("JSON integer out of range")   # ParseInt32 fails on "1.5", "1e3", big ints
    return v


def get_bool(v):
    if not isinstance(v, bool):
        raise RuntimeErr("JSON value is not a boolean as expected")
    return v


def name_bytes(v):
    """nameValFromValue(): get_str(), then the raw bytes."""
    return get_str(v).encode("latin-1")


# =================================================================================================
# Addresses: base58check P2PKH 'E...' (version 33), P2SH 'e...' (92), bech32 'em1...' (§4, chainparams)
# =================================================================================================

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
PUBKEY_VERSION, SCRIPT_VERSION, BECH32_HRP = 33, 92, "em"
BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _dsha(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def b58check_encode(version, payload):
    data = bytes([version]) + payload
    data += _dsha(data)[:4]
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b58check_decode(s):
    n = 0
    for ch in s:
        i = B58.find(ch)
        if i < 0:
            return None
        n = n * 58 + i
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    raw = b"\0" * (len(s) - len(s.lstrip("1"))) + raw
    if len(raw) < 5 or _dsha(raw[:-4])[:4] != raw[-4:]:
        return None
    return raw[:-4]


def _bech32_polymod(values):
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= gen[i]
    return chk


def _hrp_expand(hrp):
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def _convertbits(data, frombits, tobits, pad=True):
    acc = bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for v in data:
        acc = (acc << frombits) | v
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad and bits:
        out.append((acc << (tobits - bits)) & maxv)
    elif not pad and (bits >= frombits or ((acc << (tobits - bits)) & maxv)):
        return None
    return out


def segwit_encode(witver, prog, hrp=BECH32_HRP):
    data = [witver] + _convertbits(prog, 8, 5)
    poly = _bech32_polymod(_hrp_expand(hrp) + data + [0] * 6) ^ 1
    data += [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in data)


def segwit_valid(addr, hrp=BECH32_HRP):
    if addr.lower() != addr and addr.upper() != addr:
        return False
    addr = addr.lower()
    pos = addr.rfind("1")
    if pos < 1 or pos + 7 > len(addr) or len(addr) > 90 or addr[:pos] != hrp:
        return False
    if any(c not in BECH32_CHARSET for c in addr[pos + 1:]):
        return False
    data = [BECH32_CHARSET.find(c) for c in addr[pos + 1:]]
    if _bech32_polymod(_hrp_expand(hrp) + data) != 1:
        return False
    prog = _convertbits(data[1:-6], 5, 8, False)
    return prog is not None and data[0] == 0 and len(prog) in (20, 32)


def address_valid(addr):
    """DecodeDestination() for mainnet: P2PKH, P2SH or witness v0."""
    if addr.lower().startswith(BECH32_HRP + "1"):
        return segwit_valid(addr)
    raw = b58check_decode(addr)
    return raw is not None and len(raw) == 21 and raw[0] in (PUBKEY_VERSION, SCRIPT_VERSION)


# =================================================================================================
# Chain model (§2): a tip height, the name index, the mempool
# =================================================================================================

def ser_key(name):
    """LevelDB key of a name: WriteCompactSize(len) + bytes (§1.2 name_scan "Ordering"): length
    first, then bytewise; from 253 bytes on the length is 0xFD + little-endian uint16."""
    n = len(name)
    if n < 253:
        return bytes((n,)) + name
    return b"\xfd" + n.to_bytes(2, "little") + name


class NameRecord:
    """One name in the index. The current fields are those of the last operation; history holds
    every operation ever: tuples (op, txid, height, time, address, vout, days, value, mine)."""
    __slots__ = ("name", "value", "txid", "address", "vout", "time", "expires_at", "registered_at",
                 "deleted", "mine", "wallet_seen", "history", "chain_index")

    def __init__(self, name):
        self.name = name
        self.history = []
        self.chain_index = 0
        self.deleted = False
        self.mine = False
        self.wallet_seen = False


class Chain:
    def __init__(self, height, seed, start_time):
        self.height = height
        self.start_height = height
        self.start_time = start_time
        self.rng = random.Random(seed)
        self.seed = seed
        self.names = {}             # bytes -> NameRecord
        self.mempool = {}           # bytes -> pending op dict (insertion order = tx order)
        self.dropped = []           # pending ops that were no longer valid when mined
        self._order = None          # names in index order, rebuilt lazily
        self._order_keys = None
        self.wallet_addresses = set()
        self.bulk_pool = [self.new_legacy_address() for _ in range(8)]

    # --- blocks
    def block_time(self, h):
        return self.start_time + (h - self.start_height) * SECONDS_PER_BLOCK

    def block_hash(self, h):
        return hashlib.sha256(b"fake-emercoind block %d seed %s" % (h, str(self.seed).encode())).hexdigest()

    # --- randomness (seeded)
    def new_txid(self):
        return "%064x" % self.rng.getrandbits(256)

    def new_legacy_address(self):
        while True:
            a = b58check_encode(PUBKEY_VERSION, self.rng.getrandbits(160).to_bytes(20, "big"))
            if len(a) == 34:
                return a

    def new_wallet_address(self, legacy):
        """A fresh key from the wallet's keypool: P2WPKH unless "legacy" (§1.2 toaddress)."""
        if legacy:
            a = self.new_legacy_address()
        else:
            a = segwit_encode(0, self.rng.getrandbits(160).to_bytes(20, "big"))
        self.wallet_addresses.add(a)
        return a

    # --- index
    def index_order(self):
        if self._order is None:
            self._order = sorted(self.names, key=ser_key)
            self._order_keys = [ser_key(n) for n in self._order]
        return self._order

    def index_from(self, start):
        """Names from CDBIterator::Seek(start) to the end."""
        order = self.index_order()
        i = bisect.bisect_left(self._order_keys, ser_key(start))
        return order[i:] if i else order

    def add_record(self, rec):
        if rec.name not in self.names:
            self._order = self._order_keys = None
        self.names[rec.name] = rec

    def active(self, name, height=None):
        """NameActive(): !deleted && height <= nExpiresAt (§2)."""
        rec = self.names.get(name)
        if rec is None or rec.deleted:
            return False
        return (self.height if height is None else height) <= rec.expires_at

    # --- applying operations to the index (ConnectBlock)
    def apply(self, op, name, value, days, address, txid, vout, height, tm, mine, wallet=False):
        rec = self.names.get(name)
        if op == "name_new":
            if rec is None:
                rec = NameRecord(name)
                self.add_record(rec)
            rec.chain_index = len(rec.history)
            rec.registered_at = height
            rec.expires_at = min(height + BLOCKS_PER_DAY * days, INT_MAX)
            rec.deleted = False
            rec.value = value
        elif op == "name_update":
            rec.expires_at = min(rec.expires_at + BLOCKS_PER_DAY * days, INT_MAX)   # cumulative (§2)
            rec.value = value
        else:  # name_delete: value "", expires_at 0 (§1.2 name_show)
            rec.deleted = True
            rec.expires_at = 0
            rec.value = b""
        rec.txid, rec.address, rec.vout, rec.time, rec.mine = txid, address, vout, tm, mine
        rec.wallet_seen = rec.wallet_seen or wallet or mine
        rec.history.append((op, txid, height, tm, address, vout, days, rec.value, mine))
        return rec

    def mine(self, n):
        """Advance the tip n blocks; pending operations go into the first one (§2 "Visibility")."""
        if n <= 0:
            return []
        h = self.height + 1
        mined = []
        for name, p in list(self.mempool.items()):
            was_active = self.active(name, self.height)
            ok = (not was_active) if p["op"] == "name_new" else was_active
            if ok:
                self.apply(p["op"], name, p["value"], p["days"], p["address"], p["txid"], p["vout"],
                           h, p["time"], p["mine"], wallet=True)
                mined.append(p["txid"])
            else:
                self.dropped.append(dict(p, name=bstr(name)))
        self.mempool.clear()
        self.height += n
        return mined


# =================================================================================================
# The RPC methods (§1.2, §1.3)
# =================================================================================================

USAGE = {
    "getblockcount": "getblockcount\n\nReturns the height of the most-work fully-validated chain.\n",
    "getbestblockhash": "getbestblockhash\n\nReturns the hash of the best (tip) block in the most-work fully-validated chain.\n",
    "getblockchaininfo": "getblockchaininfo\nReturns an object containing various state info regarding blockchain processing.\n",
    "getinfo": "getinfo\nDEPRECATED. Returns an object containing various state info.\n",
    "name_show": "name_show <name> [valuetype] [filepath]\nShow values of a name.\n",
    "name_filter": "name_filter [regexp] [maxage=0] [from=0] [nb=0] [stat] [valuetype] [max-value-length=0]\nscan and filter names\n",
    "name_scan": "name_scan [start-name] [max-returned] [max-value-length=0] [valuetype]\nScan all names, starting at [start-name] and returning [max-returned] number of entries (default 500)\n",
    "name_scan_address": "name_scan_address <address> [max-value-length=0] [valuetype]\nPrint names that belong to specific address\n",
    "name_history": "name_history <name> [fullhistory] [valuetype]\n\nLook up the current and all past data for the given name.\n",
    "name_mempool": "name_mempool [valuetype]\n\nList pending name transactions in mempool.\n",
    "name_indexinfo": "name_indexinfo [indextype]\nShow information about the name indexes.\n",
    "name_list": "name_list [name] [valuetype]\nlist my own names.\n",
    "name_new": 'name_new "name" "value" days ( "toaddress" "valuetype" )\n\nCreates new key->value pair which expires after specified number of days.\n',
    "name_update": 'name_update "name" "value" days ( "toaddress" "valuetype" )\n\nUpdate name value, add days to expiration time and possibly transfer a name to diffrent address.\n',
    "name_delete": 'name_delete "name"\n\nDelete a name if you own it. Others may do name_new after this command.\n',
    "name_updatemany": 'name_updatemany [{"NEW|UPDATE|DELETE":"name","value":"str","days":n},...]\n\nCreates, updates or deletes key->value pairs.\n',
    "sendtoname": 'sendtoname "name" amount ( "comment" "comment_to" )\n\nSend emercoins to current owner of specified name.\n',
}


class Methods:
    """Each handler gets (params list, wallet name from the URI or None) and returns the result.
    Checks run in the order of the real handlers: wallet, arity, IBD, parameters."""

    def __init__(self, fake):
        self.fake = fake
        self.chain = fake.chain

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def arity(method, params, lo, hi):
        if not (lo <= len(params) <= hi):
            raise RuntimeErr(USAGE[method])

    def ibd(self):
        if self.fake.fault_mode == "ibd":
            raise RPCError(RPC_CLIENT_IN_INITIAL_DOWNLOAD, MSG_IBD)

    def wallet(self, uri_wallet):
        """GetWalletForJSONRPCRequest + EnsureWalletIsAvailable (§1.2 "Wallet requirement")."""
        if uri_wallet is not None and (not self.fake.wallet_enabled or uri_wallet != self.fake.wallet_name):
            raise RPCError(RPC_WALLET_NOT_FOUND, "Requested wallet does not exist or is not loaded")
        if not self.fake.wallet_enabled:
            raise RPCError(RPC_METHOD_NOT_FOUND, MSG_NO_WALLET)

    # ---------------------------------------------------------------- chain status (§1.3)
    def getblockcount(self, p, w):
        self.arity("getblockcount", p, 0, 0)
        return self.chain.height

    def getbestblockhash(self, p, w):
        self.arity("getbestblockhash", p, 0, 0)
        return self.chain.block_hash(self.chain.height)

    def getblockchaininfo(self, p, w):
        self.arity("getblockchaininfo", p, 0, 0)
        c = self.chain
        ibd = self.fake.fault_mode == "ibd"
        tip = c.height
        return {
            "chain": "main",
            "blocks": tip,
            "headers": tip + 500 if ibd else tip,
            "bestblockhash": c.block_hash(tip),
            "difficulty": 7.5e-05,
            "mediantime": c.block_time(tip) - 6 * SECONDS_PER_BLOCK,
            "verificationprogress": 0.9876 if ibd else 1.0,
            "initialblockdownload": ibd,
            "chainwork": "%064x" % (0x1234567890ABCDEF * (tip + 1)),
            "size_on_disk": 1800000000 + 12000 * tip,
            "pruned": False,
            "softforks": {},
            "warnings": "",
        }

    def getinfo(self, p, w):
        if not self.fake.wallet_enabled:
            # §1.3 hazard [I]: the wallet pointer is dereferenced without a null check.
            raise Crash("getinfo without a wallet")
        if w is not None:
            self.wallet(w)
        self.arity("getinfo", p, 0, 0)
        c = self.chain
        return {
            "fullversion": "v0.8.6emc-fake", "version": 80600, "protocolversion": 70015,
            "walletversion": 169900, "balance": 1000.0, "newmint": 0.0, "stake": 0.0,
            "blocks": c.height, "moneysupply": 51000000.0, "timeoffset": 0, "connections": 8,
            "proxy": "", "pow-difficulty": 7.5e-05, "pos-difficulty": 1.0e-05, "testnet": False,
            "keypoololdest": c.start_time, "keypoolsize": 1000, "paytxfee": 0.0, "relayfee": 0.0001,
            "encrypted": False, "mintonly": False, "errors": "",
        }

    # ---------------------------------------------------------------- name reads (§1.2)
    def name_show(self, p, w):
        self.arity("name_show", p, 1, 3)
        self.ibd()
        name = name_bytes(p[0])
        fmt = get_str(p[1]) if len(p) > 1 else ""
        rec = self.chain.names.get(name)
        if rec is None:
            raise RPCError(RPC_WALLET_ERROR, "failed to read from name DB")
        tip = self.chain.height
        o = {
            "name": bstr(name),
            "value": encode_name_val(rec.value, fmt),
            "txid": rec.txid,
            "address": rec.address,
            "vout": rec.vout,
            "expires_in": rec.expires_at - tip,
            "expires_at": rec.expires_at,
            "time": rec.time,
        }
        if rec.deleted:
            o["deleted"] = True
        elif rec.expires_at - tip <= 0:
            o["expired"] = True
        if len(p) > 2:
            # The node writes the raw value to that path on ITS filesystem. Never pass it.
            self.fake.count("name_show(filepath)")
            path = get_str(p[2])
            try:
                with open(path.encode("latin-1"), "wb") as f:
                    f.write(rec.value)
            except OSError:
                raise RPCError(RPC_PARSE_ERROR, "Failed to open file. Check if you have permission to open it.")
        return o

    def name_filter(self, p, w):
        self.arity("name_filter", p, 0, 7)
        self.ibd()
        regexp = get_str(p[0]) if len(p) > 0 else ""
        maxage = get_int(p[1]) if len(p) > 1 else 0
        nfrom = get_int(p[2]) if len(p) > 2 else 0
        nb = get_int(p[3]) if len(p) > 3 else 0
        stat = (get_str(p[4]) == "stat") if len(p) > 4 else False
        fmt = get_str(p[5]) if len(p) > 5 else ""
        maxlen = get_int(p[6]) if len(p) > 6 else self.fake.filter_value_limit
        try:
            # boost::xpressive regex_search on the raw name bytes; its ^ $ match at line breaks
            # and . matches a newline by default, hence M and S.
            rx = re.compile(regexp.encode("latin-1"), re.M | re.S)
        except re.error as e:
            raise RuntimeErr("regex error: %s" % e)
        c = self.chain
        tip = c.height
        names = c.names
        out = []
        count_from = count_nb = 0
        for name in c.index_order():
            rec = names[name]
            if rec.deleted:                       # ScanNames skips deleted records
                continue
            if regexp and rx.search(name) is None:
                continue
            h = rec.registered_at                 # height of the name_new of the current chain
            if maxage != 0 and tip - h >= maxage:
                continue
            count_from += 1                       # from/nb count in index order, before sorting
            if count_from < nfrom + 1:
                continue
            if not stat:
                ei = rec.expires_at - tip
                item = {"name": bstr(name), "value": limit_string(encode_name_val(rec.value, fmt), maxlen),
                        "registered_at": h, "expires_in": ei}
                if ei <= 0:
                    item["expired"] = True
                out.append(item)
            count_nb += 1
            if nb > 0 and count_nb >= nb:
                break
        if stat:
            return {"blocks": tip, "count": 0}    # the real bug: counts an array still empty
        out.sort(key=lambda d: d["registered_at"])   # std::sort; we keep ties in index order
        return out

    def name_scan(self, p, w):
        self.arity("name_scan", p, 0, 4)
        self.ibd()
        start = name_bytes(p[0]) if len(p) > 0 else b""
        if len(p) > 1:
            get_int(p[1])                         # read, then ignored: the paging bug (§1.2)
        maxlen = get_int(p[2]) if len(p) > 2 else 0
        fmt = get_str(p[3]) if len(p) > 3 else ""
        c = self.chain
        tip = c.height
        out = []
        for name in c.index_from(start):
            rec = c.names[name]
            if rec.deleted:
                continue
            ei = rec.expires_at - tip
            item = {"name": bstr(name), "value": limit_string(encode_name_val(rec.value, fmt), maxlen),
                    "expires_in": ei}
            if ei <= 0:
                item["expired"] = True
            out.append(item)
        return out

    def name_scan_address(self, p, w):
        self.arity("name_scan_address", p, 1, 3)
        if not self.fake.nameaddress:
            raise RPCError(RPC_DATABASE_ERROR,
                           "Name-address index is not available. Add nameaddress=1 to emercoin.conf to enable it.")
        self.ibd()
        address = get_str(p[0])
        maxlen = get_int(p[1]) if len(p) > 1 else 0
        fmt = get_str(p[2]) if len(p) > 2 else ""
        c = self.chain
        found = sorted(n for n, r in c.names.items() if r.address == address and not r.deleted)
        if not found:
            raise RPCError(RPC_WALLET_ERROR, "found nothing")
        tip = c.height
        out = []
        for name in found:
            rec = c.names[name]
            o = {"name": bstr(name), "value": limit_string(encode_name_val(rec.value, fmt), maxlen),
                 "txid": rec.txid, "nOut": rec.vout, "address": rec.address,
                 "expires_in": rec.expires_at - tip, "expires_at": rec.expires_at, "time": rec.time}
            if rec.deleted:
                o["deleted"] = True
            elif rec.expires_at - tip <= 0:
                o["expired"] = True
            out.append(o)
        return out

    def name_indexinfo(self, p, w):
        self.arity("name_indexinfo", p, 0, 1)
        c = self.chain
        o = {"height": c.height, "bestblock": c.block_hash(c.height), "records_name": len(c.names),
             "bytes_name": sum(len(n) + len(r.value) + 60 for n, r in c.names.items()),
             "hash_name": hashlib.sha256(b"%d:%d" % (len(c.names), c.height)).hexdigest()}
        if not self.fake.nameaddress:
            o["note"] = "Name-address index is not enabled (nameaddress=0)"
        return o

    # ---------------------------------------------------------------- wallet reads (§1.2)
    def name_history(self, p, w):
        self.wallet(w)
        self.arity("name_history", p, 1, 3)
        self.ibd()
        name = name_bytes(p[0])
        full = get_bool(p[1]) if len(p) > 1 else False
        fmt = get_str(p[2]) if len(p) > 2 else ""
        rec = self.chain.names.get(name)
        if rec is None:
            raise RPCError(RPC_DATABASE_ERROR, "failed to read from name DB")
        if not rec.history:
            raise RPCError(RPC_DATABASE_ERROR, "record for this name exists, but transaction list is empty")
        if not full and not self.chain.active(name):
            raise RPCError(RPC_MISC_ERROR, "record for this name exists, but this name is not active")
        out = []
        for (op, txid, height, tm, address, vout, days, value, mine) in rec.history[0 if full else rec.chain_index:]:
            o = {"txid": txid, "time": tm, "height": height, "address": address, "vout": vout}
            if mine:
                o["address_is_mine"] = "true"
            o["operation"] = op
            if op != "name_delete":
                o["days_added"] = days
                o["value"] = encode_name_val(value, fmt)
            out.append(o)
        return out

    def name_mempool(self, p, w):
        self.wallet(w)
        self.arity("name_mempool", p, 0, 1)
        fmt = get_str(p[0]) if len(p) > 0 else ""       # no IBD check (§1.2)
        out = []
        for name in sorted(self.chain.mempool):
            q = self.chain.mempool[name]
            o = {"name": bstr(name), "txid": q["txid"], "time": q["time"], "address": q["address"]}
            if q["mine"]:
                o["address_is_mine"] = "true"
            o["operation"] = q["op"]
            if q["op"] != "name_delete":
                o["days_added"] = q["days"]
                o["value"] = encode_name_val(q["value"], fmt)
            out.append(o)
        return out

    def name_list(self, p, w):
        self.wallet(w)
        self.arity("name_list", p, 0, 2)
        self.ibd()
        only = name_bytes(p[0]) if len(p) > 0 else b""
        fmt = get_str(p[1]) if len(p) > 1 else ""
        c = self.chain
        tip = c.height
        out = []
        for name in sorted(c.names):                     # std::map<CNameVal>: plain bytewise order
            rec = c.names[name]
            if not rec.wallet_seen or rec.deleted or (only and only != name):
                continue
            o = {"name": bstr(name), "value": encode_name_val(rec.value, fmt)}
            if not rec.mine:
                o["transferred"] = True
            o["address"] = rec.address
            o["expires_in"] = rec.expires_at - tip
            if rec.expires_at - tip <= 0:
                o["expired"] = True
            out.append(o)
        return out

    # ---------------------------------------------------------------- writes (§1.2 name_new ...)
    def name_new(self, p, w):
        return self._new_or_update("name_new", "NEW", p, w)

    def name_update(self, p, w):
        return self._new_or_update("name_update", "UPDATE", p, w)

    def _new_or_update(self, method, key, p, w):
        self.wallet(w)
        self.arity(method, p, 3, 5)
        info = {key: p[0], "value": p[1], "days": get_int(p[2])}   # days as a string -> -1
        if len(p) > 3:
            info["toaddress"] = get_str(p[3])
        if len(p) > 4:
            info["valuetype"] = get_str(p[4])
        return self.name_operation([info])

    def name_delete(self, p, w):
        self.wallet(w)
        self.arity("name_delete", p, 1, 1)
        return self.name_operation([{"DELETE": p[0]}])

    def name_updatemany(self, p, w):
        self.wallet(w)
        self.arity("name_updatemany", p, 1, 1)
        if not isinstance(p[0], list):
            raise RPCError(RPC_TYPE_ERROR, "Expected type array, got %s" % json_type(p[0]))
        for info in p[0]:
            if not isinstance(info, dict):
                raise RPCError(RPC_TYPE_ERROR, "Invalid array element: it has to be string or object")
            if name_opndx(info) == "DELETE":
                continue
            if "value" not in info:
                raise RPCError(RPC_TYPE_ERROR, "You must specify value")
            if not isinstance(info["value"], str):
                raise RPCError(RPC_TYPE_ERROR, "Value must be string")
            if "days" not in info:
                raise RPCError(RPC_TYPE_ERROR, "You must specify days")
            if isinstance(info["days"], bool) or not isinstance(info["days"], (int, float)):
                raise RPCError(RPC_TYPE_ERROR, "Days must be an integer greater than 0")
            if "toaddress" in info and not isinstance(info["toaddress"], str):
                raise RPCError(RPC_TYPE_ERROR, "Address must be a string")
            if "valuetype" in info and not isinstance(info["valuetype"], str):
                raise RPCError(RPC_TYPE_ERROR, "Value type must be a string")
        return self.name_operation(p[0])

    def name_operation(self, infos):
        """name_operation() in its order of checks; most failures are -32603 (§1.2)."""
        c = self.chain
        if self.fake.fault_mode == "ibd":
            raise RPCError(RPC_CLIENT_IN_INITIAL_DOWNLOAD, MSG_IBD)

        def fail(msg, code=RPC_INTERNAL_ERROR):
            raise RPCError(code, msg)

        seen, planned = set(), []
        for info in infos:
            key = name_opndx(info)
            op = {"NEW": "name_new", "UPDATE": "name_update", "DELETE": "name_delete"}[key]
            name = info[key].encode("latin-1")
            if name in seen:
                fail("Name duplicate is not allowed")
            seen.add(name)
            pend = c.mempool.get(name)
            if pend is not None:
                fail("there are 1 pending operations on that name, including %s" % pend["txid"])
            if c.active(name):
                if op == "name_new":
                    fail("name_new on an unexpired name")
            elif op != "name_new":
                fail(op + " on an inactive name")
            value, days, toaddress = b"", 0, ""
            if op != "name_delete":
                value = name_bytes(info.get("value"))
                if not value:
                    fail("value must not be empty")
                days = get_int(info.get("days"))
                if "toaddress" in info:
                    toaddress = get_str(info["toaddress"])
                vtype = get_str(info["valuetype"]) if "valuetype" in info else ""
                if vtype:
                    value = self._decode_value(value, vtype, fail)
            if op != "name_new":
                rec = c.names.get(name)
                if rec is None or rec.deleted:
                    fail("could not find prev txIn with this name")
                if not rec.mine:
                    fail("prev name tx is not yours or is not spendable")
            if op != "name_delete":
                msg = check_name_values(op, name, value, days)
                if msg:
                    fail(msg)
            if toaddress and toaddress != "legacy":
                if not address_valid(toaddress):
                    fail("emercoin address is invalid", RPC_INVALID_ADDRESS_OR_KEY)
                dest, mine = toaddress, toaddress in c.wallet_addresses
            else:
                dest, mine = c.new_wallet_address(legacy=(toaddress == "legacy")), True
            planned.append((op, name, value, days, dest, mine))
        txid = c.new_txid()
        tm = c.block_time(c.height) + 1
        change_first = c.rng.random() < 0.5           # the change output lands at a random position
        for i, (op, name, value, days, dest, mine) in enumerate(planned):
            c.mempool[name] = {"op": op, "value": value, "days": days, "address": dest, "txid": txid,
                               "vout": i + (1 if change_first else 0), "time": tm, "mine": mine}
        return txid                                    # a bare string (§1.2 "Result")

    @staticmethod
    def _decode_value(value, vtype, fail):
        s = value.decode("latin-1")
        if vtype == "hex":
            if not s or len(s) % 2 or any(ch not in "0123456789abcdefABCDEF" for ch in s):
                fail("failed to decode value as hex")
            return bytes.fromhex(s)
        if vtype == "base64":
            try:
                return base64.b64decode(s, validate=True)
            except (binascii.Error, ValueError):
                fail("failed to decode value as base64")
        try:                                           # anything else: a file path on the node
            with open(value, "rb") as f:
                f.seek(0, 2)
                if f.tell() > MAX_VALUE_LENGTH:
                    fail("file is larger than maximum allowed size")
                f.seek(0)
                return f.read()
        except OSError:
            fail("failed to open file")

    def sendtoname(self, p, w):
        self.wallet(w)
        self.arity("sendtoname", p, 2, 4)
        self.ibd()
        name = name_bytes(p[0])
        amount = p[1]
        if isinstance(amount, str):
            try:
                amount = float(amount)
            except ValueError:
                raise RPCError(RPC_TYPE_ERROR, "Invalid amount")
        elif isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise RPCError(RPC_TYPE_ERROR, "Amount is not a number or string")
        if amount < 0.01:
            raise RPCError(RPC_WALLET_INSUFFICIENT_FUNDS, "Send amount too small")
        c = self.chain
        rec = c.names.get(name)
        if rec is None:
            raise RPCError(RPC_INVALID_ADDRESS_OR_KEY, "Name not found")
        if rec.deleted:
            raise RPCError(RPC_INVALID_ADDRESS_OR_KEY, "Failed to read last name transaction")
        if not c.active(name):
            raise RPCError(RPC_INVALID_ADDRESS_OR_KEY,
                           "This name have expired. If you still wish to send money to it's last owner you can use this command:\n"
                           "sendtoaddress %s <your_amount> " % rec.address)
        return {"sending to": rec.address, "transaction": c.new_txid()}


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def name_opndx(info):
    """Which of NEW/UPDATE/DELETE the object carries (-3 errors as in name_opndx())."""
    found = None
    for k in ("NEW", "UPDATE", "DELETE"):
        if k in info:
            if found is not None:
                raise RPCError(RPC_TYPE_ERROR, "Opcode [NEW/UPDATE/DELETE] must be specified just once")
            if not isinstance(info[k], str):
                raise RPCError(RPC_TYPE_ERROR, "Opcode [NEW/UPDATE/DELETE]  param must be a string")
            found = k
    if found is None:
        raise RPCError(RPC_TYPE_ERROR, "Opcode [NEW/UPDATE/DELETE]  param must be specified")
    return found


def check_name_values(op, name, value, days):
    """checkNameValues() (§2 "Limits"): every failed check appends its message and a newline."""
    msg = ""
    if len(name) > MAX_NAME_LENGTH:
        msg += "name is too long.\n"
    if len(value) > MAX_VALUE_LENGTH:
        msg += "value is too long.\n"
    if op == "name_new" and days < 1:
        msg += "rental days must be greater than 0.\n"
    if op == "name_update" and days < 0:
        msg += "rental days must be greater or equal 0.\n"
    if days > MAX_RENTAL_DAYS:
        msg += "rental days value is too large.\n"
    return msg


# Registered methods and their argNames (§1.2 "Registration table").
# name_filter's 7th positional max-value-length has no argName.
METHOD_TABLE = {
    "getblockcount": [],
    "getbestblockhash": [],
    "getblockchaininfo": [],
    "getinfo": [],
    "name_show": ["name", "valuetype", "filepath"],
    "name_filter": ["regexp", "maxage", "from", "nb", "stat", "valuetype"],
    "name_scan": ["start-name", "max-returned", "max-value-length", "valuetype"],
    "name_scan_address": ["address", "max-value-length", "valuetype"],
    "name_history": ["name", "fullhistory", "valuetype"],
    "name_mempool": ["valuetype"],
    "name_indexinfo": [],
    "name_list": ["name", "valuetype"],
    "name_new": ["name", "value", "days", "toaddress", "valuetype"],
    "name_update": ["name", "value", "days", "toaddress", "valuetype"],
    "name_delete": ["name"],
    "name_updatemany": ["names"],
    "sendtoname": ["name", "amount", "comment", "comment-to"],
}


def transform_named(params, arg_names):
    """transformNamedArguments(): holes between given arguments become JSON null, none at the end;
    an unknown key is -8 (§1.1 "Named parameters")."""
    out, hole = [], 0
    left = dict(params)
    for n in arg_names:
        if n in left:
            out.extend([None] * hole)
            hole = 0
            out.append(left.pop(n))
        else:
            hole += 1
    if left:
        raise RPCError(RPC_INVALID_PARAMETER, "Unknown named parameter " + next(iter(left)))
    return out


# =================================================================================================
# The fake node: state shared by the RPC and control listeners
# =================================================================================================

class FakeNode:
    def __init__(self, args):
        self.lock = threading.RLock()
        self.chain = Chain(args.height, args.seed, args.start_time if args.start_time is not None else int(time.time()))
        self.methods = Methods(self)
        self.wallet_enabled = not args.no_wallet
        self.wallet_name = args.wallet_name
        self.nameaddress = args.nameaddress
        self.filter_value_limit = args.filter_value_limit
        self.verbose = args.verbose
        self.credentials = set()
        if args.rpc_user is not None and args.rpc_password is not None:
            self.credentials.add("%s:%s" % (args.rpc_user, args.rpc_password))
        self.cookie_file = args.cookie_file
        self.cookie = None
        # faults
        self.fault_mode = "none"
        self.fault_seconds = 0.0
        self.fault_bytes = HUGE_DEFAULT
        self.warmup_message = DEFAULT_WARMUP_MSG
        self.fault_generation = 0
        self.crashed = None
        # statistics
        self.stats_lock = threading.Lock()
        self.reset_calls()
        self.rpc = None              # Listener, set by main()
        self.control = None
        self.stop_event = threading.Event()

    # ---------------------------------------------------------------- stats
    def reset_calls(self):
        with self.stats_lock:
            self.calls = {}
            self.batches = 0
            self.http_requests = 0
            self.unauthorized = 0
            self.connections = 0

    def count(self, method):
        with self.stats_lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    def bump(self, attr):
        with self.stats_lock:
            setattr(self, attr, getattr(self, attr) + 1)

    def count_lenient(self, body):
        """Count the methods of a request answered by a transport fault."""
        try:
            v = parse_request_body(body)
        except Exception:
            return
        if isinstance(v, list):
            self.bump("batches")
            for x in v:
                if isinstance(x, dict) and isinstance(x.get("method"), str):
                    self.count(x["method"])
        elif isinstance(v, dict) and isinstance(v.get("method"), str):
            self.count(v["method"])

    # ---------------------------------------------------------------- auth (§1.1 "Authentication")
    def write_cookie(self):
        if not self.cookie_file:
            return
        self.cookie = "__cookie__:" + secrets.token_hex(32)
        tmp = self.cookie_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.cookie)
        os.replace(tmp, self.cookie_file)
        self.credentials.add(self.cookie)

    def remove_cookie(self):
        if self.cookie_file and self.cookie:
            try:
                os.remove(self.cookie_file)
            except OSError:
                pass

    def authorized(self, header):
        if not header.startswith("Basic "):
            return False
        try:
            userpass = base64.b64decode(header[6:].strip()).decode("latin-1")
        except (binascii.Error, ValueError):
            return False
        return userpass in self.credentials

    # ---------------------------------------------------------------- faults
    def set_fault(self, mode, seconds=None, duration=None, nbytes=None, message=None):
        with self.lock:
            self.fault_generation += 1
            gen = self.fault_generation
            self.fault_mode = mode
            if seconds is not None:
                self.fault_seconds = float(seconds)
            elif mode == "slow":
                self.fault_seconds = 5.0
            self.fault_bytes = int(nbytes) if nbytes is not None else HUGE_DEFAULT
            self.warmup_message = message if message is not None else DEFAULT_WARMUP_MSG
            if mode == "down":
                self.rpc.stop()
            else:
                self.crashed = None
                self.rpc.ensure_started()
        if duration is not None:
            def revert():
                with self.lock:
                    if self.fault_generation == gen:
                        self.set_fault("none")
            t = threading.Timer(float(duration), revert)
            t.daemon = True
            t.start()

    def crash(self, why):
        self.crashed = why
        threading.Thread(target=lambda: self.set_fault("down"), daemon=True).start()

    # ---------------------------------------------------------------- JSON-RPC (§1.1)
    def execute(self, method, params, uri_wallet):
        """CRPCTable::execute: warmup, find method, named params, run; std::exception -> -1."""
        self.count(method)
        if self.fault_mode == "warmup":
            raise RPCError(RPC_IN_WARMUP, self.warmup_message)
        if method not in METHOD_TABLE:
            raise RPCError(RPC_METHOD_NOT_FOUND, "Method not found")
        if isinstance(params, dict):
            params = transform_named(params, METHOD_TABLE[method])
        try:
            with self.lock:
                return getattr(self.methods, method)(params, uri_wallet)
        except (RPCError, Crash):
            raise
        except RuntimeErr as e:
            raise RPCError(RPC_MISC_ERROR, str(e))
        except Exception as e:                      # a bug in the fake: still answer like the node
            traceback.print_exc()
            raise RPCError(RPC_MISC_ERROR, "%s: %s" % (type(e).__name__, e))

    def exec_one(self, req, uri_wallet):
        """JSONRequest::parse + execute; returns (reply object, error code or None)."""
        rid = None
        try:
            if not isinstance(req, dict):
                raise RPCError(RPC_INVALID_REQUEST, "Invalid Request object")
            rid = req.get("id")
            method = req.get("method")
            if method is None:
                raise RPCError(RPC_INVALID_REQUEST, "Missing method")
            if not isinstance(method, str):
                raise RPCError(RPC_INVALID_REQUEST, "Method must be a string")
            params = req.get("params")
            if params is None:
                params = []
            elif not isinstance(params, (list, dict)):
                raise RPCError(RPC_INVALID_REQUEST, "Params must be an array or object")
            result = self.execute(method, params, uri_wallet)
            return {"result": result, "error": None, "id": rid}, None
        except RPCError as e:
            return {"result": None, "error": {"code": e.code, "message": e.message}, "id": rid}, e.code

    def handle_jsonrpc(self, body, uri_wallet):
        """HTTPReq_JSONRPC after auth: returns (status, body bytes)."""
        try:
            val = parse_request_body(body)
        except Exception:
            val = ParseFailed
        if val is ParseFailed:
            err = {"result": None, "error": {"code": RPC_PARSE_ERROR, "message": "Parse error"}, "id": None}
            return 500, write_single(err) + b"\n"
        if isinstance(val, dict):
            reply, code = self.exec_one(val, uri_wallet)
            status = 200 if code is None else (400 if code == RPC_INVALID_REQUEST else
                                               404 if code == RPC_METHOD_NOT_FOUND else 500)
            return status, write_single(reply) + b"\n"
        if isinstance(val, list):
            self.bump("batches")
            replies = [self.exec_one(r, uri_wallet)[0] for r in val]
            return 200, write_batch(replies) + b"\n"
        err = {"result": None, "error": {"code": RPC_PARSE_ERROR, "message": "Top-level object parse error"}, "id": None}
        return 500, write_single(err) + b"\n"


ParseFailed = object()


# =================================================================================================
# HTTP: the RPC listener (§1.1 "Endpoint", "HTTP status codes") and transport faults
# =================================================================================================

class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):          # skip HTTPServer's getfqdn() lookup
        import socketserver
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class RPCServer(QuietServer):
    def __init__(self, addr, handler, node):
        self.node = node
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, handler)

    def close_all_connections(self):
        with self.conns_lock:
            conns = list(self.conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Listener:
    """Owns the RPC server; 'down' closes it, anything else re-opens it on the same port."""

    def __init__(self, node, port, handler, server_cls=RPCServer):
        self.node, self.port, self.handler, self.server_cls = node, port, handler, server_cls
        self.server = None
        self.lock = threading.Lock()

    def ensure_started(self):
        with self.lock:
            if self.server is not None:
                return
            srv = self.server_cls(("127.0.0.1", self.port), self.handler, self.node)
            self.port = srv.server_address[1]
            threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            self.server = srv

    def stop(self):
        with self.lock:
            srv, self.server = self.server, None
        if srv is not None:
            srv.shutdown()
            srv.server_close()          # the listening socket is gone: connect() is refused
            srv.close_all_connections()


class RPCHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = RPC_SERVER_TIMEOUT

    def setup(self):
        super().setup()
        with self.server.conns_lock:
            self.server.conns.add(self.connection)
        self.server.node.bump("connections")

    def finish(self):
        with self.server.conns_lock:
            self.server.conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, fmt, *args):
        if self.server.node.verbose:
            sys.stderr.write("rpc: " + (fmt % args) + "\n")

    def send_response(self, code, message=None):     # libevent sends Date, no Server header
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def reply(self, status, body=b"", ctype=None, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if ctype is None and status not in (204, 304):
            ctype = LIBEVENT_CONTENT_TYPE
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            return None
        return self.rfile.read(n) if n > 0 else b""

    # every method libevent knows; GET/POST/HEAD/PUT reach the RPC handler, the rest are UNKNOWN
    def do_POST(self):
        self.handle_rpc()

    do_GET = do_HEAD = do_PUT = do_POST

    def do_DELETE(self):
        self.read_body()
        self.reply(405)

    do_OPTIONS = do_PATCH = do_TRACE = do_CONNECT = do_DELETE

    def handle_rpc(self):
        node = self.server.node
        body = self.read_body()
        if body is None:
            self.close_connection = True
            self.reply(413)
            return
        node.bump("http_requests")
        path = self.path
        if path != "/" and not path.startswith("/wallet/"):
            self.reply(404)
            return
        if self.command != "POST":
            self.reply(405, b"JSONRPC server handles only POST requests")
            return

        mode = node.fault_mode
        if mode == "slow":
            time.sleep(node.fault_seconds)
        elif mode == "http500":
            node.count_lenient(body)
            self.reply(500, b"<html>garbage</html>", "text/html")
            return
        elif mode == "garbage":
            node.count_lenient(body)
            self.reply(200, b'{"result": [1, 2,', "application/json")
            return
        elif mode == "huge":
            node.count_lenient(body)
            self.send_huge(node.fault_bytes)
            return

        auth = self.headers.get("Authorization")
        if auth is None or not node.authorized(auth):
            node.bump("unauthorized")
            self.reply(401, b"", None, [("WWW-Authenticate", WWW_AUTH)])
            return

        uri_wallet = urllib.parse.unquote(path[len("/wallet/"):]) if path.startswith("/wallet/") else None
        try:
            status, out = node.handle_jsonrpc(body, uri_wallet)
        except Crash as e:
            node.crash(str(e))
            self.close_connection = True
            return
        if mode == "truncated":
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out[: len(out) // 2])
            self.close_connection = True
            return
        self.reply(status, out, "application/json")

    def send_huge(self, total):
        """HTTP 200 with a `total`-byte JSON body, streamed in 1 MiB pieces."""
        head, tail = b'{"result":"', b'","error":null,"id":null}\n'
        pad = max(0, total - len(head) - len(tail))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(head) + pad + len(tail)))
        self.end_headers()
        chunk = b"x" * (1 << 20)
        try:
            self.wfile.write(head)
            while pad > 0:
                n = min(pad, len(chunk))
                self.wfile.write(chunk[:n] if n < len(chunk) else chunk)
                pad -= n
            self.wfile.write(tail)
        except OSError:
            self.close_connection = True


# =================================================================================================
# CONTROL OPS (JSON POST to the control port)
#
#   {"op":"mine","n":N}                         advance N blocks; pending writes land in the first
#   {"op":"register","name":S|"name_b64":S,"value":S|"value_b64":S,"days":D=365,"address":S?,
#        "height":H?,"vout":V?,"mine":bool?,"force":bool?}
#                                               create (or re-create an expired/deleted) name in the
#                                               current tip (or at height H <= tip), no mining needed
#   {"op":"update","name","value"|"value_b64","days"?=0,"address"?}   name_update at the tip
#   {"op":"transfer","name","address","mine"?}   new txid, same value, new owner
#   {"op":"delete","name"}                      name_delete at the tip
#   {"op":"set_expires","name","expires_at":H}
#   {"op":"bulk","count":N,"seed":S,"convention":"seed"|"enumer"|"mixed","days":D,"return_numbers":bool}
#   {"op":"load","path":FILE,"days":D?}   names from JSON lines {"name","value"} (bench/gen_enum_zone.py --fixture)
#   {"op":"fault","mode":M,"seconds":S?,"duration":T?,"bytes":B?,"message":S?}
#        modes: none down slow http500 garbage truncated ibd warmup huge
#        seconds: slow's delay (default 5); duration: revert to none after T s; bytes: huge's size
#   {"op":"calls"} / {"op":"reset_calls"}       RPC call counts by method since start / reset
#   {"op":"dump"}                               every name with its fields (base64), and the mempool
#   {"op":"info"}                               height, ports, fault, counts
#   {"op":"shutdown"}                           same as SIGTERM
# =================================================================================================

def _ctl_bytes(req, key, required=True):
    if key in req:
        v = req[key]
        if not isinstance(v, str):
            raise ValueError("%s must be a string" % key)
        return v.encode("utf-8", "surrogateescape")
    if key + "_b64" in req:
        return base64.b64decode(req[key + "_b64"], validate=True)
    if required:
        raise ValueError("missing %s (or %s_b64)" % (key, key))
    return None


def _ctl_address(req, default):
    """An address from the control API, kept in the byte domain (UTF-8 bytes, one char each)."""
    v = req.get("address") or default
    if not isinstance(v, str):
        raise ValueError("address must be a string")
    return v.encode("utf-8").decode("latin-1")


def _ctl_int(req, key, default=None):
    v = req.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError("%s must be an integer" % key)
    return v


class Control:
    def __init__(self, node):
        self.node = node
        self.chain = node.chain

    def run(self, req):
        op = req.get("op")
        fn = getattr(self, "op_" + str(op), None)
        if fn is None:
            raise ValueError("unknown op %r" % (op,))
        with self.node.lock:
            res = fn(req)
        out = {"ok": True}
        out.update(res or {})
        return out

    def _existing(self, req):
        name = _ctl_bytes(req, "name")
        rec = self.chain.names.get(name)
        if rec is None:
            raise ValueError("no such name")
        return name, rec

    def _check_value(self, value):
        if not value:
            raise ValueError("value must not be empty")
        if len(value) > MAX_VALUE_LENGTH:
            raise ValueError("value is too long.")

    def op_mine(self, req):
        n = _ctl_int(req, "n", 1)
        if n < 0:
            raise ValueError("n must be >= 0")
        mined = self.chain.mine(n)
        return {"height": self.chain.height, "mined_txids": mined}

    def op_register(self, req):
        c = self.chain
        name = _ctl_bytes(req, "name")
        value = _ctl_bytes(req, "value")
        days = _ctl_int(req, "days", 365)
        height = _ctl_int(req, "height", c.height)
        if len(name) > MAX_NAME_LENGTH:
            raise ValueError("name is too long.")
        self._check_value(value)
        if days < 1:
            raise ValueError("rental days must be greater than 0.")
        if height > c.height:
            raise ValueError("height must be <= tip")
        if c.active(name) and not req.get("force"):
            raise ValueError("name is active; update it, delete it first or pass force")
        address = _ctl_address(req, None) if req.get("address") else c.new_legacy_address()
        mine = bool(req.get("mine", "address" not in req))
        if mine:
            c.wallet_addresses.add(address)
        txid = c.new_txid()
        rec = c.apply("name_new", name, value, days, address, txid, _ctl_int(req, "vout", 0),
                      height, c.block_time(height), mine)
        return {"txid": txid, "address": address, "registered_at": rec.registered_at, "expires_at": rec.expires_at}

    def op_update(self, req):
        c = self.chain
        name, rec = self._existing(req)
        if not c.active(name):
            raise ValueError("name_update on an inactive name")
        value = _ctl_bytes(req, "value", required=False)
        value = rec.value if value is None else value
        self._check_value(value)
        days = _ctl_int(req, "days", 0)
        if days < 0:
            raise ValueError("rental days must be greater or equal 0.")
        address = _ctl_address(req, rec.address)
        mine = bool(req.get("mine", rec.mine if address == rec.address else address in c.wallet_addresses))
        txid = c.new_txid()
        rec = c.apply("name_update", name, value, days, address, txid, _ctl_int(req, "vout", 0),
                      c.height, c.block_time(c.height), mine)
        return {"txid": txid, "expires_at": rec.expires_at}

    def op_transfer(self, req):
        if not isinstance(req.get("address"), str) or not req["address"]:
            raise ValueError("missing address")
        return self.op_update({k: v for k, v in req.items() if k not in ("value", "value_b64", "days")})

    def op_delete(self, req):
        c = self.chain
        name, rec = self._existing(req)
        if rec.deleted:
            raise ValueError("already deleted")
        txid = c.new_txid()
        c.apply("name_delete", name, b"", 0, rec.address, txid, 0, c.height, c.block_time(c.height), rec.mine)
        return {"txid": txid}

    def op_set_expires(self, req):
        name, rec = self._existing(req)
        rec.expires_at = _ctl_int(req, "expires_at")
        return {"expires_at": rec.expires_at, "expires_in": rec.expires_at - self.chain.height}

    def op_bulk(self, req):
        """N distinct random E.164 numbers (8-15 digits, first 1-9), registered at the tip."""
        t0 = time.perf_counter()
        c = self.chain
        count = _ctl_int(req, "count")
        days = _ctl_int(req, "days", 365)
        conv = req.get("convention", "seed")
        if conv not in ("seed", "enumer", "mixed"):
            raise ValueError("convention must be seed, enumer or mixed")
        if count < 0 or days < 1:
            raise ValueError("count must be >= 0 and days >= 1")
        rng = random.Random(req.get("seed", 0))
        names, numbers, seen = c.names, [], set()
        h, tm = c.height, c.block_time(c.height)
        exp = min(h + BLOCKS_PER_DAY * days, INT_MAX)
        pool = c.bulk_pool
        getrandbits = rng.getrandbits
        pow10 = [10 ** k for k in range(16)]
        i = 0
        attempts = 0
        while i < count:
            attempts += 1
            if attempts > count * 20 + 1000:
                raise ValueError("could not find enough free numbers")
            r = getrandbits(64)                       # one draw: length, first digit, the rest
            length = 8 + (r & 7)
            number = "%d%0*d" % (1 + (r >> 3) % 9, length - 1, (r >> 7) % pow10[length - 1])
            if number in seen:
                continue
            if conv == "seed" or (conv == "mixed" and i % 2 == 0):
                name = ("enum:" + ".".join(reversed(number)) + ".e164.arpa").encode()
                value = ('"!^.*$!sip:user%d@example.net!"' % i).encode()
            else:
                name = ("enum:%s:0" % number).encode()
                value = ("E2U+sip=100|10|!^.*$!sip:user%d@example.net!" % i).encode()
            if name in names:
                continue
            seen.add(number)
            rec = NameRecord(name)
            txid = "%064x" % getrandbits(256)
            address = pool[i & 7]
            rec.value, rec.txid, rec.address, rec.vout, rec.time = value, txid, address, 0, tm
            rec.registered_at, rec.expires_at = h, exp
            rec.history.append(("name_new", txid, h, tm, address, 0, days, value, False))
            names[name] = rec
            numbers.append(number)
            i += 1
        c._order = c._order_keys = None
        out = {"added": count, "names": len(names), "elapsed_s": round(time.perf_counter() - t0, 3)}
        if req.get("return_numbers"):
            out["numbers"] = numbers
        return out

    def op_load(self, req):
        """Names from a file of JSON lines {"name", "value"} (bench/gen_enum_zone.py --fixture),
        registered at the tip as op_bulk does; "days" (default 365) sets their expiry."""
        t0 = time.perf_counter()
        c = self.chain
        path = req.get("path")
        if not isinstance(path, str):
            raise ValueError("path must be a file name")
        days = _ctl_int(req, "days", 365)
        h, tm = c.height, c.block_time(c.height)
        exp = min(h + BLOCKS_PER_DAY * days, INT_MAX)
        pool = c.bulk_pool
        rng = random.Random(req.get("seed", 0))
        names = c.names
        added = 0
        with open(path, "rb") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    o = json.loads(line)
                    name, value = o["name"].encode(), o["value"].encode()
                except (ValueError, KeyError, AttributeError) as e:
                    raise ValueError("%s line %d: %s" % (path, lineno, e))
                if name in names:
                    raise ValueError("%s line %d: %s is already registered" % (path, lineno, o["name"]))
                rec = NameRecord(name)
                txid = "%064x" % rng.getrandbits(256)
                address = pool[added & 7]
                rec.value, rec.txid, rec.address, rec.vout, rec.time = value, txid, address, 0, tm
                rec.registered_at, rec.expires_at = h, exp
                rec.history.append(("name_new", txid, h, tm, address, 0, days, value, False))
                names[name] = rec
                added += 1
        c._order = c._order_keys = None
        return {"added": added, "names": len(names), "elapsed_s": round(time.perf_counter() - t0, 3)}

    def op_fault(self, req):
        mode = req.get("mode")
        if mode not in ("none", "down", "slow", "http500", "garbage", "truncated", "ibd", "warmup", "huge"):
            raise ValueError("unknown fault mode %r" % (mode,))
        self.node.set_fault(mode, req.get("seconds"), req.get("duration"), req.get("bytes"), req.get("message"))
        return {"mode": mode, "rpc_port": self.node.rpc.port}

    def op_calls(self, req):
        n = self.node
        with n.stats_lock:
            return {"calls": dict(n.calls), "batches": n.batches, "http_requests": n.http_requests,
                    "unauthorized": n.unauthorized, "connections": n.connections}

    def op_reset_calls(self, req):
        self.node.reset_calls()
        return {}

    def op_dump(self, req):
        c = self.chain
        tip = c.height
        names = []
        for name in c.index_order():
            r = c.names[name]
            names.append({"name": name.decode("utf-8", "replace"), "name_b64": base64.b64encode(name).decode(),
                          "value_b64": base64.b64encode(r.value).decode(), "address": r.address,
                          "txid": r.txid, "vout": r.vout, "time": r.time, "registered_at": r.registered_at,
                          "expires_at": r.expires_at, "expires_in": r.expires_at - tip,
                          "deleted": r.deleted, "mine": r.mine, "operations": len(r.history)})
        mempool = [{"name_b64": base64.b64encode(n).decode(), "op": q["op"], "txid": q["txid"],
                    "value_b64": base64.b64encode(q["value"]).decode(), "days": q["days"], "address": q["address"]}
                   for n, q in c.mempool.items()]
        return {"height": tip, "names": names, "mempool": mempool,
                "dropped": [{k: v for k, v in d.items() if k != "value"} for d in c.dropped]}

    def op_info(self, req):
        n = self.node
        return {"height": n.chain.height, "rpc_port": n.rpc.port, "control_port": n.control.port,
                "rpc_up": n.rpc.server is not None, "fault": n.fault_mode, "fault_seconds": n.fault_seconds,
                "crashed": n.crashed, "names": len(n.chain.names), "mempool": len(n.chain.mempool),
                "wallet": n.wallet_enabled}

    def op_shutdown(self, req):
        self.node.stop_event.set()
        return {}


class ControlServer(QuietServer):
    def __init__(self, addr, handler, node):
        self.node = node
        self.control = Control(node)
        super().__init__(addr, handler)


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if self.server.node.verbose:
            sys.stderr.write("control: " + (fmt % args) + "\n")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        try:
            req = json.loads(raw or b"{}")
            if not isinstance(req, dict):
                raise ValueError("the body must be a JSON object")
            out = self.server.control.run(req)
        except Exception as e:
            out = {"ok": False, "error": "%s" % (e,) if isinstance(e, ValueError) else "%s: %s" % (type(e).__name__, e)}
        body = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


# =================================================================================================
# main
# =================================================================================================

def parse_args(argv):
    ap = argparse.ArgumentParser(description="Fake emercoind JSON-RPC server for tests.")
    ap.add_argument("--state-file", required=True, help="where to write {rpc_port, control_port} once listening")
    ap.add_argument("--rpc-user")
    ap.add_argument("--rpc-password")
    ap.add_argument("--cookie-file", help="write __cookie__:<64 hex> here and accept it; deleted on exit")
    ap.add_argument("--height", type=int, default=1000, help="initial tip height (default 1000)")
    ap.add_argument("--rpc-port", type=int, default=0, help="RPC port (default: kernel-picked)")
    ap.add_argument("--seed", default="0", help="seed for txids and addresses (default 0)")
    ap.add_argument("--start-time", type=int, default=None, help="block time of the initial tip (default: now)")
    ap.add_argument("--no-wallet", action="store_true", help="like -disablewallet: wallet methods are -32601")
    ap.add_argument("--wallet-name", default="", help="name of the loaded wallet for /wallet/<name> (default \"\")")
    ap.add_argument("--nameaddress", action="store_true", help="enable the name-address index (name_scan_address)")
    ap.add_argument("--filter-value-limit", type=int, default=0,
                    help="name_filter's default max-value-length (0 = whole value, as on master; 300 = older builds)")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    a = ap.parse_args(argv)
    if (a.rpc_user is None) != (a.rpc_password is None):
        ap.error("--rpc-user and --rpc-password go together")
    if a.rpc_user is None and not a.cookie_file:
        ap.error("give --rpc-user/--rpc-password, --cookie-file, or both")
    return a


def write_state(path, data):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        os.remove(args.state_file)          # never let a poller read a previous run's ports
    except OSError:
        pass
    node = FakeNode(args)
    node.rpc = Listener(node, args.rpc_port, RPCHandler)
    node.control = Listener(node, 0, ControlHandler, ControlServer)

    def on_signal(signum, frame):
        node.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        node.write_cookie()
        node.rpc.ensure_started()
        node.control.ensure_started()
        write_state(args.state_file, {"rpc_port": node.rpc.port, "control_port": node.control.port,
                                      "pid": os.getpid()})
        if args.verbose:
            sys.stderr.write("fake_emercoind: rpc 127.0.0.1:%d control 127.0.0.1:%d\n" % (node.rpc.port, node.control.port))
        while not node.stop_event.wait(0.2):
            pass
    finally:
        node.remove_cookie()
        for lst in (node.rpc, node.control):
            if lst is not None:
                try:
                    lst.stop()
                except Exception:
                    pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
