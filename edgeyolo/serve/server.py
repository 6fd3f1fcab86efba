"""Start and stop the `tritonserver` binary that ships in the `nvidia-pytriton` wheel.

Only the wheel's server build is used (``pytriton/tritonserver/`` and its shared libraries in
``nvidia_pytriton.libs/``), not PyTriton's Python API: edgeyolo serves the repository that
``export --format triton --ensemble`` writes, the same one an NGC Triton container loads.

The Python backend's stub embeds the system's ``libpython3.X`` and takes its ``sys.prefix`` from the first
``python3`` on ``PATH``; the server is started with this interpreter's ``bin`` folder first on ``PATH``,
so the stub runs in the same (virtual) environment as edgeyolo and imports ``edgeyolo.runtime``,
onnxruntime and OpenCV from it — no ``sys.path`` edits and no packed ``EXECUTION_ENV_PATH`` archive.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from edgeyolo.errors import EdgeYoloError

WHEEL = "nvidia-pytriton==0.7.0"
INSTALL_HINT = (
    f"pip install 'edgeyolo[serve]' && pip install --no-deps '{WHEEL}' "
    "(the wheel carries the tritonserver binary; --no-deps because its own Python API pins numpy<2, "
    "which edgeyolo does not use)"
)


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """`n` distinct TCP ports free on `host` right now (for tests and benchmarks)."""
    socks = []
    try:
        for _ in range(n):
            sock = socket.socket()
            sock.bind((host, 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


class ServeError(EdgeYoloError):
    """The Triton server cannot be found, started or reached."""


def triton_dist() -> tuple[Path, Path]:
    """(tritonserver folder, shared-library folder) of the installed `nvidia-pytriton` wheel."""
    spec = importlib.util.find_spec("pytriton")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ServeError(f"the Triton server binary is not installed: {INSTALL_HINT}")
    root = Path(next(iter(spec.submodule_search_locations)))
    dist, libs = root / "tritonserver", root.parent / "nvidia_pytriton.libs"
    if not (dist / "bin" / "tritonserver").is_file() or not libs.is_dir():
        raise ServeError(
            f"{root} holds no tritonserver build (a source install of pytriton?): {INSTALL_HINT}"
        )
    return dist, libs


def python_stub(dist: Path) -> Path:
    """The Python-backend stub for this interpreter's version; checks the libpython it links exists."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = dist / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise ServeError(f"the Triton wheel has no Python-backend stub for Python {version}")
    if ctypes.util.find_library(f"python{version}") is None:
        raise ServeError(
            f"Triton's Python-backend stub needs the shared library libpython{version}.so.1.0, which is not "
            f"installed: on Debian/Ubuntu apt-get install libpython{version}"
        )
    return stub


class TritonServer:
    """A `tritonserver` process serving `repository`; use as a context manager or call start/stop."""

    def __init__(
        self,
        repository: str | Path,
        *,
        host: str = "127.0.0.1",
        http_port: int = 8000,
        grpc_port: int = 8001,
        metrics_port: int = 8002,
        log_file: str | Path | None = None,
        exit_timeout_s: int = 10,
    ) -> None:
        self.repository = Path(repository).resolve()
        self.host, self.http_port, self.grpc_port, self.metrics_port = (
            host,
            http_port,
            grpc_port,
            metrics_port,
        )
        self.exit_timeout_s = exit_timeout_s
        self._work = tempfile.TemporaryDirectory(prefix="edgeyolo-triton-")
        self.log_file = Path(log_file) if log_file else Path(self._work.name) / "tritonserver.log"
        self.process: subprocess.Popen | None = None
        # the Python backend's shared-memory regions get a name of ours, so none outlives a killed server
        self.shm_prefix = f"edgeyolo_triton_{os.getpid()}_{uuid.uuid4().hex[:8]}_"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def client_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host

    @property
    def http_url(self) -> str:
        return f"{self.client_host}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{self.client_host}:{self.grpc_port}"

    def command(self) -> tuple[list[str], dict[str, str]]:
        """The tritonserver command line and environment (backends folder prepared in a temp dir)."""
        dist, libs = triton_dist()
        stub = python_stub(dist)
        backends = Path(self._work.name) / "backends"
        python = backends / "python"
        if not python.is_dir():
            python.mkdir(parents=True)
            for item in (dist / "backends" / "python").iterdir():
                if item.is_file():
                    (python / item.name).symlink_to(item)
            (python / "triton_python_backend_stub").symlink_to(stub)
        cmd = [
            str(dist / "bin" / "tritonserver"),
            f"--model-repository={self.repository}",
            f"--backend-directory={backends}",
            f"--cache-directory={dist / 'caches'}",
            f"--http-address={self.host}",
            f"--http-port={self.http_port}",
            f"--grpc-address={self.host}",
            f"--grpc-port={self.grpc_port}",
            "--allow-metrics=true",
            "--allow-gpu-metrics=false",
            f"--metrics-address={self.host}",
            f"--metrics-port={self.metrics_port}",
            f"--exit-timeout-secs={self.exit_timeout_s}",
            "--strict-readiness=true",
            f"--backend-config=python,shm-region-prefix-name={self.shm_prefix}",
        ]
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [env.get("LD_LIBRARY_PATH"), str(libs)]))
        # the stub's embedded Python takes sys.prefix from the first python3 on PATH: this environment's
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        return cmd, env

    def start(self, timeout_s: float = 120.0, models: tuple[str, ...] = ()) -> TritonServer:
        """Start the server and wait (at most `timeout_s`) until it and `models` are ready."""
        if self.process is not None:
            raise ServeError("this server is already started")
        if not self.repository.is_dir():
            raise ServeError(f"model repository {self.repository} is not a folder")
        cmd, env = self.command()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            # its own session: a terminal's Ctrl-C reaches edgeyolo, which stops the server in order
            self.process = subprocess.Popen(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        paths = ["/v2/health/ready", *(f"/v2/models/{m}/ready" for m in models)]
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                raise ServeError(f"tritonserver exited with status {code} while starting:\n{self.log_tail()}")
            if all(self._get(p) == 200 for p in paths):
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise ServeError(f"tritonserver was not ready within {timeout_s:.0f} s:\n{self.log_tail()}")
            time.sleep(0.2)

    def _get(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(f"http://{self.http_url}{path}", timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError):
            return None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> int | None:
        """Stop the server (SIGTERM, then SIGKILL after its exit timeout) and every process it started."""
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(self.exit_timeout_s + 10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Python-backend stubs live in the server's process group; none may outlive it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        for region in Path("/dev/shm").glob(f"{self.shm_prefix}*"):
            region.unlink(missing_ok=True)
        self.process = None
        return proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        self.stop()
        self._work.cleanup()

    def __enter__(self) -> TritonServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
