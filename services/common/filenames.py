"""Names and sizes as people see them: a client's file name made safe to show (never a path), and a
size for messages. Re-exported by ``services.common.storage``."""

from __future__ import annotations

import re
import unicodedata

MIB = 1024 * 1024
_UNSAFE_NAME_CHARS = set('/\\<>:"|?*')
MAX_NAME_LENGTH = 200
UNNAMED = "未命名文件"


def format_size(size: int) -> str:
    """``52428800`` → ``"50 MB"``, for messages."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MB"
    if size >= MIB:
        return f"{size / MIB:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} 字节"


def display_name(name: str) -> str:
    """The client's file name made safe to show: no directories, no control characters, bounded length."""
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        " " if ch in _UNSAFE_NAME_CHARS or unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in name
        if unicodedata.category(ch) not in ("Cf", "Co", "Cs", "Cn")
    )
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name:
        return UNNAMED
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and len(ext) <= 10:
            name = stem[: MAX_NAME_LENGTH - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_NAME_LENGTH]
    return name
