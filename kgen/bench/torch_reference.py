"""The plain-PyTorch training loop `kgen bench` measures kgen against.

It is written the way the course writes it: a `Dataset` whose `__getitem__`
applies per-sample transforms, a `torch.utils.data.DataLoader` with worker
processes, and a hand-written loop (`zero_grad`, forward, loss, `backward`,
`step`). torchvision cannot be installed here, so its transforms are
re-implemented below in plain torch, following torchvision's code line by line
(`RandomCrop(size, padding)`, `RandomHorizontalFlip`, `ToTensor`, `Normalize`,
`RandomErasing`), including where each draws its random numbers.

The network is built from a `kgen.models.ModelConfig`, so the reference has the
same layers, widths and head as the kgen preset it is compared with (PyTorch's
default initialization; initialization does not change the speed).

Run it alone (it prints one JSON line):

    python -m kgen.bench.torch_reference --preset resnet9 --width 16 --batch 256 --steps 20
"""

import argparse
import dataclasses
import json
import math
import numbers
import os
import resource
import statistics
import sys
import time

import torch
from torch import nn
from torch.nn import functional

# Keras-free: the reference's memory and threads are PyTorch's alone. The same
# random images as the backends get (same seed, same pixels).
from kgen.bench.config import RANDOM_MEAN, RANDOM_STD, preset_configs, random_dataset
from kgen.config import ModelConfig, TrainConfig, from_fields

# === torchvision's transforms, in plain torch ===


class RandomCrop:
    """`torchvision.transforms.RandomCrop(size, padding, padding_mode=...)` on a
    uint8 `(H, W, C)` image tensor: pad every side, then crop at an offset drawn
    with `torch.randint(0, h - th + 1)` as torchvision's `get_params` does."""

    def __init__(self, size, padding, padding_mode="constant", fill=0):
        self.size = size
        self.padding = padding
        self.padding_mode = padding_mode
        self.fill = fill

    def __call__(self, image):
        if self.padding:
            pad = self.padding
            chw = image.permute(2, 0, 1)
            if self.padding_mode == "constant":
                chw = functional.pad(chw, (pad, pad, pad, pad), mode="constant", value=self.fill)
            else:  # reflect pads need a float input in torch
                chw = functional.pad(chw[None].float(), (pad, pad, pad, pad),
                                     mode=self.padding_mode)[0].to(image.dtype)
            image = chw.permute(1, 2, 0)
        height, width = image.shape[0], image.shape[1]
        top = torch.randint(0, height - self.size + 1, size=(1,)).item()
        left = torch.randint(0, width - self.size + 1, size=(1,)).item()
        return image[top:top + self.size, left:left + self.size]


class RandomHorizontalFlip:
    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, image):
        if torch.rand(1) < self.p:
            return image.flip(1)  # (H, W, C): axis 1 is the width
        return image


class ToTensor:
    """uint8 `(H, W, C)` in [0, 255] to float32 `(C, H, W)` in [0, 1]."""

    def __call__(self, image):
        return image.permute(2, 0, 1).contiguous().to(torch.float32).div(255)


class Normalize:
    def __init__(self, mean, std):
        self.mean = torch.as_tensor(mean, dtype=torch.float32)[:, None, None]
        self.std = torch.as_tensor(std, dtype=torch.float32)[:, None, None]

    def __call__(self, tensor):
        return (tensor - self.mean) / self.std


