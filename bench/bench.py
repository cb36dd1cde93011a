"""firedrill's benchmark: prints kill latency by fleet size, CPU and RSS while watching, RSS
over 1,000 kills, `report` time for a 1,000-kill journal, and the release binary's size.

Run it through bench/run, which builds the release binary, makes the scratch folder and cleans
up after it; bench/README.md says what each figure means and how it is measured.
"""

import argparse
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import docker_api

PARTS = ("kill", "drift", "watch", "kills", "metrics", "report", "size")
IMAGE = "firedrill-target:test"
STARTED = time.monotonic()


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: stop, clean up, exit. Not an Exception, so no `except Exception`
    swallows it."""


_stopping = False
_deferred = None


def on_signal(signum, _frame):
    # Only the first signal interrupts; later ones must not break the cleanup it started.
    global _stopping
    if _stopping:
        return
    _stopping = True
    if _deferred is not None:
        _deferred.append(signal.Signals(signum).name)
        return
    raise Interrupted(signal.Signals(signum).name)


def note(msg):
    """Progress, on stderr, so stdout holds the figures alone."""
    print(f"[{time.monotonic() - STARTED:6.1f}s] {msg}", file=sys.stderr, flush=True)


def out(msg=""):
    print(msg, flush=True)


def ms(us):
    return f"{us / 1000:.2f} ms"


def pct(values, q):
    """The q-th percentile (0..100), nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def spread(values_us):
    """median, p90, min and max of microsecond values, in ms."""
    return (
        f"median {ms(statistics.median(values_us))}, p90 {ms(pct(values_us, 90))}, "
        f"min {ms(min(values_us))}, max {ms(max(values_us))} (n={len(values_us)})"
    )


