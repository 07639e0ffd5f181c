"""The built site over HTTP on this machine, as `python -m http.server` serves it, or with
--gzip compressed as static hosts serve it (GitHub Pages compresses HTML, CSS, JS, SVG, JSON).

    python3 benchmarks/serve.py site 8765 [--gzip]
"""
import functools
import gzip
import http.server
import sys

TEXT = (".html", ".css", ".js", ".svg", ".json", ".xml", ".txt", ".py", ".ipynb")


class Handler(http.server.SimpleHTTPRequestHandler):
    compress = False

    def log_message(self, *args):
        pass

    def send_head(self):
        path = self.translate_path(self.path)
        if (self.compress and "gzip" in self.headers.get("Accept-Encoding", "")
                and not self.path.endswith("/") and path.endswith(TEXT)):
            try:
                with open(path, "rb") as f:
                    body = gzip.compress(f.read(), 6)
            except OSError:
                return super().send_head()
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(path))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            import io
            return io.BytesIO(body)
        if self.compress and self.path.split("?")[0].endswith("/"):
            # a folder: its index.html, compressed the same way
            self.path = self.path.split("?")[0] + "index.html"
            return self.send_head()
        return super().send_head()


def main():
    site, port = sys.argv[1], int(sys.argv[2])
    Handler.compress = "--gzip" in sys.argv[3:]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                            functools.partial(Handler, directory=site))
    httpd.serve_forever()


if __name__ == "__main__":
    main()
