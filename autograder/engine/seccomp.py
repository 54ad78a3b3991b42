"""A seccomp filter for the sandbox child: system calls that grading never needs fail with EPERM.

The namespaces already leave the child without privileges; this narrows the kernel surface it can
reach, as Docker's and Flatpak's default profiles do: kernel keyrings, BPF, userfaultfd,
perf events, io_uring, ptrace, module and kexec loading, mounts, new namespaces (``unshare``,
``setns``, ``clone`` with a namespace flag), and a few more. ``clone3`` answers ENOSYS, so that
the C library falls back to ``clone``, whose flags the filter can read. The child installs it on
itself (``install``) after its imports and before any student code; it needs ``no_new_privs``,
which bwrap sets. Public code, run inside the sandbox.
"""
from __future__ import annotations

import ctypes
import errno
import os
import struct

# numbers per architecture: (audit arch, {name: number})
_X86_64 = (0xC000003E, {
    "ptrace": 101, "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "userfaultfd": 323,
    "perf_event_open": 298, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "mount": 165, "umount2": 166, "pivot_root": 155, "swapon": 167, "swapoff": 168, "reboot": 169,
    "unshare": 272, "setns": 308, "acct": 163, "quotactl": 179, "open_by_handle_at": 304,
    "name_to_handle_at": 303, "process_vm_readv": 310, "process_vm_writev": 311, "fsopen": 430,
    "fsmount": 432, "move_mount": 429, "open_tree": 428, "mount_setattr": 442,
}, 56, 435)  # clone, clone3
_AARCH64 = (0xC00000B7, {
    "ptrace": 117, "keyctl": 219, "add_key": 217, "request_key": 218, "bpf": 280, "userfaultfd": 282,
    "perf_event_open": 241, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "kexec_load": 104, "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106,
    "mount": 40, "umount2": 39, "pivot_root": 41, "swapon": 224, "swapoff": 225, "reboot": 142,
    "unshare": 97, "setns": 268, "acct": 89, "quotactl": 60, "open_by_handle_at": 265,
    "name_to_handle_at": 264, "process_vm_readv": 270, "process_vm_writev": 271, "fsopen": 430,
    "fsmount": 432, "move_mount": 429, "open_tree": 428, "mount_setattr": 442,
}, 220, 435)
ARCHES = {"x86_64": _X86_64, "aarch64": _AARCH64}
# mount, cgroup, uts, ipc, user, pid, net namespaces (time's 0x80 shares clone's exit-signal byte)
CLONE_NEWNS_ALL = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL, _ERRNO = 0x7FFF0000, 0x80000000, 0x00050000


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine: str | None = None) -> bytes:
    """The filter as raw BPF (``struct sock_filter[]``) for this machine's architecture."""
    arch, calls, clone, clone3 = ARCHES[machine or os.uname().machine]
    denied = sorted(set(calls.values()))
    out = [
        _insn(_LD_W_ABS, 4),                      # seccomp_data.arch
        _insn(_JEQ, arch, 1, 0),
        _insn(_RET, _KILL),                       # another ABI (e.g. 32-bit calls): not ours
        _insn(_LD_W_ABS, 0),                      # seccomp_data.nr
    ]
    if machine in (None, "x86_64") and arch == _X86_64[0]:
        out += [_insn(_JGE, 0x40000000, 0, 1), _insn(_RET, _ERRNO | errno.EPERM)]  # x32 calls
    out += [_insn(_JEQ, clone3, 0, 1), _insn(_RET, _ERRNO | errno.ENOSYS)]
    out += [_insn(_JEQ, clone, 0, 3),
            _insn(_LD_W_ABS, 16),                 # clone's flags (low word of args[0])
            _insn(_JSET, CLONE_NEWNS_ALL, 0, 1),
            _insn(_RET, _ERRNO | errno.EPERM)]
    out.append(_insn(_LD_W_ABS, 0))
    for i, nr in enumerate(denied):
        out.append(_insn(_JEQ, nr, len(denied) - i, 0))  # jump to the EPERM return after the list
    out += [_insn(_RET, _ALLOW), _insn(_RET, _ERRNO | errno.EPERM)]
    return b"".join(out)


_PROGRAM: bytes | None = None


def prepare() -> bytes:
    """The filter for this machine, built once (the zygote builds it before it forks any child)."""
    global _PROGRAM
    if _PROGRAM is None:
        _PROGRAM = program()
    return _PROGRAM


def install() -> None:
    """Install the filter on this process (and every process it starts); raises OSError if it cannot."""
    code = prepare()
    n = len(code) // 8
    buf = ctypes.create_string_buffer(code, len(code))

    class _Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = _Prog(n, ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(22, 2, ctypes.addressof(prog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {errno.errorcode.get(err, err)}")
