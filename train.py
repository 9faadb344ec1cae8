"""Train a jaxhands experiment.

Thin wrapper: the command lives in jaxhands/cli/train.py (also installed as `jaxhands-train`);
`python train.py --help` shows its usage."""

from jaxhands.cli.train import run

if __name__ == "__main__":
    run()
