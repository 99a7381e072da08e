"""Run every benchmark on the dataset the environment points at (``COMPTOIR_HOME`` or
``DATABASE_URL``), building it first if needed, and append the tables to one Markdown file.

    make bench BENCH_ARGS="--customers 1000000 --out /tmp/bench.md"
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["list_page.py", "detail_page.py", "import_file.py", "export_file.py", "api.py"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--out", default="bench-results.md")
    parser.add_argument("--only", nargs="*", help="run only these scripts")
    args = parser.parse_args()
    run = [sys.executable, str(HERE / "dataset.py"), "--customers", str(args.customers)]
    subprocess.run(run, check=True)
    for script in args.only or SCRIPTS:
        if not (HERE / script).exists():
            print(f"skipped {script}: not present")
            continue
        print(f"== {script}", flush=True)
        command = [sys.executable, str(HERE / script)]
        if '"--out"' in (HERE / script).read_text():
            command += ["--out", args.out]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
