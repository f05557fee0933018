"""How well a calculator fits DFT: parity on labelled frames, learning curves of fine-tuning, which frames to label next."""
