"""Mapping files shipped with ctibridge for well-known CRMs: ``mapping: preset:NAME``.

A preset is an ordinary mapping file (docs/crm/<name>.md says what it expects in
``crm.variables`` and the environment); copy it to change it.
"""

from __future__ import annotations

from pathlib import Path

PREFIX = "preset:"
FOLDER = Path(__file__).parent


def names() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.yaml"))


def resolve(spec: str, base_dir: Path | None = None) -> Path:
    """The file ``spec`` names: ``preset:NAME`` or a path (relative to ``base_dir``)."""
    if spec.startswith(PREFIX):
        name = spec[len(PREFIX):]
        if name not in names():
            raise ValueError(f"unknown CRM preset {name!r}; the presets are: "
                             + ", ".join(names()))
        return FOLDER / f"{name}.yaml"
    path = Path(spec).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return path
