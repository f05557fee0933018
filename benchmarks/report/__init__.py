"""Reports: several benchmarks in one HTML folder (compare), the seed paper's workflow (demo), speed against upstream."""
