"""The examples' tests share ``example_loader.load`` (this folder is made importable)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
