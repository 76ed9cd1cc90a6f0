"""requirements.lock is what every machine installs: each dependency pyproject.toml names is
pinned there at a version it allows, and every pin carries the hashes pip checks."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Pin:
    requirement: Requirement
    hashes: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        (spec,) = self.requirement.specifier
        assert spec.operator == "==", self.requirement
        return spec.version


@functools.cache
def pins() -> dict[str, Pin]:
    """The lock's entries by canonical name: `name==version [; marker] \\` then its hashes."""
    found: dict[str, Pin] = {}
    current: Pin | None = None
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        text = line.strip().removesuffix("\\").strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("--hash="):
            assert current is not None, line
            current.hashes.append(text.removeprefix("--hash="))
        else:
            current = Pin(Requirement(text))
            found[canonicalize_name(current.requirement.name)] = current
    return found


def declared() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["dev"]]


@pytest.mark.parametrize("dependency", declared())
def test_each_dependency_of_pyproject_is_pinned_at_a_version_it_allows(dependency: str) -> None:
    wanted = Requirement(dependency)
    pin = pins().get(canonicalize_name(wanted.name))
    assert pin is not None, f"{wanted.name} is not in requirements.lock: run `make lock`"
    assert wanted.specifier.contains(pin.version, prereleases=True), (
        f"requirements.lock pins {wanted.name}=={pin.version}, outside {wanted.specifier}: "
        "run `make lock`"
    )


def test_every_pin_carries_its_hashes() -> None:
    locked = pins()
    assert len(locked) > len(declared())
    for name, pin in locked.items():
        assert pin.hashes, name
        assert all(h.startswith("sha256:") and len(h) == len("sha256:") + 64 for h in pin.hashes)
