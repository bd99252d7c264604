"""The seed MLP on MNIST: Flatten, Dense 50/100/100/100 relu, Dense 10, Softmax.

    python examples/mnist_mlp.py --data-dir ../shared/data

SGD with learning rate 0.05 for 10 epochs on the 60000 training digits, then
the accuracy on the 10000 test digits. Writes the model, the training curves
and results.json into --out.
"""

import argparse

from minicnn.train import add_arguments, run


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser, default_out="out/mnist_mlp")
    args = parser.parse_args(argv)
    return run("mnist", "mlp", epochs=args.epochs, limit=args.limit, data_dir=args.data_dir,
               out=args.out, batch_size=args.batch_size, seed=args.seed,
               resume=args.resume, image_folder=args.image_folder)


if __name__ == "__main__":
    main()
