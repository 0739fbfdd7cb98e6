"""The main job: train a classifier with maligrad core + nn + data, offline by default.

    hatch run train                                   # LeNet on the bundled MNIST sample
    hatch run train --dataset mnist --epochs 8        # full MNIST (downloaded, verified)
    hatch run train --dataset cifar10 --model resnet-small

Prints one line per epoch (loss, train and test accuracy, seconds), with a tqdm progress
bar (rate, ETA, loss) when tqdm is installed, and ends with the test accuracy.
``--save``/``--resume`` write and read an ``.npz`` checkpoint (model, optimizer, epoch,
history); ``--plot`` draws the curves with matplotlib. ``--help`` lists every option.

Data-parallel on N processes: ``hatch run mpi:train -n 2 --dataset mnist-sample`` (or
``mpiexec -n 2 python examples/train.py ...``). ``--batch-size`` is the global batch, split
over the ranks, and so are the images the accuracies are measured on; rank 0 alone prints,
writes checkpoints and plots.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loop import count_correct, train_epoch
from models import MODELS

import maligrad as mg
from maligrad import nn
from maligrad.data import (
    CIFAR10,
    MNIST,
    Compose,
    DataLoader,
    DownloadError,
    FashionMNIST,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    Subset,
    ToFloat,
    mnist_sample,
)
from maligrad.nn import parallel

STATS = {  # per-channel mean and std of the training images, scaled to [0, 1]
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}
DEFAULTS = {  # dataset: (model, epochs, batch size, learning rate)
    "mnist-sample": ("lenet", 6, 64, 2e-3),
    "mnist": ("lenet", 8, 128, 2e-3),
    "fashion-mnist": ("lenet", 10, 128, 2e-3),
    "cifar10": ("resnet-small", 15, 128, 2e-3),
}


def load_datasets(name: str) -> tuple[Any, Any]:
    if name == "mnist-sample":
        return mnist_sample(train=True), mnist_sample(train=False)
    cls = {"mnist": MNIST, "fashion-mnist": FashionMNIST, "cifar10": CIFAR10}[name]
    return cls(train=True), cls(train=False)


def make_optimizer(name: str, params: Any, lr: float) -> Any:
    if name == "sgd":
        return nn.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    if name == "adam":
        return nn.optim.Adam(params, lr=lr)
    if name == "adamw":
        return nn.optim.AdamW(params, lr=lr, weight_decay=1e-2)
    raise ValueError(f"unknown optimizer {name!r}")


class _NoProgress:
    def update(self, loss: float) -> None:
        pass

    def close(self) -> None:
        pass


def progress(total: int, label: str, enabled: bool | None = None, **tqdm_options: Any) -> Any:
    """A tqdm bar over ``total`` batches (rate, ETA, loss in the postfix) with ``update(loss)``
    and ``close()``; without tqdm, or when ``enabled`` is False, nothing (the per-epoch line
    is the progress report). ``enabled=None`` shows the bar only on a terminal; other
    keyword arguments go to tqdm (``file``, ``mininterval``, ...)."""
    if enabled is False or importlib.util.find_spec("tqdm") is None:
        return _NoProgress()
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        desc=label,
        unit="batch",
        leave=False,
        dynamic_ncols=True,
        disable=None if enabled is None else False,
        **tqdm_options,
    )

    class Bar:
        def update(self, loss: float) -> None:
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            bar.update(1)

        def close(self) -> None:
            bar.close()

    return Bar()


def _number(kind: type, description: str, ok: Callable[[Any], bool]) -> Any:
    """An argparse type for ``kind`` values that pass ``ok``; its errors say what was expected."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {description}, got {text}")
        return value

    return parse


def _folder_exists(parser: argparse.ArgumentParser, option: str, path: Path | None) -> None:
    if path is not None and not path.resolve().parent.is_dir():
        parser.error(f"{option} {path}: the folder {path.resolve().parent} does not exist")


