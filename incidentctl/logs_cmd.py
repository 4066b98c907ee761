"""`incidentctl logs parse`: mine a file of log messages and print each line's template id and template."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from services.detector.domain.logmining import TemplateMiner


def parse_file(input_path: Path, out: TextIO) -> int:
    """Write `template_id<TAB>template` for every line of `input_path`, in input order; return the line count.

    One log message per line; bytes are decoded as UTF-8 with invalid bytes replaced.  The miner
    streams over the whole file first, then the output gives every line the template and id as
    known after the whole input was seen (merged templates answer under their surviving id).
    """
    miner = TemplateMiner()
    ids: list[str] = []
    with input_path.open("rb") as raw:
        for data in raw:
            line = data.decode("utf-8", errors="replace").rstrip("\r\n")
            ids.append(miner.add(line).template_id)
    for template_id in ids:
        final_id = miner.resolve(template_id)
        template = miner.template_of(final_id)
        out.write(f"{final_id}\t{template if template is not None else ''}\n")
    return len(ids)
