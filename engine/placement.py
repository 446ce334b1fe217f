"""Where a model runs and in what precision, by name. Torch-free, so the CLI offers the names as choices
and a suite checks them without importing torch; `engine.devices` turns them into torch objects."""

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "bfloat16", "float16", "int8", "int4")  # auto: bfloat16 on CUDA, float32 on CPU
QUANTIZED = ("int8", "int4")  # weight-only, CPU: float32 products on requantised weights (engine.packed)
DEFAULT_MAX_BATCH = 32  # sequences decoded together; on CPU, throughput still grows up to about here
