"""The published ADIOS STL-10 training settings, per (objective, encoder), as plain data (docs/method.md §10).

Read from YugeTen/adios (Shi, Siddharth, Torr, Kosiorek, ICML 2022) at commit ``COMMIT``: the
scripts ``bash_files/training/stl10/{resnet18,vittiny}/{simclr,byol,simsiam}_adios.sh`` and the
defaults of the arguments they leave out (``src/methods/*.py``, ``src/args/*.py``). The repository
has STL-10 scripts for ADIOS only; its ADIOS-s scripts are for ImageNet-100 (not collected here).

``COMMON`` holds what every script shares and ``SCRIPTS`` what differs. ``PAPER[(objective, encoder)]``
maps a setting to its value; ``SOURCES[(objective, encoder)]`` maps every setting
(``mask_options.<name>`` for the nested ones) to the published file, and the argument or line, it
comes from. Names are those of :class:`adios.runner.settings.RunSettings` where one exists
(``mask_options`` holds only options the ADIOS strategies' constructors take); the others are new
and descriptive (docs/method.md §10 lists them). The ``paper`` preset (``adios/runner/presets.py``)
takes the values that are settings.
"""

from __future__ import annotations

from typing import Any

REPO = "YugeTen/adios"
COMMIT = "21c6f23f74656046f93105989874c7bac62cefa6"


def script(objective: str, encoder: str) -> str:
    """The published STL-10 script of an (objective, encoder) pair."""
    return f"bash_files/training/stl10/{'resnet18' if encoder == 'resnet18' else 'vittiny'}/{objective}_adios.sh"


#: Values every published STL-10 script shares.
COMMON: dict[str, Any] = {
    "alpha_entropy": 0.0,
    "blur_p": 0.5,
    "blur_sigma": (0.1, 2.0),
    "crop_interpolation": "bicubic",
    "crop_scale": (0.08, 1.0),
    "dataset": "stl10",
    "flip_p": 0.5,
    "grayscale_p": 0.2,
    "image_size": 96,
    "jitter_p": 0.8,
    "lars_clip": True,
    "lars_eta": 0.02,
    "lars_exclude_bias_and_norm": True,
    "lr_schedule": "warmup_cosine",
    "lr_schedule_interval": "epoch",
    "mask_warmup_start_lr": 0.003,
    "min_lr": 0.0,
    "momentum": 0.9,
    "normalize_mean": (0.4914, 0.4823, 0.4466),
    "normalize_std": (0.247, 0.243, 0.261),
    "online_classifier_lr": 0.1,
    "optimizer": "lars",
    "pretrain_split": "train+unlabeled",
    "solarization_p": 0.0,
    "strategy": "adios",
    "warmup_epochs": 10,
    "warmup_start_lr": 0.003,
}

