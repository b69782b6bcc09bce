"""Validated chunks of a file, read and validated in a second process while this one writes.

Reading (pandas) plus validating a chunk costs about as much as grouping it and writing
its XML, so on a machine with two cores `convert` runs the two halves side by side: a
forked worker reads and validates, and sends each chunk's compact result (tuples of
strings, shared datetimes, a few LineErrors) through a pipe; the caller dedups, groups and
writes in file order. The pipe's small buffer is the back-pressure: the worker is never
more than about one chunk ahead, so memory stays that of one or two chunks.

The results are the same objects the serial path makes, in the same order, so feeds and
reports are byte for byte the same; the tests hold both paths to that.

Whoever validates also decides the file's date order (feeds/dateorder.py), chunk by chunk
before each chunk is validated, so the order never costs a pass of its own.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import traceback
from collections.abc import Iterator
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import BinaryIO

from feeds.dateorder import DateOrder, DateOrderChanged, FileDates
from feeds.errors import FileRejected
from feeds.model import RowChunk
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
    reader: RowReader, fh: BinaryIO, ctx: RuleContext, dates: FileDates, *, parallel: bool
) -> Iterator[Validated]:
    """Each chunk of ``reader`` validated, in file order, with the date order ``dates``
    decides; FileRejected as the reader or ``dates`` raise it, DateOrderChanged when the
    file must be read again. When the iterator is exhausted, ``dates`` holds the whole
    file's verdict (also when a worker did the validating)."""
    if not parallel:
        for chunk in reader.chunks():
            yield len(chunk), _validate(chunk, ctx, dates), tell(fh)
        return
    yield from _from_worker(reader, fh, ctx, dates)


def _validate(chunk: RowChunk, ctx: RuleContext, dates: FileDates) -> ChunkRows:
    order = dates.see(chunk.lines, chunk.cells["ship_date"])
    return validate_rows(chunk, ctx if order == ctx.date_order else _ordered(ctx, order))


def _ordered(ctx: RuleContext, order: DateOrder) -> RuleContext:
    return replace(ctx, date_order=order)


def _from_worker(
    reader: RowReader, fh: BinaryIO, ctx: RuleContext, dates: FileDates
) -> Iterator[Validated]:
    mp = multiprocessing.get_context("fork")
    receive, send = mp.Pipe(duplex=False)
    worker = mp.Process(target=_work, args=(reader, fh, ctx, dates, send), daemon=True)
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
                dates.adopt(message[1], message[2])
                return
            elif kind == "again":
                raise DateOrderChanged(message[1])
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


def _work(
    reader: RowReader, fh: BinaryIO, ctx: RuleContext, dates: FileDates, send: Connection
) -> None:
    """The worker: read, validate, send; problems go back as messages, never lost."""
    import gc

    gc.disable()  # as in convert: acyclic data, and the collector's rescans cost a quarter
    try:
        for chunk in reader.chunks():
            send.send(("chunk", len(chunk), _validate(chunk, ctx, dates), tell(fh)))
        send.send(("done", dates.order, dates.first))
    except DateOrderChanged as exc:
        send.send(("again", exc.order))
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
