"""Where the project is: the one place that computes it (standard library only, so the set-up
scripts' tools can import it before the virtualenv exists)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