class RandomErasing:
    """`torchvision.transforms.RandomErasing`: with probability `p`, up to 10
    draws of an area `U(scale) * H * W` and a log-uniform aspect ratio; the
    first box that fits is erased at a uniform position, otherwise nothing is."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0):
        self.p = p
        self.scale = scale
        self.ratio = ratio
        self.value = value

    @staticmethod
    def get_params(image, scale, ratio, value=None):
        channels, height, width = image.shape[-3], image.shape[-2], image.shape[-1]
        area = height * width
        log_ratio = torch.log(torch.tensor(ratio))
        for _ in range(10):
            erase_area = area * torch.empty(1).uniform_(scale[0], scale[1]).item()
            aspect_ratio = torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
            box_height = int(round(math.sqrt(erase_area * aspect_ratio)))
            box_width = int(round(math.sqrt(erase_area / aspect_ratio)))
            if not (box_height < height and box_width < width):
                continue
            if value is None:
                fill = torch.empty([channels, box_height, box_width], dtype=torch.float32).normal_()
            else:
                fill = torch.tensor(value)[:, None, None]
            top = torch.randint(0, height - box_height + 1, size=(1,)).item()
            left = torch.randint(0, width - box_width + 1, size=(1,)).item()
            return top, left, box_height, box_width, fill
        return 0, 0, height, width, image

    def __call__(self, image):
        if torch.rand(1) < self.p:
            if isinstance(self.value, numbers.Number):
                value = [float(self.value)]
            elif isinstance(self.value, str):
                value = None
            else:
                value = list(self.value)
            top, left, box_height, box_width, fill = self.get_params(
                image, scale=self.scale, ratio=self.ratio, value=value
            )
            image = image.clone()  # torchvision's F.erase with inplace=False
            image[..., top:top + box_height, left:left + box_width] = fill
        return image


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, image):
        for transform in self.transforms:
            image = transform(image)
        return image


def course_transforms(augmentation, mean, std, image_size=32):
    """The course's training transforms for a kgen `Augmentation`."""
    if augmentation.rotation_degrees or augmentation.flip == "alternating":
        raise ValueError(
            "The PyTorch reference implements pad-crop, random flip and erasing only. "
            f"Received: augmentation={augmentation}"
        )
    transforms = []
    if augmentation.pad_crop:
        transforms.append(RandomCrop(image_size, augmentation.pad_crop, augmentation.pad_mode))
    if augmentation.flip == "random":
        transforms.append(RandomHorizontalFlip())
    transforms += [ToTensor(), Normalize(mean, std)]
    if augmentation.erasing is not None:
        erasing = augmentation.erasing
        transforms.append(RandomErasing(erasing.p, erasing.scale, erasing.ratio, erasing.value))
    return Compose(transforms)


class ArrayDataset(torch.utils.data.Dataset):
    """uint8 `(N, H, W, C)` images in memory, like torchvision's `CIFAR10` (which
    keeps a numpy array and converts one image per `__getitem__`)."""

    def __init__(self, images, labels, transform):
        self.images = images
        self.labels = labels
        self.transform = transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        image = torch.from_numpy(self.images[index])
        return self.transform(image), int(self.labels[index])


# === The network, from a kgen ModelConfig ===


def check_supported(config):
    """Refuses the `ModelConfig` fields the reference does not build (it times
    kgen's CIFAR presets, which use none of them), rather than building
    another network."""
    unsupported = [name for name, value in (
        ("kernel_size", any(stage.kernel_size != 3 for stage in config.stages)),
        ("downsample='avgpool'", any(stage.downsample == "avgpool" for stage in config.stages)),
        ("normalize_head", config.normalize_head),
        ("l1", config.l1),
        ("max_norm", config.max_norm),
        ("drop_connect", config.drop_connect),
        ("activation", config.activation not in _ACTIVATIONS),
    ) if value]
    if unsupported:
        raise ValueError(f"The PyTorch reference does not build {', '.join(unsupported)}. "
                         f"Received: config={config}")


class ConvUnit(nn.Module):
    def __init__(self, in_channels, width, config, stride=1):
        super().__init__()
        normalized = config.normalization == "batch"
        if config.normalization not in ("batch", "none"):
            raise ValueError(
                "The PyTorch reference supports batch or no normalization. "
                f"Received: normalization={config.normalization!r}"
            )
        use_bias = not (normalized and config.block_order == "conv-norm-act")
        self.conv = nn.Conv2d(in_channels, width, 3, stride, padding=1, bias=use_bias)
        self.norm = nn.BatchNorm2d(width) if normalized else nn.Identity()
        self.activation = _activation(config.activation)
        self.norm_first = config.block_order == "conv-norm-act"

    def forward(self, x):
        x = self.conv(x)
        if self.norm_first:
            return self.activation(self.norm(x))
        return self.norm(self.activation(x))


