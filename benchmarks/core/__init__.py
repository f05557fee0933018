"""What every benchmark shares: the result base class and JSON serialiser, the runner over calculators,
relaxation, DFT labels of frames and plot colours."""
