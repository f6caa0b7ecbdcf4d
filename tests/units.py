"""Runs a unit's ExecStart as systemd would: an unprivileged uid, its credentials alone, no home.

What a root shell hides and systemd does not: the service runs under a user of its own (a dynamic
uid here), sees /root and /home empty (ProtectHome=), a /tmp of its own (PrivateTmp=), the whole
file system read-only but its state directory (ProtectSystem=strict), gets only the Environment=
and EnvironmentFile= of its unit plus what systemd itself sets (HOME=/, CREDENTIALS_DIRECTORY, a
NOTIFY_SOCKET for Type=notify, STATE_DIRECTORY), and reads its LoadCredential= files from a
directory only it can read. Files an install wrote into a staging tree appear at their real paths
(/etc, /var/lib) through an overlay in a private mount namespace, so the unit's lines run verbatim.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
INSIDE = "/run/vhd-unit"  # where the service sees this run's folder, as systemd's /run/credentials
INSIDE_CREDENTIALS = f"{INSIDE}/credentials"
OVERLAID = ("etc", "var/lib")


@dataclass
class Unit:
    """The [Service] settings this runner honours, from a unit file and its drop-ins."""

    exec_start: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    environment_files: list[str] = field(default_factory=list)
    credentials: dict[str, str] = field(default_factory=dict)
    notify: bool = False
    state_directory: str = ""
    working_directory: str = ""
    protect_system: str = ""
    private_tmp: bool = False
    protect_home: bool = False

    @classmethod
    def parse(cls, *texts: str) -> Unit:
        unit = cls([])
        for text in texts:
            section = ""
            for raw in text.splitlines():
                line = raw.strip()
                if not line or line.startswith(("#", ";")):
                    continue
                if line.startswith("["):
                    section = line
                    continue
                if section != "[Service]":
                    continue
                key, _, value = line.partition("=")
                if key == "ExecStart":
                    unit.exec_start = shlex.split(value) if value else []
                elif key == "Environment":
                    unit.environment.update(_assignments(value))
                elif key == "EnvironmentFile":
                    unit.environment_files.append(value)
                elif key == "LoadCredential":
                    name, _, path = value.partition(":")
                    unit.credentials[name] = path
                elif key == "Type":
                    unit.notify = value == "notify"
                elif key == "StateDirectory":
                    unit.state_directory = value
                elif key == "WorkingDirectory":
                    unit.working_directory = value
                elif key == "ProtectSystem":
                    unit.protect_system = value
                elif key == "PrivateTmp":
                    unit.private_tmp = value == "yes"
                elif key == "ProtectHome":
                    unit.protect_home = value == "yes"
        return unit


def _assignments(text: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in shlex.split(text) if "=" in word)


def _expand(word: str, env: dict[str, str]) -> str:
    for name, value in env.items():
        word = word.replace("${" + name + "}", value)
    return word


class ServiceRun:
    """One run of a unit's ExecStart; `proc` is the process, `ready()` waits for READY=1."""

    def __init__(self, unit: Unit, tree: Path | None, uid: int = 61871, cwd_repo: Path | None = None):
        self.unit, self.tree, self.uid = unit, tree, uid
        self.base = Path(tempfile.mkdtemp(prefix="vhd-unit-", dir="/tmp"))
        os.chmod(self.base, 0o755)
        self.creds = self.base / "credentials"
        self.notify_path = self.base / "notify.sock"
        self.sock: socket.socket | None = None
        self.proc: subprocess.Popen | None = None
        self.repo = cwd_repo

    def _real(self, path: str) -> Path:
        """Where a path of the unit is on this machine (in the tree for what an install wrote)."""
        if self.tree and any(path.startswith(f"/{top}/") for top in OVERLAID):
            candidate = self.tree / path.lstrip("/")
            if candidate.exists():
                return candidate
        return Path(path)

    def environment(self) -> dict[str, str]:
        env = {"PATH": SYSTEMD_PATH, "HOME": "/", "USER": str(self.uid), "LOGNAME": str(self.uid),
               "SHELL": "/usr/sbin/nologin", "INVOCATION_ID": os.urandom(16).hex()}
        env.update({k: v.replace("%d", INSIDE_CREDENTIALS) for k, v in self.unit.environment.items()})
        for spec in self.unit.environment_files:
            optional = spec.startswith("-")
            path = self._real(spec.lstrip("-"))
            if not path.exists():
                assert optional, f"EnvironmentFile {spec} is missing"
                continue
            for line in path.read_text().splitlines():
                if line.strip() and not line.lstrip().startswith(("#", ";")):
                    env.update(_assignments(line))
        if self.unit.credentials:
            env["CREDENTIALS_DIRECTORY"] = INSIDE_CREDENTIALS
        if self.unit.state_directory:
            env["STATE_DIRECTORY"] = f"/var/lib/{self.unit.state_directory}"
        if self.unit.notify:
            env["NOTIFY_SOCKET"] = f"{INSIDE}/notify.sock"
        return env

    def start(self, **popen) -> ServiceRun:
        self.creds.mkdir(mode=0o700)
        for name, source in self.unit.credentials.items():
            shutil.copyfile(self._real(source), self.creds / name)
            os.chown(self.creds / name, self.uid, self.uid)
            os.chmod(self.creds / name, 0o400)
        os.chown(self.creds, self.uid, self.uid)
        os.chmod(self.creds, 0o500)
        if self.unit.notify:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.bind(str(self.notify_path))
            os.chmod(self.notify_path, 0o777)
        env = self.environment()
        argv = [_expand(w.replace("%d", INSIDE_CREDENTIALS), env) for w in self.unit.exec_start]
        q = shlex.quote
        repo = str(self.repo) if self.repo else ""
        # 1. what must stay reachable once /tmp, /root and /home are covered: this run's folder
        #    (credentials, notify socket) where systemd keeps such things, and the checkout
        mounts = ["mount -t tmpfs -o mode=0755 tmpfs /run", f"mkdir -p {INSIDE} /run/vhd-repo",
                  f"mount --bind {self.base} {INSIDE}"]
        if repo:
            mounts.append(f"mount --bind {q(repo)} /run/vhd-repo")
        # 2. the install's tree over the real /etc and /var/lib
        for top in OVERLAID if self.tree else ():
            upper, work = self.tree / top, self.base / "work" / top
            upper.mkdir(parents=True, exist_ok=True)
            work.mkdir(parents=True)
            mounts.append(f"mount -t overlay overlay -o lowerdir=/{top},upperdir={upper},workdir={work} /{top}")
        if self.unit.state_directory:
            state = f"/var/lib/{self.unit.state_directory}"
            mounts.append(f"mkdir -p {state} && chown {self.uid}:{self.uid} {state} && chmod 0750 {state}")
        # 3. PrivateTmp=, ProtectHome=: empty; the checkout put back where it was if it lived there
        covered = [d for d, on in (("/tmp", self.unit.private_tmp), ("/root", self.unit.protect_home),
                                   ("/home", self.unit.protect_home)) if on]
        mounts += [f"mount -t tmpfs -o mode=1777 tmpfs {d}" if d == "/tmp" else f"mount -t tmpfs -o mode=0755 tmpfs {d}"
                   for d in covered]
        if repo and any(repo.startswith(d + "/") for d in covered):
            mounts.append(f"mkdir -p {q(repo)} && mount --bind /run/vhd-repo {q(repo)}")
        # 4. ProtectSystem=strict: everything read-only but the state directory (its own mount)
        if self.unit.protect_system == "strict":
            mounts.append("mount -o remount,bind,ro /")
            if self.tree:
                mounts.append("mount -o remount,bind,ro /etc")
        cwd = self.unit.working_directory or "/"
        script = " && ".join([*mounts, f"cd {q(cwd)}",
                              f"exec setpriv --reuid={self.uid} --regid={self.uid} --clear-groups "
                              f"--no-new-privs -- {shlex.join(argv)}"])
        self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                     env=env, **popen)
        return self

    def ready(self, timeout: float = 60) -> bool:
        """True once the service sent READY=1 on its notify socket."""
        assert self.sock is not None
        self.sock.settimeout(timeout)
        try:
            while True:
                message = self.sock.recv(4096).decode()
                if "READY=1" in message.split("\n"):
                    return True
        except TimeoutError:
            return False

    def stop(self, timeout: float = 30) -> int | None:
        code = None
        if self.proc:
            if self.proc.poll() is None:
                self.proc.terminate()
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait(10)
        if self.sock:
            self.sock.close()
        shutil.rmtree(self.base, ignore_errors=True)
        return code
