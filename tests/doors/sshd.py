"""A real OpenSSH server on loopback for the sftp inbox (``SECTORSTATS_INBOX_URL=sftp://…``): Debian's ``sshd``
started in a temporary folder of the test with its own configuration, host key and the test's client key, and
killed after it.

Airflow's ``ObjectStoragePath`` reaches ``sftp://`` through ``apache-airflow-providers-sftp`` (its
``airflow.providers.sftp.fs.sftp`` filesystem, which needs the ``sshfs`` extra: ``sshfs`` on ``asyncssh``). That
filesystem takes host, port, login and the ``key_file`` extra from the Airflow connection, never the URL's host,
so :meth:`Sshd.connection_env` gives the connection the pipeline needs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko

from tests.faults.servers import free_port

SSHD = Path("/usr/sbin/sshd")  # an absolute path: sshd re-executes itself for every connection
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
PRIVSEP_DIR = Path("/run/sshd")  # compiled into Debian's sshd; its systemd unit creates it, we have no unit


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, seconds: float = 10.0) -> None:
    """Until something accepts on ``127.0.0.1:port``, or a clear error with sshd's log if it died or never
    listened."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited ({proc.returncode}):\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"sshd does not listen on 127.0.0.1:{port} after {seconds} s:\n"
                       f"{log.read_text(errors='replace')}")


class Sshd:
    """An OpenSSH server on a free loopback port that lets in one user, root (the tests run as root), with the
    test's ed25519 key only (no password), and serves sftp (``internal-sftp``, no chroot).

    ``root`` is its own temporary folder (configuration, keys, pid file, ``sshd.log``); ``files`` below it is where
    the test puts what the sftp server serves (paths on the server are the same absolute paths)."""

    user = "root"

    def __init__(self) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("the sshd fixture logs in as root and needs to run as root")
        # sshd refuses key files readable by others and folders writable by others (StrictModes is off, but the
        # host key check is not StrictModes'): mkdtemp makes the folder 0700
        self.root = root = Path(tempfile.mkdtemp(prefix="sectorstats-sshd-"))
        self.files = root / "files"
        self.files.mkdir()
        self.port = free_port()
        self.host_key = root / "ssh_host_ed25519_key"
        self.client_key = root / "client_ed25519_key"
        for key, comment in ((self.host_key, "sectorstats-test-host"), (self.client_key, "sectorstats-test-client")):
            subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)], check=True,
                           stdin=subprocess.DEVNULL, capture_output=True)
        (root / "authorized_keys").write_text(Path(f"{self.client_key}.pub").read_text())
        self.known_hosts = root / "known_hosts"  # for the test's own uploads: the server's key, checked
        key_type, key_blob = Path(f"{self.host_key}.pub").read_text().split()[:2]
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {key_type} {key_blob}\n")
        self.config = root / "sshd_config"
        self.config.write_text(f"""
Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.host_key}
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
AllowUsers {self.user}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
X11Forwarding no
AllowTcpForwarding no
PermitTTY no
LogLevel VERBOSE
Subsystem sftp internal-sftp
""")
        self.log_path = root / "sshd.log"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        subprocess.run([str(SSHD), "-t", "-f", str(self.config)], check=True, stdin=subprocess.DEVNULL,
                       capture_output=True)
        # the daemon's streams go to a file: a daemon inheriting a pipe keeps whoever reads it waiting
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(self.config)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, start_new_session=True)
        _wait_for_port(self.port, self.proc, self.log_path)

    def stop(self) -> None:
        """Kill the server and the session processes it forked (all in the process group it leads)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @contextlib.contextmanager
    def uploader(self) -> Iterator[paramiko.SFTPClient]:
        """An sftp session as a district's upload program opens one (paramiko, the provider's own dependency):
        the test's key, and the server's host key checked against :attr:`known_hosts`."""
        client = paramiko.SSHClient()
        client.load_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect("127.0.0.1", port=self.port, username=self.user, key_filename=str(self.client_key),
                       look_for_keys=False, allow_agent=False, timeout=10)
        try:
            with client.open_sftp() as sftp:
                yield sftp
        finally:
            client.close()

    def url(self, path: Path) -> str:
        """``sftp://127.0.0.1:<port><path>`` for an absolute path on the server (below :attr:`files`)."""
        return f"sftp://127.0.0.1:{self.port}{path}"

    def connection_env(self, conn_id: str | None = None) -> dict[str, str]:
        """The Airflow connection (an ``AIRFLOW_CONN_*`` variable) for this server, as
        ``apache-airflow-providers-sftp``'s filesystem reads it: host, port, login and ``key_file``.

        The default id carries the port: Airflow caches one filesystem per (scheme, connection id) in a process
        (``airflow.sdk.io.store._STORE_CACHE``), so a second server under the same id would get the first's."""
        conn_id = conn_id or self.conn_id
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps({
            "conn_type": "sftp", "host": "127.0.0.1", "port": self.port, "login": self.user,
            "extra": {"key_file": str(self.client_key)}})}

    @property
    def conn_id(self) -> str:
        return f"sftp_inbox_{self.port}"

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