CHECKPOINT_KIND = "maligrad-train"
CHECKPOINT_VERSION = 1
"""Layout of what ``--save`` writes; a checkpoint with a higher one is from a newer maligrad.
Files without ``kind`` and ``version`` (written before they were added) count as version 1."""
CHECKPOINT_ENTRIES = ("model", "optimizer", "epoch", "history", "config", "random")


def _refuse_checkpoint(path: Path, why: str) -> NoReturn:
    """The one error every unusable ``--resume`` file gets: one line, exit status 2."""
    why = " ".join(why.split())  # one line, whatever the reason's own layout
    print(f"train.py: error: --resume {path}: not a maligrad checkpoint: {why}", file=sys.stderr)
    sys.exit(2)


def _integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _real(value: Any) -> bool:
    return (_integer(value) or isinstance(value, (float, np.floating))) and np.isfinite(value)


def _config_problem(config: Any) -> str | None:
    if not isinstance(config, dict) or set(config) != set(CONFIG_KEYS):
        return f"config is not a dict of {', '.join(CONFIG_KEYS)}"
    choices: dict[str, Any] = {
        "dataset": DEFAULTS,
        "model": MODELS,
        "optimizer": ("adam", "adamw", "sgd"),
    }
    for key, allowed in choices.items():
        if not isinstance(config[key], str) or config[key] not in allowed:
            return f"config {key} is {config[key]!r}, not one of {', '.join(allowed)}"
    for key in ("batch_size", "lr", "limit"):
        value = config[key]
        if key == "limit" and value is None:
            continue
        if not (_integer(value) if key != "lr" else _real(value)) or value <= 0:
            return f"config {key} is {value!r}, not a positive number"
    if not _integer(config["seed"]):
        return f"config seed is {config['seed']!r}, not an integer"
    return None


def checkpoint_problem(state: Any) -> str | None:
    """Why ``state`` (what ``nn.load`` returned) is not a ``--save`` checkpoint, or None."""
    if not isinstance(state, dict):
        return f"it holds a {type(state).__name__}, not a dict of entries"
    kind, version = state.get("kind", CHECKPOINT_KIND), state.get("version", 1)
    if kind != CHECKPOINT_KIND:
        return f"it is a {kind!r} file, not a {CHECKPOINT_KIND!r} one"
    if not _integer(version) or version < 1:
        return f"unknown checkpoint version {version!r}"
    if version > CHECKPOINT_VERSION:
        return (
            f"written by a newer maligrad (checkpoint version {version}; this train.py reads "
            f"version {CHECKPOINT_VERSION})"
        )
    missing = [key for key in CHECKPOINT_ENTRIES if key not in state]
    if missing:
        return f"no {', '.join(missing)} entr{'y' if len(missing) == 1 else 'ies'}"
    model, epoch, history = state["model"], state["epoch"], state["history"]
    if not isinstance(model, dict) or not all(
        isinstance(k, str) and isinstance(v, np.ndarray) for k, v in model.items()
    ):
        return "model is not a dict of named arrays"
    if not isinstance(state["optimizer"], dict):
        return "optimizer is not a dict"
    if not _integer(epoch) or epoch < 0:
        return f"epoch is {epoch!r}, not a whole number"
    if not isinstance(history, dict) or set(history) != {"loss", "train_acc", "test_acc"}:
        return "history is not a dict of loss, train_acc and test_acc"
    for key, values in history.items():
        if not isinstance(values, list) or len(values) != epoch:
            return f"history {key} is not a list of {epoch} values"
        if not all(_real(v) or (isinstance(v, float) and np.isnan(v)) for v in values):
            return f"history {key} holds something that is not a number"
    problem = _config_problem(state["config"])
    if problem:
        return problem
    random = state["random"]
    if not isinstance(random, dict) or set(random) != {"shuffle", "augment"}:
        return "random is not a dict of the shuffle and augment generator states"
    for name, value in random.items():
        try:
            np.random.default_rng().bit_generator.state = value
        except (TypeError, ValueError, KeyError) as exc:
            return f"random {name} is not a generator state ({exc})"
    return None


