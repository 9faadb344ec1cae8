"""Dataset preparation: `python -m data_prep <dataset> --out DIR ...` writes TFDS shards.

Each dataset is one module `data_prep/<dataset>.py` registered in
`data_prep.__main__.DATASETS`; see that module for the converter interface.
"""