class Block(nn.Module):
    def __init__(self, in_channels, width, convs, stride, residual, config):
        super().__init__()
        self.units = nn.Sequential(*[
            ConvUnit(in_channels if index == 0 else width, width, config,
                     stride if index == 0 else 1)
            for index in range(convs)
        ])
        self.residual = residual
        self.projection = None
        if residual and (stride != 1 or in_channels != width):
            self.projection = nn.Conv2d(in_channels, width, 1, stride, bias=False)

    def forward(self, x):
        out = self.units(x)
        if not self.residual:
            return out
        return out + (x if self.projection is None else self.projection(x))


class ReferenceNet(nn.Module):
    """`kgen.models.build_cnn` without its augmentation layers, in PyTorch."""

    def __init__(self, config, in_channels=3, image_size=32, num_classes=10):
        super().__init__()
        check_supported(config)
        layers = []
        channels, size = in_channels, image_size
        if config.stem_width:
            width = config.scaled_width(config.stem_width)
            layers.append(ConvUnit(channels, width, config))
            channels = width
        for stage in config.stages:
            width = config.scaled_width(stage.width)
            residual = stage.residual or config.residual
            for block in range(stage.blocks):
                stride = 2 if (stage.downsample == "stride" and block == 0) else 1
                layers.append(Block(channels, width, stage.convs, stride, residual, config))
                channels = width
                size //= stride
            if stage.downsample == "maxpool":
                layers.append(nn.MaxPool2d(2))
                size //= 2
            if stage.dropout:
                layers.append(nn.Dropout(stage.dropout))
        self.features = nn.Sequential(*layers)
        if config.head == "flatten":
            pool, features = nn.Flatten(), channels * size * size
        elif config.head == "avg":
            pool, features = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), channels
        else:
            pool, features = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten()), channels
        head = [pool]
        for units in config.head_units:
            if config.head_dropout:
                head.append(nn.Dropout(config.head_dropout))
            head += [nn.Linear(features, units), _activation(config.activation)]
            features = units
        if config.head_dropout:
            head.append(nn.Dropout(config.head_dropout))
        head.append(nn.Linear(features, num_classes))
        self.head = nn.Sequential(*head)
        self.logit_scale = config.logit_scale

    def forward(self, x):
        logits = self.head(self.features(x))
        return logits * self.logit_scale if self.logit_scale != 1.0 else logits


_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "elu": nn.ELU,
                "selu": nn.SELU, "gelu": nn.GELU, "silu": nn.SiLU}


def _activation(name):
    return _ACTIVATIONS[name]()


def create_optimizer(parameters, train_config, l2=0.0):
    """The PyTorch optimizer of a kgen `TrainConfig`. An L2 regularizer `l2` on
    the loss is `weight_decay = 2 * l2` on the gradient (on every parameter, as
    the course's `SGD(weight_decay=...)` does)."""
    decay = train_config.weight_decay + 2 * l2
    lr = train_config.learning_rate
    if train_config.optimizer == "sgd":
        momentum = train_config.momentum
        return torch.optim.SGD(parameters, lr, momentum=momentum,
                               nesterov=train_config.nesterov and momentum > 0,
                               weight_decay=decay)
    if train_config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr, weight_decay=decay)
    return torch.optim.Adam(parameters, lr, weight_decay=decay)


# === The measured loop ===