def load_checkpoint(parser: argparse.ArgumentParser, path: Path) -> dict[str, Any]:
    """The checkpoint at ``path``, checked entry by entry, or a one-line error (exit 2)."""
    if not path.is_file():
        parser.error(f"--resume {path}: no such checkpoint file")
    try:
        state = nn.load(path)
    except nn.CheckpointError as exc:
        _refuse_checkpoint(path, exc.reason)
    except OSError as exc:
        _refuse_checkpoint(path, f"it cannot be read ({exc.strerror or exc})")
    problem = checkpoint_problem(state)
    if problem:
        _refuse_checkpoint(path, problem)
    return state


def save_checkpoint(path: Path, args: argparse.Namespace, epoch: int, **state: Any) -> None:
    """Write what ``--resume`` reads: ``state`` holds model, optimizer, history, generators."""
    nn.save(
        {
            "kind": CHECKPOINT_KIND,
            "version": CHECKPOINT_VERSION,
            "model": state["model"].state_dict(),
            "optimizer": state["optimizer"].state_dict(),
            "epoch": epoch,
            "history": state["history"],
            "config": {key: getattr(args, key) for key in CONFIG_KEYS},
            "random": {k: g.bit_generator.state for k, g in state["generators"].items()},
        },
        path,
    )


def restore_checkpoint(
    checkpoint: dict[str, Any], path: Path, model: Any, optimizer: Any, generators: dict[str, Any]
) -> tuple[int, dict[str, list[float]]]:
    """Load ``checkpoint`` into the objects; the epoch it ended and its history."""
    try:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
        _refuse_checkpoint(path, f"its state does not fit the model or optimizer ({exc})")
    # The random streams continue where they stopped: the next epoch's order and
    # augmentations are those an uninterrupted run would have drawn.
    for name, generator in generators.items():
        generator.bit_generator.state = checkpoint["random"][name]
    history = {k: [float(v) for v in values] for k, values in checkpoint["history"].items()}
    return int(checkpoint["epoch"]), history


