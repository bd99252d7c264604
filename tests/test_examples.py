"""Every example script, and ``minicnn train``, run end to end with tiny settings."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.test_dataset_files import tiny_cifar

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
needs_mnist = pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(),
                                 reason="the real MNIST is not beside the repository")


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args],
                         capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_quickstart_runs(tmp_path):
    out = run_script("quickstart.py", "--epochs", "1", "--limit", "256", "--out", str(tmp_path))
    assert "Test accuracy:" in out.stdout and "Confusion matrix" in out.stdout
    for name in ("weights.npz", "training_curves.png", "conv1_filters.png", "conv1_feature_maps.png"):
        assert (tmp_path / name).stat().st_size > 0


@pytest.fixture(scope="module")
def quickstart_model(tmp_path_factory):
    """A model file from one short quickstart run (shared by the views' tests)."""
    out = tmp_path_factory.mktemp("qs")
    run_script("quickstart.py", "--epochs", "1", "--limit", "256", "--out", str(out))
    assert (out / "model.minicnn").stat().st_size > 0
    return out / "model.minicnn"


def test_visualize_layers_writes_every_figure(quickstart_model, tmp_path):
    out = run_script("visualize_layers.py", "--model", str(quickstart_model),
                     "--image-index", "2", "--out", str(tmp_path / "viz"))
    expected = ["03_sample.png", "04_feature_maps_conv1.png", "04_feature_maps_conv2.png",
                "05_filters_conv1.png", "05_filters_conv2.png", "06_layer_progression.png",
                "07_dense_dense.png", "08_class_probabilities.png", "09_compare_images.png",
                "10_activation_statistics.png", "11_activation_heatmaps.png", "12_saliency.png",
                "13_grad_cam.png", "14_handcrafted_vs_learned.png", "15_gradient_maps.png",
                "16_receptive_field.png", "17_activation_maximization.png", "18_convolution.gif",
                "18_convolution_frame.png"]
    assert sorted(p.name for p in (tmp_path / "viz").iterdir()) == expected
    for name in expected:
        with open(tmp_path / "viz" / name, "rb") as f:
            assert f.read(4) in (b"\x89PNG", b"GIF8"), name
    assert "% zeros" in out.stdout and "19 figures written" in out.stdout


def test_gallery_page_shows_every_figure_of_both_models(quickstart_model, tmp_path):
    """``gallery.py`` draws both models' figures and writes a page that shows each of them."""
    out = run_script("gallery.py", "--mnist-model", str(quickstart_model), "--cifar10-model",
                     str(quickstart_model), "--docs", str(tmp_path), "--skip-notebook")
    page = (tmp_path / "gallery.md").read_text()
    for dataset in ("mnist", "cifar10"):
        figures = sorted((tmp_path / "images" / "gallery" / dataset).iterdir())
        assert len(figures) == 18 and not [p for p in figures if p.suffix != ".png"]     # no GIF
        for figure in figures:
            assert f"](images/gallery/{dataset}/{figure.name})" in page
    assert page.count("\n## ") == 16 and "wrote" in out.stdout
    missing = subprocess.run([sys.executable, str(ROOT / "examples" / "gallery.py"), "--mnist-model",
                              str(tmp_path / "none.minicnn"), "--cifar10-model", str(quickstart_model)],
                             capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode != 0 and "train it first" in missing.stderr


def test_visualize_layers_without_a_model_says_what_to_do(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "visualize_layers.py"),
                          "--model", str(tmp_path / "missing.minicnn")], capture_output=True, text=True)
    assert out.returncode != 0 and "python examples/quickstart.py" in out.stderr


