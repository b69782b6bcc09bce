"""Validated chunks of a file, read and validated in a second process while this one writes.

Reading (pandas) plus validating a chunk costs about as much as grouping it and writing
its XML, so on a machine with two cores `convert` runs the two halves side by side: a
forked worker reads and validates, and sends each chunk's compact result (tuples of
strings, shared datetimes, a few LineErrors) through a pipe; the caller dedups, groups and
writes in file order. The pipe's small buffer is the back-pressure: the worker is never
more than about one chunk ahead, so memory stays that of one or two chunks.

The results are the same objects the serial path makes, in the same order, so feeds and
reports are byte for byte the same; the tests hold both paths to that.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import BinaryIO

from feeds.errors import FileRejected
from feeds.rules import ChunkRows, RuleContext, validate_rows
from ingest.readers import RowReader

#: (rows in the chunk as read, its validated result, bytes of the file read so far)
Validated = tuple[int, ChunkRows, int]

#: Files smaller than this are done before a worker would have started.
PARALLEL_MIN_BYTES = 2 * 1024 * 1024


def parallel_possible() -> bool:
    """Two cores for this process, and fork (the worker inherits the open reader)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return cores >= 2 and "fork" in multiprocessing.get_all_start_methods()


def validated_chunks(
    reader: RowReader, fh: BinaryIO, ctx: RuleContext, *, parallel: bool
) -> Iterator[Validated]:
    """Each chunk of ``reader`` validated, in file order; FileRejected as the reader raises it."""
    if not parallel:
        for chunk in reader.chunks():
            yield len(chunk), validate_rows(chunk, ctx), tell(fh)
        return
    yield from _from_worker(reader, fh, ctx)


def _from_worker(reader: RowReader, fh: BinaryIO, ctx: RuleContext) -> Iterator[Validated]:
    mp = multiprocessing.get_context("fork")
    receive, send = mp.Pipe(duplex=False)
    worker = mp.Process(target=_work, args=(reader, fh, ctx, send), daemon=True)
    worker.start()
    send.close()  # the worker holds the only writing end: EOF means it died
    try:
        while True:
            try:
                message = receive.recv()
            except EOFError:
                worker.join()
                raise RuntimeError(
                    f"the validating worker stopped without a word (exit code {worker.exitcode})"
                ) from None
            kind = message[0]
            if kind == "chunk":
                yield message[1], message[2], message[3]
            elif kind == "done":
                return
            elif kind == "rejected":
                _, file, reason, hint = message
                raise FileRejected(file, reason, hint=hint)
            else:
                raise RuntimeError(f"the validating worker failed:\n{message[1]}")
    finally:
        receive.close()  # a worker blocked in send() gets an error and exits
        worker.join(timeout=5)
        if worker.is_alive():  # pragma: no cover - only if the worker hangs
            worker.terminate()
            worker.join()


def _work(reader: RowReader, fh: BinaryIO, ctx: RuleContext, send: Connection) -> None:
    """The worker: read, validate, send; problems go back as messages, never lost."""
    import gc

    gc.disable()  # as in convert: acyclic data, and the collector's rescans cost a quarter
    try:
        for chunk in reader.chunks():
            send.send(("chunk", len(chunk), validate_rows(chunk, ctx), tell(fh)))
        send.send(("done",))
    except FileRejected as exc:
        send.send(("rejected", exc.file, exc.reason, exc.hint))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the caller stopped reading (an error or Ctrl-C on its side)
    except BaseException:
        with contextlib.suppress(OSError):
            send.send(("failed", traceback.format_exc()))
    finally:
        send.close()


def tell(fh: BinaryIO) -> int:
    with contextlib.suppress(OSError, ValueError):
        return fh.tell()
    return 0
