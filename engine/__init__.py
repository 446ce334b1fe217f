"""goldgate's transformer engine: a Llama-family decoder, its loaders, tokenizer and generation loop.

The package itself exports only what needs no torch (requests, sampling parameters, errors), so a caller
that never runs a model pays nothing for importing them; `engine.engine.Engine` loads and runs models.
"""

from engine.errors import ContextLengthError, EngineError, InvalidRequestError, ModelFileError, UnsupportedModelError
from engine.request import GenerationRequest, GenerationResult, Timings, Usage
from engine.sampling_params import SamplingParams

__all__ = [
    "ContextLengthError", "EngineError", "GenerationRequest", "GenerationResult", "InvalidRequestError",
    "ModelFileError", "SamplingParams", "Timings", "UnsupportedModelError", "Usage",
]