#: Where each shared value comes from ("{script}" is the pair's script).
COMMON_SOURCES: dict[str, str] = {
    "alpha_entropy": "{script} (--alpha_entropy 0: the entropy penalty is off)",
    "batch_size": "{script} (--batch_size; per GPU, the scripts run on one: --gpus 0)",
    "blur_p": "src/args/dataset.py (augmentations_args) --gaussian_prob default [0.5], passed to STLTransform by src/args/utils.py (transform_kwargs)",
    "blur_sigma": "src/utils/pretrain_dataloader.py (GaussianBlur sigma=[0.1, 2.0], a PIL radius)",
    "crop_interpolation": "src/utils/pretrain_dataloader.py (STLTransform) RandomResizedCrop interpolation=BICUBIC",
    "crop_scale": "src/args/dataset.py (augmentations_args) --min_scale default [0.08]; src/utils/pretrain_dataloader.py (STLTransform) RandomResizedCrop scale=(min_scale, 1.0)",
    "dataset": "{script} (--dataset stl10)",
    "encoder": "{script} (--encoder)",
    "epochs": "{script} (--max_epochs)",
    "flip_p": "src/utils/pretrain_dataloader.py (STLTransform) RandomHorizontalFlip(p=0.5)",
    "grayscale_p": "src/utils/pretrain_dataloader.py (STLTransform) RandomGrayscale(p=0.2)",
    "image_size": "src/args/utils.py (IMG_SIZE_DATASET['stl10'] = 96)",
    "jitter_p": "src/utils/pretrain_dataloader.py (STLTransform) RandomApply([ColorJitter(...)], p=0.8)",
    "lars_clip": "src/methods/base.py (BaseModel.add_model_specific_args) --grad_clip_lars default True",
    "lars_eta": "src/methods/base.py (BaseModel.add_model_specific_args) --eta_lars default 0.02",
    "lars_exclude_bias_and_norm": "src/methods/base.py (BaseModel.add_model_specific_args) --exclude_bias_n_norm default True",
    "lr": "{script} (--lr)",
    "lr_schedule": "{script} (--scheduler warmup_cosine): pl_bolts LinearWarmupCosineAnnealingLR in src/methods/base_adios.py (configure_optimizers)",
    "mask_options.alpha_sparsity": "{script} (--alpha_sparsity)",
    "mask_options.mask_channels": "{script} (--mask_fbase)",
    "mask_options.mask_lr": "{script} (--mask_lr)",
    "mask_options.mask_norm": "{script} (--unet_norm gn)",
    "mask_options.mask_optimizer": "src/methods/base_adios.py (configure_optimizers): the mask optimiser is the encoder's optimiser class, also wrapped in LARS",
    "mask_options.mask_weight_decay": "src/methods/base_adios.py (configure_optimizers): weight_decay=self.weight_decay, i.e. {script} --weight_decay",
    "mask_options.n_masks": "{script} (--N)",
    "mask_warmup": "src/methods/base_adios.py (configure_optimizers): the mask schedule has the same warmup_epochs (10) over {script} --max_epochs",
    "mask_warmup_start_lr": "src/methods/base_adios.py (configure_optimizers): the mask scheduler uses warmup_start_lr (src/methods/base.py (BaseModel.add_model_specific_args) default 0.003)",
    "min_lr": "src/methods/base.py (BaseModel.add_model_specific_args) --min_lr default 0.0 (eta_min of both schedules)",
    "momentum": "src/args/utils.py (additional_setup_pretrain: extra_optimizer_args['momentum'] = 0.9 for sgd)",
    "normalize_mean": "src/utils/pretrain_dataloader.py (STLTransform) Normalize((0.4914, 0.4823, 0.4466), ...)",
    "normalize_std": "src/utils/pretrain_dataloader.py (STLTransform) Normalize(..., (0.247, 0.243, 0.261))",
    "objective": "{script} (--method)",
    "optimizer": "{script} (--optimizer sgd), wrapped in LARS: src/methods/base.py (BaseModel.add_model_specific_args) --lars default True; src/methods/base_adios.py (configure_optimizers) wraps both "
    "optimisers",
    "pretrain_split": "src/utils/pretrain_dataloader.py (prepare_datasets: STL10 split='train+unlabeled')",
    "proj_hidden": "{script} (--proj_hidden_dim)",
    "proj_out": "{script} (--output_dim)",
    "solarization_p": "src/args/dataset.py (augmentations_args) --solarization_prob default [0.0]",
    "warmup": "src/methods/base.py (BaseModel.add_model_specific_args) --warmup_epochs default 10, over {script} --max_epochs",
    "warmup_epochs": "src/methods/base.py (BaseModel.add_model_specific_args) --warmup_epochs default 10",
    "warmup_start_lr": "src/methods/base.py (BaseModel.add_model_specific_args) --warmup_start_lr default 0.003",
    "weight_decay": "{script} (--weight_decay)",
}

