"""A tiny HTTP server for the transport tests: echoes what it got, or misbehaves on request.

  POST /echo     -> 200, JSON {"path", "auth", "content_type", "body"}
  POST /status/N -> status N, small JSON body
  POST /slow     -> sleeps 3 s before answering
  POST /big      -> 200 with a 2 MiB body
Prints the port it listens on (127.0.0.1, picked by the kernel), then serves until killed.
"""
import base64, json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/echo":
            auth = self.headers.get("Authorization", "")
            decoded = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else ""
            self.reply(200, json.dumps({"path": self.path, "auth": decoded,
                                        "content_type": self.headers.get("Content-Type"),
                                        "body": body.decode("utf-8", "replace")}).encode())
        elif self.path.startswith("/status/"):
            self.reply(int(self.path[8:]), b'{"error": "status"}')
        elif self.path == "/slow":
            time.sleep(3)
            self.reply(200, b"{}")
        elif self.path == "/big":
            self.reply(200, b"x" * (2 << 20))
        else:
            self.reply(404, b"")

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
