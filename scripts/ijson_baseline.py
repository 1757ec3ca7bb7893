"""The seed's parser, as the benchmark's baseline: ijson (C backend) over a ZIP's conversations.

Streams every conversations file of the export through `ijson.items(f, "item")`, the call the
system we replace made (without its `list(...)`, which held everything in memory), and prints
the uncompressed JSON bytes and conversations it read as JSON.
"""
import json
import re
import sys
import zipfile

import ijson

PATTERN = re.compile(r"(^|/)conversations(-\d+)?\.json$")


def main(path):
    assert ijson.backend == "yajl2_c", f"ijson C backend missing (got {ijson.backend})"
    total_bytes = 0
    items = 0
    with zipfile.ZipFile(path) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if not PATTERN.search(info.filename):
                continue
            with archive.open(info) as f:
                for _ in ijson.items(f, "item"):
                    items += 1
            total_bytes += info.file_size
    print(json.dumps({"json_bytes": total_bytes, "conversations": items}))


if __name__ == "__main__":
    main(sys.argv[1])
