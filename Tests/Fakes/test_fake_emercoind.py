#!/usr/bin/env python3
"""Self-check of fake_emercoind.py: starts it as a subprocess on 127.0.0.1 and talks to it.

  python3 -m unittest Tests/Fakes/test_fake_emercoind.py      (or: python3 Tests/Fakes/test_fake_emercoind.py)

Every wait is bounded, all traffic goes to 127.0.0.1, and every subprocess is killed at the end.
Timings of the 100,000-name checks are printed to stderr as "TIMING ...".
"""

import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_emercoind.py")
USER, PASSWORD = "rpcuser", "s3cret:with:colons"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
SHOW_KEYS = ["name", "value", "txid", "address", "vout", "expires_in", "expires_at", "time"]


def basic(userpass):
    return "Basic " + base64.b64encode(userpass.encode()).decode()


class Fake:
    """One fake_emercoind subprocess."""

    def __init__(self, *extra, credentials=True, cookie=True):
        self.dir = tempfile.mkdtemp(prefix="fake-emercoind-test-")
        self.state = os.path.join(self.dir, "ports.json")
        self.cookie = os.path.join(self.dir, ".cookie") if cookie else None
        args = [sys.executable, FAKE, "--state-file", self.state, "--seed", "7"]
        if credentials:
            args += ["--rpc-user", USER, "--rpc-password", PASSWORD]
        if cookie:
            args += ["--cookie-file", self.cookie]
        args += list(extra)
        self.stderr = open(os.path.join(self.dir, "stderr.txt"), "w+b")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.stderr)
        ports = None
        deadline = time.monotonic() + 10
        while ports is None and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with open(self.state) as f:
                    ports = json.load(f)
            except (OSError, ValueError):
                time.sleep(0.02)
        if ports is None:
            self.stop()
            raise RuntimeError("fake_emercoind did not start: " + self.stderr_text())
        self.rpc_port, self.control_port = ports["rpc_port"], ports["control_port"]
        self.auth = basic(USER + ":" + PASSWORD)

    def stderr_text(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- raw HTTP
    def http(self, method, path="/", body=b"", headers=None, port=None, timeout=10, conn=None):
        own = conn is None
        if own:
            conn = http.client.HTTPConnection("127.0.0.1", port or self.rpc_port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            if own:
                conn.close()

    def post_raw(self, body, auth=None, path="/", **kw):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        h = {"Content-Type": "application/json"}
        if auth is not False:
            h["Authorization"] = auth or self.auth
        return self.http("POST", path, body, h, **kw)

    def rpc(self, method, params=None, rid=1, **kw):
        req = {"method": method, "id": rid}
        if params is not None:
            req["params"] = params
        status, _, body = self.post_raw(req, **kw)
        return status, json.loads(body)

    def ok(self, method, *params):
        status, reply = self.rpc(method, list(params))
        assert status == 200 and reply["error"] is None, (method, params, status, reply)
        return reply["result"]

    def err(self, method, params, status=500):
        s, reply = self.rpc(method, params)
        assert s == status and reply["result"] is None, (method, params, s, reply)
        return reply["error"]["code"], reply["error"]["message"]

    # ---- control
    def control(self, op, timeout=30, **kw):
        body = json.dumps(dict(kw, op=op)).encode()
        status, _, raw = self.http("POST", "/", body, {"Content-Type": "application/json"},
                                   port=self.control_port, timeout=timeout)
        out = json.loads(raw)
        assert status == 200 and out["ok"], (op, kw, out)
        return out


class FakeTestCase(unittest.TestCase):
    extra_args = ()

    def setUp(self):
        self.fake = Fake(*self.extra_args)
        self.addCleanup(self.fake.stop)


# =================================================================================================

class TransportAndEnvelope(FakeTestCase):

    def test_auth_401(self):
        f = self.fake
        for auth in (False, basic(USER + ":wrong"), "Bearer x", "Basic !!!"):
            status, headers, body = f.post_raw({"method": "getblockcount", "id": 1}, auth=auth)
            self.assertEqual(status, 401, auth)
            self.assertEqual(body, b"")
            self.assertEqual(headers["www-authenticate"], 'Basic realm="jsonrpc"')
        self.assertEqual(f.control("calls")["unauthorized"], 4)

    def test_cookie_auth(self):
        f = self.fake
        with open(f.cookie) as fh:
            cookie = fh.read()
        self.assertRegex(cookie, r"^__cookie__:[0-9a-f]{64}$")
        status, _, body = f.post_raw({"method": "getblockcount", "id": 1}, auth=basic(cookie))
        self.assertEqual((status, json.loads(body)["result"]), (200, 1000))
        status, _, _ = f.post_raw({"method": "getblockcount", "id": 1}, auth=basic("__cookie__:" + "0" * 64))
        self.assertEqual(status, 401)

    def test_sigterm_removes_cookie_and_exits_0(self):
        f = self.fake
        self.assertTrue(os.path.exists(f.cookie))
        f.proc.send_signal(signal.SIGTERM)
        self.assertEqual(f.proc.wait(5), 0)
        self.assertFalse(os.path.exists(f.cookie))

    def test_envelope(self):
        f = self.fake
        status, headers, body = f.post_raw({"jsonrpc": "2.0", "method": "getblockcount", "params": [], "id": 1})
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(body, b'{"result":1000,"error":null,"id":1}\n')   # no "jsonrpc" member
        self.assertEqual(f.ok("getbestblockhash"), f.ok("getbestblockhash"))
        self.assertRegex(f.ok("getbestblockhash"), HEX64)
        info = f.ok("getblockchaininfo")
        self.assertEqual(list(info), ["chain", "blocks", "headers", "bestblockhash", "difficulty", "mediantime",
                                      "verificationprogress", "initialblockdownload", "chainwork", "size_on_disk",
                                      "pruned", "softforks", "warnings"])
        self.assertEqual((info["chain"], info["blocks"], info["initialblockdownload"]), ("main", 1000, False))
        self.assertIn("balance", f.ok("getinfo"))

        s, reply = f.rpc("no_such_method", [], rid="x")
        self.assertEqual((s, reply), (404, {"result": None, "error": {"code": -32601, "message": "Method not found"}, "id": "x"}))
        s, _, body = f.post_raw(b'{"method": "getblockcount", ')
        self.assertEqual((s, json.loads(body)), (500, {"result": None, "error": {"code": -32700, "message": "Parse error"}, "id": None}))
        s, _, body = f.post_raw(b'"getblockcount"')
        self.assertEqual((s, json.loads(body)["error"]), (500, {"code": -32700, "message": "Top-level object parse error"}))
        s, _, body = f.post_raw({"params": [], "id": 5})
        self.assertEqual((s, json.loads(body)), (400, {"result": None, "error": {"code": -32600, "message": "Missing method"}, "id": 5}))
        s, _, body = f.post_raw({"method": 7, "id": 5})
        self.assertEqual((s, json.loads(body)["error"]["message"]), (400, "Method must be a string"))
        s, _, body = f.post_raw({"method": "getblockcount", "params": "x", "id": 5})
        self.assertEqual((s, json.loads(body)["error"]["message"]), (400, "Params must be an array or object"))
        code, msg = f.err("getblockcount", [1])
        self.assertEqual(code, -1)
        self.assertTrue(msg.startswith("getblockcount"))

        # HTTP level
        self.assertEqual(f.http("GET", "/", headers={"Authorization": f.auth})[::2],
                         (405, b"JSONRPC server handles only POST requests"))
        self.assertEqual(f.post_raw({"method": "getblockcount", "id": 1}, path="/other")[::2], (404, b""))
        self.assertEqual(f.post_raw({"method": "getblockcount", "id": 1}, path="/wallet/")[0], 200)

        # batch: HTTP 200, one reply per element, each with its own error
        s, _, body = f.post_raw([{"method": "getblockcount", "id": 1}, {"method": "nope", "id": 2}, 3])
        self.assertEqual(s, 200)
        self.assertEqual(json.loads(body), [
            {"result": 1000, "error": None, "id": 1},
            {"result": None, "error": {"code": -32601, "message": "Method not found"}, "id": 2},
            {"result": None, "error": {"code": -32600, "message": "Invalid Request object"}, "id": None}])

    def test_missing_name(self):
        s, reply = self.fake.rpc("name_show", ["enum:1234567890:0"])
        self.assertEqual((s, reply), (500, {"result": None, "error": {"code": -4, "message": "failed to read from name DB"}, "id": 1}))

    def test_calls_and_keepalive(self):
        f = self.fake
        f.control("reset_calls")
        conn = http.client.HTTPConnection("127.0.0.1", f.rpc_port, timeout=10)
        try:
            for i in range(3):
                s, _, _ = f.post_raw({"method": "name_show", "params": ["x%d" % i], "id": i}, conn=conn)
                self.assertEqual(s, 500)
        finally:
            conn.close()
        calls = f.control("calls")
        self.assertEqual((calls["calls"], calls["batches"], calls["connections"]), ({"name_show": 3}, 0, 1))
        f.post_raw([{"method": "getblockcount", "id": 1}, {"method": "name_show", "params": ["y"], "id": 2}])
        calls = f.control("calls")
        self.assertEqual((calls["calls"], calls["batches"]), ({"name_show": 4, "getblockcount": 1}, 1))


class Names(FakeTestCase):

    def test_expired_and_deleted_flags(self):
        f = self.fake
        f.control("register", name="enum:15551234567:0", value="E2U+sip=100|10|!^.*$!sip:a@example.net!", days=1)
        r = f.ok("name_show", "enum:15551234567:0")
        self.assertEqual(list(r), SHOW_KEYS)
        self.assertEqual((r["expires_at"], r["expires_in"]), (1175, 175))
        self.assertRegex(r["txid"], HEX64)
        self.assertRegex(r["address"], r"^E[1-9A-HJ-NP-Za-km-z]{33}$")
        f.control("mine", n=174)
        r = f.ok("name_show", "enum:15551234567:0")
        self.assertEqual((r["expires_in"], "expired" in r), (1, False))
        f.control("mine", n=1)
        r = f.ok("name_show", "enum:15551234567:0")
        self.assertEqual(list(r), SHOW_KEYS + ["expired"])   # expires_in == 0 already counts as expired
        self.assertEqual((r["expires_in"], r["expired"], r["value"]), (0, True, "E2U+sip=100|10|!^.*$!sip:a@example.net!"))
        # expired names are still in name_filter, with the flag
        items = f.ok("name_filter", "^enum:")
        self.assertEqual(items, [{"name": "enum:15551234567:0", "value": r["value"], "registered_at": 1000,
                                  "expires_in": 0, "expired": True}])
        # deleted: value "", expires_at 0, "deleted" instead of "expired"; gone from name_filter
        f.control("register", name="enum:15557654321:0", value="x", days=10)
        f.control("delete", name="enum:15557654321:0")
        r = f.ok("name_show", "enum:15557654321:0")
        self.assertEqual(list(r), SHOW_KEYS + ["deleted"])
        self.assertEqual((r["value"], r["expires_at"], r["deleted"]), ("", 0, True))
        self.assertEqual([i["name"] for i in f.ok("name_filter", "^enum:")], ["enum:15551234567:0"])
        # a deleted or expired name can be registered again
        f.control("register", name="enum:15557654321:0", value="y", days=1)
        self.assertNotIn("deleted", f.ok("name_show", "enum:15557654321:0"))
        f.control("set_expires", name="enum:15557654321:0", expires_at=900)
        self.assertTrue(f.ok("name_show", "enum:15557654321:0")["expired"])

    def test_name_filter_paging_and_regexp(self):
        f = self.fake
        f.control("register", name="enum:5555:0", value="a")              # registered at 1000, length 11
        f.control("mine", n=1)
        f.control("register", name="enum:1:0", value="b")                 # 1001, length 8
        f.control("mine", n=1)
        f.control("register", name="enum:22:0", value="c")                # 1002, length 9
        f.control("register", name="dns:enum:x", value="d")               # 1002, length 10
        f.control("register", name="enum:333:0", value="e", height=990)   # 990, length 10
        # index order (length, then bytes): enum:1:0, enum:22:0, dns:enum:x, enum:333:0, enum:5555:0
        names = lambda items: [i["name"] for i in items]
        self.assertEqual(names(f.ok("name_filter", "^enum:")), ["enum:333:0", "enum:5555:0", "enum:1:0", "enum:22:0"])
        self.assertEqual(names(f.ok("name_filter", "enum:")),
                         ["enum:333:0", "enum:5555:0", "enum:1:0", "enum:22:0", "dns:enum:x"])
        self.assertEqual(names(f.ok("name_filter", "")), names(f.ok("name_filter")))
        # from/nb count in index order before the sort: skip enum:1:0, take enum:22:0 and enum:333:0
        self.assertEqual(names(f.ok("name_filter", "^enum:", 0, 1, 2)), ["enum:333:0", "enum:22:0"])
        self.assertEqual(names(f.ok("name_filter", "^enum:", 0, 3, 0)), ["enum:5555:0"])
        # maxage: tip - registered_at < maxage
        self.assertEqual(names(f.ok("name_filter", "^enum:", 2)), ["enum:1:0", "enum:22:0"])
        self.assertEqual(f.ok("name_filter", "^enum:", 0, 0, 0, "stat"), {"blocks": 1002, "count": 0})
        items = f.ok("name_filter", "^enum:1:", 0, 0, 0, "", "base64")
        self.assertEqual(items, [{"name": "enum:1:0", "value": "Yg==", "registered_at": 1001, "expires_in": 365 * 175 - 1}])
        code, _ = f.err("name_filter", ["("])
        self.assertEqual(code, -1)
        # name_scan: index order from start-name, max-returned ignored
        self.assertEqual(names(f.ok("name_scan", "enum:22:0", 1)), ["enum:22:0", "dns:enum:x", "enum:333:0", "enum:5555:0"])

    def test_non_ascii_values_base64_hex_raw_batch(self):
        f = self.fake
        raw = b"caf\xc3\xa9 \xe2\x82\xac \x00\x7f\xff\x80\n"
        f.control("register", name="enum:4930123456:0", value_b64=base64.b64encode(raw).decode())
        self.assertEqual(base64.b64decode(f.ok("name_show", "enum:4930123456:0", "base64")["value"]), raw)
        self.assertEqual(f.ok("name_show", "enum:4930123456:0", "hex")["value"], raw.hex())
        self.assertEqual(base64.b64decode(f.ok("name_filter", "^enum:", 0, 0, 0, "", "base64")[0]["value"]), raw)
        # single reply: bytes >= 0x80 raw (here: not even valid UTF-8), 0x00 and 0x7f escaped
        _, _, body = f.post_raw({"method": "name_show", "params": ["enum:4930123456:0"], "id": 1})
        self.assertIn(b'"value":"caf\xc3\xa9 \xe2\x82\xac \\u0000\\u007f\xff\x80\\n"', body)
        # batch reply: one \u00XX (uppercase) per byte >= 0x7f
        _, _, body = f.post_raw([{"method": "name_show", "params": ["enum:4930123456:0"], "id": 1}])
        self.assertIn(b'"value":"caf\\u00C3\\u00A9 \\u00E2\\u0082\\u00AC \\u0000\\u007F\\u00FF\\u0080\\n"', body)
        self.assertEqual(json.loads(body)[0]["result"]["value"].encode("latin-1"), raw)
        # requests are read in json_spirit legacy mode: raw UTF-8 stays, "\u00e9" is ONE byte 0xE9
        f.post_raw(b'{"method":"name_new","params":["dns:raw","caf\xc3\xa9",1],"id":1}')
        f.post_raw(b'{"method":"name_new","params":["dns:esc","caf\\u00e9",1],"id":1}')
        pending = {i["name"]: base64.b64decode(i["value"]) for i in f.ok("name_mempool", "base64")}
        self.assertEqual(pending, {"dns:raw": b"caf\xc3\xa9", "dns:esc": b"caf\xe9"})

    def test_name_new_mempool_mine(self):
        f = self.fake
        txid = f.ok("name_new", "enum:4412345678:0", "E2U+sip=100|10|!^.*$!sip:x@example.net!", 2)
        self.assertIsInstance(txid, str)                       # a bare string, not an object
        self.assertRegex(txid, HEX64)
        self.assertEqual(f.err("name_show", ["enum:4412345678:0"]), (-4, "failed to read from name DB"))
        self.assertEqual([(i["name"], i["txid"], i["operation"], i["days_added"]) for i in f.ok("name_mempool")],
                         [("enum:4412345678:0", txid, "name_new", 2)])
        self.assertEqual(f.err("name_update", ["enum:4412345678:0", "v", 1]),
                         (-32603, "there are 1 pending operations on that name, including " + txid))
        self.assertEqual(f.control("mine", n=1)["mined_txids"], [txid])
        r = f.ok("name_show", "enum:4412345678:0")
        self.assertEqual((r["txid"], r["expires_at"], r["expires_in"]), (txid, 1001 + 350, 350))
        self.assertTrue(r["address"].startswith("em1q"))
        self.assertEqual(f.ok("name_mempool"), [])
        # update: days are added to the current expires_at; 0 = no extension
        t2 = f.ok("name_update", "enum:4412345678:0", "new", 0)
        f.control("mine", n=1)
        r = f.ok("name_show", "enum:4412345678:0")
        self.assertEqual((r["txid"], r["value"], r["expires_at"]), (t2, "new", 1351))
        f.ok("name_update", "enum:4412345678:0", "newer", 1)
        f.control("mine", n=1)
        self.assertEqual(f.ok("name_show", "enum:4412345678:0")["expires_at"], 1351 + 175)
        self.assertEqual([h["operation"] for h in f.ok("name_history", "enum:4412345678:0")],
                         ["name_new", "name_update", "name_update"])
        self.assertEqual([i["name"] for i in f.ok("name_list")], ["enum:4412345678:0"])
        f.ok("name_delete", "enum:4412345678:0")
        f.control("mine", n=1)
        self.assertTrue(f.ok("name_show", "enum:4412345678:0")["deleted"])

    def test_write_errors(self):
        f = self.fake
        f.control("register", name="dns:taken", value="v")
        self.assertEqual(f.err("name_new", ["dns:taken", "v", 1]), (-32603, "name_new on an unexpired name"))
        self.assertEqual(f.err("name_new", ["dns:a", "", 1]), (-32603, "value must not be empty"))
        self.assertEqual(f.err("name_new", ["dns:a", "v", 0]), (-32603, "rental days must be greater than 0.\n"))
        self.assertEqual(f.err("name_new", ["dns:a", "v", "1"]), (-1, "JSON value is not an integer as expected"))
        self.assertEqual(f.err("name_new", ["n" * 513, "v", 1]), (-32603, "name is too long.\n"))
        self.assertEqual(f.err("name_new", ["dns:a", "v" * (20 * 1024 + 1), 1]), (-32603, "value is too long.\n"))
        self.assertEqual(f.err("name_update", ["dns:nothere", "v", 1]), (-32603, "name_update on an inactive name"))
        self.assertEqual(f.err("name_update", ["dns:taken", "v", -1]), (-32603, "rental days must be greater or equal 0.\n"))
        self.assertEqual(f.err("name_new", ["dns:a", "v", 1, "Enotanaddress"]), (-5, "emercoin address is invalid"))
        self.assertEqual(f.err("name_new", [5, "v", 1]), (-3, "Opcode [NEW/UPDATE/DELETE]  param must be a string"))
        self.assertEqual(f.err("name_new", ["dns:a", "v"])[0], -1)
        self.assertEqual(f.ok("name_mempool"), [])

    def test_named_params(self):
        f = self.fake
        f.control("register", name="enum:3312345678:0", value="v")
        self.assertEqual(f.ok("name_show", "enum:3312345678:0"),
                         f.rpc("name_show", {"name": "enum:3312345678:0"})[1]["result"])
        self.assertEqual(f.rpc("name_show", {"name": "enum:3312345678:0", "valuetype": "hex"})[1]["result"]["value"], "76")
        self.assertEqual(len(f.rpc("name_filter", {"regexp": "^enum:"})[1]["result"]), 1)
        # holes before a later argument are filled with null, which get_int() refuses
        s, reply = f.rpc("name_filter", {"regexp": "^enum:", "valuetype": "base64"})
        self.assertEqual((s, reply["error"]), (500, {"code": -1, "message": "JSON value is not an integer as expected"}))
        s, reply = f.rpc("name_show", {"name": "x", "bogus": 1})
        self.assertEqual((s, reply["error"]), (500, {"code": -8, "message": "Unknown named parameter bogus"}))


class NoWallet(FakeTestCase):
    extra_args = ("--no-wallet",)

    def test_wallet_methods_disabled_and_getinfo_crash(self):
        f = self.fake
        s, reply = f.rpc("name_new", ["dns:x", "v", 1])
        self.assertEqual((s, reply["error"]), (404, {"code": -32601, "message":
                         "Method not found (wallet method is disabled because no wallet is loaded)"}))
        self.assertEqual(f.err("name_show", ["dns:x"]), (-4, "failed to read from name DB"))
        # getinfo dereferences the missing wallet: the connection drops and the node is gone
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            f.rpc("getinfo", [])
        deadline = time.monotonic() + 5
        while f.control("info")["rpc_up"] and time.monotonic() < deadline:
            time.sleep(0.02)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", f.rpc_port), timeout=2).close()
        f.control("fault", mode="none")
        self.assertEqual(f.ok("getblockcount"), 1000)


class Faults(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.fake = Fake()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def tearDown(self):
        self.fake.control("fault", mode="none")

    def test_down_then_none_restores_the_same_port(self):
        f = self.fake
        self.assertEqual(f.ok("getblockcount"), 1000)
        conn = http.client.HTTPConnection("127.0.0.1", f.rpc_port, timeout=10)   # a keep-alive connection
        f.post_raw({"method": "getblockcount", "id": 1}, conn=conn)
        self.assertEqual(f.control("fault", mode="down")["rpc_port"], f.rpc_port)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", f.rpc_port), timeout=2).close()
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            f.post_raw({"method": "getblockcount", "id": 1}, conn=conn)          # the open one is closed too
        conn.close()
        self.assertEqual(f.control("fault", mode="none")["rpc_port"], f.rpc_port)
        self.assertEqual(f.ok("getblockcount"), 1000)

    def test_slow(self):
        f = self.fake
        f.control("fault", mode="slow", seconds=1)
        t0 = time.monotonic()
        self.assertEqual(f.ok("getblockcount"), 1000)
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        with self.assertRaises((socket.timeout, TimeoutError)):
            f.rpc("getblockcount", [], timeout=0.3)

    def test_http500(self):
        self.fake.control("fault", mode="http500")
        status, headers, body = self.fake.post_raw({"method": "getblockcount", "id": 1})
        self.assertEqual((status, body), (500, b"<html>garbage</html>"))

    def test_garbage(self):
        self.fake.control("fault", mode="garbage")
        status, _, body = self.fake.post_raw({"method": "getblockcount", "id": 1})
        self.assertEqual((status, body), (200, b'{"result": [1, 2,'))
        with self.assertRaises(ValueError):
            json.loads(body)

    def test_truncated(self):
        self.fake.control("fault", mode="truncated")
        with self.assertRaises(http.client.IncompleteRead):
            self.fake.post_raw({"method": "getblockcount", "id": 1})

    def test_ibd(self):
        f = self.fake
        f.control("fault", mode="ibd")
        self.assertEqual(f.err("name_show", ["enum:1234567890:0"]), (-10, "Emercoin is downloading blocks..."))
        self.assertEqual(f.err("name_filter", ["^enum:"]), (-10, "Emercoin is downloading blocks..."))
        self.assertEqual(f.err("name_new", ["dns:x", "v", 1]), (-10, "Emercoin is downloading blocks..."))
        self.assertTrue(f.ok("getblockchaininfo")["initialblockdownload"])
        self.assertEqual(f.ok("getblockcount"), 1000)
        self.assertEqual(f.ok("name_mempool"), [])                 # no IBD check there

    def test_warmup(self):
        f = self.fake
        f.control("fault", mode="warmup")
        for method in ("getblockcount", "getblockchaininfo", "name_show", "no_such_method"):
            s, reply = f.rpc(method, [])
            self.assertEqual((s, reply["error"]), (500, {"code": -28, "message": "Loading block index..."}), method)

    def test_huge(self):
        f = self.fake
        f.control("fault", mode="huge")
        conn = http.client.HTTPConnection("127.0.0.1", f.rpc_port, timeout=30)
        try:
            t0 = time.monotonic()
            conn.request("POST", "/", body=b'{"method":"getblockcount","id":1}', headers={"Authorization": f.auth})
            r = conn.getresponse()
            self.assertEqual((r.status, int(r.getheader("Content-Length"))), (200, 100 * 1024 * 1024))
            total = 0
            while time.monotonic() - t0 < 60:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
        finally:
            conn.close()
        self.assertEqual(total, 100 * 1024 * 1024)
        sys.stderr.write("\nTIMING huge 100 MiB body read in %.2f s\n" % (time.monotonic() - t0))


class Scale(FakeTestCase):

    def test_bulk_and_name_filter_100000(self):
        f = self.fake
        t0 = time.monotonic()
        out = f.control("bulk", count=100000, seed=42, convention="mixed", days=30, return_numbers=True, timeout=60)
        t_bulk = time.monotonic() - t0
        numbers = out["numbers"]
        self.assertEqual((out["added"], len(set(numbers))), (100000, 100000))
        self.assertTrue(all(re.fullmatch(r"[1-9][0-9]{7,14}", n) for n in numbers))

        # the two conventions, alternating
        seed_name = "enum:" + ".".join(reversed(numbers[0])) + ".e164.arpa"
        self.assertEqual(f.ok("name_show", seed_name)["value"], '"!^.*$!sip:user0@example.net!"')
        self.assertEqual(f.ok("name_show", "enum:%s:0" % numbers[1])["value"], "E2U+sip=100|10|!^.*$!sip:user1@example.net!")

        t0 = time.monotonic()
        s, _, body = f.post_raw({"method": "name_filter", "params": ["^enum:", 0, 0, 0, "", "base64"], "id": 1}, timeout=60)
        t_http = time.monotonic() - t0
        items = json.loads(body)["result"]
        t_filter = time.monotonic() - t0
        self.assertEqual((s, len(items)), (200, 100000))
        self.assertEqual(base64.b64decode(items[0]["value"])[:4], b'"!^.' if items[0]["name"].endswith(".arpa") else b"E2U+")
        sys.stderr.write("\nTIMING bulk 100000 names: %.2f s (fake-side %.2f s)\n" % (t_bulk, out["elapsed_s"]))
        sys.stderr.write("TIMING name_filter of 100000 names, base64: %.2f s incl. JSON decode (HTTP reply in %.2f s, %.1f MB)\n"
                         % (t_filter, t_http, len(body) / 1e6))
        self.assertLess(t_bulk, 5.0)
        self.assertLess(t_filter, 30.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
