"""Refresh the file blocks of docs/tutorial.md from the repository's files (`make docs`).

A block whose fence reads ```python title="path"``` shows that file in full;
tests/docs/test_tutorial.py fails when one differs from the file, and this puts the file back
in. A file the tutorial writes twice (an earlier, shorter version first) keeps its earlier
blocks as they are: only the last block of each path is the shipped file.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
FILE_BLOCK = re.compile(r'^```python title="([^"]+)"\n(.*?)^```', re.S | re.M)


def synced(markdown: str) -> str:
    """The tutorial with the last block of every titled file replaced by the file as it is now."""
    last = {match.group(1): match.start() for match in FILE_BLOCK.finditer(markdown)}

    def refresh(match: re.Match[str]) -> str:
        path = match.group(1)
        if last[path] != match.start():
            return match.group(0)
        return f'```python title="{path}"\n' + (ROOT / path).read_text() + "```"

    return FILE_BLOCK.sub(refresh, markdown)


if __name__ == "__main__":
    before = TUTORIAL.read_text()
    after = synced(before)
    TUTORIAL.write_text(after)
    print(f"{TUTORIAL}: {'updated' if after != before else 'already in sync'}")
