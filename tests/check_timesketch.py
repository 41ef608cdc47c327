#!/usr/bin/env python3
"""Feeds a `pagetrail events --format timesketch` file to Timesketch's own importer.

    pip install timesketch-import-client
    pagetrail events --format timesketch > timeline.jsonl
    python3 tests/check_timesketch.py timeline.jsonl

Runs timesketch_import_client's ImportStreamer.add_file (its JSONL reader, its field fixing and
checks) with the upload replaced by a stub, since there is no Timesketch server here: what
would be uploaded is checked instead. Exit 0 when every line was accepted with message,
datetime and timestamp_desc, and datetime kept its instant.
"""
import json
import logging
import sys
from datetime import datetime

from timesketch_import_client import importer


def main():
    path = sys.argv[1]
    lines = [l for l in open(path, encoding="utf-8") if l.strip()]
    uploaded, errors = [], []

    class Catch(logging.Handler):
        def emit(self, record):
            if record.levelno >= logging.ERROR:
                errors.append(record.getMessage())

    logging.getLogger("timesketch_importer").addHandler(Catch())
    logging.getLogger().addHandler(Catch())
    streamer = importer.ImportStreamer()
    streamer._sketch = object()  # no server: _ready() only asks that one is set
    streamer._upload_data_buffer = lambda end_stream, data_lines=None, retry_count=0: uploaded.extend(
        data_lines if data_lines is not None else streamer._data_lines)
    streamer.set_timeline_name("pagetrail")
    streamer.add_file(path)
    streamer._upload_data_buffer(end_stream=True)
    bad = []
    for src, got in zip(lines, uploaded):
        want = json.loads(src)
        for k in ("message", "datetime", "timestamp_desc"):
            if not got.get(k):
                bad.append(f"no {k}: {got}")
        a = datetime.fromisoformat(want["datetime"].replace("Z", "+00:00"))
        b = datetime.fromisoformat(str(got["datetime"]).replace("Z", "+00:00"))
        if a != b:
            bad.append(f"datetime {want['datetime']} became {got['datetime']}")
    if len(uploaded) != len(lines):
        bad.append(f"{len(lines)} lines, {len(uploaded)} accepted")
    if errors or bad:
        sys.exit("\n".join(errors + bad[:10]))
    print(f"{path}: Timesketch's importer accepted all {len(lines)} events")


if __name__ == "__main__":
    main()
