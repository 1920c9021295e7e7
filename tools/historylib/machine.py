"""Machine names: one series per hardware, and the reference series refreshed only on purpose.

asv reads machine descriptions from ``~/.asv-machine.json`` and copies the one it runs under into
``results/<name>/machine.json``. The tools never call ``asv machine --yes`` (which records only
the name when given ``--machine``): they write the full description themselves, so the copy asv
makes is complete, and they refuse a name whose committed ``machine.json`` describes other
hardware.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .proc import ToolError

REFERENCE_MACHINE = "agentfarm-reference"
HARDWARE_FIELDS = ("cpu", "num_cpu", "ram", "arch", "os")
# Reported RAM moves by a few MB between kernels on the same VM type.
RAM_TOLERANCE = 0.02
# The kernel release's build suffix ("6.18.44-fc-v657" vs "6.18.44-fc-v1045") changes with the
# VM image a machine of the same kind boots, not with its hardware; the release before it counts.
_KERNEL_BUILD_SUFFIX = re.compile(r"^(\S+ \d+(?:\.\d+)*)-\S*$")


def os_release(os_field: str) -> str:
    """``"Linux 6.18.44-fc-v657"`` -> ``"Linux 6.18.44"``: the system and kernel release, no build suffix."""
    match = _KERNEL_BUILD_SUFFIX.match(os_field.strip())
    return match.group(1) if match else os_field.strip()


def hardware() -> dict[str, str]:
    """This machine as asv describes it: ``{"cpu", "num_cpu", "ram", "arch", "os"}`` (strings)."""
    from asv.machine import Machine

    defaults = Machine.get_defaults()
    return {field: str(defaults[field]) for field in HARDWARE_FIELDS}


def cpu_identity(cpuinfo: str | None = None) -> str:
    """This host's processor, closer than asv's ``cpu`` field: ``/proc/cpuinfo``'s model name, family,
    model, clock and widest vector instructions, e.g. ``"AMD EPYC (family 23, model 1, 1996 MHz, AVX2)"``.

    asv records the model name alone, and the hosts behind one machine kind report the same name
    for different processor generations (``"AMD EPYC"`` for a 2.0 GHz family-23 host that ran the
    series' floors x1.3-1.8 slower). The host check names this so that a refused host reads as
    other hardware, not as noise.

    Args:
        cpuinfo: the text of ``/proc/cpuinfo`` (default: read it).

    Returns:
        The description; ``""`` where ``/proc/cpuinfo`` cannot be read (not Linux).
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor describes them all
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    if not fields:
        return ""
    details = [f"family {fields['cpu family']}" if "cpu family" in fields else "",
               f"model {fields['model']}" if "model" in fields else ""]
    try:
        details.append(f"{float(fields['cpu MHz']):.0f} MHz")
    except (KeyError, ValueError):
        pass
    flags = set(fields.get("flags", "").split())
    details.append("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2")
    return f"{fields.get('model name', 'unknown CPU')} ({', '.join(d for d in details if d)})"


def derived_name(info: dict[str, str]) -> str:
    """``<cpu-model-slug>-<ncores>c-<ramGiB>g``, e.g. ``intel-xeon-2-80ghz-2c-24g``."""
    cpu = info.get("cpu", "") or "cpu"
    cpu = re.sub(r"\((r|tm)\)|\b(cpu|processor|with|radeon graphics)\b|\d+-core", " ", cpu, flags=re.IGNORECASE)
    slug = re.sub(r"[^a-z0-9]+", "-", cpu.lower()).strip("-")[:40].strip("-") or "cpu"
    try:
        ram_gib = round(int(info.get("ram", "0")) / 2**30)
    except ValueError:
        ram_gib = 0
    return f"{slug}-{info.get('num_cpu', '0')}c-{ram_gib}g"


def mismatches(committed: dict, info: dict[str, str]) -> list[str]:
    """The hardware fields in which ``info`` differs from a committed ``machine.json``."""
    bad = []
    for field in HARDWARE_FIELDS:
        want, have = str(committed.get(field, "")), str(info.get(field, ""))
        if field == "ram" and want.isdigit() and have.isdigit():
            if abs(int(have) - int(want)) > RAM_TOLERANCE * int(want):
                bad.append(f"ram {have} != {want}")
        elif field == "os" and os_release(want) == os_release(have):
            continue
        elif want != have:
            bad.append(f"{field} {have!r} != {want!r}")
    return bad


def resolve(name: str | None, results_dir: Path, info: dict[str, str] | None = None) -> dict:
    """The full machine description to run under ``name`` (None: derived from the hardware).

    Args:
        name: machine name, or None for :func:`derived_name`.
        results_dir: the results directory whose ``<name>/machine.json`` may be committed.
        info: this machine's hardware (default: :func:`hardware`).

    Returns:
        The description asv will copy into ``results_dir/<name>/machine.json``: the committed
        one, unchanged, when it exists and matches this hardware.

    Raises:
        ToolError: ``results_dir/<name>/machine.json`` describes other hardware.
    """
    info = info or hardware()
    name = name or derived_name(info)
    committed_path = results_dir / name / "machine.json"
    if committed_path.exists():
        committed = json.loads(committed_path.read_text())
        bad = mismatches(committed, info)
        if bad:
            hint = (" (the reference series is refreshed only on its own hardware)" if name == REFERENCE_MACHINE
                    else "")
            raise ToolError(f"machine {name!r} is other hardware: {'; '.join(bad)}{hint}; "
                            f"omit --machine to measure this machine as {derived_name(info)!r}")
        return {key: value for key, value in committed.items() if key != "version"}
    return {"machine": name, **info}


def ensure_machine(name: str | None, results_dir: Path, machine_file: Path | None = None) -> str:
    """Record the machine ``name`` (see :func:`resolve`) where asv reads it; returns the name.

    Args:
        name: machine name, or None for the hardware-derived one.
        results_dir: results directory (its ``<name>/machine.json`` is checked, never written).
        machine_file: asv's machine file (default ``~/.asv-machine.json``).
    """
    from asv.machine import MachineCollection

    description = resolve(name, results_dir)
    MachineCollection.save(description["machine"], description, _path=str(machine_file) if machine_file else None)
    return description["machine"]
