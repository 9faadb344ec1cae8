"""Evaluate a trained experiment, or a published prediction file.

Thin wrapper: the command lives in jaxhands/cli/eval.py (also installed as `jaxhands-eval`);
`python eval.py --help` shows its usage."""

from jaxhands.cli.eval import run

if __name__ == "__main__":
    run()
