"""Regenerate the fixed split files (maintainers only; the files in the repo are the source of truth).

    python -m converters.make_splits ../shared/data
"""

import json
import sys
from pathlib import Path

from converters import gmb, zh_ner

if __name__ == "__main__":
    data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    for module, source in ((gmb, data_dir / "gmb" / "ner_dataset.csv"), (zh_ner, data_dir / "zh_ner" / "ccfbdci.jsonl")):
        module.SPLIT_FILE.write_text(json.dumps(module.make_split_file(source), separators=(",", ":")) + "\n")
        print(f"wrote {module.SPLIT_FILE}")
