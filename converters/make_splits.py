"""Regenerate the fixed split files (maintainers only; the files in the repo are the source of truth). Each records
the count and digest of the sentences it was drawn from, so that a split of another source stops with one line.

    python -m converters.make_splits ../shared/data
"""

import json
import sys
from pathlib import Path

from converters import gmb, zh_ner
from converters.registry import REGISTRY

if __name__ == "__main__":
    data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    for module, name in ((gmb, "gmb"), (zh_ner, "zh_ner")):
        source = REGISTRY[name].present(data_dir / name, "all") or data_dir / name / REGISTRY[name].files["all"][0]
        module.SPLIT_FILE.write_text(json.dumps(module.make_split_file(source), separators=(",", ":")) + "\n")
        print(f"wrote {module.SPLIT_FILE}")
