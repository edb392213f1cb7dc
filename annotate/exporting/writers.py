"""Writing records as they stream: JSONL lines, Parquet row groups, Arrow batches.

Nothing here holds more than one batch of rows. Files appear whole or not at all:
each is written beside its target under a temporary name and renamed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

BATCH_ROWS = 5_000  # rows per Parquet row group / Arrow record batch
JSONL_CHUNK_BYTES = 1 << 16  # bytes per chunk of a streamed JSONL download

Record = dict[str, Any]


def batches(records: Iterable[Record]) -> Iterator[list[Record]]:
    """Lists of up to BATCH_ROWS records, in order."""
    iterator = iter(records)
    while batch := list(islice(iterator, BATCH_ROWS)):
        yield batch


def jsonl_line(record: Record) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def write_jsonl(path: Path, records: Iterable[Record]) -> None:
    """One JSON object per line, UTF-8."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(jsonl_line(record))


def write_parquet(path: Path, records: Iterable[Record], schema: pa.Schema) -> None:
    """A Parquet file of `schema`, one row group per batch of records."""
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for batch in batches(records):
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))


class ArrowSplitWriter:
    """Arrow stream files, one per split, filled batch by batch."""

    def __init__(self, folder: Path, schema: pa.Schema):
        self.folder, self.schema = folder, schema
        self._pending: dict[str, list[Record]] = {}
        self._writers: dict[str, pa.ipc.RecordBatchStreamWriter] = {}
        self._sinks: list[pa.OSFile] = []

    def add(self, split: str, record: Record) -> None:
        pending = self._pending.setdefault(split, [])
        pending.append(record)
        if len(pending) >= BATCH_ROWS:
            self._flush(split)

    def close(self) -> dict[str, Path]:
        """Flush and close every split; the Arrow file of each split with rows."""
        for split in list(self._pending):
            self._flush(split)
        for writer in self._writers.values():
            writer.close()
        for sink in self._sinks:
            sink.close()
        return {split: self.folder / f"{split}.arrow" for split in self._writers}

    def _flush(self, split: str) -> None:
        rows = self._pending.pop(split, [])
        if not rows:
            return
        if split not in self._writers:
            sink = pa.OSFile(str(self.folder / f"{split}.arrow"), "wb")
            self._sinks.append(sink)
            self._writers[split] = pa.ipc.new_stream(sink, self.schema)
        self._writers[split].write_table(pa.Table.from_pylist(rows, schema=self.schema))


def save_dataset_folder(folder: Path, arrow_files: dict[str, Path]) -> None:
    """A `datasets` save_to_disk folder with one split per Arrow file."""
    import datasets

    splits = datasets.DatasetDict(
        {
            split: datasets.Dataset.from_file(str(path))
            for split, path in arrow_files.items()
        }
    )
    with atomic_path(folder) as tmp:
        splits.save_to_disk(str(tmp))


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary sibling of `path` that replaces it once the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    _remove(tmp)
    try:
        yield tmp
        if path.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


class _Drain:
    """A write-only file that hands its bytes over as they are written."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def parquet_chunks(records: Iterable[Record], schema: pa.Schema) -> Iterator[bytes]:
    """A Parquet file as byte chunks, one row group at a time (for downloads)."""
    drain = _Drain()
    with pq.ParquetWriter(drain, schema) as writer:
        for batch in batches(records):
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            yield drain.take()
    yield drain.take()


def jsonl_chunks(records: Iterable[Record]) -> Iterator[bytes]:
    """JSON lines as byte chunks of about JSONL_CHUNK_BYTES (for downloads)."""
    buffer: list[bytes] = []
    size = 0
    for record in records:
        line = jsonl_line(record).encode()
        buffer.append(line)
        size += len(line)
        if size >= JSONL_CHUNK_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


def zip_chunks(
    name: str,
    chunks: Iterable[bytes],
    card: Callable[[], str],
    created_at: datetime,
) -> Iterator[bytes]:
    """A .zip of a streamed file and the README.md `card()` gives once it is done.

    Written to an unseekable sink, so zipfile puts each entry's sizes after its
    data; zip64 because the file's size is unknown when its header goes out.
    """
    stamp = created_at.timetuple()[:6]
    drain = _Drain()
    with zipfile.ZipFile(drain, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        entry = zipfile.ZipInfo(name, date_time=stamp)
        entry.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(entry, "w", force_zip64=True) as out:
            for chunk in chunks:
                out.write(chunk)
                # Deflate holds bytes back; an empty take is not worth a chunk.
                if compressed := drain.take():
                    yield compressed
        readme = zipfile.ZipInfo("README.md", date_time=stamp)
        readme.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(readme, card())
    yield drain.take()
