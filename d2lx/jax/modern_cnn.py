"""Stub (work in progress)."""

AlexNet = vgg_block = VGG = nin_block = NiN = Inception = GoogleNet = batch_norm = BatchNorm = None
BNLeNetScratch = BNLeNet = Residual = ResNet = ResNet18 = ResNeXtBlock = conv_block = DenseBlock = None
transition_block = DenseNet = AnyNet = RegNetX32 = None
