"""What a scoring child gives up before it parses a byte of an untrusted model.

The format carries no code and the checks admit only standard operators, but a bug in ONNX
Runtime's parser or kernels would run with whatever the child holds. So, once the child has
its job, its limits and its test set (all read or opened before), and before it decodes the
model, it gives up:
- its user: when the miner runs as root, the child becomes `nobody` (no capabilities, none of
  the miner's files);
- being dumpable: no other process of the miner's user may read or trace its memory;
- the filesystem and the network (Landlock): no path may be opened, made or removed, no TCP
  port bound or connected, and no signal or abstract socket reaches outside the child;
- the system calls inference never makes (seccomp): opening files, sockets, exec, ptrace, new
  processes, mounts, namespaces, BPF, keyrings, ... each refused with EPERM.

The seccomp program is compiled once, in the fork server (`program()`: libseccomp through
PyPI `pyseccomp`); each child only loads it, in microseconds. Each layer applies where the
kernel and libraries allow: `available()` says which do here, and the sandbox warns when one
is missing.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import tempfile
from typing import Any

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
# The Landlock system calls have these numbers on every architecture.
_LANDLOCK_CREATE_RULESET = 444
_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_NOBODY = 65534
_CLONE_THREAD = 0x10000

# Refused outright (EPERM). Names unknown on an architecture are skipped.
DENIED = (
    # files: inference reads only the pipes and the test set it already holds
    "open", "openat", "openat2", "creat", "name_to_handle_at", "open_by_handle_at",
    "mknod", "mknodat", "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat",
    "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "truncate", "chmod",
    "fchmodat", "chown", "lchown", "fchownat", "memfd_create",
    # the network and other processes
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev",
    "pidfd_open", "pidfd_getfd", "kcmp",
    # the machine
    "mount", "umount2", "unshare", "setns", "chroot", "pivot_root", "bpf", "perf_event_open",
    "keyctl", "add_key", "request_key", "init_module", "finit_module", "delete_module",
    "userfaultfd", "io_uring_setup", "kexec_load", "kexec_file_load", "reboot", "swapon",
    "swapoff", "acct", "quotactl", "setuid", "setgid", "setreuid", "setregid", "setresuid",
    "setresgid", "setgroups", "capset",
)  # fmt: skip


class _FilterProgram(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_LIBC = ctypes.CDLL(None, use_errno=True)


def program() -> bytes | None:
    """The seccomp filter as BPF bytes (None where libseccomp is not installed)."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError):  # OSError: the package is there, libseccomp.so.2 is not
        return None
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in DENIED:
        try:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (ValueError, RuntimeError, OSError):
            continue  # no such call on this architecture
    # A new process is a clone without CLONE_THREAD; threads stay allowed. clone3 passes its
    # flags in memory a filter cannot read: ENOSYS makes the C library fall back to clone.
    rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone",
                   seccomp.Arg(0, seccomp.MASKED_EQ, _CLONE_THREAD, 0))  # fmt: skip
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as f:
        rules.export_bpf(f)
        f.seek(0)
        return f.read()


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none)."""
    abi = _LIBC.syscall(_LANDLOCK_CREATE_RULESET, None, 0, _LANDLOCK_CREATE_RULESET_VERSION)
    return max(0, abi)


def available(bpf: bytes | None) -> dict[str, Any]:
    """Which layers a child will apply on this machine."""
    return {
        "nobody": os.geteuid() == 0,
        "landlock_abi": landlock_abi(),
        "seccomp": bpf is not None,
    }


def apply(bpf: bytes | None) -> None:
    """Give up everything above, in this process, for good. Raises OSError if a layer the
    machine offers fails to apply: the child then scores nothing rather than run unconfined."""
    if os.geteuid() == 0:
        parent = os.getppid()
        os.setgroups([])
        os.setresgid(_NOBODY, _NOBODY, _NOBODY)
        os.setresuid(_NOBODY, _NOBODY, _NOBODY)
        # Changing credentials clears the parent-death signal: without it again, a child whose
        # server was killed would stay, stopped, for good. If the server died meanwhile, go.
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)
    _prctl(_PR_SET_DUMPABLE, 0)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    _landlock()
    if bpf is not None:
        buffer = ctypes.create_string_buffer(bpf, len(bpf))
        fprog = _FilterProgram(len(bpf) // 8, ctypes.addressof(buffer))
        _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
        del buffer  # the kernel copied the program


def _landlock() -> None:
    abi = landlock_abi()
    if abi < 1:
        return
    # Every right the kernel knows is handled, and no rule grants any: nothing is reachable.
    fs = (1 << 13) - 1  # ABI 1: execute, read, write, remove, make ...
    fs |= (1 << 13) if abi >= 2 else 0  # refer (link or rename across directories)
    fs |= (1 << 14) if abi >= 3 else 0  # truncate
    fs |= (1 << 15) if abi >= 5 else 0  # ioctl on devices
    net = 0b11 if abi >= 4 else 0  # bind and connect TCP
    scoped = 0b11 if abi >= 6 else 0  # abstract unix sockets, signals
    fields = [fs] + ([net] if abi >= 4 else []) + ([scoped] if abi >= 6 else [])
    attr = (ctypes.c_uint64 * len(fields))(*fields)
    fd = _LIBC.syscall(_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.sizeof(attr), 0)
    if fd < 0:
        _raise("landlock_create_ruleset")
    try:
        if _LIBC.syscall(_LANDLOCK_RESTRICT_SELF, fd, 0) != 0:
            _raise("landlock_restrict_self")
    finally:
        os.close(fd)


def _prctl(option: int, arg: int, arg3: int = 0) -> None:
    if _LIBC.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(arg3), 0, 0) != 0:
        _raise(f"prctl({option})")


def _raise(call: str) -> None:
    code = ctypes.get_errno()
    raise OSError(code, f"{call}: {os.strerror(code)}")
