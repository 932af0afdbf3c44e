"""The local stack's PostgreSQL (stack.py): the store of its MLflow server, run from the machine's own PostgreSQL.

Its data lives in .stack/postgres, written without fsync and made anew by every `up` (a scratch store). It listens on
127.0.0.1 only, with no Unix socket (nothing under /var/run), and `make down` stops it by its own PID. Clients sign in
as `stack` with a random password kept in .stack/postgres.password (mode 0600) and handed over in PGPASSWORD, never on a
command line: other users of a shared machine cannot reach it. PostgreSQL refuses to run as root; as root (CI,
containers) it runs as the `postgres` system user, keeping one capability (CAP_DAC_READ_SEARCH) so that it can reach a
data folder below folders only root may enter.
"""

import glob
import os
import pwd
import re
import secrets
import shutil
import subprocess
from pathlib import Path

from ..errors import ProjectError

USER = "stack"
DATABASE = "mlflow"
PROGRAMS = ("initdb", "postgres", "pg_isready", "createdb")
# Debian and Ubuntu install the server programs here, not on PATH
INSTALL_DIRS: tuple[str, ...] = ("/usr/lib/postgresql/*/bin",)


class PostgresMissing(ProjectError):
    """No PostgreSQL server programs, or no user to run them as: the message says what to install."""

    headline = "PostgreSQL missing"


def find_bindir(search_path: str | None = None, install_dirs: tuple[str, ...] | None = None) -> Path:
    """The folder of initdb and postgres: the one on PATH, else the newest of Debian's versioned folders."""
    on_path = shutil.which("initdb", path=search_path)
    found = [Path(on_path).resolve().parent] if on_path else []
    patterns = INSTALL_DIRS if install_dirs is None else install_dirs
    versioned = [Path(d) for pattern in patterns for d in glob.glob(pattern)]
    found += sorted(versioned, key=lambda d: [int(n) for n in re.findall(r"\d+", d.parent.name)], reverse=True)
    for bindir in found:
        if all(os.access(bindir / program, os.X_OK) for program in PROGRAMS):
            return bindir
    raise PostgresMissing(
        "`make up` needs PostgreSQL's server programs (initdb, postgres): install PostgreSQL "
        "(Debian/Ubuntu: apt-get install postgresql) or put the folder that holds initdb on PATH"
    )


class LocalPostgres:
    """initdb once, the server's command line, the `mlflow` database and its URI, for a data folder under `state`."""

    def __init__(self, state: Path):
        self.bindir = find_bindir()
        self.run_as = _server_user()
        self.data = state / "postgres"
        self.password_file = state / "postgres.password"

    def init(self) -> None:
        """A new, empty cluster on every `up` (clear): moto keeps the stack's S3 in memory, so the runs of an earlier
        `up` would point at artifacts that are gone."""
        clear(self.data.parent)
        self.password_file.touch(mode=0o600)
        self.password_file.write_text(secrets.token_urlsafe(24))
        self.data.mkdir(mode=0o700)
        if self.run_as:  # initdb fills the folder as the server's user
            user = pwd.getpwnam("postgres")
            os.chown(self.data, user.pw_uid, user.pw_gid)
        initdb = [str(self.bindir / "initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={self.password_file}"]
        initdb += ["--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions", "--no-sync"]
        done = subprocess.run([*self.run_as, *initdb], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"initdb failed:\n{done.stdout}{done.stderr}")

    def command(self, port: int) -> list[str]:
        server = [str(self.bindir / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(port)]
        # fsync off: a scratch store for trying the profile (moto's S3 beside it keeps its objects in memory)
        return [*self.run_as, *server, "-c", "unix_socket_directories=", "-c", "fsync=off"]

    def client_env(self) -> dict[str, str]:
        return {"PGPASSWORD": self.password_file.read_text().strip()}

    def ready(self, port: int) -> bool:
        probe = [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]
        return subprocess.run(probe).returncode == 0

    def create_database(self, port: int) -> None:
        createdb = [str(self.bindir / "createdb"), "-w", "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE]
        done = subprocess.run(createdb, env=os.environ | self.client_env(), capture_output=True, text=True)
        if done.returncode and "already exists" not in done.stderr:
            raise RuntimeError(f"createdb failed: {done.stderr}")

    def uri(self, port: int) -> str:
        """SQLAlchemy's URI for the database, through psycopg2 (SQLAlchemy 2.1's default driver is psycopg 3, not in
        the lock); the password comes from PGPASSWORD."""
        return f"postgresql+psycopg2://{USER}@127.0.0.1:{port}/{DATABASE}"


def clear(state: Path) -> None:
    """Remove an earlier `up`'s cluster and password under `state` (the stack's folder)."""
    shutil.rmtree(state / "postgres", ignore_errors=True)
    (state / "postgres.password").unlink(missing_ok=True)


def _server_user() -> list[str]:
    """The prefix that runs initdb and postgres: none for a normal user; as root, the `postgres` system user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresMissing(
            "as root, `make up` runs PostgreSQL as the `postgres` system user and there is none: install PostgreSQL's "
            "package (it creates the user) or run `make up` as a normal user"
        ) from None
    user = ["--reuid=postgres", "--regid=postgres", "--init-groups"]
    return ["setpriv", *user, "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", "--"]