def _eval_loader(dataset: Any, rank: int, world: int, transform: Any) -> Any:
    """Batches of this rank's contiguous share of ``dataset`` (every image in exactly one
    share; no batch for an empty share)."""
    n = len(dataset)
    if world > 1:
        dataset = Subset(dataset, np.arange(n * rank // world, n * (rank + 1) // world))
    return DataLoader(dataset, batch_size=500, transform=transform)


def global_accuracy(model: nn.Module, loader: Any) -> float:
    """Accuracy over every rank's share: the counts of ``count_correct`` summed over ranks."""
    counts = np.array(count_correct(model, loader), dtype=np.int64)
    parallel.all_reduce(counts)
    return int(counts[0]) / int(counts[1])


def _per_dataset(column: int) -> str:
    """The default of one DEFAULTS column, with the datasets that differ, for --help."""
    values = [row[column] for row in DEFAULTS.values()]
    usual = max(values, key=values.count)
    others = [f"{row[column]} for {name}" for name, row in DEFAULTS.items() if row[column] != usual]
    return f"default: {usual}" + (f" ({', '.join(others)})" if others else "")


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, dict[str, Any] | None]:
    """The options, with defaults filled in, and the checkpoint to resume from (or None)."""
    # Defaults that depend on --dataset (or on --resume's checkpoint) are filled in after
    # parsing, so --help spells them out rather than showing None.
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--dataset", choices=list(DEFAULTS), default=None, help="default: mnist-sample (offline)"
    )
    p.add_argument("--model", choices=list(MODELS), default=None, help=_per_dataset(0))
    whole = _number(int, "a whole number, 0 or more", lambda v: v >= 0)
    positive_int = _number(int, "a positive whole number", lambda v: v > 0)
    p.add_argument(
        "--epochs",
        metavar="N",
        type=whole,
        default=None,
        help=f"0 only evaluates; {_per_dataset(1)}",
    )
    p.add_argument(
        "--batch-size", metavar="N", type=positive_int, default=None, help=_per_dataset(2)
    )
    lr = _number(float, "a positive number", lambda v: v > 0)
    p.add_argument("--lr", type=lr, default=None, help=_per_dataset(3))
    p.add_argument(
        "--optimizer", choices=["adam", "adamw", "sgd"], default=None, help="default: adam"
    )
    p.add_argument("--seed", metavar="N", type=int, default=None, help="default: 0")
    p.add_argument(
        "--limit",
        metavar="N",
        type=positive_int,
        default=None,
        help="use only this many training images",
    )
    p.add_argument(
        "--save", metavar="PATH", type=Path, default=None, help="write a checkpoint .npz here"
    )
    p.add_argument(
        "--resume", metavar="PATH", type=Path, default=None, help="continue from a checkpoint"
    )
    p.add_argument(
        "--plot", metavar="PATH", type=Path, default=None, help="PNG of loss and accuracy curves"
    )
    p.add_argument(
        "--no-progress", action="store_true", help="no progress bar (shown with tqdm on a terminal)"
    )
    args = p.parse_args(argv)
    _folder_exists(p, "--save", args.save)
    _folder_exists(p, "--plot", args.plot)
    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:
        p.error(f"--plot {args.plot}: matplotlib is not installed (pip install matplotlib)")
    checkpoint = None
    if args.resume is not None:
        checkpoint = load_checkpoint(p, args.resume)
        # The run continues with the checkpoint's settings; contradicting them is an error.
        for key, value in checkpoint["config"].items():
            given = getattr(args, key)
            if given is not None and given != value:
                p.error(f"--{key.replace('_', '-')} {given} differs from the checkpoint's {value}")
            setattr(args, key, value)
    args.dataset = args.dataset or "mnist-sample"
    model, epochs, batch, lr = DEFAULTS[args.dataset]
    args.model = args.model or model
    args.epochs = epochs if args.epochs is None else args.epochs
    args.batch_size = batch if args.batch_size is None else args.batch_size
    args.lr = lr if args.lr is None else args.lr
    args.optimizer = args.optimizer or "adam"
    args.seed = 0 if args.seed is None else args.seed
    return args, checkpoint


CONFIG_KEYS = ("dataset", "model", "optimizer", "batch_size", "lr", "seed", "limit")