#: The values that differ between the scripts.
SCRIPTS: dict[tuple[str, str], dict[str, Any]] = {
    ("simclr", "resnet18"): {
        "objective": "simclr",
        "encoder": "resnet18",
        "epochs": 400,
        "batch_size": 256,
        "lr": 0.13234838295784523,
        "weight_decay": 8.504658547335148e-05,
        "warmup": 0.025,
        "encoder_schedule_epochs": 400,
        "temperature": 0.2,
        "proj_hidden": 2048,
        "proj_out": 256,
        "resnet_stem": "imagenet",
        "color_jitter": (0.8, 0.8, 0.8, 0.2),
        "jitter": 0.8,
        "mask_options": {
            "n_masks": 6,
            "mask_channels": 128,
            "mask_blocks": None,
            "alpha_sparsity": 0.0,
            "mask_lr": 0.01946841419435407,
            "mask_norm": "gn",
            "mask_optimizer": "lars",
            "mask_weight_decay": 8.504658547335148e-05,
        },
        "mask_warmup": 0.025,
    },
    ("simclr", "vit-tiny"): {
        "objective": "simclr",
        "encoder": "vit-tiny",
        "epochs": 200,
        "batch_size": 128,
        "lr": 0.102523479861102,
        "weight_decay": 0.0001,
        "warmup": 0.05,
        "encoder_schedule_epochs": 200,
        "temperature": 0.2,
        "proj_hidden": 2048,
        "proj_out": 128,
        "vit_patch_size": 16,
        "color_jitter": (0.8, 0.8, 0.8, 0.2),
        "jitter": 0.8,
        "mask_options": {
            "n_masks": 4,
            "mask_channels": 32,
            "mask_blocks": None,
            "alpha_sparsity": 0.39131043617986705,
            "mask_lr": 0.0941063568112331,
            "mask_norm": "gn",
            "mask_optimizer": "lars",
            "mask_weight_decay": 0.0001,
        },
        "mask_warmup": 0.05,
    },
    ("byol", "resnet18"): {
        "objective": "byol",
        "encoder": "resnet18",
        "epochs": 400,
        "batch_size": 128,
        "lr": 0.2920279558260822,
        "weight_decay": 9.912019840903654e-06,
        "warmup": 0.025,
        "encoder_schedule_epochs": 390,
        "proj_hidden": 4096,
        "proj_out": 256,
        "pred_hidden": 8192,
        "ema_start": 0.99,
        "ema_end": 1.0,
        "resnet_stem": "imagenet",
        "color_jitter": (0.8, 0.8, 0.8, 0.2),
        "jitter": 0.8,
        "mask_options": {
            "n_masks": 6,
            "mask_channels": 64,
            "mask_blocks": None,
            "alpha_sparsity": 1.7193143216139353,
            "mask_lr": 0.09281403683825379,
            "mask_norm": "gn",
            "mask_optimizer": "lars",
            "mask_weight_decay": 9.912019840903654e-06,
        },
        "mask_warmup": 0.025,
    },
    ("byol", "vit-tiny"): {
        "objective": "byol",
        "encoder": "vit-tiny",
        "epochs": 200,
        "batch_size": 64,
        "lr": 0.44397171059658247,
        "weight_decay": 1e-05,
        "warmup": 0.05,
        "encoder_schedule_epochs": 190,
        "proj_hidden": 4096,
        "proj_out": 256,
        "pred_hidden": 8192,
        "ema_start": 0.99,
        "ema_end": 1.0,
        "vit_patch_size": 16,
        "color_jitter": (0.8, 0.8, 0.8, 0.2),
        "jitter": 0.8,
        "mask_options": {
            "n_masks": 6,
            "mask_channels": 32,
            "mask_blocks": None,
            "alpha_sparsity": 0.8269158678071891,
            "mask_lr": 0.20463999909125877,
            "mask_norm": "gn",
            "mask_optimizer": "lars",
            "mask_weight_decay": 1e-05,
        },
        "mask_warmup": 0.05,
    },
    ("simsiam", "resnet18"): {
        "objective": "simsiam",
        "encoder": "resnet18",
        "epochs": 400,
        "batch_size": 128,
        "lr": 0.4436168048573669,
        "weight_decay": 7.227625739330174e-06,
        "warmup": 0.025,
        "encoder_schedule_epochs": 400,
        "predictor_lr": "constant",
        "proj_hidden": 2048,
        "proj_out": 256,
        "pred_hidden": 512,
        "simsiam_terms": ("clean",),
        "resnet_stem": "imagenet",
        "color_jitter": (0.5521874334305088, 0.4775521429505951, 0.5784474905390056, 0.2),
        "mask_options": {
            "n_masks": 6,
            "mask_channels": 32,
            "mask_blocks": 5,
            "alpha_sparsity": 1.0,
            "mask_lr": 0.038296424016559166,
            "mask_norm": "gn",
            "mask_optimizer": "lars",
            "mask_weight_decay": 7.227625739330174e-06,
        },
        "mask_warmup": 0.025,
    },
    ("simsiam", "vit-tiny"): {
        "objective": "simsiam",
        "encoder": "vit-tiny",
        "epochs": 200,
        "batch_size": 128,
        "lr": 0.2917762337709393,
        "weight_decay": 1e-05,
        "warmup": 0.05,
        "encoder_schedule_epochs": 200,
        "predictor_lr": "constant",
        "proj_hidden": 2048,
        "proj_out": 2048,
        "pred_hidden": 512,
        "simsiam_terms": ("masked",),
        "vit_patch_size": 16,
        "color_jitter": (0.4, 0.4, 0.4, 0.1),
        "jitter": 0.4,
        "mask_options": {
            "n_masks": 6,
            "mask_channels": 16,
            "mask_blocks": 4,
            "alpha_sparsity": 0.8581936366173779,
            "mask_lr": 0.0931682474492948,
            "mask_norm": "gn",
            "mask_optimizer": "lars",
            "mask_weight_decay": 1e-05,
        },
        "mask_warmup": 0.05,
    },
}

