"""goldgate's transformer engine: a Llama-family decoder, its loaders, tokenizer and generation loop."""

from engine.engine import Engine, StreamChunk
from engine.errors import ContextLengthError, EngineError, InvalidRequestError, ModelFileError, UnsupportedModelError
from engine.request import GenerationRequest, GenerationResult, Timings, Usage
from engine.sampling import SamplingParams

__all__ = [
    "ContextLengthError", "Engine", "EngineError", "GenerationRequest", "GenerationResult", "InvalidRequestError",
    "ModelFileError", "SamplingParams", "StreamChunk", "Timings", "UnsupportedModelError", "Usage",
]
