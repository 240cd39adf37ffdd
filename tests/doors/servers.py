"""Real servers on loopback for the doors: Dovecot (IMAP) and OpenSSH's sftp server, each started in a temporary
folder of the test with its own configuration, users and keys, and stopped after it. Debian's packages
(``dovecot-imapd``, ``openssh-server``) are installed by ``.ci/system-deps`` when missing."""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.faults.servers import free_port

DOVECOT = Path("/usr/sbin/dovecot")
SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")


def _wait_for_port(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


class Dovecot:
    """An IMAP server with one mailbox user (``sectorstats``) whose messages the test appends with IMAP APPEND,
    each with the INTERNALDATE it chooses (the time the mail server received it)."""

    user = "sectorstats"
    password = "imap-test-password"

    def __init__(self) -> None:
        # its own folder, which Dovecot's unprivileged processes can traverse (pytest's tmp_path is 0700 root's)
        self.root = root = Path(tempfile.mkdtemp(prefix="sectorstats-dovecot-"))
        os.chmod(root, 0o755)
        self.port = free_port()
        if os.geteuid() == 0:  # Dovecot never runs mail or login processes as root
            internal, login, mail_user = "dovecot", "dovenull", "dovecot"
        else:
            internal = login = mail_user = pwd.getpwuid(os.geteuid()).pw_name
        for sub in ("run", "state", "mail"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        (root / "dovecot.conf").write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
mail_uid = {mail_user}
mail_gid = {mail_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
""")
        if os.geteuid() == 0:
            shutil.chown(root / "mail", mail_user, mail_user)
        self.start()

    def start(self) -> None:
        # the daemon inherits its starter's streams: never a pipe the test would wait on
        with open(self.root / "start.log", "ab") as out:
            subprocess.run([str(DOVECOT), "-c", str(self.root / "dovecot.conf")], check=True,
                           stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        _wait_for_port(self.port)

    def stop(self) -> None:
        subprocess.run([str(DOVECOT), "-c", str(self.root / "dovecot.conf"), "stop"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while (self.root / "run" / "master.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def deliver(self, raw: bytes, received: dt.datetime, folder: str = "INBOX") -> int:
        """Put a message into ``folder`` as the mail server would, received at ``received`` (aware); its UID."""
        imap = self.client()
        try:
            status, data = imap.append(f'"{folder}"', None, imaplib.Time2Internaldate(received), raw)
            assert status == "OK", data
            return int(data[0].split()[2].rstrip(b"]"))  # [APPENDUID <validity> <uid>]
        finally:
            imap.logout()

    def uids(self, folder: str) -> list[int]:
        imap = self.client()
        try:
            status, _ = imap.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return []
            return sorted(int(u) for u in imap.uid("SEARCH", "ALL")[1][0].split())
        finally:
            imap.logout()

    def flags(self, folder: str) -> list[str]:
        imap = self.client()
        try:
            imap.select(f'"{folder}"', readonly=True)
            data = imap.fetch("1:*", "(FLAGS)")[1]
            return [d.decode() for d in data if d]
        finally:
            imap.logout()

    def connection_env(self, conn_id: str = "imap_sectorstats", **extra: object) -> dict[str, str]:
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps({
            "conn_type": "imap", "host": "127.0.0.1", "port": self.port, "login": self.user,
            "password": self.password, "extra": {"security": "none", **extra}})}

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def kill_process_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