#: Where each of those comes from ("{script}" is the pair's script).
SCRIPT_SOURCES: dict[tuple[str, str], dict[str, str]] = {
    ("simclr", "resnet18"): {
        "strategy": "{script} (--method simclr_adios: ADIOS, all N masks encoded)",
        "lr_schedule_interval": "src/methods/simclr_adios.py (training_step: sch_i.step() and sch_m.step() only if self.trainer.is_last_batch)",
        "encoder_schedule_epochs": "src/methods/base_adios.py (BaseADIOSModel: --train_mask_epoch default 0, so max_epochs)",
        "temperature": "{script} (--temperature)",
        "resnet_stem": "src/methods/base.py (BaseModel.__init__: torchvision resnet18, conv1/maxpool replaced only if cifar); src/args/utils.py (cifar = dataset in ['cifar10', "
        "'cifar100'], so False for stl10)",
        "online_classifier_lr": "{script} (--classifier_lr 0.1)",
        "color_jitter": "src/args/dataset.py (augmentations_args) --brightness/--contrast/--saturation default [0.8], --hue default [0.2]",
        "jitter": "src/args/dataset.py (augmentations_args) --brightness/--contrast/--saturation default [0.8], --hue default [0.2] (brightness = contrast = saturation = 0.8, hue = "
        "0.8 / 4)",
        "mask_options.mask_blocks": "src/methods/simclr_adios.py (num_blocks=int(np.log2(self.img_size)-1): 5 at 96 px; None here = that rule)",
    },
    ("simclr", "vit-tiny"): {
        "strategy": "{script} (--method simclr_adios: ADIOS, all N masks encoded)",
        "lr_schedule_interval": "src/methods/simclr_adios.py (training_step: sch_i.step() and sch_m.step() only if self.trainer.is_last_batch)",
        "encoder_schedule_epochs": "src/methods/base_adios.py (BaseADIOSModel: --train_mask_epoch default 0, so max_epochs)",
        "temperature": "{script} (--temperature)",
        "vit_patch_size": "src/utils/backbones.py (vit_tiny(patch_size=16): timm ViT-Ti/16); src/methods/base.py passes img_size only (a 6 x 6 patch grid at 96 px)",
        "online_classifier_lr": "{script} (--classifier_lr 0.1)",
        "color_jitter": "src/args/dataset.py (augmentations_args) --brightness/--contrast/--saturation default [0.8], --hue default [0.2]",
        "jitter": "src/args/dataset.py (augmentations_args) --brightness/--contrast/--saturation default [0.8], --hue default [0.2] (brightness = contrast = saturation = 0.8, hue = "
        "0.8 / 4)",
        "mask_options.mask_blocks": "src/methods/simclr_adios.py (num_blocks=int(np.log2(self.img_size)-1): 5 at 96 px; None here = that rule)",
    },
    ("byol", "resnet18"): {
        "strategy": "{script} (--method byol_adios: ADIOS, all N masks encoded)",
        "lr_schedule_interval": "src/methods/byol_adios.py (training_step: sch_i.step() and sch_m.step() only if self.trainer.is_last_batch)",
        "encoder_schedule_epochs": "src/methods/base_adios.py (BaseMomentumADIOSModel: --train_mask_epoch default 10, so max_epochs - 10)",
        "pred_hidden": "{script} (--pred_hidden_dim)",
        "ema_start": "src/methods/base.py (BaseMomentumModel: --base_tau_momentum default 0.99)",
        "ema_end": "src/methods/base.py (BaseMomentumModel: --final_tau_momentum default 1.0, cosine over all steps)",
        "resnet_stem": "src/methods/base.py (BaseModel.__init__: torchvision resnet18, conv1/maxpool replaced only if cifar); src/args/utils.py (cifar = dataset in ['cifar10', "
        "'cifar100'], so False for stl10)",
        "online_classifier_lr": "{script} (--classifier_lr 0.1)",
        "color_jitter": "src/args/dataset.py (augmentations_args) --brightness/--contrast/--saturation default [0.8], --hue default [0.2]",
        "jitter": "src/args/dataset.py (augmentations_args) --brightness/--contrast/--saturation default [0.8], --hue default [0.2] (brightness = contrast = saturation = 0.8, hue = "
        "0.8 / 4)",
        "mask_options.mask_blocks": "src/methods/byol_adios.py (num_blocks=int(np.log2(self.img_size)-1): 5 at 96 px; None here = that rule)",
    },
    ("byol", "vit-tiny"): {
        "strategy": "{script} (--method byol_adios: ADIOS, all N masks encoded)",
        "lr_schedule_interval": "src/methods/byol_adios.py (training_step: sch_i.step() and sch_m.step() only if self.trainer.is_last_batch)",
        "encoder_schedule_epochs": "src/methods/base_adios.py (BaseMomentumADIOSModel: --train_mask_epoch default 10, so max_epochs - 10)",
        "pred_hidden": "{script} (--pred_hidden_dim)",
        "ema_start": "src/methods/base.py (BaseMomentumModel: --base_tau_momentum default 0.99)",
        "ema_end": "src/methods/base.py (BaseMomentumModel: --final_tau_momentum default 1.0, cosine over all steps)",
        "vit_patch_size": "src/utils/backbones.py (vit_tiny(patch_size=16): timm ViT-Ti/16); src/methods/base.py passes img_size only (a 6 x 6 patch grid at 96 px)",
        "online_classifier_lr": "{script} (--classifier_lr 0.1)",
        "color_jitter": "src/args/dataset.py (augmentations_args) --brightness/--contrast/--saturation default [0.8], --hue default [0.2]",
        "jitter": "src/args/dataset.py (augmentations_args) --brightness/--contrast/--saturation default [0.8], --hue default [0.2] (brightness = contrast = saturation = 0.8, hue = "
        "0.8 / 4)",
        "mask_options.mask_blocks": "src/methods/byol_adios.py (num_blocks=int(np.log2(self.img_size)-1): 5 at 96 px; None here = that rule)",
    },
    ("simsiam", "resnet18"): {
        "strategy": "{script} (--method simsiam_adios: ADIOS, all N masks encoded)",
        "lr_schedule_interval": "src/methods/simsiam_adios.py (training_step: sch_i.step() and sch_m.step() only if self.trainer.is_last_batch)",
        "encoder_schedule_epochs": "src/methods/base_adios.py (BaseADIOSModel: --train_mask_epoch default 0, so max_epochs)",
        "predictor_lr": "src/methods/simsiam_adios.py (predictor group 'static_lr': True); src/methods/base_adios.py (static_lr: that group's lr stays at --lr, neither warmed up "
        "nor decayed)",
        "pred_hidden": "{script} (--pred_hidden_dim)",
        "simsiam_terms": "{script} (--use_symmetry_mask false --use_no_mask true --use_both_mask false)",
        "resnet_stem": "src/methods/base.py (BaseModel.__init__: torchvision resnet18, conv1/maxpool replaced only if cifar); src/args/utils.py (cifar = dataset in ['cifar10', "
        "'cifar100'], so False for stl10)",
        "online_classifier_lr": "src/methods/base.py (BaseModel.add_model_specific_args) --classifier_lr default 0.1",
        "color_jitter": "{script} (--brightness --contrast --saturation --hue)",
        "mask_options.mask_blocks": "{script} (--num_blocks)",
    },
    ("simsiam", "vit-tiny"): {
        "strategy": "{script} (--method simsiam_adios: ADIOS, all N masks encoded)",
        "lr_schedule_interval": "src/methods/simsiam_adios.py (training_step: sch_i.step() and sch_m.step() only if self.trainer.is_last_batch)",
        "encoder_schedule_epochs": "src/methods/base_adios.py (BaseADIOSModel: --train_mask_epoch default 0, so max_epochs)",
        "predictor_lr": "src/methods/simsiam_adios.py (predictor group 'static_lr': True); src/methods/base_adios.py (static_lr: that group's lr stays at --lr, neither warmed up "
        "nor decayed)",
        "pred_hidden": "{script} (--pred_hidden_dim)",
        "simsiam_terms": "{script} (--use_symmetry_mask true --use_no_mask false --use_both_mask false)",
        "vit_patch_size": "src/utils/backbones.py (vit_tiny(patch_size=16): timm ViT-Ti/16); src/methods/base.py passes img_size only (a 6 x 6 patch grid at 96 px)",
        "online_classifier_lr": "src/methods/base.py (BaseModel.add_model_specific_args) --classifier_lr default 0.1",
        "color_jitter": "{script} (--brightness --contrast --saturation --hue)",
        "jitter": "{script} (brightness = contrast = saturation = 0.4, hue = 0.4 / 4)",
        "mask_options.mask_blocks": "{script} (--num_blocks)",
    },
}

PAPER: dict[tuple[str, str], dict[str, Any]] = {pair: {**COMMON, **values} for pair, values in SCRIPTS.items()}
SOURCES: dict[tuple[str, str], dict[str, str]] = {
    pair: {k: v.format(script=script(*pair)) for k, v in {**COMMON_SOURCES, **SCRIPT_SOURCES[pair]}.items()} for pair in SCRIPTS
}
