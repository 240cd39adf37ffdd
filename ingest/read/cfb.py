"""A minimal, bounded reader of OLE2 compound files (.xls, encrypted OOXML), enough to inspect them safely.

Only what the safety checks need: the names of the streams in the directory, and the bytes of one stream
(``Workbook`` of an .xls). Every chain walked is bounded by the number of sectors in the file, so a loop
or a lie in the file ends in :class:`CfbError`, never in an endless loop. ``olefile`` would do this too,
but it is not a dependency of the project, and this is all that is needed ([MS-CFB]).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FREE, _END, _FAT, _DIFAT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFC
_MAX_REGULAR = 0xFFFFFFFA
_NOSTREAM = 0xFFFFFFFF


class CfbError(ValueError):
    """The compound file is malformed."""


@dataclass(frozen=True)
class Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    start: int
    size: int


class CompoundFile:
    """The directory and streams of an OLE2 compound file held in memory."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 512 or not data.startswith(SIGNATURE):
            raise CfbError("not a compound file (too short or no signature)")
        self._data = data
        major, byte_order, sector_shift, mini_shift = struct.unpack_from("<HHHH", data, 26)
        if byte_order != 0xFFFE or (major, sector_shift) not in ((3, 9), (4, 12)) or mini_shift != 6:
            raise CfbError(f"unsupported header (version {major}, sector shift {sector_shift})")
        self.sector_size = 1 << sector_shift
        self.mini_sector_size = 1 << mini_shift
        (n_fat, dir_start, _, self.mini_cutoff, minifat_start, n_minifat, difat_start,
         n_difat) = struct.unpack_from("<IIIIIIII", data, 44)
        self._n_sectors = max(0, (len(data) - self.sector_size) // self.sector_size)
        if n_fat > self._n_sectors or n_difat > self._n_sectors:
            raise CfbError("the header declares more sectors than the file holds")
        fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s <= _MAX_REGULAR]
        sector = difat_start
        for _ in range(n_difat):
            if sector > _MAX_REGULAR:
                break
            ids = struct.unpack_from(f"<{self.sector_size // 4}I", self._sector(sector))
            fat_sectors.extend(s for s in ids[:-1] if s <= _MAX_REGULAR)
            sector = ids[-1]
        fat_sectors = fat_sectors[:n_fat]
        self._fat: list[int] = []
        for s in fat_sectors:
            self._fat.extend(struct.unpack_from(f"<{self.sector_size // 4}I", self._sector(s)))
        directory = self._chain_bytes(dir_start)
        self.entries: list[Entry] = []
        for off in range(0, len(directory) - 127, 128):
            name_len, kind = struct.unpack_from("<HB", directory, off + 64)
            if kind not in (1, 2, 5):
                continue
            name = directory[off:off + max(0, min(name_len, 64) - 2)].decode("utf-16-le", "replace")
            start, size_lo, size_hi = struct.unpack_from("<III", directory, off + 116)
            size = size_lo if self.sector_size == 512 else size_lo | (size_hi << 32)
            self.entries.append(Entry(name, kind, start, size))
        if not self.entries or self.entries[0].kind != 5:
            raise CfbError("no root entry")
        self._minifat_start, self._n_minifat = minifat_start, n_minifat
        self._mini_stream: bytes | None = None

    def _sector(self, sector: int) -> bytes:
        if sector >= self._n_sectors:
            raise CfbError(f"sector {sector} is beyond the end of the file")
        off = (sector + 1) * self.sector_size
        return self._data[off:off + self.sector_size]

    def _chain(self, start: int, table: list[int], limit: int) -> list[int]:
        chain, sector = [], start
        while sector != _END:
            if sector >= len(table) or len(chain) >= limit:
                raise CfbError("a sector chain is broken or loops")
            chain.append(sector)
            sector = table[sector]
        return chain

    def _chain_bytes(self, start: int, size: int | None = None) -> bytes:
        out = b"".join(self._sector(s) for s in self._chain(start, self._fat, self._n_sectors))
        return out if size is None else out[:size]

    def names(self) -> set[str]:
        """The names of every stream and storage, case as stored."""
        return {e.name for e in self.entries[1:]}

    def find(self, name: str) -> Entry | None:
        """The first stream whose name equals ``name`` (case-insensitive, as the format says)."""
        want = name.casefold()
        return next((e for e in self.entries if e.kind == 2 and e.name.casefold() == want), None)

    def read(self, entry: Entry, max_bytes: int) -> bytes:
        """The bytes of a stream; :class:`CfbError` if it declares more than ``max_bytes``."""
        if entry.size > max_bytes or entry.size > len(self._data):
            raise CfbError(f"stream {entry.name!r} declares {entry.size} bytes")
        if entry.size >= self.mini_cutoff:
            data = self._chain_bytes(entry.start, entry.size)
        else:
            if self._mini_stream is None:
                root = self.entries[0]
                self._mini_stream = self._chain_bytes(root.start, min(root.size, len(self._data)))
            minifat: list[int] = []
            if self._n_minifat and self._minifat_start <= _MAX_REGULAR:
                raw = self._chain_bytes(self._minifat_start)
                minifat = list(struct.unpack_from(f"<{len(raw) // 4}I", raw))
            size = self.mini_sector_size
            chain = self._chain(entry.start, minifat, len(self._mini_stream) // size + 1)
            data = b"".join(self._mini_stream[s * size:(s + 1) * size] for s in chain)[:entry.size]
        if len(data) != entry.size:
            raise CfbError(f"stream {entry.name!r} is truncated")
        return data
