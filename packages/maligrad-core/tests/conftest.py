import sys
from pathlib import Path

# op_table.py is a data module shared by the op tests.
sys.path.insert(0, str(Path(__file__).parent))
