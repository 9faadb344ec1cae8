"""Sample a trained cross-modal VAE: prior samples and latent walks, drawn as 3D skeletons.

Thin wrapper: the command lives in jaxhands/cli/sample.py (also installed as `jaxhands-sample`);
`python sample.py --help` shows its usage."""

from jaxhands.cli.sample import run

if __name__ == "__main__":
    run()