def plot(history: dict[str, list[float]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit(
            f"--plot {path}: matplotlib is not installed (pip install matplotlib)"
        ) from None
    epochs = range(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, history["loss"], marker="o")
    ax1.set(xlabel="epoch", ylabel="training loss")
    ax2.plot(epochs, history["train_acc"], marker="o", label="train")
    ax2.plot(epochs, history["test_acc"], marker="o", label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy")
    ax2.legend()
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    except (OSError, ValueError) as exc:  # unwritable, or a suffix matplotlib cannot draw
        raise SystemExit(f"--plot {path}: {exc}") from None
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> float:
    rank, world = parallel.get_rank(), parallel.get_world_size()
    if world > 1:
        parallel.abort_on_exception()  # a failure on any rank ends the whole job
    say = print if rank == 0 else lambda *_, **__: None
    args, checkpoint = parse_args(argv)
    if args.batch_size % world:
        raise SystemExit(
            f"--batch-size {args.batch_size} must be a multiple of the {world} processes"
        )
    mg.manual_seed(args.seed)
    try:
        train_set, test_set = load_datasets(args.dataset)
    except DownloadError as exc:  # its text says which mirrors failed and how to fix it
        raise SystemExit(f"error: {exc}") from None
    if args.limit is not None:
        train_set = train_set.from_arrays(
            train_set.images[: args.limit], train_set.labels[: args.limit], train_set.classes
        )
    in_shape = tuple(train_set.images.shape[1:])
    stats = STATS["mnist" if args.dataset == "mnist-sample" else args.dataset]
    normalize = [ToFloat(), Normalize(*stats)]
    augment = []
    augment_rng = np.random.default_rng(args.seed + 1)
    if args.dataset == "cifar10":
        augment = [
            RandomCrop(in_shape[1], padding=4, generator=augment_rng),
            RandomHorizontalFlip(generator=augment_rng),
        ]
    train_loader = DataLoader(
        train_set,
        batch_size=args.batch_size // world,  # the global batch, split over the ranks
        shuffle=True,
        generator=args.seed,
        transform=Compose([*augment, *normalize]),
        num_replicas=world,
        rank=rank,
    )
    # Training accuracy is measured on at most 10,000 training images, to keep epochs short.
    train_probe = train_set.from_arrays(
        train_set.images[:10_000], train_set.labels[:10_000], train_set.classes
    )
    # Each rank evaluates its own contiguous share of the images; the counts are summed.
    eval_train = _eval_loader(train_probe, rank, world, Compose(normalize))
    test_loader = _eval_loader(test_set, rank, world, Compose(normalize))

    generators = {"shuffle": train_loader.generator, "augment": augment_rng}
    model = MODELS[args.model](in_shape, len(train_set.classes))
    if world > 1:
        model = parallel.DistributedDataParallel(model)
    optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr)
    scheduler = nn.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(args.epochs, 1))
    history: dict[str, list[float]] = {"loss": [], "train_acc": [], "test_acc": []}
    start_epoch = 0
    if checkpoint is not None:
        start_epoch, history = restore_checkpoint(
            checkpoint, args.resume, model, optimizer, generators
        )
        for _ in range(start_epoch):  # the cosine schedule over the (new) total of epochs
            scheduler.step()
        say(f"resumed from {args.resume} after epoch {start_epoch}")

    n_params = sum(p.size for p in model.parameters())
    ranks = f" ({world} processes x {args.batch_size // world})" if world > 1 else ""
    say(
        f"{args.model} ({n_params:,} parameters) on {args.dataset}: {len(train_set)} train / "
        f"{len(test_set)} test images, {args.optimizer} lr {args.lr}, batch {args.batch_size}"
        f"{ranks}"
    )
    test_acc = global_accuracy(model, test_loader) if start_epoch >= args.epochs else 0.0
    for epoch in range(start_epoch, args.epochs):
        t0 = time.perf_counter()
        bar = progress(
            len(train_loader),
            f"epoch {epoch + 1}",
            False if args.no_progress or rank != 0 else None,
        )
        loss = train_epoch(model, train_loader, optimizer, on_batch=bar.update)
        loss = float(parallel.all_reduce(np.array([loss]), op="mean")[0])  # over the ranks
        bar.close()
        scheduler.step()
        train_acc = global_accuracy(model, eval_train)
        test_acc = global_accuracy(model, test_loader)
        seconds = time.perf_counter() - t0
        history["loss"].append(loss)
        history["train_acc"].append(train_acc)
        history["test_acc"].append(test_acc)
        say(
            f"epoch {epoch + 1:2d}/{args.epochs}  loss {history['loss'][-1]:.4f}  "
            f"train acc {train_acc:.4f}  test acc {test_acc:.4f}  {seconds:.1f}s",
            flush=True,
        )
        if args.save is not None and rank == 0:
            save_checkpoint(
                args.save,
                args,
                epoch + 1,
                model=model,
                optimizer=optimizer,
                history=history,
                generators=generators,
            )
    if args.plot is not None and rank == 0:
        plot(history, args.plot)
    say(f"test accuracy: {test_acc:.4f}")
    return test_acc


if __name__ == "__main__":
    main()
