"""Kernel-enforced isolation for the sandbox child: what is available here, and how to set it up.

(Skeleton: the full implementation lands with the sandbox work.)
"""
from __future__ import annotations

from dataclasses import dataclass


class IsolationUnavailable(Exception):
    """The sandbox cannot be set up on this machine; the message says why, in one line."""


@dataclass(frozen=True)
class Layers:
    """The isolation layers that will be active for student code."""

    namespaces: bool
    cgroup: str | None
    insecure: bool = False

    def describe(self) -> str:
        """One line for logs, results.json and the gradebook."""
        if self.insecure:
            return "INSECURE: no kernel isolation (--insecure)"
        parts = ["bubblewrap namespaces (user, mount, pid, net, ipc, uts)" if self.namespaces else "separate uid"]
        parts.append(f"cgroup {self.cgroup}" if self.cgroup else "rlimits and watchdog (no cgroup)")
        return " + ".join(parts)


def check(insecure: bool = False) -> Layers:
    """The layers available here; raises ``IsolationUnavailable`` unless ``insecure``."""
    return Layers(namespaces=False, cgroup=None, insecure=insecure)
