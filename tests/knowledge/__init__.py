from pathlib import Path

#: written apart from the articles' alternative questions and never used for tuning (test data:
#: the shipped evaluation set is content/kb-eval)
HOLDOUT_DIR = Path(__file__).parent / "holdout"
