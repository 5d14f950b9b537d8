"""Stub (being written)."""

_NAMES = (
    "AlexNet vgg_block VGG nin_block NiN Inception GoogleNet batch_norm BatchNorm BNLeNetScratch BNLeNet "
    "Residual ResNet ResNet18 ResNeXtBlock conv_block DenseBlock transition_block DenseNet AnyNet RegNetX32"
)
for _n in _NAMES.split():
    globals()[_n] = None
