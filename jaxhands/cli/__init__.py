"""The command lines: `train`, `eval`, `sample` (`python train.py ...` at the repository root,
or the installed entry points `jaxhands-train`, `jaxhands-eval`, `jaxhands-sample`)."""