class Bench:
    """What every part shares: the binary, the scratch folder, the run's label, its processes."""

    def __init__(self, args):
        self.args = args
        self.binary = os.path.abspath(args.binary)
        self.work = os.path.abspath(args.work)
        self.label_key = "firedrill.bench"
        self.label = f"{self.label_key}={args.run_id}"
        self.procs = []
        self.kills_run_dir = None
        self.summary = []

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def write(self, name, text):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def start_firedrill(self, args, log_name):
        """Starts firedrill in a session of its own, so a Ctrl-C meant for the benchmark reaches
        it only through the benchmark's own cleanup; its PID goes to the file bench/run reads."""
        log = open(self.path(log_name), "w")
        # A signal between the start and the record of the PID would lose the process, so it
        # waits until the PID is written. (Blocking the signals would block them in the child.)
        global _deferred
        _deferred = []
        try:
            p = subprocess.Popen(
                [self.binary, *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
            self.procs.append(p)
            with open(self.path("pids"), "a") as f:
                f.write(f"{p.pid}\n")
        finally:
            log.close()
            pending, _deferred = _deferred, None
        if pending:
            raise Interrupted(pending[0])
        return p

    def stop(self, p):
        """SIGTERM (firedrill writes its report and stops its fleet), a second SIGTERM to end
        the wait for recoveries, then SIGKILL."""
        for sig, wait in ((signal.SIGTERM, 3), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if p.poll() is not None:
                return
            try:
                p.send_signal(sig)
                p.wait(wait)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                return

    def cleanup(self):
        for p in self.procs:
            self.stop(p)
        if "kill" in self.args.parts:
            try:
                n = docker_api.remove_with_label(self.label)
                if n:
                    note(f"removed {n} container(s) labelled {self.label}")
            except Exception as e:  # noqa: BLE001 - bench/run tries again
                note(f"container cleanup failed ({e}); bench/run tries again")


class Journal:
    """Follows a run's journal.jsonl as it grows."""

    def __init__(self, out_dir, proc, within=60.0):
        deadline = time.monotonic() + within
        while True:
            found = [
                os.path.join(out_dir, d, "journal.jsonl")
                for d in sorted(os.listdir(out_dir))
                if os.path.exists(os.path.join(out_dir, d, "journal.jsonl"))
            ]
            if found:
                self.path = found[0]
                break
            if proc.poll() is not None:
                raise RuntimeError(f"firedrill exited with {proc.returncode} before its journal")
            if time.monotonic() > deadline:
                raise RuntimeError("no journal appeared")
            time.sleep(0.01)
        self.run_dir = os.path.dirname(self.path)
        self.file = open(self.path, "rb")
        self.partial = b""

    def new_entries(self):
        data = self.file.read()
        if not data:
            return []
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        return [json.loads(line) for line in lines if line.strip()]

    def wait_for(self, match, proc, within):
        """Reads on until an entry matches; returns it."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for e in self.new_entries():
                if match(e):
                    return e
            if proc.poll() is not None:
                for e in self.new_entries():
                    if match(e):
                        return e
                raise RuntimeError(f"firedrill exited with {proc.returncode} first")
            time.sleep(0.005)
        raise RuntimeError(f"journal {self.path}: nothing matched within {within:.0f}s")


def read_journal(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def proc_status(pid, key):
    """A /proc/PID/status value in kB (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} for PID {pid}")


def cpu_ticks(pid):
    """(utime, stime) of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of proc(5); the split starts at field 3.
    return int(fields[11]), int(fields[12])


def mib(kb):
    return f"{kb / 1024:.1f} MiB"


# ----------------------------------------------------------------------------------------------
# Machine


def machine(b):
    def meminfo():
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        return "?"

    def cpu_model():
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.machine()

    def docker_version():
        try:
            return docker_api.request("GET", "/version").json()["Version"]
        except Exception:  # noqa: BLE001 - no engine is a fact to print, not an error here
            return "no engine"

    def git(*args):
        r = subprocess.run(["git", "-C", b.args.root, *args], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else "?"

    dirty = " (uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    out("firedrill benchmark")
    out(f"  date       {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}")
    out(f"  code       {git('rev-parse', '--short', 'HEAD')} on {git('branch', '--show-current')}{dirty}")
    out(f"  cpus       {len(os.sched_getaffinity(0))} x {cpu_model()}")
    out(f"  memory     {meminfo()}")
    out(f"  kernel     {platform.release()}")
    out(f"  docker     {docker_version()}")
    out(f"  load avg   {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min, at start)")
    out()


# ----------------------------------------------------------------------------------------------
# Kill latency


def ensure_image(b):
    r = docker_api.request("GET", f"/images/{IMAGE}/json", ok=(200, 404))
    if r.status == 200:
        return
    script = os.path.join(b.args.root, "docker", "build-target-image.sh")
    note(f"{IMAGE} is missing; building it with {script} (minutes)")
    subprocess.run([script], check=True, stdin=subprocess.DEVNULL, stdout=sys.stderr)


def create_fleet(b, n):
    """n containers of the test image, labelled with the run and the fleet size, restart policy
    always, and no HEALTHCHECK (see bench/README.md: why)."""

    def one(i):
        name = f"fdb-{b.args.run_id}-{n}-{i}"
        body = {
            "Image": IMAGE,
            "Labels": {b.label_key: b.args.run_id, "firedrill.bench.fleet": str(n)},
            "HostConfig": {"RestartPolicy": {"Name": "always"}},
        }
        if not b.args.healthcheck:
            body["Healthcheck"] = {"Test": ["NONE"]}
        cid = docker_api.request("POST", f"/containers/create?name={name}", body).json()["Id"]
        docker_api.start(cid)
        return cid

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(one, range(n)))
    for cid in ids:
        docker_api.wait_running(cid)
    if b.args.healthcheck:
        deadline = time.monotonic() + 60
        for cid in ids:
            while docker_api.inspect(cid)["State"].get("Health", {}).get("Status") != "healthy":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"container {cid[:12]} not healthy within 60s")
                time.sleep(0.1)
    return ids


def measure_floor(b, ids, count):
    """Bare API kills: send time (just before the request's first byte) to the daemon's `kill`
    event timeNano, in µs; each container is started again and waited for."""
    events = docker_api.EventStream(
        type=["container"], event=["kill"], label=[b.label]
    )
    floor, round_trip = [], []
    try:
        for i in range(count):
            cid = ids[i % len(ids)]
            req = docker_api.encode_request("POST", f"/containers/{cid}/kill?signal=SIGKILL")
            s = docker_api.connect()
            try:
                t0 = time.time_ns()
                s.sendall(req)
                r = docker_api.read_response(s)
                t1 = time.time_ns()
            finally:
                s.close()
            if r.status != 204:
                raise RuntimeError(f"kill {cid[:12]}: HTTP {r.status} {r.body[:200]!r}")
            ev = events.wait_for(lambda e, cid=cid: e.get("id") == cid)
            floor.append((ev["timeNano"] - t0) / 1000)
            round_trip.append((t1 - t0) / 1000)
            docker_api.start(cid)
            docker_api.wait_running(cid)
            time.sleep(0.2)
    finally:
        events.close()
    return floor, round_trip


def kill_scenario(b, n, drift=False):
    trigger = json.dumps(
        [sys.executable, os.path.join(b.args.root, "bench", "docker_api.py"), "start", "{victim}"]
    )
    return f"""version: 1
name: bench-kill-{n}{"-drift" if drift else ""}
seed: 1
platform: {{ kind: docker }}
targets:
  - name: web
    select: {{ labels: {{ {b.label_key}: "{b.args.run_id}", firedrill.bench.fleet: "{n}" }} }}
    health: {{ from: docker }}
schedule:
  duration: 10m
  max_kills: {b.args.kills}
  every: 1s
  jitter: 0s
  start_after: 1s
policy: {{ pick: 1, max_in_flight: 1, min_healthy: 1, min_age: 0s }}
action: {{ kind: kill, signal: SIGKILL }}
recovery:
  timeout: 30s
  settle: 0s
  drift: {"true" if drift else "false"}
  # An API kill is a manual stop, so the restart policy does not fire: start it again.
  trigger: {{ command: {trigger}, timeout: 20s }}
report: {{ formats: [json] }}
"""


def pair_kill_latencies(entries):
    """decision seq -> kill line (seq, kill_id) -> last `phase: kill` mark of that kill_id.

    Returns (latencies in µs, kill-line latencies in µs, how many marks equal a daemon `killed`
    event of the victim)."""
    decisions, kills, marks, killed = {}, {}, {}, {}
    for e in entries:
        t = e.get("type")
        if t == "decision":
            decisions[e["seq"]] = e["at"]
        elif t == "kill":
            kills.setdefault(e["kill_id"], e)
        elif t == "phase" and e["phase"] == "kill":
            marks[e["kill_id"]] = e["at"]
        elif t == "event" and e.get("kind") == "killed":
            killed.setdefault(e["instance"], set()).add(e["at"])
    lat, line_lat, from_daemon = [], [], 0
    for kid, k in sorted(kills.items()):
        decided = decisions.get(k["seq"])
        mark = marks.get(kid)
        if decided is None or mark is None:
            continue
        lat.append(mark - decided)
        line_lat.append(k["at"] - decided)
        from_daemon += mark in killed.get(k["victim"], ())
    return lat, line_lat, from_daemon


def part_kill(b):
    ensure_image(b)
    out("Kill latency: firedrill's decision to the daemon's `kill` event (action kill, API)")
    for n in b.args.fleets:
        note(f"fleet of {n}: creating {n} containers")
        ids = create_fleet(b, n)
        try:
            kill_latency(b, n, ids)
        finally:
            note(f"fleet of {n}: removing its containers")
            docker_api.remove_all(ids)
    out()


def firedrill_kills(b, n, drift=False, part="kill"):
    """One firedrill run of `--kills` API kills on the fleet of `n`; returns the paired
    latencies (see pair_kill_latencies), the exit code and the run's journal path. `part`
    names its scratch files, so each part's runs keep their own."""
    tag = f"{part}-{n}-drift" if drift else f"{part}-{n}"
    note(f"fleet of {n}: firedrill run, {b.args.kills} kills{' with drift evidence' if drift else ''}")
    out_dir = b.path(tag)
    os.mkdir(out_dir)
    scenario = b.write(f"{tag}.yaml", kill_scenario(b, n, drift))
    p = b.start_firedrill(
        ["run", scenario, "--out", out_dir, "--max-runtime", "5m"], f"{tag}.log"
    )
    journal = Journal(out_dir, p)
    try:
        p.wait(b.args.kills * 6 + 60)
    except subprocess.TimeoutExpired:
        b.stop(p)
        raise RuntimeError(f"the firedrill run on {n} containers did not end in time")
    lat, line_lat, from_daemon = pair_kill_latencies(read_journal(journal.path))
    if not lat:
        raise RuntimeError(f"no kill paired in {journal.path} (exit {p.returncode})")
    return lat, line_lat, from_daemon, p.returncode, journal.path


def kill_latency(b, n, ids):
    note(f"fleet of {n}: {b.args.kills} bare API kills for the floor")
    floor, round_trip = measure_floor(b, ids, b.args.kills)
    lat, line_lat, from_daemon, returncode, _ = firedrill_kills(b, n)
    over = statistics.median(lat) - statistics.median(floor)
    sent_to_event = [a - c for a, c in zip(lat, line_lat)]
    out(f"  {n} containers")
    out("    floor: bare API kill, request sent -> daemon kill event")
    out(f"                               {spread(floor)}")
    out("    firedrill: decision -> daemon kill event")
    out(f"                               {spread(lat)}")
    out(f"    above the floor (medians)  {ms(over)}   (target: at most 5 ms)")
    out("    of which, firedrill's own steps and the engine's answer:")
    out(f"      decision -> request sent {spread(line_lat)}")
    out(f"      request sent -> event    {spread(sent_to_event)}")
    out(
        f"    kill marks from the daemon event: {from_daemon} of {len(lat)}; firedrill exit "
        f"{returncode}; floor API round trip median {ms(statistics.median(round_trip))}"
    )
    b.summary.append(
        f"kill latency, {n} containers: median {ms(statistics.median(lat))}, floor "
        f"{ms(statistics.median(floor))}, above floor {ms(over)}"
    )


def part_drift(b):
    """Drift evidence must not slow the kill: the same kills with capture off, then on."""
    ensure_image(b)
    n = b.args.fleets[0]
    out(f"Drift evidence and kill latency: {n} containers, decision -> daemon kill event")
    note(f"fleet of {n}: creating {n} containers")
    ids = create_fleet(b, n)
    try:
        off, _, _, _, _ = firedrill_kills(b, n, part="drift")
        on, _, _, _, journal = firedrill_kills(b, n, drift=True, part="drift")
    finally:
        note(f"fleet of {n}: removing its containers")
        docker_api.remove_all(ids)
    captures = [
        (e["evidence"].get("capture_us", 0), e["evidence"].get("engine_calls", 0))
        for e in read_journal(journal)
        if e.get("type") == "evidence"
    ]
    delta = statistics.median(on) - statistics.median(off)
    out(f"    without drift capture      {spread(off)}")
    out(f"    with drift capture         {spread(on)}")
    out(f"    difference (medians)       {ms(delta)}   (target: within 2 ms)")
    if captures:
        times = sorted(t for t, _ in captures)
        out(
            f"    captures: {len(captures)}, median {ms(statistics.median(times))}, "
            f"max {ms(times[-1])}, {sum(c for _, c in captures)} engine calls"
        )
    out()
    b.summary.append(
        f"kill latency with drift capture: {ms(statistics.median(on))} vs "
        f"{ms(statistics.median(off))} without ({ms(delta)})"
    )


# ----------------------------------------------------------------------------------------------
# Watching


def local_scenario(name, replicas, health_every, schedule, policy, replace_delay="20ms"):
    return f"""version: 1
name: {name}
seed: 1
platform: {{ kind: local }}
targets:
  - name: web
    select:
      managed:
        command: ["{{self}}", "target", "--port", "{{port}}"]
        replicas: {replicas}
        replace_delay: {replace_delay}
    health: {{ http: {{ path: /health }}, every: {health_every}, timeout: 1s }}
schedule: {schedule}
policy: {policy}
action: {{ kind: kill, signal: SIGKILL }}
recovery: {{ timeout: 10s, settle: 0s }}
report: {{ formats: [json] }}
"""


def part_watch(b):
    secs = b.args.watch_seconds
    out(f"Watching: 8 managed replicas, health checks every 20 ms, no kills, {secs:g} s")
    scenario = b.write(
        "watch.yaml",
        local_scenario(
            "bench-watch",
            8,
            "20ms",
            "{ duration: 1h, every: 1h, start_after: 1h }",
            "{ pick: 1, max_in_flight: 1, min_healthy: 1, min_age: 0s }",
        ),
    )
    out_dir = b.path("watch")
    os.mkdir(out_dir)
    p = b.start_firedrill(["run", scenario, "--out", out_dir, "--max-runtime", "10m"], "watch.log")
    journal = Journal(out_dir, p)
    journal.wait_for(lambda e: e.get("type") == "run_started", p, 60)
    time.sleep(1.0)  # past the start-up
    tck = os.sysconf("SC_CLK_TCK")
    u0, s0 = cpu_ticks(p.pid)
    t0 = time.monotonic()
    rss = []
    while time.monotonic() - t0 < secs:
        rss.append(proc_status(p.pid, "VmRSS"))
        time.sleep(0.25)
    u1, s1 = cpu_ticks(p.pid)
    wall = time.monotonic() - t0
    rss.append(proc_status(p.pid, "VmRSS"))
    b.stop(p)
    user = (u1 - u0) / tck / wall * 100
    system = (s1 - s0) / tck / wall * 100
    out(f"  CPU    {user + system:.1f}% of one core (user {user:.1f}%, system {system:.1f}%)")
    out(f"  RSS    {mib(rss[-1])} at the end, {mib(max(rss))} at most ({len(rss)} samples)")
    out("  (firedrill's own process; the replicas' CPU is not counted)")
    out()
    b.summary.append(
        f"watching 8 replicas at 20 ms: CPU {user + system:.1f}% of one core "
        f"(user {user:.1f}%, system {system:.1f}%), RSS {mib(rss[-1])}"
    )


# ----------------------------------------------------------------------------------------------
# 1,000 kills


def run_1000_kills(b, sample, extra=(), name="kills"):
    """A local run of 1,000 kills; with `sample`, VmRSS at kills 1, 100, 500 and 1,000.
    `extra` arguments go to `firedrill run`."""
    kills = 1000
    scenario = b.write(
        "kills.yaml",
        local_scenario(
            "bench-kills",
            8,
            "20ms",
            f"{{ duration: 30m, max_kills: {kills}, every: 100ms, jitter: 0s, start_after: 1s }}",
            "{ pick: 1, max_in_flight: 4, min_healthy: 2, min_age: 0s }",
        ),
    )
    out_dir = b.path(name)
    os.mkdir(out_dir)
    started = time.monotonic()
    p = b.start_firedrill(
        ["run", scenario, "--out", out_dir, "--max-runtime", "10m", *extra], f"{name}.log"
    )
    journal = Journal(out_dir, p)
    rss = {}
    last_note = time.monotonic()
    for k in (1, 100, 500, kills):
        journal.wait_for(lambda e, k=k: e.get("type") == "kill" and e.get("kill_id") == k, p, 600)
        if sample:
            rss[k] = proc_status(p.pid, "VmRSS")
            rss["hwm"] = proc_status(p.pid, "VmHWM")
        if time.monotonic() - last_note > 20:
            note(f"1,000 kills: at kill {k}")
            last_note = time.monotonic()
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        b.stop(p)
    if name == "kills":
        b.kills_run_dir = journal.run_dir
    return rss, time.monotonic() - started, p.returncode


def part_kills(b):
    out("RSS over 1,000 kills: 8 managed replicas, a kill every 100 ms, health every 20 ms")
    rss, took, code = run_1000_kills(b, sample=True)
    for k in (1, 100, 500, 1000):
        out(f"  after kill {k:>5}   VmRSS {mib(rss[k])}")
    grew = rss[1000] - rss[100]
    out(f"  kill 100 -> 1,000  {'+' if grew >= 0 else ''}{mib(grew)} ({grew / 900:+.1f} kB per kill)")
    out(f"  peak (VmHWM)       {mib(rss['hwm'])}")
    out(f"  run took {took:.0f} s, exit {code}")
    out()
    b.summary.append(
        f"RSS over 1,000 kills: {mib(rss[100])} at kill 100, {mib(rss[1000])} at kill 1,000 "
        f"({'+' if grew >= 0 else ''}{mib(grew)})"
    )


# ----------------------------------------------------------------------------------------------
# Live metrics


def scrape(port):
    """One GET /metrics as Prometheus sends it; (seconds taken, body bytes), or None."""
    import http.client

    t0 = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/metrics", headers={"Accept": "application/openmetrics-text"})
        body = conn.getresponse().read()
        conn.close()
    except OSError:
        return None
    return time.perf_counter() - t0, len(body)


def part_metrics(b):
    out("Live metrics over 1,000 kills: the `kills` run again, with --metrics-listen and a")
    out("scrape every 100 ms")
    import socket
    import threading

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    scrapes = []
    done = threading.Event()

    def scraper():
        while not done.is_set():
            got = scrape(port)
            if got is not None:
                scrapes.append(got)
            time.sleep(0.1)

    t = threading.Thread(target=scraper, daemon=True)
    t.start()
    try:
        rss, took, code = run_1000_kills(
            b,
            sample=True,
            extra=("--metrics-listen", f"127.0.0.1:{port}", "--metrics-linger", "0s"),
            name="metrics",
        )
    finally:
        done.set()
        t.join(5)
    if not scrapes:
        raise RuntimeError("no scrape succeeded")
    times = sorted(x[0] * 1e6 for x in scrapes)
    sizes = [x[1] for x in scrapes]
    p50 = times[len(times) // 2]
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    grew = rss[1000] - rss[100]
    out(f"  {len(scrapes)} scrapes; time per scrape p50 {ms(p50)}, p99 {ms(p99)}, max {ms(times[-1])}")
    out(f"  body {min(sizes)} to {max(sizes)} bytes")
    for k in (1, 100, 500, 1000):
        out(f"  after kill {k:>5}   VmRSS {mib(rss[k])}")
    out(f"  kill 100 -> 1,000  {'+' if grew >= 0 else ''}{mib(grew)} ({grew / 900:+.1f} kB per kill)")
    out(f"  run took {took:.0f} s, exit {code}")
    out()
    b.summary.append(
        f"live metrics, scraped every 100 ms over 1,000 kills: scrape p50 {ms(p50)}, p99 "
        f"{ms(p99)}; RSS {'+' if grew >= 0 else ''}{mib(grew)} from kill 100 to 1,000"
    )


# ----------------------------------------------------------------------------------------------
# Report


def truncated(entries_lines, kills):
    """The journal's lines before the `kill` line of kill `kills + 1` (all lines if none)."""
    for i, line in enumerate(entries_lines):
        if i and b'"type":"kill"' in line:
            e = json.loads(line)
            if e.get("type") == "kill" and e.get("kill_id") == kills + 1:
                return entries_lines[:i]
    return entries_lines


def part_report(b):
    if b.args.journal:
        src = b.args.journal
        if os.path.isdir(src):
            src = os.path.join(src, "journal.jsonl")
    else:
        if b.kills_run_dir is None:
            note("report: making a 1,000-kill journal first (about 100 s)")
            run_1000_kills(b, sample=False)
        src = os.path.join(b.kills_run_dir, "journal.jsonl")
    with open(src, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    total = sum(1 for line in lines if b'"type":"kill"' in line and json.loads(line)["type"] == "kill")
    runs = b.args.report_runs
    out(f"Report time: `firedrill report RUN_DIR` (all four formats), median of {runs} runs")
    out(f"  journal: {len(lines)} lines, {sum(map(len, lines)) / 1e6:.1f} MB, {total} kills")
    previous = None
    for kills in sorted({k for k in (100, 500, 1000) if k < total} | {total}):
        part = truncated(lines, kills)
        d = b.path(f"report-{kills}")
        os.mkdir(d)
        with open(os.path.join(d, "journal.jsonl"), "wb") as f:
            f.writelines(part)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            r = subprocess.run([b.binary, "report", d], capture_output=True)
            times.append((time.perf_counter() - t0) * 1000)
            if r.returncode not in (0, 1):
                raise RuntimeError(f"report {d}: exit {r.returncode}: {r.stderr[-500:]!r}")
        med = statistics.median(times)
        # The step from the previous size shows linearity; ms per kill alone hides the fixed
        # cost of starting the process and writing four files.
        step = ""
        if previous:
            step = f"   +{(med - previous[1]) / (kills - previous[0]):.3f} ms per kill since {previous[0]}"
        out(
            f"  {kills:>5} kills ({len(part):>6} lines)  {med:7.1f} ms  {med / kills:.3f} ms per kill"
            f"{step}   (min {min(times):.1f}, max {max(times):.1f})"
        )
        if kills == total:
            b.summary.append(f"report, {kills}-kill journal: {med:.0f} ms ({med / kills:.3f} ms per kill)")
        previous = (kills, med)
    out()


# ----------------------------------------------------------------------------------------------
# Size


def part_size(b):
    size = os.path.getsize(b.binary)
    out(f"Release binary: {size} bytes ({size / 1024 / 1024:.1f} MiB), {b.binary}")
    out()
    b.summary.append(f"release binary: {size / 1024 / 1024:.1f} MiB ({size} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--parts", required=True)
    ap.add_argument("--fleets", default="3,50")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--watch-seconds", type=float, default=10)
    ap.add_argument("--report-runs", type=int, default=9)
    ap.add_argument("--journal")
    ap.add_argument("--healthcheck", action="store_true")
    global _stopping
    args = ap.parse_args()
    args.parts = [p for p in args.parts.split(",") if p]
    for p in args.parts:
        if p not in PARTS:
            ap.error(f"unknown part {p!r}; the parts are {', '.join(PARTS)}")
    args.fleets = [int(n) for n in args.fleets.split(",") if n]
    if any(n < 2 for n in args.fleets):
        ap.error("each fleet needs at least 2 containers (min_healthy is 1)")

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    b = Bench(args)
    failed = []
    try:
        machine(b)
        for part in PARTS:
            if part not in args.parts:
                continue
            note(f"part {part}")
            try:
                globals()[f"part_{part}"](b)
            except Interrupted:
                raise
            except Exception as e:  # noqa: BLE001 - one part failing must not hide the others
                failed.append(part)
                out(f"  part {part} FAILED: {e}")
                out()
        if b.summary:
            out("Summary")
            for line in b.summary:
                out(f"  {line}")
        note(f"done in {time.monotonic() - STARTED:.0f} s")
    except Interrupted as e:
        note(f"interrupted ({e}); cleaning up")
        failed.append("interrupted")
    finally:
        # From here on a signal is ignored, so it cannot cut the cleanup short.
        _stopping = True
        b.cleanup()
    if "interrupted" in failed:
        sys.exit(130)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