def run(model_config, train_config, images, labels, mean, std, batch_size, warmup_steps,
        steps, windows, workers=2, seed=0):
    """Trains for `warmup_steps + steps` steps; returns the timing figures.

    Steady throughput is the median over `windows` windows of the timed steps;
    warm-up covers the loader's worker start-up and the first steps. CPU time
    counts the main process and the loader's workers.
    """
    torch.manual_seed(seed)
    dataset = ArrayDataset(images, labels,
                           course_transforms(model_config.augmentation, mean, std,
                                             images.shape[1]))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=True,
        persistent_workers=workers > 0,
    )
    model = ReferenceNet(model_config, images.shape[-1], images.shape[1], int(labels.max()) + 1)
    optimizer = create_optimizer(model.parameters(), train_config, model_config.l2)
    loss_function = nn.CrossEntropyLoss(label_smoothing=train_config.label_smoothing)
    model.train()

    window_steps = max(steps // windows, 1)
    marks = []  # (wall, cpu) after warm-up and after each window
    start_wall = time.perf_counter()
    step = 0
    total = warmup_steps + window_steps * windows
    while step < total:
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_function(model(x), y)
            loss.backward()
            optimizer.step()
            step += 1
            if step >= warmup_steps and (step - warmup_steps) % window_steps == 0:
                loss.item()  # CPU torch is synchronous; this keeps the loop honest on GPUs
                cpu = time.process_time() + _workers_cpu_seconds(loader)
                marks.append((time.perf_counter(), cpu))
            if step >= total:
                break
    final_loss = loss.item()
    del loader  # stops the persistent workers, so their peak memory is counted below
    return summarize(marks, start_wall, batch_size, window_steps, final_loss)


def _workers_cpu_seconds(loader):
    """CPU seconds the loader's worker processes used so far (Linux /proc; 0 elsewhere)."""
    iterator = getattr(loader, "_iterator", None)
    total = 0.0
    for worker in getattr(iterator, "_workers", []):
        try:
            fields = open(f"/proc/{worker.pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


def summarize(marks, start_wall, batch_size, window_steps, final_loss):
    """Throughput figures from `(wall, cpu)` marks at the window boundaries."""
    rates = [batch_size * window_steps / (b[0] - a[0]) for a, b in zip(marks, marks[1:])]
    cpu = sum(b[1] - a[1] for a, b in zip(marks, marks[1:]))
    wall = marks[-1][0] - marks[0][0]
    return {
        "images_per_second": statistics.median(rates),
        "window_images_per_second": rates,
        "warmup_seconds": marks[0][0] - start_wall,
        "cpu_seconds_per_image": cpu / (batch_size * window_steps * len(rates)),
        "cpu_utilization": cpu / wall,
        "final_loss": final_loss,
    }


def peak_rss_mb(who=resource.RUSAGE_SELF):
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def configs_from_spec(spec):
    """`(ModelConfig, TrainConfig)` from a spec's JSON dicts: kgen's configs are
    Keras-free, so the reference never imports Keras (its memory and threads
    would count here)."""
    return (ModelConfig.from_dict(spec["model"]),
            from_fields(TrainConfig, spec["train"], "train field"))


def spec_from_preset(preset, width, batch, warmup_steps, steps, windows, workers,
                     image_size=32):
    """The spec `kgen bench` passes, built here for a standalone run."""
    model_config, train_config = preset_configs(preset, width, batch)
    return {"model": dataclasses.asdict(model_config), "train": dataclasses.asdict(train_config),
            "mean": RANDOM_MEAN, "std": RANDOM_STD, "batch": batch, "image_size": image_size,
            "warmup_steps": warmup_steps, "steps": steps, "windows": windows, "workers": workers}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=None, help="JSON written by kgen bench")
    parser.add_argument("--preset", default="resnet9")
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.spec:
        spec = json.loads(args.spec)
    else:
        spec = spec_from_preset(args.preset, args.width, args.batch, args.warmup_steps,
                                args.steps, args.windows, args.workers, args.image_size)
    model_config, train_config = configs_from_spec(spec)
    batch = spec["batch"]
    window_steps = max(spec["steps"] // spec["windows"], 1)
    size = spec.get("image_size", 32)
    images, labels = random_dataset(batch * (spec["warmup_steps"] + window_steps * spec["windows"]),
                                    (size, size, 3))
    result = run(model_config, train_config, images, labels, spec["mean"], spec["std"], batch,
                 spec["warmup_steps"], spec["steps"], spec["windows"], spec["workers"])
    result["peak_rss_mb"] = peak_rss_mb()
    result["worker_peak_rss_mb"] = peak_rss_mb(resource.RUSAGE_CHILDREN)
    result["versions"] = {"torch": torch.__version__}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