def test_look_inside_notebook_executes(tmp_path):
    """The learner's notebook runs top to bottom (it can never rot)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(ROOT / "examples" / "look_inside.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) == 18                    # one per figure cell
    assert any("image/gif" in o.get("data", {}) for o in outputs)
    assert (tmp_path / "out" / "look_inside_convolution.gif").exists()


def test_look_inside_notebook_is_stored_with_its_figures():
    """The committed notebook shows its figures to anyone browsing it (``examples/gallery.py`` runs
    it and stores the outputs): every code cell ran, in order, without errors, and kept small."""
    notebook = json.loads((ROOT / "examples" / "look_inside.ipynb").read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert [cell["execution_count"] for cell in code] == list(range(1, len(code) + 1))
    outputs = [o for cell in code for o in cell["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 18
    assert sum("image/gif" in o.get("data", {}) for o in outputs) == 1
    assert (ROOT / "examples" / "look_inside.ipynb").stat().st_size < 1_500_000
    # the outputs came from the code as it is now (after a change: python examples/gallery.py --notebook-only)
    spec = importlib.util.spec_from_file_location("gallery", ROOT / "examples" / "gallery.py")
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        gallery = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gallery)
    finally:
        sys.path.remove(str(ROOT / "examples"))
    assert notebook["metadata"].get("minicnn_outputs_from") == gallery.code_digest(notebook), \
        "the notebook's stored outputs are stale: python examples/gallery.py --notebook-only"


@needs_mnist
@pytest.mark.parametrize("script", ["mnist_mlp.py", "mnist_cnn.py"])
def test_mnist_examples_run(tmp_path, script):
    out = run_script(script, "--epochs", "1", "--limit", "256", "--data-dir", str(SHARED_DATA),
                     "--out", str(tmp_path))
    assert "8/8 [==============================]" in out.stdout and "Test accuracy:" in out.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["train_samples"] == 256 and results["test_samples"] == 10000
    assert (tmp_path / "model.minicnn").stat().st_size > 0
    assert (tmp_path / "training_curves.png").stat().st_size > 0
    if script == "mnist_cnn.py":
        assert (tmp_path / "misclassified.png").stat().st_size > 0


def test_cifar10_example_on_tiny_official_format_files(tmp_path, monkeypatch, capsys):
    """No CIFAR-10 on these machines: run the example in-process on tiny batches
    written in the official format (their checksums patched in)."""
    from minicnn.datasets import cifar10
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(cifar10, "URLS", ["http://127.0.0.1:9/"])
    tiny_cifar(tmp_path / "data" / "cifar10" / cifar10.FOLDER, monkeypatch)
    spec = importlib.util.spec_from_file_location("cifar10_cnn", ROOT / "examples" / "cifar10_cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--epochs", "1", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert "val_accuracy" in out and 0 <= results["test_accuracy"] <= 1
    assert results["train_samples"] == 20
    import minicnn
    model = minicnn.load_model(tmp_path / "o" / "model.minicnn")
    assert model.count_params() == 592_554


def test_cli_train_on_shapes(tmp_path, capsys):
    from minicnn.cli import main
    assert main(["train", "--dataset", "shapes", "--model", "mlp", "--epochs", "1", "--limit", "128",
                 "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "results.json").read_text())["model"] == "mlp"
    out = capsys.readouterr().out
    # every long phase shows progress: the evaluation of the test set too, then where the files went
    assert "Evaluating on the 1200 test images:" in out and out.rstrip().endswith(f"written to {tmp_path}/")


def test_cli_train_reports_missing_data_clearly(tmp_path, monkeypatch, capsys):
    from minicnn.cli import main
    from minicnn.datasets import mnist
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(mnist, "MNIST_URLS", ["http://127.0.0.1:9/"])
    assert main(["train", "--dataset", "mnist", "--model", "kconv", "--data-dir", str(tmp_path)]) == 1
    assert "could not be downloaded" in capsys.readouterr().err


def test_mobilenet_feature_maps_without_and_with_weights(tmp_path):
    """Untrained (no file) and with a Keras-format weights file plus a class index.

    The weights file is written by minicnn's own ``save_keras_weights`` (the
    live tier checks that Keras's files load); the top-3 line must name the
    classes that the model's own predict ranks first.
    """
    import json

    from minicnn.applications import MobileNetV2, preprocess_input
    from minicnn.io import save_keras_weights

    out = run_script("mobilenet_feature_maps.py", "--size", "96", "--out", str(tmp_path / "a"))
    assert "untrained" in out.stdout and "block_6_expand_relu: output (12, 12, 192)" in out.stdout
    for name in ("test_image.png", "feature_maps_block_1_expand_relu.png", "feature_maps_overview.png"):
        assert (tmp_path / "a" / name).stat().st_size > 0

    model = MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, seed=3)
    save_keras_weights(model, tmp_path / "m.weights.h5")
    index = tmp_path / "classes.json"
    index.write_text(json.dumps({str(i): [f"n{i:08d}", f"thing{i}"] for i in range(1000)}))
    out = run_script("mobilenet_feature_maps.py", "--size", "96", "--alpha", "0.35",
                     "--weights", str(tmp_path / "m.weights.h5"), "--class-index", str(index),
                     "--layers", "Conv1_relu,block_3_depthwise_relu", "--out", str(tmp_path / "b"))
    spec = importlib.util.spec_from_file_location("mb", ROOT / "examples" / "mobilenet_feature_maps.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    probs = model.predict(preprocess_input(example.geometric_test_image(96)[None]), verbose=0)[0]
    best = np.argsort(probs)[::-1][:3]
    assert "Top 3 predictions:" in out.stdout
    assert f"1. thing{best[0]}: " in out.stdout and f"2. thing{best[1]}: " in out.stdout
    assert (tmp_path / "b" / "feature_maps_block_3_depthwise_relu.png").stat().st_size > 0


def test_cifar10_example_trains_from_an_image_folder(tmp_path):
    """``--image-folder``: class folders in a zip (train/ and test/), as the shared JPEG copy of CIFAR-10."""
    import zipfile
    from io import BytesIO

    from PIL import Image
    rng = np.random.default_rng(0)
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for split, n in (("train", 6), ("test", 2)):
            for c in ("cat", "dog", "frog"):
                for i in range(n):
                    buffer = BytesIO()
                    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buffer, "JPEG")
                    z.writestr(f"{split}/{c}/{i}.jpg", buffer.getvalue())
    out = run_script("cifar10_cnn.py", "--image-folder", str(archive), "--epochs", "1", "--out", str(tmp_path / "o"))
    assert "Found 18 files belonging to 3 classes." in out.stderr
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["train_samples"] == 18 and results["test_samples"] == 6
    assert results["command"].startswith("python ") and "cifar10_cnn.py --image-folder" in results["command"]
    assert results["machine"]["cores"] >= 1 and results["when"]
    # the model file records its data, and the views find the folder's test images by it
    import minicnn
    model = minicnn.load_model(tmp_path / "o" / "model.minicnn")
    assert model.data_info == {"dataset": "image_folder", "class_names": ["cat", "dog", "frog"],
                               "image_folder": str(archive.resolve())}
    out = run_script("visualize_layers.py", "--model", str(tmp_path / "o" / "model.minicnn"),
                     "--out", str(tmp_path / "v"))
    assert (tmp_path / "v" / "03_sample.png").exists() or any((tmp_path / "v").iterdir())


@pytest.mark.parametrize("args, message", [(["--epochs", "0"], "--epochs: must be at least 1"),
                                           (["--limit", "0"], "--limit: must be at least 1"),
                                           (["--limit", "many"], "--limit: expected a whole number")])
def test_example_options_are_checked(args, message):
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "mnist_cnn.py"), *args],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 2 and message in out.stderr


def test_transfer_learning_trains_the_head_and_leaves_the_base(tmp_path):
    """examples/transfer_learning.py on a tiny image folder: the head learns, the frozen
    MobileNetV2 keeps every weight and statistic."""
    from PIL import Image
    rng = np.random.default_rng(1)
    for split, n in (("train", 10), ("test", 3)):
        for c in ("bright", "dark"):
            (tmp_path / "images" / split / c).mkdir(parents=True)
            for i in range(n):
                level = 200 if c == "bright" else 40
                pixels = np.clip(rng.normal(level, 20, (40, 40, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(tmp_path / "images" / split / c / f"{i}.png")
    out = run_script("transfer_learning.py", "--image-folder", str(tmp_path / "images"), "--size", "32",
                     "--epochs", "2", "--batch-size", "8", "--out", str(tmp_path / "o"))
    assert "weights and statistics did not change" in out.stdout
    assert "No --weights" in out.stderr
    assert (tmp_path / "o" / "model.minicnn").exists()
