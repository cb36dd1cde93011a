"""A small Docker Engine API client over the unix socket, standard library only.

The benchmark talks to the engine with raw HTTP/1.1 on the socket rather than through the
docker CLI, whose own start-up (tens of milliseconds) would swamp the latency it measures.

Also a command line, used by the benchmark's cleanup and by its scenarios' recovery trigger:

    python3 bench/docker_api.py start CONTAINER
    python3 bench/docker_api.py remove-label KEY=VALUE
"""

import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


def socket_path():
    """The engine's socket: DOCKER_HOST when it is unix://, else /var/run/docker.sock."""
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return host[len("unix://"):]
    if host:
        raise SystemExit(f"the benchmark needs a local engine socket; DOCKER_HOST is {host}")
    return "/var/run/docker.sock"


def connect(timeout=30.0):
    """A fresh connection to the engine."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(socket_path())
    return s


def encode_request(method, path, body=None):
    """The bytes of one HTTP/1.1 request that closes its connection afterwards."""
    data = b"" if body is None else json.dumps(body).encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
    if body is not None:
        head += "Content-Type: application/json\r\n"
    head += f"Content-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


class Response:
    """Status and decoded body of one answer."""

    def __init__(self, status, body):
        self.status = status
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body else None


def read_head(f):
    """Status code and lower-cased headers from a file over the socket."""
    line = f.readline()
    if not line:
        raise ConnectionError("the engine closed the connection without an answer")
    status = int(line.split()[1])
    headers = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            return status, headers
        key, _, value = line.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()


def read_chunks(f):
    """Yields the chunks of a chunked body as they arrive."""
    while True:
        size_line = f.readline()
        if not size_line:
            return
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            f.readline()
            return
        chunk = f.read(size)
        f.readline()
        yield chunk


def read_response(s):
    """Reads one whole answer from a connection that the engine closes afterwards."""
    with s.makefile("rb") as f:
        status, headers = read_head(f)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b"".join(read_chunks(f))
        elif "content-length" in headers:
            body = f.read(int(headers["content-length"]))
        else:
            body = f.read()
    return Response(status, body)


def request(method, path, body=None, ok=(200, 201, 204, 304)):
    """One request on its own connection; raises unless the status is in `ok`."""
    s = connect()
    try:
        s.sendall(encode_request(method, path, body))
        r = read_response(s)
    finally:
        s.close()
    if r.status not in ok:
        raise RuntimeError(f"{method} {path}: HTTP {r.status}: {r.body[:300]!r}")
    return r


def filters(**kv):
    """A `filters=` query value."""
    return urllib.parse.quote(json.dumps(kv))


def containers_with_label(label):
    """Ids of every container, running or not, that carries `label` (KEY=VALUE)."""
    r = request("GET", f"/containers/json?all=1&filters={filters(label=[label])}")
    return [c["Id"] for c in r.json()]


def remove_with_label(label):
    """Force-removes every container labelled `label`; returns how many it removed."""
    ids = containers_with_label(label)
    remove_all(ids)
    return len(ids)


def remove_all(ids):
    """Force-removes containers, eight at a time."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(remove, ids))


def remove(cid):
    """Force-removes one container; a container already gone is fine."""
    request("DELETE", f"/containers/{cid}?force=1&v=1", ok=(200, 204, 404, 409))


def start(cid):
    """Starts a stopped container; one already running is fine."""
    request("POST", f"/containers/{cid}/start", ok=(204, 304))


def inspect(cid):
    """The container's inspect document."""
    return request("GET", f"/containers/{cid}/json").json()


def wait_running(cid, within=30.0):
    """Waits until the container runs."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if inspect(cid)["State"]["Running"]:
            return
        time.sleep(0.02)
    raise RuntimeError(f"container {cid[:12]} not running within {within:.0f}s")


class EventStream:
    """A `GET /events` subscription read on a thread of its own; `get()` takes events in order.

    The subscription is live once the constructor returns: the engine sends the answer's head
    as soon as it has registered the listener.
    """

    def __init__(self, **filter_kv):
        self.sock = connect(timeout=None)
        self.sock.sendall(encode_request("GET", f"/events?filters={filters(**filter_kv)}"))
        self.file = self.sock.makefile("rb")
        status, _ = read_head(self.file)
        if status != 200:
            raise RuntimeError(f"GET /events: HTTP {status}")
        self.events = []
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        buf = b""
        try:
            for chunk in read_chunks(self.file):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        with self.cond:
                            self.events.append(json.loads(line))
                            self.cond.notify_all()
        except (OSError, ValueError):
            pass
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def wait_for(self, match, within=10.0):
        """Removes and returns the first event for which `match(event)` holds."""
        deadline = time.monotonic() + within
        with self.cond:
            while True:
                for i, ev in enumerate(self.events):
                    if match(ev):
                        return self.events.pop(i)
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise RuntimeError("no matching engine event within %.0fs" % within)
                self.cond.wait(left)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def main(argv):
    if len(argv) == 3 and argv[1] == "start":
        start(argv[2])
    elif len(argv) == 3 and argv[1] == "remove-label":
        n = remove_with_label(argv[2])
        if n:
            print(f"removed {n} container(s) labelled {argv[2]}", file=sys.stderr)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
