"""A real PostgreSQL server from Debian's packages, in a data folder of our own, on a port of ours.

Installed with apt-get when missing. Run as the `postgres` system user when we are root
(PostgreSQL refuses to run as root). Loopback only; passwords over TCP (scram-sha-256).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tools.infra.common import InfraError, port_open, read_pid, run, wait_until

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "postgres"
APP_USER = "modqa"
APP_PASSWORD = "modqa"
APP_DATABASE = "modqa"


def pg_bin() -> Path:
    """The newest installed PostgreSQL server's bin folder; installs the Debian package if none."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise InfraError(
            "PostgreSQL is not installed; run `sudo apt-get install postgresql`, or set "
            "MODQA_DATABASE_URL to a server you already have"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], what="apt-get update", env=env)
    run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
        what="installing PostgreSQL from Debian's packages",
        env=env,
    )
    return pg_bin()


@dataclass
class PostgresServer:
    """One PostgreSQL cluster whose data and log live under `home`."""

    home: Path
    port: int = 5432

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "postgres.log"

    def url(
        self, database: str = APP_DATABASE, *, user: str = APP_USER, password: str = APP_PASSWORD
    ) -> str:
        """An asyncpg SQLAlchemy URL for a database on this server."""
        return f"postgresql+asyncpg://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def running_pid(self) -> int | None:
        return (
            read_pid(self.data / "postmaster.pid")
            if (self.data / "postmaster.pid").exists()
            else None
        )

    def start(self, *, timeout_s: float = 60) -> None:
        """initdb on first start, start the server, create the modqa role and database."""
        bin_dir = pg_bin()
        user = SUPERUSER if os.geteuid() == 0 else None
        if self.running_pid() is None:
            if port_open(self.port):
                raise InfraError(
                    f"port {self.port} is already in use by another process; stop it, or point "
                    "MODQA_DATABASE_URL at that server to use it instead"
                )
            self._init(bin_dir, user)
            self.log_file.touch()
            if user:
                shutil.chown(self.log_file, user)
            run(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log_file),
                    "-o",
                    f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1",
                    "-w",
                    "-t",
                    str(int(timeout_s)),
                    "start",
                ],
                what=f"starting PostgreSQL on port {self.port}",
                user=user,
            )
        wait_until(
            lambda: port_open(self.port),
            timeout_s=timeout_s,
            what=f"PostgreSQL on port {self.port}",
            log=self.log_file,
        )
        self._ensure_app_database(bin_dir)

    def stop(self) -> None:
        """Fast shutdown: roll back open transactions and stop."""
        if self.running_pid() is None:
            return
        user = SUPERUSER if os.geteuid() == 0 else None
        run(
            [str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
            what="stopping PostgreSQL",
            user=user,
        )

    def kill(self) -> None:
        """SIGKILL the postmaster (chaos); the next start recovers from the WAL."""
        pid = self.running_pid()
        if pid is not None:
            os.kill(pid, 9)

    def _init(self, bin_dir: Path, user: str | None) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(parents=True, exist_ok=True)
        pwfile = self.home / "superuser.pw"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        if user:
            for path in (self.home, self.data, pwfile):
                shutil.chown(path, user)
        run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            what="initdb",
            user=user,
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# modqa local settings\nmax_connections = 300\nshared_buffers = 256MB\n"
                "fsync = on\nsynchronous_commit = on\nlog_min_messages = warning\n"
            )

    def _ensure_app_database(self, bin_dir: Path) -> None:
        env = {**os.environ, "PGPASSWORD": SUPERUSER_PASSWORD}
        psql = [
            str(bin_dir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qtAc",
        ]
        exists = subprocess.run(
            [*psql, f"SELECT 1 FROM pg_roles WHERE rolname='{APP_USER}'"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if exists.stdout.strip() != "1":
            run(
                [*psql, f"CREATE ROLE {APP_USER} LOGIN CREATEDB PASSWORD '{APP_PASSWORD}'"],
                what="creating the modqa role",
                env=env,
            )
        exists = subprocess.run(
            [*psql, f"SELECT 1 FROM pg_database WHERE datname='{APP_DATABASE}'"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if exists.stdout.strip() != "1":
            run(
                [*psql, f"CREATE DATABASE {APP_DATABASE} OWNER {APP_USER}"],
                what="creating the modqa database",
                env=env,
            )
