"""The child process that reads an uploaded file, under a memory and a CPU limit.

Run by ``staging.stage`` as ``python -I crm/imports/parse_child.py OPTIONS`` with
the file on stdin. It loads ``reading.py`` alone (not the app: a start in tens of
milliseconds), limits its own address space and CPU time, reads the file, and
writes the staged table (gzip-compressed JSON lines, see ``staging``) to stdout
and one JSON line of outcome to stderr: ``{"ok": ...}`` or ``{"error": message}``,
with its peak resident memory. A file that needs more memory than the limit
ends this process (a MemoryError, or calamine aborting), never the caller.
"""

import gzip
import importlib.util
import json
import resource
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path


def _load_reading():
    path = Path(__file__).with_name("reading.py")
    spec = importlib.util.spec_from_file_location("crm_import_reading", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _cell(value):
    """JSON keeps str, int, float and bool; dates travel as the text they show."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time | timedelta):
        return str(value)
    return value


def peak_rss(pid: int | str = "self") -> int:
    """Peak resident memory of process ``pid`` in bytes (0 once it is gone).

    VmHWM is this process image's own peak; ``ru_maxrss`` would carry over the
    peak of the parent it was forked from (the web server's).
    """
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


_CHUNK = 1000


def main() -> int:
    options = json.loads(sys.argv[1])
    memory, seconds = options["memory_bytes"], options["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))
    reading = _load_reading()
    try:
        data = sys.stdin.buffer.read()
        table = reading.read_table(
            data,
            encoding=options.get("encoding"),
            legacy=options.get("legacy") or "Windows-1252",
            limits=reading.Limits(**options["limits"]),
        )
        del data
        head = {
            "file_format": table.file_format,
            "headers": table.headers,
            "encoding": table.encoding,
            "delimiter": table.delimiter,
            "row_count": len(table.rows),
        }
        with gzip.GzipFile(fileobj=sys.stdout.buffer, mode="wb", compresslevel=5) as out:
            out.write(json.dumps(head, ensure_ascii=False).encode() + b"\n")
            for start in range(0, len(table.rows), _CHUNK):
                lines = (
                    json.dumps([line, [_cell(c) for c in cells]], ensure_ascii=False)
                    for line, cells in table.rows[start : start + _CHUNK]
                )
                out.write(("\n".join(lines) + "\n").encode())
        outcome = {"ok": head}
    except reading.ImportFileError as error:
        outcome = {"error": str(error)}
    except MemoryError:
        outcome = {"memory": True}
    outcome["peak_rss"] = peak_rss()
    sys.stderr.write("\n" + json.dumps(outcome) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
