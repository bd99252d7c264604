"""The seed CNN_Classifier on CIFAR-10.

    python examples/cifar10_cnn.py --data-dir DIR_WITH_cifar10

Four Conv2D + BatchNorm + LeakyReLU blocks (stride 2 in the second and
fourth), Dense 128 + BatchNorm + LeakyReLU + Dropout, Dense 10 softmax;
Adam 5e-4, batch 32, 10% of the training images held out for validation.
Saves the trained model (model.minicnn) for the visualization examples.

The official archive is downloaded (and checksum-verified) on first use.
``--image-folder PATH`` reads the images from class folders instead - a
folder or zip with ``train/<class>/`` and ``test/<class>/``, such as a JPEG
copy of CIFAR-10::

    python examples/cifar10_cnn.py --image-folder cifar10-jpeg.zip --epochs 3

``--recipe strong`` trains the seed model with a wider hidden layer (Dense 256)
and augmentation (random horizontal flips and shifts), AdamW (weight decay
0.05) under a warmup + cosine schedule, batch 64, 22 epochs on all 50,000
training images (``minicnn.train.RECIPES["cifar_strong"]``)::

    python examples/cifar10_cnn.py --recipe strong --image-folder cifar10-jpeg.zip

Every epoch is checkpointed (``OUT/checkpoint.minicnn``); ``--resume`` continues.
"""

import argparse

from minicnn.train import add_arguments, run


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser, default_out="out/cifar10_cnn")
    parser.add_argument("--recipe", choices=["seed", "strong"], default="seed",
                        help="the seed notebook's recipe, or the strong one (see above)")
    args = parser.parse_args(argv)
    return run("cifar10", "cifar_strong" if args.recipe == "strong" else "cifar_cnn", epochs=args.epochs, limit=args.limit, data_dir=args.data_dir,
               out=args.out, batch_size=args.batch_size, seed=args.seed,
               resume=args.resume, image_folder=args.image_folder)


if __name__ == "__main__":
    main()
